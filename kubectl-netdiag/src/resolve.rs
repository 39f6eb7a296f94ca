//! Resolve SOURCE and TARGET against the API and check them before anything is created: the
//! source pod runs (or the source node exists and has an address), a Service exists, has a
//! ClusterIP, the port, and ready endpoints.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::Api;
use kube::api::ListParams;
use netdiag_crds::probe::{AddressTarget, DnsTarget, PodTarget, ServiceTarget};
use netdiag_crds::{PortRef, ProbeSource, ProbeTarget};

use crate::client::Ctx;
use crate::error::{self, Error};
use crate::pick::{self, PortChoice};
use netdiag_crds::shorthand::{SourceArg, SourceKind, TargetArg};

/// The pod (or node) a trace starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedSource {
    pub source: ProbeSource,
    /// Said on stderr when a pod was picked from a workload.
    pub note: Option<String>,
}

/// Find the source pod and check that it runs, or the source node and its address. Whether
/// node sources are allowed is the controller's to say (`--node-source-namespaces`, off by
/// default): it refuses the NetProbe with a condition that names the flag.
pub async fn source(ctx: &Ctx, src: &SourceArg) -> Result<ResolvedSource, Error> {
    let ns = ctx.namespace.as_str();
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    if src.kind == SourceKind::Node {
        node_with_address(ctx, &src.name)
            .await
            .map_err(|e| match e {
                Error::NodeNoAddress(n) => Error::SourceNodeNoAddress(n),
                other => other,
            })?;
        return Ok(ResolvedSource {
            source: ProbeSource::node(&src.name),
            note: None,
        });
    }
    if src.kind == SourceKind::Pod {
        let pod: Pod = get_named(ctx, ns, &src.name, ("pod", "pods")).await?;
        if !pick::can_be_source(&pod) {
            return Err(Error::SourceNotRunning {
                namespace: ns.into(),
                pod: src.name.clone(),
                state: pick::state(&pod),
            });
        }
        return Ok(ResolvedSource {
            source: ProbeSource::pod(&src.name),
            note: None,
        });
    }
    let selector = workload_selector(ctx, src).await?;
    let sel = pick::selector_string(&selector).ok_or_else(|| Error::NoSelector {
        workload: src.to_string(),
    })?;
    let list = pods
        .list(&ListParams::default().labels(&sel))
        .await
        .map_err(|e| error::api("list", "pods", Some(ns), e))?;
    let chosen = pick::pick_pod(&list.items).ok_or_else(|| Error::NoReadyPod {
        workload: src.to_string(),
        namespace: ns.into(),
        selector: sel.clone(),
        total: list.items.len(),
    })?;
    let name = chosen.metadata.name.clone().unwrap_or_default();
    let ready = list.items.iter().filter(|p| pick::is_ready(p)).count();
    Ok(ResolvedSource {
        note: Some(format!(
            "Tracing from pod {name} of {src} ({ready} of {} pods ready)",
            list.items.len()
        )),
        source: ProbeSource::pod(name),
    })
}

async fn workload_selector(ctx: &Ctx, src: &SourceArg) -> Result<LabelSelector, Error> {
    let sel = match src.kind {
        SourceKind::Deployment => {
            fetch_selector::<Deployment>(ctx, src, ("deployment", "deployments"), |d| {
                d.spec.map(|s| s.selector)
            })
            .await?
        }
        SourceKind::StatefulSet => {
            fetch_selector::<StatefulSet>(ctx, src, ("statefulset", "statefulsets"), |s| {
                s.spec.map(|s| s.selector)
            })
            .await?
        }
        SourceKind::DaemonSet => {
            fetch_selector::<DaemonSet>(ctx, src, ("daemonset", "daemonsets"), |d| {
                d.spec.map(|s| s.selector)
            })
            .await?
        }
        SourceKind::ReplicaSet => {
            fetch_selector::<ReplicaSet>(ctx, src, ("replicaset", "replicasets"), |r| {
                r.spec.map(|s| s.selector)
            })
            .await?
        }
        SourceKind::Pod | SourceKind::Node => None,
    };
    sel.ok_or_else(|| Error::NoSelector {
        workload: src.to_string(),
    })
}

/// Get workload `src` of type `K` and read its pod selector; `(kind, plural)` name it in
/// messages and RBAC errors, e.g. ("deployment", "deployments").
async fn fetch_selector<K>(
    ctx: &Ctx,
    src: &SourceArg,
    (kind, plural): (&'static str, &'static str),
    selector: impl FnOnce(K) -> Option<LabelSelector>,
) -> Result<Option<LabelSelector>, Error>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let object: K = get_named(ctx, &ctx.namespace, &src.name, (kind, plural)).await?;
    Ok(selector(object))
}

/// Get object `name` of type `K` in `ns`, or a NotFound that says how to list them;
/// `(kind, plural)` name the type in messages and RBAC errors, e.g. ("service", "services").
async fn get_named<K>(
    ctx: &Ctx,
    ns: &str,
    name: &str,
    (kind, plural): (&'static str, &'static str),
) -> Result<K, Error>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    Api::<K>::namespaced(ctx.client.clone(), ns)
        .get_opt(name)
        .await
        .map_err(|e| error::api("get", plural, Some(ns), e))?
        .ok_or_else(|| Error::NotFound {
            kind,
            name: name.into(),
            namespace: ns.into(),
            hint: format!("; list them with `kubectl -n {ns} get {plural}`"),
        })
}

/// Check the target and turn it into the NetProbe's target.
pub async fn target(ctx: &Ctx, t: &TargetArg) -> Result<ProbeTarget, Error> {
    match t {
        TargetArg::Service {
            namespace,
            name,
            port,
        } => service(ctx, namespace.as_deref(), name, port.as_ref()).await,
        TargetArg::Pod {
            namespace,
            name,
            port,
        } => pod(ctx, namespace.as_deref(), name, port.as_ref()).await,
        TargetArg::Address { ip, port, protocol } => Ok(ProbeTarget {
            address: Some(AddressTarget {
                ip: ip.to_string(),
                port: i32::from(*port),
                protocol: *protocol,
                node: None,
            }),
            ..Default::default()
        }),
        TargetArg::Dns { name } => Ok(ProbeTarget {
            dns: Some(DnsTarget { name: name.clone() }),
            ..Default::default()
        }),
        TargetArg::Node {
            name,
            port,
            protocol,
        } => node(ctx, name, *port, *protocol).await,
    }
}

/// A node target is an address target on the node's InternalIP: the NetProbe holds the
/// address, so a probe kept in git still means the same port if the node is renamed, and the
/// node's name as a hint, so the controller also runs that node's NodePort rules.
async fn node(
    ctx: &Ctx,
    name: &str,
    port: u16,
    protocol: netdiag_crds::Protocol,
) -> Result<ProbeTarget, Error> {
    let ip = node_with_address(ctx, name).await?;
    Ok(ProbeTarget {
        address: Some(AddressTarget {
            ip: ip.to_string(),
            port: i32::from(port),
            protocol,
            node: Some(name.to_string()),
        }),
        ..Default::default()
    })
}

/// The node's address as the controller plans it (`netdiag_kube::node::internal_ip`), or why
/// there is none.
async fn node_with_address(ctx: &Ctx, name: &str) -> Result<std::net::Ipv4Addr, Error> {
    let node = Api::<Node>::all(ctx.client.clone())
        .get_opt(name)
        .await
        .map_err(|e| error::api("get", "nodes", None, e))?
        .ok_or_else(|| Error::NodeNotFound(name.into()))?;
    netdiag_kube::node::internal_ip(&node).ok_or_else(|| Error::NodeNoAddress(name.into()))
}

async fn service(
    ctx: &Ctx,
    namespace: Option<&str>,
    name: &str,
    port: Option<&PortRef>,
) -> Result<ProbeTarget, Error> {
    let ns = namespace.unwrap_or(&ctx.namespace);
    let svc: Service = get_named(ctx, ns, name, ("service", "services")).await?;
    let spec = svc.spec.clone().unwrap_or_default();
    if spec.type_.as_deref() == Some("ExternalName") {
        return Err(Error::ExternalNameService {
            namespace: ns.into(),
            name: name.into(),
            external: spec.external_name.unwrap_or_default(),
        });
    }
    if spec.cluster_ip.as_deref() == Some("None") {
        return Err(Error::HeadlessService {
            namespace: ns.into(),
            name: name.into(),
        });
    }
    let object = format!("Service {ns}/{name}");
    let chosen = pick::service_port(&svc, port).map_err(|c| match c {
        PortChoice::None => Error::NoPort {
            object: object.clone(),
            example: format!("svc/{name}:80"),
        },
        PortChoice::Ambiguous(available) => Error::AmbiguousPort {
            object: object.clone(),
            example: format!("svc/{name}:{}", first_port(&available)),
            available,
        },
        PortChoice::Missing(available) => Error::PortNotFound {
            object: object.clone(),
            port: port.map(ToString::to_string).unwrap_or_default(),
            available,
        },
    })?;
    let slices = Api::<EndpointSlice>::namespaced(ctx.client.clone(), ns)
        .list(&ListParams::default().labels(&format!("kubernetes.io/service-name={name}")))
        .await
        .map_err(|e| error::api("list", "endpointslices", Some(ns), e))?;
    let (ready, not_ready) = pick::count_endpoints(&slices.items, chosen.name.as_deref());
    if ready == 0 {
        return Err(Error::NoReadyEndpoints {
            namespace: ns.into(),
            name: name.into(),
            port: Some(chosen.to_string()),
            not_ready,
        });
    }
    Ok(ProbeTarget {
        service: Some(ServiceTarget {
            name: name.into(),
            namespace: namespace.map(str::to_string),
            // Keep what the user typed (a name stays a name); fill it in when they left it out
            // so the probe states which port it traced.
            port: Some(port.cloned().unwrap_or(PortRef::Number(chosen.port))),
        }),
        ..Default::default()
    })
}

/// `http 80/TCP, metrics 9090/TCP` -> `http`
fn first_port(available: &str) -> String {
    available
        .split(", ")
        .next()
        .and_then(|p| p.split([' ', '/']).next())
        .unwrap_or("PORT")
        .to_string()
}

async fn pod(
    ctx: &Ctx,
    namespace: Option<&str>,
    name: &str,
    port: Option<&PortRef>,
) -> Result<ProbeTarget, Error> {
    let ns = namespace.unwrap_or(&ctx.namespace);
    let p: Pod = get_named(ctx, ns, name, ("pod", "pods")).await?;
    let has_ip = p
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.as_deref())
        .is_some_and(|ip| !ip.is_empty());
    if !has_ip {
        return Err(Error::TargetPodNotReady {
            namespace: ns.into(),
            pod: name.into(),
            state: pick::state(&p),
        });
    }
    let declared = pick::container_ports(&p);
    let list = || {
        if declared.is_empty() {
            "none declared".to_string()
        } else {
            declared
                .iter()
                .map(|(n, port, proto)| match n {
                    Some(n) => format!("{n} {port}/{proto}"),
                    None => format!("{port}/{proto}"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let object = format!("pod {ns}/{name}");
    let port = match port {
        // A number needs no declaration: containers often listen on undeclared ports.
        Some(PortRef::Number(n)) => PortRef::Number(*n),
        Some(PortRef::Name(n)) => {
            if !declared.iter().any(|(pn, _, _)| pn.as_deref() == Some(n)) {
                return Err(Error::PortNotFound {
                    object,
                    port: n.clone(),
                    available: list(),
                });
            }
            PortRef::Name(n.clone())
        }
        None => match declared.as_slice() {
            [(_, only, _)] => PortRef::Number(*only),
            [] => {
                return Err(Error::NoPort {
                    object,
                    example: format!("pod/{name}:8080"),
                });
            }
            [(_, first, _), ..] => {
                return Err(Error::AmbiguousPort {
                    object,
                    available: list(),
                    example: format!("pod/{name}:{first}"),
                });
            }
        },
    };
    Ok(ProbeTarget {
        pod: Some(PodTarget {
            name: name.into(),
            namespace: namespace.map(str::to_string),
            port,
        }),
        ..Default::default()
    })
}
