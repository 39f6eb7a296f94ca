//! `lab trace`'s SOURCE and TARGET against the lab's spec: the lab's stand-in for the
//! controller's API reads. Pure: the shared shorthand in ([`netdiag_crds::shorthand`]), the
//! planner's facts ([`Resolved`]) and the NetProbe target a cluster probe would hold out, so the
//! shared planner plans a lab trace exactly as it plans a cluster probe.

use netdiag_crds::probe::{AddressTarget, DnsTarget, PodTarget, ServiceTarget};
use netdiag_crds::shorthand::{SourceArg, SourceKind, TargetArg};
use netdiag_crds::{PortRef, ProbeTarget};
use netdiag_model::planner::{
    ReadyEndpoint, Resolved, ResolvedPod, ResolvedService, ResolvedTarget, SourcePod,
};
use netdiag_model::{DnsServer, PlanNode, Protocol};

use super::spec::{LabSpec, PodSpec, ServicePortSpec, ServiceSpec};
use super::trace::TraceError;

/// What a lab trace resolved to: the planner's facts and the NetProbe target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabProbe {
    pub resolved: Resolved,
    pub target: ProbeTarget,
}

/// Resolve `from` and `to` in the lab. A Service or pod named without a namespace is looked up
/// in the source pod's namespace first, then in any (lab names are few and unique enough).
pub fn resolve(
    spec: &LabSpec,
    from: &SourceArg,
    to: &TargetArg,
    dns_name: Option<&str>,
) -> Result<LabProbe, TraceError> {
    let node_source;
    let pod = match from.kind {
        SourceKind::Pod => spec
            .pod(&from.name)
            .ok_or_else(|| TraceError::UnknownPod(from.name.clone()))?,
        // A node's host network: names are looked up as from the default namespace.
        SourceKind::Node => {
            let node = spec
                .node(&from.name)
                .ok_or_else(|| TraceError::UnknownNode(from.name.clone()))?;
            node_source = PodSpec {
                name: node.name.clone(),
                namespace: "default".into(),
                node: node.name.clone(),
                ip: node.ip,
                tcp: vec![],
                udp: vec![],
            };
            &node_source
        }
        _ => return Err(TraceError::NotAPod(from.to_string())),
    };
    let source = SourcePod {
        namespace: pod.namespace.clone(),
        name: pod.name.clone(),
        ip: pod.ip,
        node: pod.node.clone(),
        ready: true,
        is_node: from.kind == SourceKind::Node,
    };
    let (target, probe_target, implied_dns) = match to {
        TargetArg::Service {
            namespace,
            name,
            port,
        } => {
            let (svc, sp) = service(spec, pod, namespace.as_deref(), name, port.as_ref())?;
            (
                ResolvedTarget::Service(resolved_service(spec, svc, sp)),
                ProbeTarget {
                    service: Some(ServiceTarget {
                        name: svc.name.clone(),
                        namespace: other_namespace(&svc.namespace, pod),
                        port: port.clone(),
                    }),
                    ..Default::default()
                },
                Some(spec.service_fqdn(svc)),
            )
        }
        TargetArg::Pod {
            namespace,
            name,
            port,
        } => {
            let target = target_pod(spec, pod, namespace.as_deref(), name)?;
            let (port, protocol) = pod_port(spec, target, port.as_ref())?;
            (
                ResolvedTarget::Pod(ResolvedPod {
                    namespace: target.namespace.clone(),
                    name: target.name.clone(),
                    ip: target.ip,
                    node: target.node.clone(),
                    port,
                    protocol,
                }),
                ProbeTarget {
                    pod: Some(PodTarget {
                        name: target.name.clone(),
                        namespace: other_namespace(&target.namespace, pod),
                        port: PortRef::Number(i32::from(port)),
                    }),
                    ..Default::default()
                },
                None,
            )
        }
        TargetArg::Address { ip, port, protocol } => address(*ip, *port, *protocol),
        TargetArg::Node {
            name,
            port,
            protocol,
        } => {
            let node = spec
                .node(name)
                .ok_or_else(|| TraceError::UnknownNode(name.clone()))?;
            let mut planned = address(node.ip, *port, *protocol);
            if let Some(a) = planned.1.address.as_mut() {
                a.node = Some(node.name.clone());
            }
            planned
        }
        TargetArg::Dns { name } => (
            ResolvedTarget::Dns { name: name.clone() },
            ProbeTarget {
                dns: Some(DnsTarget { name: name.clone() }),
                ..Default::default()
            },
            Some(name.clone()),
        ),
    };
    Ok(LabProbe {
        resolved: Resolved {
            source,
            target,
            dns_name: dns_name.map(String::from).or(implied_dns),
            dns_servers: vec![DnsServer {
                address: std::net::SocketAddrV4::new(spec.dns.cluster_ip, 53),
                role: "kube-dns".into(),
            }],
            nodes: spec
                .nodes
                .iter()
                .map(|n| PlanNode {
                    name: n.name.clone(),
                    address: n.ip,
                    pod_cidrs: vec![n.pod_cidr.to_string()],
                })
                .collect(),
        },
        target: probe_target,
    })
}

type Planned = (ResolvedTarget, ProbeTarget, Option<String>);

fn address(ip: std::net::Ipv4Addr, port: u16, protocol: Protocol) -> Planned {
    (
        ResolvedTarget::Address { ip, port, protocol },
        ProbeTarget {
            address: Some(AddressTarget {
                ip: ip.to_string(),
                port: i32::from(port),
                protocol,
                node: None,
            }),
            ..Default::default()
        },
        None,
    )
}

/// The namespace to write in the NetProbe: none when it is the source pod's.
fn other_namespace(ns: &str, source: &PodSpec) -> Option<String> {
    (ns != source.namespace).then(|| ns.to_string())
}

fn service<'a>(
    spec: &'a LabSpec,
    from: &PodSpec,
    namespace: Option<&str>,
    name: &str,
    port: Option<&PortRef>,
) -> Result<(&'a ServiceSpec, &'a ServicePortSpec), TraceError> {
    let svc = spec
        .services
        .iter()
        .filter(|s| s.name == name && namespace.is_none_or(|ns| s.namespace == ns))
        .min_by_key(|s| s.namespace != from.namespace)
        .ok_or_else(|| TraceError::UnknownService(qualified(namespace, name)))?;
    let known = || {
        svc.ports
            .iter()
            .map(|p| match &p.name {
                Some(n) => format!("{n} ({}/{})", p.port, p.protocol.as_upper()),
                None => format!("{}/{}", p.port, p.protocol.as_upper()),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let object = format!("{}/{}", svc.namespace, svc.name);
    let chosen = match port {
        None => match svc.ports.as_slice() {
            [only] => only,
            _ => {
                return Err(TraceError::AmbiguousPort {
                    service: object,
                    known: known(),
                });
            }
        },
        Some(p) => svc
            .ports
            .iter()
            .find(|sp| match p {
                PortRef::Number(n) => i32::from(sp.port) == *n,
                PortRef::Name(n) => sp.name.as_deref() == Some(n.as_str()),
            })
            .ok_or_else(|| TraceError::UnknownPort {
                service: object,
                port: p.to_string(),
                known: known(),
            })?,
    };
    Ok((svc, chosen))
}

fn resolved_service(spec: &LabSpec, svc: &ServiceSpec, port: &ServicePortSpec) -> ResolvedService {
    let mut endpoints: Vec<ReadyEndpoint> = svc
        .endpoints
        .iter()
        .filter_map(|p| spec.pod(p))
        .map(|p| ReadyEndpoint {
            ip: p.ip,
            port: port.target_port,
            node: Some(p.node.clone()),
        })
        .collect();
    // as the EndpointSlice reader sorts them, so plans compare equal to a cluster's
    endpoints.sort_by(|a, b| (&a.ip, a.port).cmp(&(&b.ip, b.port)));
    ResolvedService {
        namespace: svc.namespace.clone(),
        name: svc.name.clone(),
        cluster_ip: svc.cluster_ip,
        port: port.port,
        port_name: port.name.clone().unwrap_or_default(),
        protocol: port.protocol,
        endpoints,
    }
}

fn target_pod<'a>(
    spec: &'a LabSpec,
    from: &PodSpec,
    namespace: Option<&str>,
    name: &str,
) -> Result<&'a PodSpec, TraceError> {
    spec.pods
        .iter()
        .filter(|p| p.name == name && namespace.is_none_or(|ns| p.namespace == ns))
        .min_by_key(|p| p.namespace != from.namespace)
        .ok_or_else(|| TraceError::UnknownPod(qualified(namespace, name)))
}

/// The TCP and UDP ports a lab pod serves: its echo ports, and DNS in the kube-dns pod.
pub fn served_ports(spec: &LabSpec, pod: &PodSpec) -> (Vec<u16>, Vec<u16>) {
    let (mut tcp, mut udp) = (pod.tcp.clone(), pod.udp.clone());
    if pod.name == spec.dns.pod {
        for ports in [&mut tcp, &mut udp] {
            if !ports.contains(&53) {
                ports.push(53);
            }
        }
    }
    (tcp, udp)
}

/// The pod's port: a number (TCP unless the pod serves it only over UDP), or its one port.
/// Lab pods declare no port names.
fn pod_port(
    spec: &LabSpec,
    pod: &PodSpec,
    port: Option<&PortRef>,
) -> Result<(u16, Protocol), TraceError> {
    let (tcp, udp) = served_ports(spec, pod);
    let declared = || {
        let ports: Vec<String> = tcp
            .iter()
            .map(|p| format!("{p}/TCP"))
            .chain(udp.iter().map(|p| format!("{p}/UDP")))
            .collect();
        if ports.is_empty() {
            "no ports".to_string()
        } else {
            ports.join(", ")
        }
    };
    let protocol_of = |n: u16| {
        if !tcp.contains(&n) && udp.contains(&n) {
            Protocol::UDP
        } else {
            Protocol::TCP
        }
    };
    match port {
        Some(PortRef::Number(n)) => {
            let n = u16::try_from(*n).map_err(|_| TraceError::PodPort {
                pod: pod.name.clone(),
                detail: format!("{n} is not a port"),
            })?;
            Ok((n, protocol_of(n)))
        }
        Some(PortRef::Name(n)) => Err(TraceError::PodPort {
            pod: pod.name.clone(),
            detail: format!(
                "lab pods have no named ports, so {n:?} names none; use a number ({})",
                declared()
            ),
        }),
        None => match (tcp.as_slice(), udp.as_slice()) {
            ([only], []) => Ok((*only, Protocol::TCP)),
            ([], [only]) => Ok((*only, Protocol::UDP)),
            ([], []) => Err(TraceError::PodPort {
                pod: pod.name.clone(),
                detail: "it serves no ports: nothing listens in it".into(),
            }),
            _ => Err(TraceError::PodPort {
                pod: pod.name.clone(),
                detail: format!("it serves {}: say which, e.g. pod/NAME:PORT", declared()),
            }),
        },
    }
}

fn qualified(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

#[cfg(test)]
mod tests;
