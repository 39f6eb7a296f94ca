//! The overlay step: the Tunnel hops of the routes the Route step found.

use netdiag_model::Hop;

use super::Trace;
use crate::path::tunnel::{self, NodeOverlay};

impl Trace<'_> {
    /// The Tunnel hop of the chosen endpoint's route when it leaves over an overlay device, and
    /// those of other endpoints' routes whose overlay is broken.
    pub(super) fn tunnel(&mut self, hops: &mut Vec<Hop>) {
        let routes: Vec<_> = (self.routes.iter())
            .filter_map(|(chosen, info)| info.as_ref().map(|i| (*chosen, i)))
            .collect();
        if routes.is_empty() {
            return;
        }
        let pod_mtu = self.pod.as_ref().map(|(_, p)| p.pod_mtu);
        hops.extend(tunnel::tunnel_hops(
            self.node(),
            &NodeOverlay::read(),
            &routes,
            &self.plan.nodes,
            pod_mtu,
        ));
    }
}
