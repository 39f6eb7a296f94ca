//! IPv4 neighbour (ARP) entries, like `ip -4 neigh show`.

use std::fmt;
use std::net::Ipv4Addr;

use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::Rtnl;
use super::link::format_mac;
use crate::kernel::netlink::NetlinkError;

/// An IPv4 neighbour (ARP) entry, like a line of `ip neigh`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbour {
    pub ifindex: u32,
    pub ip: Ipv4Addr,
    pub mac: Option<String>,
    pub state: NeighbourState,
}

/// A neighbour entry's state (NUD_*), printed as `ip neigh` prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NeighbourState {
    Incomplete,
    Reachable,
    Stale,
    Delay,
    Probe,
    Failed,
    Noarp,
    Permanent,
    None,
    /// A state (or combination) this agent does not know, kept as the kernel sent it.
    Other(u16),
}

impl NeighbourState {
    /// Whether the address has been resolved, or is being resolved, to a MAC: false when ARP got
    /// no answer (FAILED) or no answer yet (INCOMPLETE).
    pub fn is_unresolved(self) -> bool {
        matches!(self, NeighbourState::Failed | NeighbourState::Incomplete)
    }

    pub(super) fn from_kernel(
        s: netlink_packet_route::neighbour::NeighbourState,
    ) -> NeighbourState {
        use netlink_packet_route::neighbour::NeighbourState as K;
        match s {
            K::Incomplete => NeighbourState::Incomplete,
            K::Reachable => NeighbourState::Reachable,
            K::Stale => NeighbourState::Stale,
            K::Delay => NeighbourState::Delay,
            K::Probe => NeighbourState::Probe,
            K::Failed => NeighbourState::Failed,
            K::Noarp => NeighbourState::Noarp,
            K::Permanent => NeighbourState::Permanent,
            K::None => NeighbourState::None,
            other => NeighbourState::Other(u16::from(other)),
        }
    }
}

impl fmt::Display for NeighbourState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NeighbourState::Incomplete => f.write_str("INCOMPLETE"),
            NeighbourState::Reachable => f.write_str("REACHABLE"),
            NeighbourState::Stale => f.write_str("STALE"),
            NeighbourState::Delay => f.write_str("DELAY"),
            NeighbourState::Probe => f.write_str("PROBE"),
            NeighbourState::Failed => f.write_str("FAILED"),
            NeighbourState::Noarp => f.write_str("NOARP"),
            NeighbourState::Permanent => f.write_str("PERMANENT"),
            NeighbourState::None => f.write_str("NONE"),
            NeighbourState::Other(n) => write!(f, "STATE{n:#x}"),
        }
    }
}

impl Rtnl {
    /// All IPv4 neighbour entries, like `ip -4 neigh show`.
    pub fn neighbours(&mut self) -> Result<Vec<Neighbour>, NetlinkError> {
        let mut req = NeighbourMessage::default();
        req.header.family = AddressFamily::Inet;
        let replies = self.request(
            "dump neighbours (RTM_GETNEIGH)",
            RouteNetlinkMessage::GetNeighbour(req),
            true,
        )?;
        let mut out = Vec::new();
        for m in replies {
            let RouteNetlinkMessage::NewNeighbour(n) = m else {
                continue;
            };
            let ip = n.attributes.iter().find_map(|a| match a {
                NeighbourAttribute::Destination(NeighbourAddress::Inet(ip)) => Some(*ip),
                _ => None,
            });
            let Some(ip) = ip else { continue };
            let mac = n.attributes.iter().find_map(|a| match a {
                NeighbourAttribute::LinkLayerAddress(b) => Some(format_mac(b)),
                _ => None,
            });
            out.push(Neighbour {
                ifindex: n.header.ifindex,
                ip,
                mac,
                state: NeighbourState::from_kernel(n.header.state),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::neighbour::NeighbourState as K;

    #[test]
    fn states_print_like_ip_neigh_and_unknown_ones_survive() {
        assert_eq!(
            NeighbourState::from_kernel(K::Reachable).to_string(),
            "REACHABLE"
        );
        assert_eq!(
            NeighbourState::from_kernel(K::Other(0x300)).to_string(),
            "STATE0x300"
        );
        assert!(NeighbourState::Failed.is_unresolved());
        assert!(NeighbourState::Incomplete.is_unresolved());
        assert!(!NeighbourState::Stale.is_unresolved());
    }
}
