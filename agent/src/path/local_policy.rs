//! externalTrafficPolicy Local, met by a pod on another node. kube-proxy short-circuits the
//! cluster's pods past the Local policy's "has no local endpoints" drop (`-s CLUSTER_CIDR -j
//! KUBE-SVC-...`) to every endpoint. On the pod's own node that is all there is to it: the node
//! DNATs, and the reply comes back through it. A pod on another node reaches this node's
//! NodePort with its own address, though: kube-proxy DNATs it to an endpoint elsewhere and does
//! not masquerade it, so the endpoint answers the pod directly, past this node's conntrack, and
//! the pod gets a SYN-ACK from an address it never called and drops it. The connect times out
//! with nothing on the way looking broken: this names it. Pure.

use std::net::Ipv4Addr;

use netdiag_model::{Hop, PlanNode, Reason, Verdict};

use crate::dataplane::kube_proxy::ServiceProgram;
use crate::path::tunnel::node_of_destination;

/// This node's ServiceRules `hop` for its NodePort, traced for the pod at `source` on another
/// node: a Fail when kube-proxy short-circuited the pod past a Local policy with no endpoint
/// here (`program.short_circuited`), the hop as it was otherwise. `nodes` name the endpoints'
/// nodes.
pub fn pod_from_another_node(
    node: &str,
    mut hop: Hop,
    program: &ServiceProgram,
    source: Ipv4Addr,
    nodes: &[PlanNode],
) -> Hop {
    if program.short_circuited.is_none() || program.endpoints.is_empty() {
        return hop;
    }
    let service = program.service.as_deref().unwrap_or(&program.address);
    let endpoints: Vec<String> = (program.endpoints.iter())
        .map(|e| match node_of_destination(nodes, e.ip) {
            Some(n) => format!("{}:{} on {}", e.ip, e.port, n.name),
            None => format!("{}:{}", e.ip, e.port),
        })
        .collect();
    let mut elsewhere: Vec<&str> = (program.endpoints.iter())
        .filter_map(|e| node_of_destination(nodes, e.ip).map(|n| n.name.as_str()))
        .collect();
    elsewhere.dedup();
    let instead = match elsewhere.as_slice() {
        [] => String::new(),
        names => format!(" (on {})", names.join(", ")),
    };
    hop.verdict = Verdict::Fail;
    hop.detail = format!(
        "{service} has externalTrafficPolicy Local and {node} runs none of its endpoints: kube-proxy on {node} passes the pod's traffic from another node ({source}) on to {} without masquerading it, so the reply goes from the endpoint straight back to the pod, not through {node}'s NAT, and the pod drops it; from a pod use the Service's ClusterIP, or the NodePort of a node that runs an endpoint{instead}",
        endpoints.join(", ")
    );
    hop.with_reason(Reason::AsymmetricNodePort)
}

#[cfg(test)]
mod tests {
    use netdiag_model::HopKind;

    use super::*;
    use crate::dataplane::kube_proxy::{
        BlockAction, Blocked, Lookup, ProgrammedEndpoint, ProxyMode,
    };

    fn nodes() -> Vec<PlanNode> {
        [
            ("node-a", 2, "10.244.1.0/24"),
            ("node-b", 3, "10.244.2.0/24"),
        ]
        .map(|(name, host, cidr)| PlanNode {
            name: name.into(),
            address: [172, 18, 0, host].into(),
            pod_cidrs: vec![cidr.into()],
        })
        .to_vec()
    }

    fn local_policy_program(short_circuited: bool) -> ServiceProgram {
        let mut p = ServiceProgram::empty(
            ProxyMode::Iptables(None),
            "172.18.0.3:30081/tcp".into(),
            Lookup::Matched,
        );
        p.service = Some("default/local-echo:http".into());
        p.endpoints = vec![ProgrammedEndpoint {
            ip: [10, 244, 1, 3].into(),
            port: 8080,
            chain: "KUBE-SEP-ECHO1".into(),
            probability: 1.0,
        }];
        p.short_circuited = short_circuited.then(|| {
            Blocked::new(
                "filter",
                "KUBE-EXTERNAL-SERVICES",
                BlockAction::Drop,
                Some("default/local-echo:http has no local endpoints"),
            )
        });
        p
    }

    fn ok_hop() -> Hop {
        Hop::new(
            "node-b",
            HopKind::ServiceRules,
            "172.18.0.3:30081/tcp",
            Verdict::Ok,
            "kube-proxy on node-b: default/local-echo:http -> 1 endpoint",
        )
    }

    #[test]
    fn a_pod_short_circuited_past_a_local_policy_on_another_node_is_named() {
        let hop = pod_from_another_node(
            "node-b",
            ok_hop(),
            &local_policy_program(true),
            [10, 244, 1, 2].into(),
            &nodes(),
        );
        assert_eq!(
            (hop.verdict, hop.reason),
            (Verdict::Fail, Some(Reason::AsymmetricNodePort))
        );
        assert!(
            hop.detail.starts_with(
                "default/local-echo:http has externalTrafficPolicy Local and node-b runs none of its endpoints"
            ) && hop
                .detail
                .contains("from another node (10.244.1.2) on to 10.244.1.3:8080 on node-a without masquerading")
                && hop.detail.ends_with("a node that runs an endpoint (on node-a)"),
            "{}",
            hop.detail
        );
    }

    #[test]
    fn a_service_without_the_short_circuit_keeps_its_hop() {
        // Cluster policy, or a node with a local endpoint: nothing was short-circuited.
        let hop = pod_from_another_node(
            "node-b",
            ok_hop(),
            &local_policy_program(false),
            [10, 244, 1, 2].into(),
            &nodes(),
        );
        assert_eq!(hop, ok_hop());
        // No endpoint at all: the rules' own verdict (NoEndpoints) stands.
        let mut none = local_policy_program(true);
        none.endpoints.clear();
        let hop = pod_from_another_node("node-b", ok_hop(), &none, [10, 244, 1, 2].into(), &[]);
        assert_eq!(hop, ok_hop());
    }
}
