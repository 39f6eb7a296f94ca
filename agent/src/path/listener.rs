//! Is anything listening at the endpoint? Like `ss -ltn` (or `ss -lun`) inside the endpoint
//! pod's namespace, without a shell in the pod.
//!
//! Sockets are listed over sock_diag netlink ([`crate::kernel::sock_diag`]), as `ss` does.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::path::Path;

use netdiag_model::Reason;
use netdiag_model::report::{HopDetail, ListenerDetail};
use netdiag_model::{Hop, HopKind, Protocol, Verdict};

use crate::kernel::netns::discover::{DiscoverError, find_pod_netns};
use crate::kernel::netns::run_in;
pub use crate::kernel::sock_diag::BoundSocket;
use crate::kernel::sock_diag::{Serving, SockDiag};

/// The sockets of the namespace that holds an endpoint's IP, as [`read`] found them.
#[derive(Clone, Debug, PartialEq)]
pub struct Listing {
    pub sockets: Result<Vec<BoundSocket>, String>,
    /// The namespace, for humans (`/var/run/netns/cni-...`).
    pub netns: String,
}

/// Where an endpoint's IP lives, seen from this node.
#[derive(Clone, Debug, PartialEq)]
pub enum Place {
    /// A pod's namespace on this node holds it: its sockets, as [`read`] listed them.
    Pod(Listing),
    /// The node's own address (a hostNetwork endpoint): never inspected, since a probe's author
    /// must not learn what listens on a node.
    Node,
    /// Not on this node.
    Elsewhere,
}

/// Check the endpoint's pod namespace on this node for a listener on `endpoint`: [`read`],
/// then [`judge`]. None when the endpoint is not on this node.
pub fn check_listener(
    node: &str,
    endpoint: SocketAddrV4,
    protocol: Protocol,
    netns_dir: &Path,
    proc: &Path,
) -> Option<Hop> {
    match read(endpoint, protocol, netns_dir, proc) {
        Place::Pod(listing) => Some(judge(
            node,
            endpoint,
            protocol,
            &listing.netns,
            &listing.sockets,
        )),
        Place::Node => Some(Hop::new(
            node,
            HopKind::Listener,
            endpoint.to_string(),
            Verdict::Info,
            format!(
                "{} is {node}'s own address (a hostNetwork endpoint): netdiag lists sockets only in pod namespaces, never the node's; check it on the node with `ss -ltn`",
                endpoint.ip()
            ),
        )),
        Place::Elsewhere => None,
    }
}

/// List the sockets serving `protocol` in the pod namespace on this node that holds the
/// endpoint's IP. Only pod namespaces: an IP that is the node's own is [`Place::Node`], and its
/// sockets are never listed.
pub fn read(endpoint: SocketAddrV4, protocol: Protocol, netns_dir: &Path, proc: &Path) -> Place {
    let ip = *endpoint.ip();
    match find_pod_netns(ip, netns_dir, proc) {
        Ok(pod) => {
            let sockets = run_in(&pod.path, SockDiag::open)
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
                .and_then(|mut s| {
                    s.bound_sockets(serving(protocol))
                        .map_err(|e| e.to_string())
                });
            Place::Pod(Listing {
                sockets,
                netns: pod.label,
            })
        }
        Err(DiscoverError::NotFound { .. }) => {
            let local = crate::kernel::rtnl::addresses()
                .map(|addrs| addrs.iter().any(|a| a.ip == ip))
                .unwrap_or(false);
            if local { Place::Node } else { Place::Elsewhere }
        }
        Err(e) => Place::Pod(Listing {
            sockets: Err(e.to_string()),
            netns: "?".to_string(),
        }),
    }
}

/// Which sockets serve `protocol`: listening TCP ones, unconnected UDP ones.
fn serving(protocol: Protocol) -> Serving {
    match protocol {
        // `run::check_plan` refuses an unknown protocol before any check runs.
        Protocol::TCP | Protocol::Unknown => Serving::Tcp,
        Protocol::UDP => Serving::Udp,
    }
}

/// The socket that would receive traffic for `endpoint`: bound to its IP, or to a wildcard
/// (0.0.0.0, or :: without IPV6_V6ONLY), or to the IPv4-mapped IPv6 address. Pure.
pub fn find_listener(endpoint: SocketAddrV4, sockets: &[BoundSocket]) -> Option<BoundSocket> {
    let ip = *endpoint.ip();
    sockets.iter().copied().find(|s| {
        s.local.port() == endpoint.port()
            && match s.local.ip() {
                IpAddr::V4(a) => a == ip || a == Ipv4Addr::UNSPECIFIED,
                IpAddr::V6(a) => {
                    (a == Ipv6Addr::UNSPECIFIED && !s.v6only) || a == ip.to_ipv6_mapped()
                }
            }
    })
}

/// Judge a socket listing: pure.
pub fn judge(
    node: &str,
    endpoint: SocketAddrV4,
    protocol: Protocol,
    label: &str,
    sockets: &Result<Vec<BoundSocket>, String>,
) -> Hop {
    let mut detail = ListenerDetail {
        endpoint,
        protocol: protocol.as_lower().to_string(),
        netns: label.to_string(),
        listening: false,
        bound: None,
    };
    let name = endpoint.to_string();
    let sockets = match sockets {
        Ok(s) => s,
        Err(e) => {
            return Hop::new(
                node,
                HopKind::Listener,
                name,
                Verdict::Warn,
                format!("cannot list the sockets in {label} to check {endpoint}: {e}"),
            )
            .with_reason(Reason::ListenerCheckFailed)
            .with_details(HopDetail::Listener(detail));
        }
    };
    let proto = match protocol {
        Protocol::TCP => String::new(),
        Protocol::UDP => " (udp)".to_string(),
        Protocol::Unknown => " (unknown protocol)".to_string(),
    };
    match find_listener(endpoint, sockets) {
        Some(s) => {
            detail.listening = true;
            detail.bound = Some(s.local);
            Hop::new(
                node,
                HopKind::Listener,
                name,
                Verdict::Ok,
                format!("{} listens for {endpoint}{proto} in {label}", s.local),
            )
            .with_details(HopDetail::Listener(detail))
        }
        None => Hop::new(
            node,
            HopKind::Listener,
            name,
            Verdict::Fail,
            format!("nothing listens on {endpoint}{proto} in {label}"),
        )
        .with_reason(Reason::NothingListening)
        .with_details(HopDetail::Listener(detail)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep() -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::new(10, 244, 2, 7), 8080)
    }

    fn sock(addr: &str, v6only: bool) -> BoundSocket {
        BoundSocket {
            local: addr.parse().expect("socket address"),
            v6only,
        }
    }

    #[test]
    fn the_endpoint_ip_and_the_wildcards_match() {
        for s in [
            "10.244.2.7:8080",
            "0.0.0.0:8080",
            "[::]:8080",
            "[::ffff:10.244.2.7]:8080",
        ] {
            assert_eq!(
                find_listener(ep(), &[sock(s, false)]),
                Some(sock(s, false)),
                "{s}"
            );
        }
    }

    #[test]
    fn other_ports_other_ips_and_v6only_wildcards_do_not_match() {
        let socks = [
            sock("10.244.2.7:8081", false),
            sock("127.0.0.1:8080", false),
            sock("[::]:8080", true),
            sock("10.244.2.8:8080", false),
        ];
        assert_eq!(find_listener(ep(), &socks), None);
    }

    #[test]
    fn nothing_listening_fails_with_the_exact_message() {
        let hop = judge(
            "node-b",
            ep(),
            Protocol::TCP,
            "/var/run/netns/cni-2",
            &Ok(vec![]),
        );
        assert_eq!(
            (hop.verdict, hop.reason.clone()),
            (Verdict::Fail, Some(Reason::NothingListening))
        );
        assert_eq!(
            hop.detail,
            "nothing listens on 10.244.2.7:8080 in /var/run/netns/cni-2"
        );
    }

    #[test]
    fn a_listener_is_ok_and_reports_its_bound_address() {
        let hop = judge(
            "node-b",
            ep(),
            Protocol::TCP,
            "ns",
            &Ok(vec![sock("0.0.0.0:8080", false)]),
        );
        assert_eq!(hop.verdict, Verdict::Ok);
        let Some(HopDetail::Listener(d)) = &hop.details else {
            panic!("no detail")
        };
        assert_eq!(
            (d.listening, d.bound.map(|b| b.to_string()).as_deref()),
            (true, Some("0.0.0.0:8080"))
        );
    }

    #[test]
    fn a_listing_failure_is_a_warning_not_a_verdict_on_the_endpoint() {
        let hop = judge("node-b", ep(), Protocol::UDP, "ns", &Err("EPERM".into()));
        assert_eq!(
            (hop.verdict, hop.reason.clone()),
            (Verdict::Warn, Some(Reason::ListenerCheckFailed))
        );
    }
}
