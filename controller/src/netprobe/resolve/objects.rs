//! API objects -> resolved facts (pure, no client required), tested with YAML fixtures.

use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use netdiag_crds::{PortRef, Protocol, TargetRef};
use netdiag_model::DnsServer;

use netdiag_kube::endpoints;
use netdiag_kube::pod as kube_pod;
use netdiag_kube::service::{self, PortError, WantedPort};

use super::{ResolveError, ResolvedPod, ResolvedService, SourcePod};
use crate::netprobe::spec::ValidSpec;

fn phase_of(pod: &Pod) -> String {
    kube_pod::phase(pod).to_string()
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
    if pod
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.as_ref())
        .is_none()
    {
        return Err(ResolveError::SourcePodNoIp {
            namespace: ns,
            name: n,
        });
    }
    let ip = pod_ipv4(pod, "source pod", &ns, &n)?;
    let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) else {
        return Err(ResolveError::SourcePodNoNode {
            namespace: ns,
            name: n,
        });
    };
    Ok(SourcePod {
        ready: kube_pod::is_ready(pod),
        is_node: false,
        namespace: ns,
        name: n,
        ip,
        node,
    })
}

/// A placed pod's IPv4 address, or why it has none.
fn pod_ipv4(pod: &Pod, what: &'static str, ns: &str, name: &str) -> Result<Ipv4Addr, ResolveError> {
    kube_pod::ipv4(pod).ok_or_else(|| ResolveError::NoIpv4 {
        what,
        namespace: ns.to_string(),
        name: name.to_string(),
        ips: (pod.status.as_ref())
            .and_then(|s| s.pod_ip.clone())
            .unwrap_or_default(),
    })
}

/// A node source's facts (pure): the node's InternalIP (as the plugin names node targets), the
/// node itself as where the agent runs. `node` is `None` when the API said 404.
pub fn source_from_node(
    probe_namespace: &str,
    name: &str,
    node: Option<&Node>,
) -> Result<SourcePod, ResolveError> {
    let Some(node) = node else {
        return Err(ResolveError::SourceNodeNotFound { name: name.into() });
    };
    let Some(ip) = netdiag_kube::node::internal_ip(node) else {
        return Err(ResolveError::SourceNodeNoAddress { name: name.into() });
    };
    // A NotReady node can still open connections: the trace runs and the status says so.
    let ready = (node.status.as_ref())
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    Ok(SourcePod {
        namespace: probe_namespace.to_string(),
        name: name.to_string(),
        ip,
        node: name.to_string(),
        ready,
        is_node: true,
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
        Some(ip) if !ip.is_empty() && kind != "ExternalName" => service::cluster_ipv4(svc)
            .ok_or_else(|| ResolveError::NoIpv4 {
                what: "Service",
                namespace: ns.clone(),
                name: n.clone(),
                ips: ip.to_string(),
            })?,
        _ => {
            return Err(ResolveError::NoClusterIp {
                namespace: ns,
                name: n,
                kind,
            });
        }
    };
    let ports = service::ports(svc);
    let known = ports
        .iter()
        .map(|p| match &p.name {
            Some(name) => format!("{name} ({})", p.port),
            None => p.port.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let wanted = port.map(|p| match p {
        PortRef::Number(n) => WantedPort::Number(*n),
        PortRef::Name(n) => WantedPort::Name(n),
    });
    let chosen = service::choose_port(svc, wanted).map_err(|e| match e {
        PortError::NoSuchNumber(num) => ResolveError::UnknownPort {
            namespace: ns.clone(),
            name: n.clone(),
            port: num,
            known: known.clone(),
        },
        PortError::NoSuchName(pname) => ResolveError::UnknownPortName {
            namespace: ns.clone(),
            name: n.clone(),
            port: pname,
            known: known.clone(),
        },
        PortError::NoPorts | PortError::Ambiguous { .. } => ResolveError::AmbiguousPort {
            namespace: ns.clone(),
            name: n.clone(),
            count: ports.len(),
            known: known.clone(),
        },
    })?;
    let port_name = chosen.slice_name().to_string();
    let protocol = protocol_of(Some(chosen.protocol.as_str()));
    let svc_port = u16::try_from(chosen.port).map_err(|_| ResolveError::UnknownPort {
        namespace: ns.clone(),
        name: n.clone(),
        port: chosen.port,
        known: known.clone(),
    })?;
    let endpoints = endpoints::for_port(slices, &port_name).ready;
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
    let has_ip = pod
        .status
        .as_ref()
        .and_then(|s| s.pod_ip.as_ref())
        .is_some();
    let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
    let (true, Some(node)) = (has_ip, node) else {
        return Err(ResolveError::TargetPodNotPlaced {
            namespace: ns,
            name: n,
        });
    };
    let ip = pod_ipv4(pod, "target pod", &ns, &n)?;
    let container_ports = kube_pod::declared_ports(pod);
    let (port, protocol) = match port {
        PortRef::Number(num) => {
            let declared = container_ports.iter().find(|p| p.port == *num);
            (*num, protocol_of(declared.map(|p| p.protocol.as_str())))
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
            (p.port, protocol_of(Some(p.protocol.as_str())))
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
    let ip = service::cluster_ipv4(service?)?;
    Some(DnsServer {
        address: std::net::SocketAddrV4::new(ip, 53),
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
