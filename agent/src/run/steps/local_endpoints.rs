//! The host veths of the endpoints that live on this node, for the capture: a same-node
//! endpoint behind a warm bridge is reached port to port, so only its own veth shows the
//! probe arriving. The taps are opened before the connect, while DNAT's choice is known only
//! after it, so every candidate is looked up (a bounded few).

use std::net::{Ipv4Addr, SocketAddrV4};

use super::Trace;
use crate::kernel::netns::discover::find_pod_netns_each;

/// At most this many candidate endpoints are looked up, and tapped.
const MAX_ENDPOINT_TAPS: usize = 8;

/// Which addresses may be the endpoint: the plan's expected endpoints (pods the API named),
/// or the target itself when it is a pod; never the source (its veth is tapped anyway): pure.
pub(super) fn candidates(
    target: SocketAddrV4,
    target_is_service: bool,
    expected: &[Ipv4Addr],
    source: Ipv4Addr,
) -> Vec<Ipv4Addr> {
    let mut out: Vec<Ipv4Addr> = Vec::new();
    let named = (!target_is_service).then_some(*target.ip());
    for ip in named.into_iter().chain(expected.iter().copied()) {
        if ip != source && !out.contains(&ip) && out.len() < MAX_ENDPOINT_TAPS {
            out.push(ip);
        }
    }
    out
}

impl Trace<'_> {
    /// The host veth ifindexes of the candidate endpoints found on this node.
    pub(super) fn local_endpoint_veths(&self, target: SocketAddrV4) -> Vec<u32> {
        let expected: Vec<Ipv4Addr> = (self.plan.expected_endpoints.iter())
            .map(|e| e.ip)
            .collect();
        let ips = candidates(target, self.is_service, &expected, self.source_ip);
        // One scan for all of them: a scan lists every namespace and process of the node.
        find_pod_netns_each(&ips, &self.env.netns_dir, &self.env.proc)
            .map(|found| {
                found
                    .into_iter()
                    .flatten()
                    .map(|ns| ns.peer_ifindex)
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_named_pods_bounded_without_the_source() {
        let src = Ipv4Addr::new(10, 244, 1, 2);
        let t = SocketAddrV4::new(Ipv4Addr::new(10, 96, 45, 10), 80);
        let ep = |d| Ipv4Addr::new(10, 244, 1, d);
        assert_eq!(candidates(t, true, &[ep(3), src, ep(3)], src), [ep(3)]);
        let many: Vec<Ipv4Addr> = (10..30).map(ep).collect();
        assert_eq!(candidates(t, true, &many, src).len(), MAX_ENDPOINT_TAPS);
        let pod = SocketAddrV4::new(ep(7), 8080);
        assert_eq!(candidates(pod, false, &[], src), [ep(7)]);
    }
}
