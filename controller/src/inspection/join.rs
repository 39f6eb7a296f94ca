//! The pure joins of a NodeInspection (no client required): each pod namespace of a node's
//! report to its Pod (by IP, among the Pods the API places on that node), each listening socket
//! to the host-network Pod declaring its port, and each node's Service rules to the Service's
//! ready endpoints, with the difference.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Pod;
use netdiag_crds::inspection::{PortEndpoints, ServiceOnNode};
use netdiag_model::inspect::{InspectReport, PodRef};

/// `ns/name` of a Pod, when its metadata has both.
fn pod_ref(pod: &Pod) -> Option<PodRef> {
    Some(PodRef {
        namespace: pod.metadata.namespace.clone()?,
        name: pod.metadata.name.clone()?,
    })
}

fn on_node(pod: &Pod, node: &str) -> bool {
    pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node)
}

fn host_network(pod: &Pod) -> bool {
    pod.spec.as_ref().and_then(|s| s.host_network) == Some(true)
}

/// Every IP the API gives the Pod (`status.podIPs`, else `status.podIP`).
fn pod_ips(pod: &Pod) -> Vec<&str> {
    let Some(status) = pod.status.as_ref() else {
        return Vec::new();
    };
    let mut ips: Vec<&str> = (status.pod_ips.iter().flatten())
        .map(|p| p.ip.as_str())
        .collect();
    if ips.is_empty() {
        ips.extend(status.pod_ip.as_deref());
    }
    ips
}

/// Name the namespaces and host-network listeners of `report` from `pods` (any list that holds
/// the node's Pods; others are ignored). Pods in the host network share the node's IP, so they
/// are never matched to a pod namespace, only to the sockets on the ports they declare.
pub fn join_pods(report: &mut InspectReport, pods: &[Pod]) {
    let node = report.node.clone();
    let ours: Vec<&Pod> = pods.iter().filter(|p| on_node(p, &node)).collect();
    report.join_pods(|ip| {
        ours.iter()
            .filter(|p| !host_network(p))
            .find(|p| pod_ips(p).contains(&ip))
            .and_then(|p| pod_ref(p))
    });
    for listener in &mut report.facts.listeners {
        listener.pod = (ours.iter())
            .filter(|p| host_network(p))
            .find(|p| {
                netdiag_kube::pod::declared_ports(p).iter().any(|c| {
                    i32::from(listener.port) == c.port
                        && c.protocol.eq_ignore_ascii_case(&listener.protocol)
                })
            })
            .and_then(|p| pod_ref(p));
    }
}

/// One Service port as the comparison takes it: what kube-proxy is asked about and what the
/// EndpointSlices say it should program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedPort {
    /// `80/TCP`.
    pub label: String,
    /// `10.96.45.10:80/tcp`: the address the agent read rules for.
    pub address: String,
    /// Ready endpoints, `IP:PORT`.
    pub endpoints: Vec<String>,
}

/// `report`'s rules for each of `expected` against the ready endpoints: what is missing and
/// what is stale. A port whose rules the node did not report counts every endpoint missing.
pub fn compare_service(report: &InspectReport, expected: &[ExpectedPort]) -> ServiceOnNode {
    let mut out = ServiceOnNode {
        node: report.node.clone(),
        mode: report.facts.proxy.mode.clone(),
        ..Default::default()
    };
    for port in expected {
        let programmed: Vec<String> = (report.facts.services.iter())
            .find(|s| s.address == port.address)
            .map(|s| s.endpoints.clone())
            .unwrap_or_default();
        let want: BTreeSet<&String> = port.endpoints.iter().collect();
        let have: BTreeSet<&String> = programmed.iter().collect();
        let tag = |e: &&String| format!("{} ({})", e, port.label);
        out.missing.extend(want.difference(&have).map(tag));
        out.stale.extend(have.difference(&want).map(tag));
        out.programmed.push(PortEndpoints {
            port: port.label.clone(),
            endpoints: programmed,
        });
    }
    out.agrees = out.missing.is_empty() && out.stale.is_empty();
    out
}
