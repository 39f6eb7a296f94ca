//! Links, addresses, neighbours and routes of one network namespace, read over rtnetlink.
//!
//! This replaces `ip -d link show`, `ip -4 addr`, `ip neigh`, `ip route get` and `ip netns
//! list-id` on a node. Everything is synchronous: an [`Rtnl`] is a plain netlink socket, and
//! it answers for the namespace it was *created* in. Create it inside a pod's namespace (with
//! [`crate::netns::run_in`]) and it keeps answering for that pod after the thread has left.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkDeserializable, NetlinkHeader, NetlinkMessage,
    NetlinkPayload, NetlinkSerializable,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, State,
};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

/// A netlink exchange that failed; `op` names it ("dump links (RTM_GETLINK)").
#[derive(Debug, thiserror::Error)]
pub enum LinksError {
    #[error("{op}: cannot open a netlink socket: {source}")]
    Socket {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("{op}: cannot send the netlink request: {source}")]
    Send {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("{op}: cannot read the kernel's answer: {source}")]
    Recv {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("{op}: cannot decode the kernel's answer: {source}")]
    Decode {
        op: &'static str,
        #[source]
        source: netlink_packet_core::DecodeError,
    },
    #[error("{op}: the kernel answered: {source}")]
    Kernel {
        op: &'static str,
        #[source]
        source: io::Error,
    },
}

/// One network interface, like a line of `ip -d link show`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// IFLA_LINKINFO kind: `veth`, `bridge`, `vxlan`, `dummy`, `ifb`...; None for physical
    /// devices and loopback.
    pub kind: Option<String>,
    pub mac: Option<String>,
    pub mtu: u32,
    /// Operational state in `ip`'s words, lower-case: up, down, lowerlayerdown, unknown...
    pub oper_state: String,
    /// Administratively up (IFF_UP, `ip link set X up`).
    pub admin_up: bool,
    /// IFLA_LINK: for a veth, the peer's ifindex (the N of `eth0@ifN`).
    pub link: Option<u32>,
    /// IFLA_LINK_NETNSID: the id, in this namespace, of the namespace holding the peer.
    /// Absent when the peer lives in the same namespace.
    pub link_netnsid: Option<i32>,
    /// IFLA_MASTER: the bridge (or bond, vrf) this link is a port of.
    pub master: Option<u32>,
}

impl Link {
    /// Whether traffic can pass: admin up and not reported down by the kernel.
    /// `unknown` counts as up: loopback, dummy and tun devices never report a carrier state.
    pub fn is_usable(&self) -> bool {
        self.admin_up
            && !matches!(
                self.oper_state.as_str(),
                "down" | "lowerlayerdown" | "notpresent"
            )
    }
}

/// An IPv4 address on an interface, like a line of `ip -4 addr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Address {
    pub ifindex: u32,
    pub ip: Ipv4Addr,
    pub prefix_len: u8,
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.ip, self.prefix_len)
    }
}

/// An IPv4 neighbour (ARP) entry, like a line of `ip neigh`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbour {
    pub ifindex: u32,
    pub ip: Ipv4Addr,
    pub mac: Option<String>,
    /// REACHABLE, STALE, FAILED... as `ip neigh` prints it.
    pub state: String,
}

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

/// An rtnetlink socket bound to the namespace it was created in.
pub struct Rtnl {
    socket: Socket,
    seq: u32,
}

impl Rtnl {
    /// Open a NETLINK_ROUTE socket in the calling thread's namespace.
    pub fn open() -> Result<Rtnl, LinksError> {
        let socket = open_socket(NETLINK_ROUTE, "open rtnetlink")?;
        Ok(Rtnl { socket, seq: 0 })
    }

    fn request(
        &mut self,
        op: &'static str,
        msg: RouteNetlinkMessage,
        dump: bool,
    ) -> Result<Vec<RouteNetlinkMessage>, LinksError> {
        self.seq = self.seq.wrapping_add(1);
        let flags = if dump {
            NLM_F_REQUEST | NLM_F_DUMP
        } else {
            NLM_F_REQUEST
        };
        exchange(&self.socket, self.seq, msg, flags, op)
    }

    /// All links, like `ip -d link show`.
    pub fn links(&mut self) -> Result<Vec<Link>, LinksError> {
        let replies = self.request(
            "dump links (RTM_GETLINK)",
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            true,
        )?;
        Ok(replies
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_from(&l)),
                _ => None,
            })
            .collect())
    }

    /// All IPv4 addresses, like `ip -4 addr show`.
    pub fn addresses(&mut self) -> Result<Vec<Address>, LinksError> {
        let mut req = AddressMessage::default();
        req.header.family = AddressFamily::Inet;
        let replies = self.request(
            "dump addresses (RTM_GETADDR)",
            RouteNetlinkMessage::GetAddress(req),
            true,
        )?;
        let mut out = Vec::new();
        for m in replies {
            let RouteNetlinkMessage::NewAddress(a) = m else {
                continue;
            };
            // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's on
            // point-to-point links, so prefer the former.
            let local = a.attributes.iter().find_map(|at| match at {
                AddressAttribute::Local(IpAddr::V4(ip)) => Some(*ip),
                _ => None,
            });
            let addr = a.attributes.iter().find_map(|at| match at {
                AddressAttribute::Address(IpAddr::V4(ip)) => Some(*ip),
                _ => None,
            });
            if let Some(ip) = local.or(addr) {
                out.push(Address {
                    ifindex: a.header.index,
                    ip,
                    prefix_len: a.header.prefix_len,
                });
            }
        }
        Ok(out)
    }

    /// All IPv4 neighbour entries, like `ip -4 neigh show`.
    pub fn neighbours(&mut self) -> Result<Vec<Neighbour>, LinksError> {
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
                state: neighbour_state(n.header.state),
            });
        }
        Ok(out)
    }

    /// Ask the kernel which route a packet to `dst` would take, like `ip route get DST`.
    ///
    /// "No route", `unreachable`, `prohibit` and `blackhole` come back as `Ok` with the
    /// matching [`RouteKind`]; only a failure to talk to the kernel is an error.
    pub fn route_get(&mut self, dst: Ipv4Addr) -> Result<RouteInfo, LinksError> {
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
    pub fn route_lookup(&mut self, dst: Ipv4Addr) -> Result<RouteInfo, LinksError> {
        let mut req = RouteMessage::default();
        req.header.address_family = AddressFamily::Inet;
        req.header.destination_prefix_length = 32;
        req.attributes
            .push(RouteAttribute::Destination(RouteAddress::Inet(dst)));
        let op = "look up a route (RTM_GETROUTE)";
        let replies = match self.request(op, RouteNetlinkMessage::GetRoute(req), false) {
            Ok(r) => r,
            Err(LinksError::Kernel { source, .. }) if route_error_kind(&source).is_some() => {
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
            return Err(LinksError::Kernel {
                op,
                source: io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "no route message in the answer",
                ),
            });
        };
        Ok(route_from(dst, &r))
    }

    /// The default route of the main table, like `ip route show default`.
    pub fn default_gateway(&mut self) -> Result<Option<DefaultGateway>, LinksError> {
        let mut req = RouteMessage::default();
        req.header.address_family = AddressFamily::Inet;
        let replies = self.request(
            "dump routes (RTM_GETROUTE)",
            RouteNetlinkMessage::GetRoute(req),
            true,
        )?;
        Ok(replies.into_iter().find_map(|m| {
            let RouteNetlinkMessage::NewRoute(r) = m else {
                return None;
            };
            let table = r
                .attributes
                .iter()
                .find_map(|a| match a {
                    RouteAttribute::Table(t) => Some(*t),
                    _ => None,
                })
                .unwrap_or(u32::from(r.header.table));
            let is_default = r.header.destination_prefix_length == 0
                && r.header.kind == RouteType::Unicast
                && table == u32::from(RouteHeader::RT_TABLE_MAIN);
            if !is_default {
                return None;
            }
            let info = route_from(Ipv4Addr::UNSPECIFIED, &r);
            info.gateway.map(|gateway| DefaultGateway {
                gateway,
                oif: info.oif,
            })
        }))
    }

    /// The id under which this socket's namespace knows the namespace open at `fd`, like
    /// `ip netns list-id` (RTM_GETNSID with NETNSA_FD). None when no id is assigned.
    pub fn nsid_of(&mut self, fd: BorrowedFd<'_>) -> Result<Option<i32>, LinksError> {
        let mut req = NsidMessage::default();
        req.header.family = AddressFamily::Unspec;
        let raw = u32::try_from(fd.as_raw_fd()).map_err(|_| LinksError::Send {
            op: "look up a namespace id (RTM_GETNSID)",
            source: io::Error::from(io::ErrorKind::InvalidInput),
        })?;
        req.attributes.push(NsidAttribute::Fd(raw));
        let replies = self.request(
            "look up a namespace id (RTM_GETNSID)",
            RouteNetlinkMessage::GetNsId(req),
            false,
        )?;
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
pub fn links() -> Result<Vec<Link>, LinksError> {
    Rtnl::open()?.links()
}

/// All IPv4 addresses of the calling thread's namespace, like `ip -4 addr`.
pub fn addresses() -> Result<Vec<Address>, LinksError> {
    Rtnl::open()?.addresses()
}

/// All IPv4 neighbours of the calling thread's namespace, like `ip -4 neigh`.
pub fn neighbours() -> Result<Vec<Neighbour>, LinksError> {
    Rtnl::open()?.neighbours()
}

/// The route the calling thread's namespace takes to `dst`, like `ip route get DST`.
pub fn route_get(dst: Ipv4Addr) -> Result<RouteInfo, LinksError> {
    Rtnl::open()?.route_get(dst)
}

/// The default gateway of the calling thread's namespace (main table).
pub fn default_gateway() -> Result<Option<DefaultGateway>, LinksError> {
    Rtnl::open()?.default_gateway()
}

/// The id under which the calling thread's namespace knows the namespace open at `fd`.
pub fn nsid_of(fd: BorrowedFd<'_>) -> Result<Option<i32>, LinksError> {
    Rtnl::open()?.nsid_of(fd)
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

fn link_from(l: &LinkMessage) -> Link {
    let mut link = Link {
        index: l.header.index,
        name: String::new(),
        kind: None,
        mac: None,
        mtu: 0,
        oper_state: "unknown".into(),
        admin_up: l.header.flags.contains(LinkFlags::Up),
        link: None,
        link_netnsid: None,
        master: None,
    };
    for a in &l.attributes {
        match a {
            LinkAttribute::IfName(n) => link.name = n.clone(),
            LinkAttribute::Address(b) => link.mac = Some(format_mac(b)),
            LinkAttribute::Mtu(m) => link.mtu = *m,
            LinkAttribute::OperState(s) => link.oper_state = oper_state(*s),
            LinkAttribute::Link(i) => link.link = Some(*i),
            LinkAttribute::LinkNetNsId(i) => link.link_netnsid = Some(*i),
            LinkAttribute::Controller(i) => link.master = Some(*i),
            LinkAttribute::LinkInfo(infos) => {
                link.kind = infos.iter().find_map(|i| match i {
                    LinkInfo::Kind(k) => Some(info_kind(k)),
                    _ => None,
                });
            }
            _ => {}
        }
    }
    link
}

fn info_kind(k: &InfoKind) -> String {
    // The crate's Display prints the kernel's own kind strings ("veth", "bridge", "vxlan").
    k.to_string()
}

fn oper_state(s: State) -> String {
    match s {
        State::Unknown => "unknown".into(),
        State::NotPresent => "notpresent".into(),
        State::Down => "down".into(),
        State::LowerLayerDown => "lowerlayerdown".into(),
        State::Testing => "testing".into(),
        State::Dormant => "dormant".into(),
        State::Up => "up".into(),
        State::Other(n) => format!("state{n}"),
        _ => "unknown".into(),
    }
}

fn neighbour_state(s: NeighbourState) -> String {
    match s {
        NeighbourState::Incomplete => "INCOMPLETE".into(),
        NeighbourState::Reachable => "REACHABLE".into(),
        NeighbourState::Stale => "STALE".into(),
        NeighbourState::Delay => "DELAY".into(),
        NeighbourState::Probe => "PROBE".into(),
        NeighbourState::Failed => "FAILED".into(),
        NeighbourState::Noarp => "NOARP".into(),
        NeighbourState::Permanent => "PERMANENT".into(),
        NeighbourState::None => "NONE".into(),
        NeighbourState::Other(n) => format!("STATE{n:#x}"),
        _ => "UNKNOWN".into(),
    }
}

/// `aa:bb:cc:dd:ee:ff`, the way `ip link` prints a hardware address.
pub fn format_mac(bytes: &[u8]) -> String {
    let parts: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    parts.join(":")
}

/// Open and connect a netlink socket of `protocol` in the calling thread's namespace.
pub(crate) fn open_socket(protocol: isize, op: &'static str) -> Result<Socket, LinksError> {
    let mut socket = Socket::new(protocol).map_err(|source| LinksError::Socket { op, source })?;
    socket
        .bind_auto()
        .map_err(|source| LinksError::Socket { op, source })?;
    socket
        .connect(&SocketAddr::new(0, 0))
        .map_err(|source| LinksError::Socket { op, source })?;
    Ok(socket)
}

/// Send one request and collect the answers: up to NLMSG_DONE for a dump, up to the first
/// answer otherwise. Shared by rtnetlink here and sock_diag in the listener probe.
pub(crate) fn exchange<I>(
    socket: &Socket,
    seq: u32,
    msg: I,
    flags: u16,
    op: &'static str,
) -> Result<Vec<I>, LinksError>
where
    I: NetlinkSerializable + NetlinkDeserializable + fmt::Debug,
{
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
    packet.finalize();
    let mut buf = vec![0u8; packet.buffer_len()];
    packet.serialize(&mut buf);
    socket
        .send(&buf, 0)
        .map_err(|source| LinksError::Send { op, source })?;

    let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
    let mut out = Vec::new();
    loop {
        let (data, _) = socket
            .recv_from_full()
            .map_err(|source| LinksError::Recv { op, source })?;
        let mut offset = 0;
        while offset < data.len() {
            let msg = NetlinkMessage::<I>::deserialize(&data[offset..])
                .map_err(|source| LinksError::Decode { op, source })?;
            let len = msg.header.length as usize;
            // A reply to an earlier request on this socket (none are expected) is skipped.
            let ours = msg.header.sequence_number == seq;
            match msg.payload {
                NetlinkPayload::Done(_) if ours => return Ok(out),
                NetlinkPayload::Error(e) if ours => {
                    return match e.code {
                        None => Ok(out), // an ACK
                        Some(_) => Err(LinksError::Kernel {
                            op,
                            source: e.to_io(),
                        }),
                    };
                }
                NetlinkPayload::InnerMessage(m) if ours => {
                    out.push(m);
                    if !dump {
                        return Ok(out);
                    }
                }
                _ => {}
            }
            if len == 0 {
                break;
            }
            // Messages in one datagram start at 4-byte boundaries (NLMSG_ALIGN).
            offset += (len + 3) & !3;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_print_like_ip_link() {
        assert_eq!(
            format_mac(&[0x6e, 0x13, 0xe8, 0x42, 0xbb, 0x3]),
            "6e:13:e8:42:bb:03"
        );
        assert_eq!(format_mac(&[]), "");
    }

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

    #[test]
    fn a_link_reported_lowerlayerdown_is_not_usable() {
        let mut l = Link {
            index: 7,
            name: "veth1".into(),
            kind: Some("veth".into()),
            mac: None,
            mtu: 1500,
            oper_state: "up".into(),
            admin_up: true,
            link: Some(2),
            link_netnsid: Some(0),
            master: None,
        };
        assert!(l.is_usable());
        l.oper_state = "unknown".into();
        assert!(l.is_usable(), "loopback-like devices report unknown");
        l.oper_state = "lowerlayerdown".into();
        assert!(!l.is_usable());
        l.oper_state = "up".into();
        l.admin_up = false;
        assert!(!l.is_usable());
    }

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
