//! The nodes a trace may cross, for the overlay's check that a forwarding entry points at the
//! VTEP of the node that really holds the endpoint: each node's InternalIP and pod CIDRs, as
//! `kubectl get node -o jsonpath='{.status.addresses} {.spec.podCIDRs}'` shows them. The choice
//! of nodes and the conversion are pure; [`read_nodes`] only fetches.

use futures::{StreamExt, stream};
use k8s_openapi::api::core::v1::Node;
use kube::{Api, Client};
use netdiag_model::PlanNode;
use netdiag_model::planner::{MAX_PLAN_NODES, ResolvedTarget};

/// How many Node reads run at once.
const CONCURRENT_READS: usize = 8;

/// The source pod's node, then the target pod's or every ready endpoint's, each once, at most
/// [`MAX_PLAN_NODES`]: a Service of thousands of endpoints names the nodes of the first ones.
/// For an address, the node the spec names as its holder (`address.node`, a NodePort's), whose
/// rules the planner runs while the node still holds the address; else none, as for a name.
pub fn nodes_involved(
    source_node: &str,
    target: &ResolvedTarget,
    address_node: Option<&str>,
) -> Vec<String> {
    let others: Vec<&str> = match (target, address_node) {
        (ResolvedTarget::Service(s), _) => s
            .endpoints
            .iter()
            .filter_map(|e| e.node.as_deref())
            .collect(),
        (ResolvedTarget::Pod(p), _) => vec![p.node.as_str()],
        (ResolvedTarget::Address { .. }, Some(node)) => vec![node],
        (ResolvedTarget::Address { .. } | ResolvedTarget::Dns { .. }, _) => return Vec::new(),
    };
    let mut out = vec![source_node.to_string()];
    let mut seen: std::collections::HashSet<&str> = [source_node].into();
    for n in others {
        if out.len() >= MAX_PLAN_NODES {
            break;
        }
        if !n.is_empty() && seen.insert(n) {
            out.push(n.to_string());
        }
    }
    out
}

/// A node as a plan names it: None without an IPv4 address (nothing to compare a VTEP with).
pub fn plan_node_from(node: &Node) -> Option<PlanNode> {
    let name = node.metadata.name.clone()?;
    // The plugin names a node target by the same address (a NetProbe's `node/NAME:PORT`).
    let address = netdiag_kube::node::internal_ip(node)?;
    let spec = node.spec.as_ref();
    let mut pod_cidrs: Vec<String> = (spec.and_then(|s| s.pod_cidrs.clone()))
        .unwrap_or_default()
        .into_iter()
        .filter(|c| !c.contains(':'))
        .collect();
    if pod_cidrs.is_empty()
        && let Some(c) = spec
            .and_then(|s| s.pod_cidr.clone())
            .filter(|c| !c.contains(':'))
    {
        pod_cidrs.push(c);
    }
    Some(PlanNode {
        name,
        address,
        pod_cidrs,
    })
}

/// Read `names` from the API. A node that is gone, or that cannot be read (an install whose
/// RBAC predates `get nodes`), is left out with a warning: the trace still runs, its Tunnel hop
/// reports the VTEP instead of checking it.
pub async fn read_nodes(client: &Client, names: Vec<String>) -> Vec<PlanNode> {
    let api: Api<Node> = Api::all(client.clone());
    let read = stream::iter(names)
        .map(|name| {
            let api = api.clone();
            async move {
                match api.get_opt(&name).await {
                    Ok(node) => node.as_ref().and_then(plan_node_from),
                    Err(e) => {
                        tracing::warn!(node = %name, error = %e, "cannot read the node: its VTEP is reported, not checked");
                        None
                    }
                }
            }
        })
        .buffered(CONCURRENT_READS)
        .collect::<Vec<_>>()
        .await;
    read.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use netdiag_model::planner::{ReadyEndpoint, ResolvedService};

    fn node(json: serde_json::Value) -> Node {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_node_is_its_internal_ipv4_and_its_ipv4_pod_cidrs() {
        let n = node(serde_json::json!({
            "metadata": {"name": "kind-worker"},
            "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24", "fd00:10:244:1::/64"]},
            "status": {"addresses": [
                {"type": "Hostname", "address": "kind-worker"},
                {"type": "InternalIP", "address": "fc00:f853:ccd:e793::3"},
                {"type": "InternalIP", "address": "172.18.0.3"}
            ]}
        }));
        assert_eq!(
            plan_node_from(&n),
            Some(PlanNode {
                name: "kind-worker".into(),
                address: [172, 18, 0, 3].into(),
                pod_cidrs: vec!["10.244.1.0/24".into()],
            })
        );
        // Calico IPAM leaves spec.podCIDR unset: the node still names its address.
        let calico = node(serde_json::json!({
            "metadata": {"name": "n2"},
            "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.7"}]}
        }));
        assert_eq!(
            plan_node_from(&calico).unwrap().pod_cidrs,
            Vec::<String>::new()
        );
        let no_ip = node(serde_json::json!({"metadata": {"name": "n3"}}));
        assert_eq!(plan_node_from(&no_ip), None);
    }

    #[test]
    fn the_nodes_involved_are_the_sources_then_each_endpoints_once() {
        let ep = |ip: &str, node: Option<&str>| ReadyEndpoint {
            ip: ip.parse().expect("test address"),
            port: 8080,
            node: node.map(String::from),
        };
        let svc = ResolvedTarget::Service(ResolvedService {
            namespace: "default".into(),
            name: "echo".into(),
            cluster_ip: [10, 96, 45, 10].into(),
            port: 80,
            port_name: "http".into(),
            protocol: netdiag_model::Protocol::TCP,
            endpoints: vec![
                ep("10.244.1.3", Some("node-a")),
                ep("10.244.2.2", Some("node-b")),
                ep("10.244.2.3", Some("node-b")),
                ep("10.244.3.2", None),
            ],
        });
        assert_eq!(nodes_involved("node-a", &svc, None), ["node-a", "node-b"]);
        let many = ResolvedTarget::Service(ResolvedService {
            endpoints: (0..1000)
                .map(|i| ep("10.0.0.1", Some(&format!("n{i}"))))
                .collect(),
            ..match svc {
                ResolvedTarget::Service(s) => s,
                _ => unreachable!(),
            }
        });
        assert_eq!(nodes_involved("node-a", &many, None).len(), MAX_PLAN_NODES);
        let dns = ResolvedTarget::Dns { name: "x".into() };
        assert!(nodes_involved("node-a", &dns, None).is_empty());
        let np = ResolvedTarget::Address {
            ip: [172, 18, 0, 3].into(),
            port: 30080,
            protocol: netdiag_model::Protocol::TCP,
        };
        assert!(nodes_involved("node-a", &np, None).is_empty());
        assert_eq!(
            nodes_involved("node-a", &np, Some("node-b")),
            ["node-a", "node-b"]
        );
    }
}
