//! Routes, like `ip route get DST`, `ip route show default` and `ip route show`.

use std::io;
use std::net::Ipv4Addr;

use netlink_packet_route::AddressFamily;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteType,
};

use super::Rtnl;
use crate::kernel::netlink::NetlinkError;

/// What a route lookup found. The kernel answers some lookups with an error instead of a
/// route (`ip route get` prints "RTNETLINK answers: Network is unreachable"); those become
/// kinds here, so "no route" is a result to judge, not a failure of the probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteKind {
    Unicast,
    /// Delivered to this namespace (`local` table).
    Local,
    Broadcast,
    Multicast,
    /// No route matches at all (ENETUNREACH).
    NoRoute,
    /// An `unreachable` route matched (EHOSTUNREACH).
    Unreachable,
    /// A `prohibit` route matched (EACCES).
    Prohibit,
    /// A `blackhole` route matched (the kernel answers EINVAL for those).
    Blackhole,
    /// Anything else the kernel may report (throw, nat, anycast...).
    Other,
}

impl RouteKind {
    /// Whether packets to the destination leave (or are delivered) at all.
    pub fn delivers(self) -> bool {
        matches!(
            self,
            RouteKind::Unicast | RouteKind::Local | RouteKind::Broadcast | RouteKind::Multicast
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Unicast => "unicast",
            RouteKind::Local => "local",
            RouteKind::Broadcast => "broadcast",
            RouteKind::Multicast => "multicast",
            RouteKind::NoRoute => "none",
            RouteKind::Unreachable => "unreachable",
            RouteKind::Prohibit => "prohibit",
            RouteKind::Blackhole => "blackhole",
            RouteKind::Other => "other",
        }
    }
}

/// The answer of `ip route get DST`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteInfo {
    pub destination: Ipv4Addr,
    pub kind: RouteKind,
    pub gateway: Option<Ipv4Addr>,
    /// Output interface index.
    pub oif: Option<u32>,
    /// Output interface name, resolved from `oif`.
    pub device: Option<String>,
    pub prefsrc: Option<Ipv4Addr>,
    pub table: Option<u32>,
}

/// The default route of the main table, like `ip route show default`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefaultGateway {
    pub gateway: Ipv4Addr,
    pub oif: Option<u32>,
}

impl Rtnl {
    /// Ask the kernel which route a packet to `dst` would take, like `ip route get DST`.
    ///
    /// "No route", `unreachable`, `prohibit` and `blackhole` come back as `Ok` with the
    /// matching [`RouteKind`]; only a failure to talk to the kernel is an error.
    pub fn route_get(&mut self, dst: Ipv4Addr) -> Result<RouteInfo, NetlinkError> {
        let mut info = self.route_lookup(dst)?;
        if let Some(oif) = info.oif {
            // One more dump to name the device; see `route_lookup` for many destinations.
            info.device = self
                .links()?
                .into_iter()
                .find(|l| l.index == oif)
                .map(|l| l.name);
        }
        Ok(info)
    }

    /// [`Rtnl::route_get`] without naming the output device (`device` stays None): for callers
    /// that look up many destinations and name devices from one link dump of their own.
    pub fn route_lookup(&mut self, dst: Ipv4Addr) -> Result<RouteInfo, NetlinkError> {
        let mut req = RouteMessage::default();
        req.header.address_family = AddressFamily::Inet;
        req.header.destination_prefix_length = 32;
        req.attributes
            .push(RouteAttribute::Destination(RouteAddress::Inet(dst)));
        let op = "look up a route (RTM_GETROUTE)";
        let replies = match self.request(op, RouteNetlinkMessage::GetRoute(req), false) {
            Ok(r) => r,
            Err(NetlinkError::Kernel { source, .. }) if route_error_kind(&source).is_some() => {
                let kind = route_error_kind(&source).unwrap_or(RouteKind::NoRoute);
                return Ok(RouteInfo {
                    destination: dst,
                    kind,
                    gateway: None,
                    oif: None,
                    device: None,
                    prefsrc: None,
                    table: None,
                });
            }
            Err(e) => return Err(e),
        };
        let route = replies.into_iter().find_map(|m| match m {
            RouteNetlinkMessage::NewRoute(r) => Some(r),
            _ => None,
        });
        let Some(r) = route else {
            return Err(NetlinkError::Kernel {
                op,
                source: io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "no route message in the answer",
                ),
            });
        };
        Ok(route_from(dst, &r))
    }

    /// The default route of the main table, like `ip route show default` (from [`Rtnl::routes`]).
    pub fn default_gateway(&mut self) -> Result<Option<DefaultGateway>, NetlinkError> {
        Ok(self.routes()?.into_iter().find_map(|r| {
            let is_default = r.prefix_len == 0 && r.kind == RouteKind::Unicast;
            is_default
                .then_some(r.gateway)
                .flatten()
                .map(|gateway| DefaultGateway {
                    gateway,
                    oif: r.oif,
                })
        }))
    }
}

/// One route of the main table, like a line of `ip route show`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub destination: Ipv4Addr,
    pub prefix_len: u8,
    pub kind: RouteKind,
    pub gateway: Option<Ipv4Addr>,
    pub oif: Option<u32>,
    /// RTM_PROTOCOL: who installed it (`proto kernel` 2, `boot` 3, `static` 4, `bird` 12,
    /// kube-router's 17), the word `ip route` prints after `proto`.
    pub protocol: u8,
    /// RTNH_F_ONLINK: the gateway is taken as on the link without a matching prefix (flannel's
    /// and Calico's overlay routes).
    pub onlink: bool,
}

impl Route {
    /// A unicast main-table route with no gateway, device, protocol or flags set: the start of
    /// a route built by hand, for synthetic nodes and tests.
    pub fn new(destination: Ipv4Addr, prefix_len: u8) -> Route {
        Route {
            destination,
            prefix_len,
            kind: RouteKind::Unicast,
            gateway: None,
            oif: None,
            protocol: 0,
            onlink: false,
        }
    }
}

impl Rtnl {
    /// Every IPv4 route of the main table, like `ip route show` (one dump).
    pub fn routes(&mut self) -> Result<Vec<Route>, NetlinkError> {
        let mut req = RouteMessage::default();
        req.header.address_family = AddressFamily::Inet;
        let replies = self.request(
            "dump routes (RTM_GETROUTE)",
            RouteNetlinkMessage::GetRoute(req),
            true,
        )?;
        Ok(replies
            .into_iter()
            .filter_map(|m| {
                let RouteNetlinkMessage::NewRoute(r) = m else {
                    return None;
                };
                let destination = r.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Destination(RouteAddress::Inet(ip)) => Some(*ip),
                    _ => None,
                });
                let info = route_from(destination.unwrap_or(Ipv4Addr::UNSPECIFIED), &r);
                (info.table == Some(u32::from(RouteHeader::RT_TABLE_MAIN))).then_some(Route {
                    destination: info.destination,
                    prefix_len: r.header.destination_prefix_length,
                    kind: info.kind,
                    gateway: info.gateway,
                    oif: info.oif,
                    protocol: u8::from(r.header.protocol),
                    onlink: r.header.flags.contains(RouteFlags::Onlink),
                })
            })
            .collect())
    }
}

/// Which [`RouteKind`] a kernel error to RTM_GETROUTE stands for (see `fib_props` in the
/// kernel: each route type that does not deliver has its own errno).
fn route_error_kind(e: &io::Error) -> Option<RouteKind> {
    match e.raw_os_error()? {
        libc_errno::ENETUNREACH => Some(RouteKind::NoRoute),
        libc_errno::EHOSTUNREACH => Some(RouteKind::Unreachable),
        libc_errno::EACCES => Some(RouteKind::Prohibit),
        libc_errno::EINVAL => Some(RouteKind::Blackhole),
        _ => None,
    }
}

/// The few errno values needed here, from nix (already a dependency) rather than libc.
mod libc_errno {
    use nix::errno::Errno;
    pub const ENETUNREACH: i32 = Errno::ENETUNREACH as i32;
    pub const EHOSTUNREACH: i32 = Errno::EHOSTUNREACH as i32;
    pub const EACCES: i32 = Errno::EACCES as i32;
    pub const EINVAL: i32 = Errno::EINVAL as i32;
}

fn route_from(dst: Ipv4Addr, r: &RouteMessage) -> RouteInfo {
    let v4 = |a: &RouteAddress| match a {
        RouteAddress::Inet(ip) => Some(*ip),
        _ => None,
    };
    let mut info = RouteInfo {
        destination: dst,
        kind: match r.header.kind {
            RouteType::Unicast => RouteKind::Unicast,
            RouteType::Local => RouteKind::Local,
            RouteType::Broadcast => RouteKind::Broadcast,
            RouteType::Multicast => RouteKind::Multicast,
            RouteType::BlackHole => RouteKind::Blackhole,
            RouteType::Unreachable => RouteKind::Unreachable,
            RouteType::Prohibit => RouteKind::Prohibit,
            _ => RouteKind::Other,
        },
        gateway: None,
        oif: None,
        device: None,
        prefsrc: None,
        table: Some(u32::from(r.header.table)),
    };
    for a in &r.attributes {
        match a {
            RouteAttribute::Gateway(g) => info.gateway = v4(g),
            RouteAttribute::Oif(i) => info.oif = Some(*i),
            RouteAttribute::PrefSource(p) => info.prefsrc = v4(p),
            RouteAttribute::Table(t) => info.table = Some(*t),
            _ => {}
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_route_errors_become_route_kinds() {
        let k = |n| route_error_kind(&io::Error::from_raw_os_error(n));
        assert_eq!(k(libc_errno::ENETUNREACH), Some(RouteKind::NoRoute));
        assert_eq!(k(libc_errno::EHOSTUNREACH), Some(RouteKind::Unreachable));
        assert_eq!(k(libc_errno::EACCES), Some(RouteKind::Prohibit));
        assert_eq!(k(libc_errno::EINVAL), Some(RouteKind::Blackhole));
        assert_eq!(k(nix::errno::Errno::ENOBUFS as i32), None);
        assert!(!RouteKind::Blackhole.delivers());
        assert!(RouteKind::Local.delivers());
    }
}
