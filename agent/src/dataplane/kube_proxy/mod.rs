//! The Service data plane on this node: which one runs ([`detect`]), a mode-neutral model
//! ([`model`]) and judge ([`judge`]), and one reader per mode that fills the model
//! ([`iptables`], [`nftables`], [`ipvs`]). Every mode's answer is judged the same way; a node whose
//! Services are balanced by something other than kube-proxy gets an honest Info, not a Fail.

pub mod detect;
pub mod iptables;
pub mod ipvs;
pub mod judge;
pub mod model;
pub mod nftables;

use std::time::Duration;

use netdiag_model::{Endpoint, Hop, PlanTarget};

pub use detect::Detection;
pub use model::{
    BlockAction, BlockCause, Blocked, Lookup, ProgrammedEndpoint, ProxyMode, Replacement,
    ServiceProgram,
};

use iptables::Entry;

/// Why kube-proxy's state could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Iptables(#[from] iptables::ReadError),
    #[error(transparent)]
    Nftables(#[from] nftables::NftReadError),
    #[error(transparent)]
    Ipvs(#[from] ipvs::IpvsReadError),
}

/// What the node runs, and what its proxy programs for one address.
#[derive(Debug)]
pub struct Reading {
    pub detection: Detection,
    /// None when no kube-proxy runs: there is nothing of its to read.
    pub program: Option<Result<ServiceProgram, ReadError>>,
}

/// How long the kernel may stay silent on one nf_tables netlink exchange.
const NETLINK_TIMEOUT: Duration = Duration::from_secs(2);

/// Detect the node's Service data plane and read what it programs for `target` (a ClusterIP,
/// external or LB address), in the calling thread's network namespace.
pub fn read(target: &PlanTarget) -> Reading {
    read_from(target, true)
}

/// [`read`], for traffic from a pod (`pod_source`) or from a node.
pub fn read_from(target: &PlanTarget, pod_source: bool) -> Reading {
    let mut sources = iptables::IptablesSources::open();
    let detection = detect::decide(&detect::gather::gather(&mut sources));
    let mut program = read_mode(&mut sources, detection.mode, target, Entry::ServiceIp);
    // kube-proxy matches NodePorts on the node's own addresses (`-m addrtype --dst-type LOCAL`,
    // `fib daddr type local`): an address of this node with no ClusterIP rule is a NodePort's.
    let unmatched = matches!(&program, Some(Ok(p)) if p.lookup != Lookup::Matched);
    if unmatched && is_local_address(target) {
        program = read_mode(&mut sources, detection.mode, target, Entry::NodePort).or(program);
        if pod_source && let Some(Ok(p)) = program.as_mut() {
            pod_traffic_short_circuits(p);
        }
    }
    Reading { detection, program }
}

/// A NodePort whose Service keeps external traffic on local endpoints, on a node with none: the
/// filter table's "has no local endpoints" DROP (`KUBE-EXTERNAL-SERVICES`, nftables'
/// `no-endpoint-nodeports`) sees only what nat left addressed to the node, and a pod's traffic
/// was already DNAT'd by kube-proxy's short-circuit to every endpoint (`-s CLUSTER_CIDR -j
/// KUBE-SVC-...`). For a pod source that DROP is not on the path; for a client outside the
/// cluster (or a node) it is. It is kept as `short_circuited`: a pod on another node meets its
/// own trouble here (`service_rules::pod_from_another_node`).
fn pod_traffic_short_circuits(p: &mut ServiceProgram) {
    let drops_external =
        (p.blocked.as_ref()).is_some_and(|b| b.cause == BlockCause::NoLocalEndpoints);
    if drops_external && !p.endpoints.is_empty() {
        p.short_circuited = p.blocked.take();
        p.notes.push(
            "externalTrafficPolicy Local with no endpoint on this node: clients outside the cluster are dropped here, a pod's traffic goes to every endpoint".into(),
        );
    }
}

/// Whether `target`'s address is one of the calling thread's namespace's own (`ip route get`
/// says `local`).
fn is_local_address(target: &PlanTarget) -> bool {
    let ip = target.ip;
    crate::kernel::rtnl::Rtnl::open()
        .and_then(|mut r| r.route_lookup(ip))
        .is_ok_and(|r| r.kind == crate::kernel::rtnl::RouteKind::Local)
}

/// Read `mode`'s state for `target` from `entry`; `sources` hold what detection read already.
pub fn read_mode(
    sources: &mut iptables::IptablesSources,
    mode: ProxyMode,
    target: &PlanTarget,
    entry: Entry,
) -> Option<Result<ServiceProgram, ReadError>> {
    match mode {
        ProxyMode::Iptables(backend) => Some(
            iptables::read::walk_backend(sources, target, entry, backend)
                .map(|w| w.program())
                .map_err(ReadError::from),
        ),
        ProxyMode::Nftables => Some(
            nftables::NodeNft::open(NETLINK_TIMEOUT)
                .and_then(|mut src| nftables::walk(&mut src, target, entry))
                .map_err(ReadError::from),
        ),
        // A NodePort's virtual service is keyed by the node's address like any other VIP.
        ProxyMode::Ipvs => {
            Some(ipvs::read(target, &sources.kube_services()).map_err(ReadError::from))
        }
        ProxyMode::Replaced(_) => None,
    }
}

/// The ServiceRules hop for `target` on `node`: the node's Service data plane for the VIP,
/// judged against the Service's ready endpoints (`expected`; empty when unknown).
pub fn service_rules(node: &str, target: &PlanTarget, expected: &[Endpoint]) -> Hop {
    judge::reading(node, &target.to_string(), &read(target), expected)
}
