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
