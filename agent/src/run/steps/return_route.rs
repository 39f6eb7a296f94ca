//! The pod end's last check: the node's route back to the source pod.

use netdiag_model::HopKind;

use super::Trace;
use crate::kernel::rtnl::Rtnl;
use crate::path::{PodPath, return_route};

impl Trace<'_> {
    /// Fail the HostVeth hop when the node has no route at all to the pod's own address.
    pub(super) fn judge_return_route(&self, pod_path: &mut PodPath) {
        let Some(host_veth) = pod_path
            .hops
            .iter_mut()
            .find(|h| h.kind == HopKind::HostVeth)
        else {
            return;
        };
        // Unreadable routes say nothing about the pod: the Route step reports lookup failures.
        let Ok(route) = Rtnl::open().and_then(|mut r| r.route_lookup(self.source_ip)) else {
            return;
        };
        if let Some(failed) = return_route::judge(host_veth, self.source_ip, &route) {
            *host_veth = failed;
        }
    }
}
