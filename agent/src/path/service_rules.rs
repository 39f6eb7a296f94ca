//! The ServiceRules hop: what kube-proxy on this node programs for the target address, judged
//! against the Service's ready endpoints, like `iptables -t nat -S KUBE-SERVICES | grep VIP`
//! and the chase through `KUBE-SVC-...` by hand. The data plane itself (modes, rules, the
//! mode-neutral judge) is [`crate::dataplane::kube_proxy`]; this hop adds what a trace needs on
//! top: an address with no rule and no expected endpoints is traced as a plain pod address.

use netdiag_model::{Endpoint, Hop, HopKind, PlanTarget, Verdict};

use crate::dataplane::kube_proxy::{self, Lookup, ReadError, ServiceProgram};

/// The hop, and what the rest of the trace learns from it.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceRulesOutcome {
    pub hop: Hop,
    /// Whether the target is still taken for a Service (kube-proxy DNATs it).
    pub is_service: bool,
    /// The endpoints kube-proxy may pick, in rule order.
    pub endpoints: Vec<Endpoint>,
}

/// Read kube-proxy's state for `target` in the calling thread's namespace (the node's).
pub fn read(target: &PlanTarget) -> Result<ServiceProgram, ReadError> {
    kube_proxy::read(target)
}

/// Judge what was read: pure. `expected` are the Service's ready endpoints from the API, empty
/// when the target came as a bare address.
pub fn judge(
    node: &str,
    target: &PlanTarget,
    read: &Result<ServiceProgram, ReadError>,
    expected: &[Endpoint],
) -> ServiceRulesOutcome {
    let program = match read {
        Ok(p) => p,
        Err(e) => {
            return ServiceRulesOutcome {
                hop: kube_proxy::judge::unreadable(
                    node,
                    kube_proxy::mode_read(),
                    &target.to_string(),
                    e,
                ),
                is_service: true,
                endpoints: Vec::new(),
            };
        }
    };
    // With no endpoints to expect (a bare `--to IP:PORT`), an address kube-proxy has no rule
    // for is most likely a pod IP: say so instead of failing a Service that isn't one.
    if expected.is_empty() && program.blocked.is_none() && program.lookup != Lookup::Matched {
        return ServiceRulesOutcome {
            hop: Hop::new(
                node,
                HopKind::ServiceRules,
                target.to_string(),
                Verdict::Info,
                format!(
                    "kube-proxy on {node} has no rule for {target}: traced as a plain pod address"
                ),
            ),
            is_service: false,
            endpoints: Vec::new(),
        };
    }
    ServiceRulesOutcome {
        hop: kube_proxy::judge::judge(node, program, expected),
        is_service: true,
        endpoints: program
            .endpoints
            .iter()
            .map(|e| Endpoint {
                ip: e.ip.clone(),
                port: e.port,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::kube_proxy::{ProgrammedEndpoint, ProxyMode};
    use netdiag_model::Protocol;

    fn target() -> PlanTarget {
        PlanTarget {
            ip: "10.96.0.50".into(),
            port: 80,
            protocol: Protocol::TCP,
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
                    ip: ip.to_string(),
                    port: 8080,
                    chain: format!("KUBE-SEP-{ip}"),
                    share: 1.0 / endpoints.len() as f64,
                })
                .collect(),
            affinity_seconds: None,
            masquerade: false,
            local_only: false,
            blocked: None,
            service_ports: vec![],
            notes: vec![],
        }
    }

    #[test]
    fn a_bare_address_without_rules_is_traced_as_a_pod_address() {
        let out = judge("node-a", &target(), &Ok(program(Lookup::NoRule, &[])), &[]);
        assert_eq!(out.hop.verdict, Verdict::Info);
        assert!(!out.is_service);
        assert_eq!(
            out.hop.detail,
            "kube-proxy on node-a has no rule for 10.96.0.50:80/tcp: traced as a plain pod address"
        );
    }

    #[test]
    fn a_service_without_rules_fails_and_programmed_endpoints_are_kept() {
        let expected = [Endpoint {
            ip: "10.244.1.5".into(),
            port: 8080,
        }];
        let out = judge(
            "node-a",
            &target(),
            &Ok(program(Lookup::NoRule, &[])),
            &expected,
        );
        assert_eq!(out.hop.verdict, Verdict::Fail);
        assert!(out.is_service);
        let out = judge(
            "node-a",
            &target(),
            &Ok(program(Lookup::Matched, &["10.244.1.5"])),
            &expected,
        );
        assert_eq!(out.hop.verdict, Verdict::Ok, "{}", out.hop.detail);
        assert_eq!(out.endpoints, expected);
    }
}
