//! The endpoint role's steps: this node's route to the endpoint it was given, and the listener
//! there.

use std::net::{Ipv4Addr, SocketAddrV4};

use netdiag_model::{Endpoint, Hop, HopKind, Reason, Verdict};

use super::Trace;
use crate::path::{listener, route};

impl Trace<'_> {
    /// The endpoint's address; `check_plan` made sure the endpoint role has one.
    fn endpoint(&self) -> Option<(Endpoint, Ipv4Addr)> {
        let ep = self.plan.endpoint?;
        let ip = ep.ip;
        Some((ep, ip))
    }

    pub(super) fn endpoint_route(&mut self, hops: &mut Vec<Hop>) {
        if let Some((_, ip)) = self.endpoint() {
            hops.push(route::route_to(self.node(), ip).0);
        }
    }

    pub(super) fn endpoint_listener(&mut self, hops: &mut Vec<Hop>) {
        let Some((ep, ip)) = self.endpoint() else {
            return;
        };
        let node = self.node();
        let protocol = self
            .plan
            .target
            .as_ref()
            .map(|t| t.protocol)
            .unwrap_or_default();
        let endpoint = SocketAddrV4::new(ip, ep.port);
        let env = self.env;
        hops.push(
            listener::check_listener(node, endpoint, protocol, &env.netns_dir, &env.proc)
                .unwrap_or_else(|| {
                    Hop::new(
                        node,
                        HopKind::Listener,
                        ep.to_string(),
                        Verdict::Warn,
                        format!("no pod on {node} holds {ip}: the endpoint is not on this node"),
                    )
                    .with_reason(Reason::EndpointNotOnNode)
                }),
        );
    }
}
