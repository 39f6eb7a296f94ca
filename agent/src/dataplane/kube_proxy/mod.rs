//! kube-proxy's Service data plane on this node: a mode-neutral model ([`model`]) and judge
//! ([`judge`]), and one module per mode that reads the node's state into that model
//! ([`iptables`] today; `nftables`, `ipvs` and eBPF detection go beside it). Mode detection will
//! choose among them in [`read`]; every mode's answer is judged the same way.

pub mod iptables;
pub mod ipvs;
pub mod judge;
pub mod model;

use netdiag_model::{Endpoint, Hop, PlanTarget};

pub use model::{
    BlockAction, BlockCause, Blocked, Lookup, ProgrammedEndpoint, ProxyMode, Replacement,
    ServiceProgram,
};

/// Why kube-proxy's state could not be read.
pub type ReadError = iptables::ReadError;

/// Read what kube-proxy programs for `target` (a ClusterIP, external or LB address) in the
/// calling thread's network namespace. Only iptables mode is read today.
pub fn read(target: &PlanTarget) -> Result<ServiceProgram, ReadError> {
    iptables::service_rules_walk(target, iptables::Entry::ServiceIp).map(|w| w.program())
}

/// The mode that [`read`] failed to read, for the report.
pub fn mode_read() -> ProxyMode {
    ProxyMode::Iptables(None)
}

/// The ServiceRules hop for `target` on `node`: kube-proxy's rules for the VIP, judged against
/// the Service's ready endpoints (`expected`; empty when unknown). Read errors become a Warn hop
/// with reason `RulesUnreadable`.
pub fn service_rules(node: &str, target: &PlanTarget, expected: &[Endpoint]) -> Hop {
    match read(target) {
        Ok(program) => judge::judge(node, &program, expected),
        Err(e) => judge::unreadable(node, mode_read(), &target.to_string(), &e),
    }
}
