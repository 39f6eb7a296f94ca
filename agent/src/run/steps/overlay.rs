//! The steps between the nodes: the Tunnel hops of the routes the Route step found, and the
//! path MTU to the endpoint the connect reached.

use netdiag_model::Hop;

use super::Trace;
use crate::path::path_mtu::{self, MtuJudgeInput};
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
        tunnel::defer_missing_routes_to_down_overlay(self.node(), hops);
    }
}

impl Trace<'_> {
    /// Full-size and small pings from the pod to the endpoint the connect reached: a black hole
    /// between the nodes is a NodeInterface hop; anything else adds nothing.
    pub(super) fn path_mtu(&mut self, hops: &mut Vec<Hop>) {
        let (Some((pod_ns, pod_path)), false) = (&self.pod, self.connect_failed) else {
            return;
        };
        let Some(dst) = self.chosen_endpoint().map(|e| e.ip) else {
            return;
        };
        // A probe that cannot run (no CAP_NET_RAW) is no finding about the path.
        let Ok(probe) = path_mtu::probe(&pod_ns.path, dst, pod_path.pod_mtu, self.step_timeout())
        else {
            return;
        };
        let endpoint_node = tunnel::node_of_destination(&self.plan.nodes, dst);
        hops.extend(path_mtu::judge(&MtuJudgeInput {
            node: self.node(),
            dst,
            endpoint_node: endpoint_node.map(|n| n.name.as_str()),
            probe: &probe,
        }));
    }
}
