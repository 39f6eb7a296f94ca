//! Links, addresses, neighbours, routes and namespace ids of one network namespace, read over
//! rtnetlink.
//!
//! This replaces `ip -d link show`, `ip -4 addr`, `ip neigh`, `ip route get` and `ip netns
//! list-id` on a node. Everything is synchronous: an [`Rtnl`] is one [`NetlinkSocket`], and it
//! answers for the namespace it was *created* in. Create it inside a pod's namespace (with
//! [`crate::kernel::netns::run_in`]) and it keeps answering for that pod after the thread has
//! left. One file per object, like rtnetlink's own layout.

pub mod address;
pub mod fdb;
pub mod link;
pub mod neighbour;
pub mod route;
pub mod tunnel;

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

pub use address::Address;
pub use fdb::FdbEntry;
pub use link::{Link, LinkKind, OperState, format_mac};
pub use neighbour::{Neighbour, NeighbourState};
pub use route::{DefaultGateway, Route, RouteInfo, RouteKind};
pub use tunnel::TunnelConfig;

use super::netlink::{DEFAULT_TIMEOUT, Family, NetlinkError, NetlinkSocket};

/// An rtnetlink socket bound to the namespace it was created in.
pub struct Rtnl {
    socket: NetlinkSocket,
}

impl Rtnl {
    /// Open a NETLINK_ROUTE socket in the calling thread's namespace.
    pub fn open() -> Result<Rtnl, NetlinkError> {
        Rtnl::open_with(DEFAULT_TIMEOUT)
    }

    /// [`Rtnl::open`] whose exchanges give up after `timeout` of silence from the kernel.
    pub fn open_with(timeout: Duration) -> Result<Rtnl, NetlinkError> {
        let socket = NetlinkSocket::open(Family::Route, "open rtnetlink", timeout)?;
        Ok(Rtnl { socket })
    }

    /// One request over this socket; the object files build theirs on it.
    fn request(
        &mut self,
        op: &'static str,
        msg: RouteNetlinkMessage,
        dump: bool,
    ) -> Result<Vec<RouteNetlinkMessage>, NetlinkError> {
        let flags = if dump {
            NLM_F_REQUEST | NLM_F_DUMP
        } else {
            NLM_F_REQUEST
        };
        self.socket.request(op, msg, flags)
    }

    /// The id under which this socket's namespace knows the namespace open at `fd`, like
    /// `ip netns list-id` (RTM_GETNSID with NETNSA_FD). None when no id is assigned.
    pub fn nsid_of(&mut self, fd: BorrowedFd<'_>) -> Result<Option<i32>, NetlinkError> {
        let op = "look up a namespace id (RTM_GETNSID)";
        let mut req = NsidMessage::default();
        req.header.family = AddressFamily::Unspec;
        let raw = u32::try_from(fd.as_raw_fd()).map_err(|_| NetlinkError::Send {
            op,
            source: io::Error::from(io::ErrorKind::InvalidInput),
        })?;
        req.attributes.push(NsidAttribute::Fd(raw));
        let replies = self.request(op, RouteNetlinkMessage::GetNsId(req), false)?;
        Ok(replies.into_iter().find_map(|m| match m {
            RouteNetlinkMessage::NewNsId(n) => n.attributes.iter().find_map(|a| match a {
                NsidAttribute::Id(id) if *id >= 0 => Some(*id),
                _ => None,
            }),
            _ => None,
        }))
    }
}

/// All links of the calling thread's namespace, like `ip -d link show`.
pub fn links() -> Result<Vec<Link>, NetlinkError> {
    Rtnl::open()?.links()
}

/// All IPv4 addresses of the calling thread's namespace, like `ip -4 addr`.
pub fn addresses() -> Result<Vec<Address>, NetlinkError> {
    Rtnl::open()?.addresses()
}

/// All IPv4 neighbours of the calling thread's namespace, like `ip -4 neigh`.
pub fn neighbours() -> Result<Vec<Neighbour>, NetlinkError> {
    Rtnl::open()?.neighbours()
}

/// The route the calling thread's namespace takes to `dst`, like `ip route get DST`.
pub fn route_get(dst: Ipv4Addr) -> Result<RouteInfo, NetlinkError> {
    Rtnl::open()?.route_get(dst)
}

/// The default gateway of the calling thread's namespace (main table).
pub fn default_gateway() -> Result<Option<DefaultGateway>, NetlinkError> {
    Rtnl::open()?.default_gateway()
}

/// The id under which the calling thread's namespace knows the namespace open at `fd`.
pub fn nsid_of(fd: BorrowedFd<'_>) -> Result<Option<i32>, NetlinkError> {
    Rtnl::open()?.nsid_of(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loopback_of_this_namespace_is_read_over_netlink() {
        // Needs no privilege: every namespace has `lo` with 127.0.0.1/8 (`ip addr show lo`).
        let mut rtnl = Rtnl::open().expect("netlink socket");
        let lo = rtnl
            .links()
            .expect("links")
            .into_iter()
            .find(|l| l.name == "lo")
            .expect("lo");
        assert_eq!(lo.index, 1);
        let addrs = rtnl.addresses().expect("addresses");
        assert!(
            addrs
                .iter()
                .any(|a| a.ifindex == 1 && a.to_string() == "127.0.0.1/8"),
            "{addrs:?}"
        );
        let route = rtnl
            .route_get(Ipv4Addr::new(127, 0, 0, 1))
            .expect("route get");
        assert_eq!(
            (route.kind, route.device.as_deref()),
            (RouteKind::Local, Some("lo"))
        );
    }
}
