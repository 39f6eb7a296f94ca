//! Sockets of one network namespace over sock_diag netlink, the interface `ss` itself uses:
//! typed, filtered by state in the kernel, and answering for the namespace the netlink socket
//! was created in. (/proc/net/tcp would do too, but is text to parse and lists every
//! connection, not just listeners.)

use std::net::SocketAddr;

use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP};
use netlink_packet_sock_diag::inet::{
    ExtensionFlags, InetRequest, SocketId, StateFlags, nlas::Nla,
};

use super::netlink::{DEFAULT_TIMEOUT, Family, NetlinkError, NetlinkSocket};

/// A socket bound to a local address, as sock_diag reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoundSocket {
    pub local: SocketAddr,
    /// An IPv6 socket that refuses IPv4 (IPV6_V6ONLY).
    pub v6only: bool,
}

/// Which sockets serve a port: listening TCP ones, or bound, unconnected UDP ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serving {
    Tcp,
    Udp,
}

const OP: &str = "list sockets (SOCK_DIAG_BY_FAMILY)";

/// A sock_diag socket bound to the namespace it was created in.
pub struct SockDiag {
    socket: NetlinkSocket,
}

impl SockDiag {
    /// Open a NETLINK_SOCK_DIAG socket in the calling thread's namespace.
    pub fn open() -> Result<SockDiag, NetlinkError> {
        let socket = NetlinkSocket::open(Family::SockDiag, OP, DEFAULT_TIMEOUT)?;
        Ok(SockDiag { socket })
    }

    /// Every listening TCP socket, or every unconnected UDP socket, IPv4 and IPv6, like
    /// `ss -ltn` or `ss -lun`.
    pub fn bound_sockets(&mut self, serving: Serving) -> Result<Vec<BoundSocket>, NetlinkError> {
        let (proto, states) = match serving {
            Serving::Tcp => (IPPROTO_TCP, StateFlags::LISTEN),
            // A bound, unconnected UDP socket sits in TCP_CLOSE; a connected one only hears
            // its own peer, so it serves nobody else.
            Serving::Udp => (IPPROTO_UDP, StateFlags::CLOSE),
        };
        let mut out = Vec::new();
        for family in [AF_INET, AF_INET6] {
            let socket_id = if family == AF_INET {
                SocketId::new_v4()
            } else {
                SocketId::new_v6()
            };
            let req = SockDiagMessage::InetRequest(InetRequest {
                family,
                protocol: proto,
                extensions: ExtensionFlags::empty(),
                states: states.clone(),
                socket_id,
            });
            let answers = match self.socket.request(OP, req, NLM_F_REQUEST | NLM_F_DUMP) {
                Ok(a) => a,
                // A kernel without IPv6 (ipv6.disable=1) refuses the AF_INET6 dump: no v6 sockets.
                Err(NetlinkError::Kernel { .. }) if family == AF_INET6 => continue,
                Err(e) => return Err(e),
            };
            for msg in answers {
                let SockDiagMessage::InetResponse(r) = msg else {
                    continue;
                };
                let id = &r.header.socket_id;
                let v6only = r.nlas.iter().any(|n| matches!(n, Nla::SkV6Only(true)));
                out.push(BoundSocket {
                    local: SocketAddr::new(id.source_address, id.source_port),
                    v6only,
                });
            }
        }
        Ok(out)
    }
}
