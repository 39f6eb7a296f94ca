//! Step 2 of the pipeline, resolve: read the objects a spec names and turn them into the facts the
//! plan needs (pod IPs, nodes, ClusterIP, ports, ready endpoints). The conversions from API
//! objects are pure functions, tested with YAML fixtures; [`resolve`] only fetches.
//!
//! Every way a target can be unusable (source pod missing or not running, headless Service, no
//! ready endpoints, unknown port name...) is a terminal [`ResolveError`] with a stable reason: the
//! probe fails with that reason and no agent pod is started.

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::ListParams;
use kube::{Api, Client};
use netdiag_crds::{DnsServer, PortRef, Protocol, TargetRef};

use crate::spec::ValidSpec;

/// Where the kube-dns Service lives; its ClusterIP is passed to the agent as a DNS server.
pub const KUBE_DNS_NAMESPACE: &str = "kube-system";
pub const KUBE_DNS_SERVICE: &str = "kube-dns";
/// Label EndpointSlices carry with their Service's name.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The source pod: where the traffic starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcePod {
    pub namespace: String,
    pub name: String,
    pub ip: String,
    pub node: String,
    /// Not required: a not-ready pod can still open connections, but the status says so.
    pub ready: bool,
}

/// A ready endpoint of a Service, with the node it runs on when the EndpointSlice says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadyEndpoint {
    pub ip: String,
    pub port: u16,
    pub node: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedService {
    pub namespace: String,
    pub name: String,
    pub cluster_ip: String,
    pub port: u16,
    /// The Service port's name ("" when it has one unnamed port), as EndpointSlices name it.
    pub port_name: String,
    pub protocol: Protocol,
    pub endpoints: Vec<ReadyEndpoint>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedPod {
    pub namespace: String,
    pub name: String,
    pub ip: String,
    pub node: String,
    pub port: u16,
    pub protocol: Protocol,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResolvedTarget {
    Service(ResolvedService),
    Pod(ResolvedPod),
    Address {
        ip: String,
        port: u16,
        protocol: Protocol,
    },
    Dns {
        name: String,
    },
}

/// Everything the plan needs, read from the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub source: SourcePod,
    pub target: ResolvedTarget,
    /// The name to resolve from the source pod, if any.
    pub dns_name: Option<String>,
    /// Cluster DNS servers to ask besides the pod's resolv.conf.
    pub dns_servers: Vec<DnsServer>,
}

/// Why a probe's objects cannot be used. All but [`ResolveError::Api`] are terminal: the probe
/// fails with [`ResolveError::reason`] and no agent pod starts.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("source pod {namespace}/{name} not found: create it or fix spec.source.pod")]
    SourcePodNotFound { namespace: String, name: String },
    #[error(
        "source pod {namespace}/{name} is {phase}, not Running: the trace needs its network namespace"
    )]
    SourcePodNotRunning {
        namespace: String,
        name: String,
        phase: String,
    },
    #[error("source pod {namespace}/{name} has no IP yet: wait until its sandbox is up")]
    SourcePodNoIp { namespace: String, name: String },
    #[error("source pod {namespace}/{name} is not bound to a node")]
    SourcePodNoNode { namespace: String, name: String },
    #[error("Service {namespace}/{name} not found: create it or fix spec.target.service")]
    ServiceNotFound { namespace: String, name: String },
    #[error(
        "Service {namespace}/{name} is headless (clusterIP None): there is no virtual IP to trace; target one of its pods instead"
    )]
    HeadlessService { namespace: String, name: String },
    #[error(
        "Service {namespace}/{name} has no ClusterIP (type {kind}): netdiag traces ClusterIP Services"
    )]
    NoClusterIp {
        namespace: String,
        name: String,
        kind: String,
    },
    #[error("Service {namespace}/{name} has no port named {port:?}; it has: {known}")]
    UnknownPortName {
        namespace: String,
        name: String,
        port: String,
        known: String,
    },
    #[error("Service {namespace}/{name} has no port {port}; it has: {known}")]
    UnknownPort {
        namespace: String,
        name: String,
        port: i32,
        known: String,
    },
    #[error(
        "Service {namespace}/{name} has {count} ports: set spec.target.service.port to one of {known}"
    )]
    AmbiguousPort {
        namespace: String,
        name: String,
        count: usize,
        known: String,
    },
    #[error(
        "Service {namespace}/{name} has no ready endpoints for port {port}: no pod behind it is Ready (check its selector and the pods' readiness probes)"
    )]
    NoReadyEndpoints {
        namespace: String,
        name: String,
        port: String,
    },
    #[error("target pod {namespace}/{name} not found: fix spec.target.pod")]
    TargetPodNotFound { namespace: String, name: String },
    #[error("target pod {namespace}/{name} is {phase}, not Running")]
    TargetPodNotRunning {
        namespace: String,
        name: String,
        phase: String,
    },
    #[error("target pod {namespace}/{name} has no IP or node yet")]
    TargetPodNotPlaced { namespace: String, name: String },
    #[error("target pod {namespace}/{name} declares no container port named {port:?}")]
    UnknownContainerPort {
        namespace: String,
        name: String,
        port: String,
    },
    #[error("spec.target sets no single target kind")]
    NoTarget,
    #[error("reading {what} from the API failed: {source}; retrying")]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
}

impl ResolveError {
    /// The status reason: a stable category for conditions and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            ResolveError::SourcePodNotFound { .. } => "SourcePodNotFound",
            ResolveError::SourcePodNotRunning { .. } => "SourcePodNotRunning",
            ResolveError::SourcePodNoIp { .. } => "SourcePodNoIP",
            ResolveError::SourcePodNoNode { .. } => "SourcePodNotScheduled",
            ResolveError::ServiceNotFound { .. } => "ServiceNotFound",
            ResolveError::HeadlessService { .. } => "HeadlessService",
            ResolveError::NoClusterIp { .. } => "NoClusterIP",
            ResolveError::UnknownPortName { .. } => "UnknownPortName",
            ResolveError::UnknownPort { .. } => "UnknownPort",
            ResolveError::AmbiguousPort { .. } => "AmbiguousPort",
            ResolveError::NoReadyEndpoints { .. } => "NoReadyEndpoints",
            ResolveError::TargetPodNotFound { .. } => "TargetPodNotFound",
            ResolveError::TargetPodNotRunning { .. } => "TargetPodNotRunning",
            ResolveError::TargetPodNotPlaced { .. } => "TargetPodNotPlaced",
            ResolveError::UnknownContainerPort { .. } => "UnknownContainerPort",
            ResolveError::NoTarget => "InvalidSpec",
            ResolveError::Api { .. } => "ApiError",
        }
    }

    /// Whether the probe should fail with this reason (rather than be retried).
    pub fn is_terminal(&self) -> bool {
        !matches!(self, ResolveError::Api { .. })
    }

    /// What this failure already says about reachability: a Service with no ready endpoint,
    /// or a target pod that is not running, cannot be reached; the rest says nothing.
    pub fn reachable(&self) -> Option<bool> {
        match self {
            ResolveError::NoReadyEndpoints { .. } | ResolveError::TargetPodNotRunning { .. } => {
                Some(false)
            }
            _ => None,
        }
    }
}

fn phase_of(pod: &Pod) -> String {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Unknown".to_string())
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The source pod's facts (pure). `pod` is `None` when the API said 404.
pub fn source_from_pod(
    namespace: &str,
    name: &str,
    pod: Option<&Pod>,
) -> Result<SourcePod, ResolveError> {
    let (ns, n) = (namespace.to_string(), name.to_string());
    let Some(pod) = pod else {
        return Err(ResolveError::SourcePodNotFound {
            namespace: ns,
            name: n,
        });
    };
    let phase = phase_of(pod);
    if phase != "Running" {
        return Err(ResolveError::SourcePodNotRunning {
            namespace: ns,
            name: n,
            phase,
        });
    }
    let Some(ip) = pod.status.as_ref().and_then(|s| s.pod_ip.clone()) else {
        return Err(ResolveError::SourcePodNoIp {
            namespace: ns,
            name: n,
        });
    };
    let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) else {
        return Err(ResolveError::SourcePodNoNode {
            namespace: ns,
            name: n,
        });
    };
    Ok(SourcePod {
        ready: is_ready(pod),
        namespace: ns,
        name: n,
        ip,
        node,
    })
}

fn protocol_of(p: Option<&str>) -> Protocol {
    match p {
        Some("UDP") => Protocol::UDP,
        _ => Protocol::TCP,
    }
}

/// A Service target's facts (pure): the port chosen by number or name, and the ready endpoints
/// of that port from the Service's EndpointSlices (which already carry the resolved targetPort,
/// named container ports included).
pub fn service_from(
    namespace: &str,
    name: &str,
    service: Option<&Service>,
    slices: &[EndpointSlice],
    port: Option<&PortRef>,
) -> Result<ResolvedService, ResolveError> {
    let (ns, n) = (namespace.to_string(), name.to_string());
    let Some(svc) = service else {
        return Err(ResolveError::ServiceNotFound {
            namespace: ns,
            name: n,
        });
    };
    let spec = svc.spec.clone().unwrap_or_default();
    let kind = spec
        .type_
        .clone()
        .unwrap_or_else(|| "ClusterIP".to_string());
    let cluster_ip = match spec.cluster_ip.as_deref() {
        Some("None") => {
            return Err(ResolveError::HeadlessService {
                namespace: ns,
                name: n,
            });
        }
        Some(ip) if !ip.is_empty() && kind != "ExternalName" => ip.to_string(),
        _ => {
            return Err(ResolveError::NoClusterIp {
                namespace: ns,
                name: n,
                kind,
            });
        }
    };
    let ports = spec.ports.unwrap_or_default();
    let known = ports
        .iter()
        .map(|p| match &p.name {
            Some(name) if !name.is_empty() => format!("{name} ({})", p.port),
            _ => p.port.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let chosen = match port {
        Some(PortRef::Number(num)) => {
            ports
                .iter()
                .find(|p| p.port == *num)
                .ok_or_else(|| ResolveError::UnknownPort {
                    namespace: ns.clone(),
                    name: n.clone(),
                    port: *num,
                    known: known.clone(),
                })?
        }
        Some(PortRef::Name(pname)) => ports
            .iter()
            .find(|p| p.name.as_deref() == Some(pname.as_str()))
            .ok_or_else(|| ResolveError::UnknownPortName {
                namespace: ns.clone(),
                name: n.clone(),
                port: pname.clone(),
                known: known.clone(),
            })?,
        None => match ports.as_slice() {
            [one] => one,
            _ => {
                return Err(ResolveError::AmbiguousPort {
                    namespace: ns,
                    name: n,
                    count: ports.len(),
                    known,
                });
            }
        },
    };
    let port_name = chosen.name.clone().unwrap_or_default();
    let protocol = protocol_of(chosen.protocol.as_deref());
    let svc_port = u16::try_from(chosen.port).map_err(|_| ResolveError::UnknownPort {
        namespace: ns.clone(),
        name: n.clone(),
        port: chosen.port,
        known: known.clone(),
    })?;
    let mut endpoints: Vec<ReadyEndpoint> = Vec::new();
    for slice in slices {
        if slice.address_type != "IPv4" {
            continue;
        }
        // The slice's port entry for this Service port: EndpointSlices name it like the
        // Service port ("" or absent for a single unnamed port).
        let Some(ep_port) = slice.ports.as_ref().and_then(|ps| {
            ps.iter()
                .find(|p| p.name.clone().unwrap_or_default() == port_name)
                .and_then(|p| p.port)
                .and_then(|p| u16::try_from(p).ok())
        }) else {
            continue;
        };
        for ep in &slice.endpoints {
            // A nil `ready` means unknown, which consumers treat as ready (API docs).
            let ready = ep.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
            if !ready {
                continue;
            }
            for ip in &ep.addresses {
                let e = ReadyEndpoint {
                    ip: ip.clone(),
                    port: ep_port,
                    node: ep.node_name.clone(),
                };
                if !endpoints.contains(&e) {
                    endpoints.push(e);
                }
            }
        }
    }
    if endpoints.is_empty() {
        return Err(ResolveError::NoReadyEndpoints {
            namespace: ns,
            name: n,
            port: if port_name.is_empty() {
                svc_port.to_string()
            } else {
                port_name
            },
        });
    }
    endpoints.sort_by(|a, b| (&a.ip, a.port).cmp(&(&b.ip, b.port)));
    Ok(ResolvedService {
        namespace: ns,
        name: n,
        cluster_ip,
        port: svc_port,
        port_name,
        protocol,
        endpoints,
    })
}

/// A pod target's facts (pure): its IP, node, and the port by number or container port name.
pub fn pod_target_from(
    namespace: &str,
    name: &str,
    pod: Option<&Pod>,
    port: &PortRef,
) -> Result<ResolvedPod, ResolveError> {
    let (ns, n) = (namespace.to_string(), name.to_string());
    let Some(pod) = pod else {
        return Err(ResolveError::TargetPodNotFound {
            namespace: ns,
            name: n,
        });
    };
    let phase = phase_of(pod);
    if phase != "Running" {
        return Err(ResolveError::TargetPodNotRunning {
            namespace: ns,
            name: n,
            phase,
        });
    }
    let ip = pod.status.as_ref().and_then(|s| s.pod_ip.clone());
    let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
    let (Some(ip), Some(node)) = (ip, node) else {
        return Err(ResolveError::TargetPodNotPlaced {
            namespace: ns,
            name: n,
        });
    };
    let container_ports: Vec<_> = pod
        .spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .collect();
    let (port, protocol) = match port {
        PortRef::Number(num) => {
            let declared = container_ports.iter().find(|p| p.container_port == *num);
            (
                *num,
                protocol_of(declared.and_then(|p| p.protocol.as_deref())),
            )
        }
        PortRef::Name(pname) => {
            let p = container_ports
                .iter()
                .find(|p| p.name.as_deref() == Some(pname.as_str()))
                .ok_or_else(|| ResolveError::UnknownContainerPort {
                    namespace: ns.clone(),
                    name: n.clone(),
                    port: pname.clone(),
                })?;
            (p.container_port, protocol_of(p.protocol.as_deref()))
        }
    };
    let port = u16::try_from(port).map_err(|_| ResolveError::UnknownContainerPort {
        namespace: ns.clone(),
        name: n.clone(),
        port: port.to_string(),
    })?;
    Ok(ResolvedPod {
        namespace: ns,
        name: n,
        ip,
        node,
        port,
        protocol,
    })
}

/// The kube-dns Service as a DNS server for the agent (pure); `None` when it is absent or has
/// no ClusterIP (the agent still asks the pod's own nameservers).
pub fn kube_dns_from(service: Option<&Service>) -> Option<DnsServer> {
    let ip = service?.spec.as_ref()?.cluster_ip.clone()?;
    if ip.is_empty() || ip == "None" {
        return None;
    }
    Some(DnsServer {
        address: ip,
        role: "kube-dns".to_string(),
    })
}

/// The name the source pod resolves: `spec.dnsName`, the DNS target, or for a Service target
/// its cluster-local name.
pub fn dns_name_for(
    spec: &ValidSpec,
    probe_namespace: &str,
    cluster_domain: &str,
) -> Option<String> {
    let spec = spec.get();
    if let Some(n) = &spec.dns_name {
        return Some(n.clone());
    }
    match spec.target.kind()? {
        TargetRef::Dns(d) => Some(d.name.clone()),
        TargetRef::Service(s) => Some(format!(
            "{}.{}.svc.{cluster_domain}",
            s.name,
            s.namespace.as_deref().unwrap_or(probe_namespace)
        )),
        _ => None,
    }
}

async fn get_opt<K>(api: &Api<K>, name: &str, what: &str) -> Result<Option<K>, ResolveError>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.get_opt(name).await.map_err(|source| ResolveError::Api {
        what: what.to_string(),
        source,
    })
}

/// Read what a spec names and resolve it. Source and target pods, Services and EndpointSlices
/// are read in their own namespaces only; a cross-namespace target reveals nothing but that
/// Service's (or pod's) own facts.
pub async fn resolve(
    client: &Client,
    probe_namespace: &str,
    spec: &ValidSpec,
    cluster_domain: &str,
) -> Result<Resolved, ResolveError> {
    let s = spec.get();
    let pods: Api<Pod> = Api::namespaced(client.clone(), probe_namespace);
    let src = get_opt(&pods, &s.source.pod, "the source pod").await?;
    let source = source_from_pod(probe_namespace, &s.source.pod, src.as_ref())?;
    let target = match s.target.kind() {
        Some(TargetRef::Service(t)) => {
            let ns = t.namespace.as_deref().unwrap_or(probe_namespace);
            let svcs: Api<Service> = Api::namespaced(client.clone(), ns);
            let svc = get_opt(&svcs, &t.name, "the target Service").await?;
            let slices: Vec<EndpointSlice> = if svc.is_some() {
                let api: Api<EndpointSlice> = Api::namespaced(client.clone(), ns);
                let lp = ListParams::default().labels(&format!("{SERVICE_NAME_LABEL}={}", t.name));
                api.list(&lp)
                    .await
                    .map_err(|source| ResolveError::Api {
                        what: format!("EndpointSlices of Service {ns}/{}", t.name),
                        source,
                    })?
                    .items
            } else {
                Vec::new()
            };
            ResolvedTarget::Service(service_from(
                ns,
                &t.name,
                svc.as_ref(),
                &slices,
                t.port.as_ref(),
            )?)
        }
        Some(TargetRef::Pod(t)) => {
            let ns = t.namespace.as_deref().unwrap_or(probe_namespace);
            let api: Api<Pod> = Api::namespaced(client.clone(), ns);
            let pod = get_opt(&api, &t.name, "the target pod").await?;
            ResolvedTarget::Pod(pod_target_from(ns, &t.name, pod.as_ref(), &t.port)?)
        }
        Some(TargetRef::Address(a)) => ResolvedTarget::Address {
            ip: a.ip.clone(),
            // validate_spec checked 1..=65535.
            port: u16::try_from(a.port).unwrap_or(0),
            protocol: a.protocol,
        },
        Some(TargetRef::Dns(d)) => ResolvedTarget::Dns {
            name: d.name.clone(),
        },
        // ValidSpec guarantees exactly one target; say so rather than panic if that changes.
        None => return Err(ResolveError::NoTarget),
    };
    let dns_name = dns_name_for(spec, probe_namespace, cluster_domain);
    let mut dns_servers = Vec::new();
    if dns_name.is_some() {
        let api: Api<Service> = Api::namespaced(client.clone(), KUBE_DNS_NAMESPACE);
        let svc = get_opt(&api, KUBE_DNS_SERVICE, "the kube-dns Service").await?;
        dns_servers.extend(kube_dns_from(svc.as_ref()));
    }
    Ok(Resolved {
        source,
        target,
        dns_name,
        dns_servers,
    })
}
