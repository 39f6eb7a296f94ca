//! The ServiceRules hop: what kube-proxy on this node programs for the target address, judged
//! against the Service's ready endpoints, like `iptables -t nat -S KUBE-SERVICES | grep VIP`
//! and the chase through `KUBE-SVC-...` by hand. The data plane itself (modes, rules, the
//! mode-neutral judge) is [`crate::dataplane::kube_proxy`]; this hop adds what a trace needs on
//! top: an address with no rule and no expected endpoints is traced as a plain pod address.

use netdiag_model::{Endpoint, Hop, HopKind, PlanNode, PlanTarget, Verdict};

use crate::dataplane::kube_proxy::{self, Lookup, ProxyMode, Reading, Replacement};

/// The hop, and what the rest of the trace learns from it.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceRulesOutcome {
    pub hop: Hop,
    /// Whether the target is still taken for a Service (its proxy DNATs it).
    pub is_service: bool,
    /// The endpoints the proxy may pick, in rule order (the API's, when its table is not read).
    pub endpoints: Vec<Endpoint>,
    /// What balances Services (and tracks their connections) instead of kube-proxy, if anything.
    pub replaced: Option<Replacement>,
}

/// Detect the node's data plane and read it for `target`, in the calling thread's namespace,
/// for traffic from a pod (`pod_source`) or from a node.
pub fn read(target: &PlanTarget, pod_source: bool) -> Reading {
    kube_proxy::read_from(target, pod_source)
}

/// Judge what was read: pure. `expected` are the Service's ready endpoints from the API, empty
/// when the target came as a bare address; `nodes` are the plan's, to tell another node's
/// address (whose NodePorts are that node's kube-proxy's) from a pod's.
pub fn judge(
    node: &str,
    target: &PlanTarget,
    reading: &Reading,
    expected: &[Endpoint],
    nodes: &[PlanNode],
) -> ServiceRulesOutcome {
    let address = target.to_string();
    let replaced = match reading.detection.mode {
        ProxyMode::Replaced(r) => Some(r),
        _ => None,
    };
    let program = match &reading.program {
        Some(Ok(p)) => p,
        // Unreadable or not read: the trace goes on with the API's endpoints.
        _ => {
            return ServiceRulesOutcome {
                hop: kube_proxy::judge::reading(node, &address, reading, expected),
                is_service: replaced.is_none() || !expected.is_empty(),
                endpoints: expected.to_vec(),
                replaced,
            };
        }
    };
    // With no endpoints to expect (a bare `--to IP:PORT`), an address kube-proxy has no rule
    // for is most likely a pod IP: say so instead of failing a Service that isn't one.
    if expected.is_empty() && program.blocked.is_none() && program.lookup != Lookup::Matched {
        let owner = (nodes.iter()).find(|n| n.address == target.ip && n.name != node);
        let detail = match owner {
            Some(other) => format!(
                "{} is node {}'s address: kube-proxy matches a NodePort only on its own node's addresses, so {node} routes {target} to {} as it is and {}'s rules decide there",
                target.ip, other.name, other.name, other.name
            ),
            None => {
                format!(
                    "kube-proxy on {node} has no rule for {target}: traced as a plain pod address"
                )
            }
        };
        return ServiceRulesOutcome {
            hop: Hop::new(node, HopKind::ServiceRules, address, Verdict::Info, detail),
            is_service: false,
            endpoints: Vec::new(),
            replaced,
        };
    }
    ServiceRulesOutcome {
        hop: kube_proxy::judge::reading(node, &address, reading, expected),
        is_service: true,
        endpoints: program
            .endpoints
            .iter()
            .map(|e| Endpoint {
                ip: e.ip,
                port: e.port,
            })
            .collect(),
        replaced,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::kube_proxy::detect::Detection;
    use crate::dataplane::kube_proxy::{ProgrammedEndpoint, ServiceProgram};
    use netdiag_model::Protocol;

    fn target() -> PlanTarget {
        PlanTarget {
            ip: [10, 96, 0, 50].into(),
            port: 80,
            protocol: Protocol::TCP,
        }
    }

    fn iptables(program: ServiceProgram) -> Reading {
        Reading {
            detection: Detection {
                mode: ProxyMode::Iptables(None),
                how: "the nat table has kube-proxy's KUBE-SERVICES chain".into(),
                leftovers: vec![],
            },
            program: Some(Ok(program)),
        }
    }

    fn program(lookup: Lookup, endpoints: &[&str]) -> ServiceProgram {
        ServiceProgram {
            mode: ProxyMode::Iptables(None),
            address: target().to_string(),
            lookup,
            service: None,
            chains: vec![],
            endpoints: endpoints
                .iter()
                .map(|ip| ProgrammedEndpoint {
                    ip: ip.parse().expect("test address"),
                    port: 8080,
                    chain: format!("KUBE-SEP-{ip}"),
                    probability: 1.0 / endpoints.len() as f64,
                })
                .collect(),
            affinity_seconds: None,
            masquerade: false,
            local_only: false,
            blocked: None,
            service_ports: vec![],
            not_local: None,
            short_circuited: None,
            notes: vec![],
        }
    }

    #[test]
    fn a_bare_address_without_rules_is_traced_as_a_pod_address() {
        let out = judge(
            "node-a",
            &target(),
            &iptables(program(Lookup::NoRule, &[])),
            &[],
            &[],
        );
        assert_eq!(out.hop.verdict, Verdict::Info);
        assert!(!out.is_service);
        assert_eq!(
            out.hop.detail,
            "kube-proxy on node-a has no rule for 10.96.0.50:80/tcp: traced as a plain pod address"
        );
    }

    #[test]
    fn another_nodes_address_is_left_to_that_nodes_kube_proxy() {
        let node_b = PlanNode {
            name: "node-b".into(),
            address: [172, 18, 0, 3].into(),
            pod_cidrs: vec![],
        };
        let t = PlanTarget {
            ip: [172, 18, 0, 3].into(),
            port: 30080,
            protocol: Protocol::TCP,
        };
        let out = judge(
            "node-a",
            &t,
            &iptables(program(Lookup::NoRule, &[])),
            &[],
            &[node_b],
        );
        assert_eq!((out.hop.verdict, out.is_service), (Verdict::Info, false));
        assert!(
            out.hop
                .detail
                .starts_with("172.18.0.3 is node node-b's address")
                && out.hop.detail.contains("node-b's rules decide there"),
            "{}",
            out.hop.detail
        );
    }

    #[test]
    fn a_service_without_rules_fails_and_programmed_endpoints_are_kept() {
        let expected = [Endpoint {
            ip: [10, 244, 1, 5].into(),
            port: 8080,
        }];
        let out = judge(
            "node-a",
            &target(),
            &iptables(program(Lookup::NoRule, &[])),
            &expected,
            &[],
        );
        assert_eq!(out.hop.verdict, Verdict::Fail);
        assert!(out.is_service);
        let out = judge(
            "node-a",
            &target(),
            &iptables(program(Lookup::Matched, &["10.244.1.5"])),
            &expected,
            &[],
        );
        assert_eq!(out.hop.verdict, Verdict::Ok, "{}", out.hop.detail);
        assert_eq!(out.endpoints, expected);
    }

    #[test]
    fn a_cilium_node_gives_an_info_hop_and_the_trace_goes_on_with_the_apis_endpoints() {
        let reading = Reading {
            detection: Detection {
                mode: ProxyMode::Replaced(Replacement::Cilium),
                how: "cilium_host/cilium_net exist and there is no kube-proxy state".into(),
                leftovers: vec![],
            },
            program: None,
        };
        let expected = [Endpoint {
            ip: [10, 244, 1, 5].into(),
            port: 8080,
        }];
        let out = judge("node-a", &target(), &reading, &expected, &[]);
        assert_eq!(out.hop.verdict, Verdict::Info);
        assert_eq!(out.replaced, Some(Replacement::Cilium));
        assert!(out.is_service);
        assert_eq!(out.endpoints, expected);
        assert!(
            out.hop.detail.contains("Cilium's kube-proxy replacement")
                && out.hop.detail.contains("cilium-dbg service list"),
            "{}",
            out.hop.detail
        );
        let Some(netdiag_model::HopDetail::ServiceRules(d)) = &out.hop.details else {
            panic!("a ServiceRules detail");
        };
        assert_eq!(d.mode, "cilium");
        assert_eq!(
            d.detected_by.as_deref(),
            Some("cilium_host/cilium_net exist and there is no kube-proxy state")
        );
    }

    #[test]
    fn leftovers_of_another_mode_turn_a_healthy_hop_into_a_warn_that_names_them() {
        let expected = [Endpoint {
            ip: [10, 244, 1, 5].into(),
            port: 8080,
        }];
        let mut reading = iptables(program(Lookup::Matched, &["10.244.1.5"]));
        reading.detection.leftovers = vec!["table ip kube-proxy from nftables mode".into()];
        let out = judge("node-a", &target(), &reading, &expected, &[]);
        assert_eq!(out.hop.verdict, Verdict::Warn);
        assert_eq!(out.hop.reason, Some(netdiag_model::Reason::ProxyLeftovers));
        assert!(
            out.hop.detail.ends_with(
                "; left on the node by another mode: table ip kube-proxy from nftables mode"
            ),
            "{}",
            out.hop.detail
        );
    }
}
