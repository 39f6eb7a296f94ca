//! The Connect hop: open a connection to the target from inside the source pod's network
//! namespace, the way an engineer runs `kubectl exec curl1 -- nc -zv -w2 10.96.45.10 80` (TCP),
//! `nc -u` (UDP) or `dig @10.96.0.10` (UDP port 53).
//!
//! The socket's local address is kept: its source port is how the conntrack hop finds this very
//! connection in the node's table. Here is the attempt (I/O, inside the pod); the [`Attempt`] is
//! judged by the pure [`judge::judge`], so every verdict is tested without a namespace.

pub mod judge;

use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use netdiag_model::{Hop, Protocol};
use socket2::{Domain, Socket, Type};

pub use self::judge::{Attempt, classify, judge};
pub(crate) use self::judge::{human, millis};
use crate::kernel::netns::run_in;
use crate::path::dns::wire;

/// The result of [`connect`]: the hop, and the probe socket's local address when the kernel
/// assigned one (also on a refused or timed-out TCP connect: conntrack still holds that entry).
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectOutcome {
    pub hop: Hop,
    pub local: Option<SocketAddrV4>,
}

/// A probe socket bound in the pod's namespace to an ephemeral port, not connected yet: its
/// source port is known before the first packet, so observers (a rule trace) can match the
/// probe's exact 5-tuple. The socket stays in the pod's namespace wherever it is used from.
pub struct Bound {
    socket: Socket,
    protocol: Protocol,
    /// The ephemeral port the kernel gave the socket.
    pub port: u16,
}

/// Open and bind the probe socket inside the pod namespace at `pod_netns`, to `port` when the
/// plan names one (another node watches for it) and it is free, else to an ephemeral port.
pub fn bind(pod_netns: &Path, protocol: Protocol, port: Option<u16>) -> Result<Bound, String> {
    let (ty, proto) = match protocol {
        Protocol::TCP => (Type::STREAM, socket2::Protocol::TCP),
        Protocol::UDP => (Type::DGRAM, socket2::Protocol::UDP),
        // `run::check_plan` refuses such a plan; a direct caller gets an error, not a guess.
        Protocol::Unknown => return Err("the target's protocol is not known to this agent".into()),
    };
    let name = protocol.as_upper();
    let bound = run_in(pod_netns, move || {
        let socket = Socket::new(Domain::IPV4, ty, Some(proto))
            .map_err(|e| format!("cannot open a {name} socket: {e}"))?;
        let at = |port: u16| SocketAddr::from(([0, 0, 0, 0], port));
        // A planned port another socket of the pod holds: the watching node misses this
        // connection (and says it saw nothing), the trace itself goes on.
        let planned = port.is_some_and(|p| socket.bind(&at(p).into()).is_ok());
        if !planned {
            socket
                .bind(&at(0).into())
                .map_err(|e| format!("cannot bind the {name} socket: {e}"))?;
        }
        let port = socket
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket_ipv4())
            .map(|a| a.port())
            .unwrap_or(0);
        Ok::<_, String>((socket, port))
    });
    let (socket, port) = bound.map_err(|e| e.to_string())??;
    Ok(Bound {
        socket,
        protocol,
        port,
    })
}

/// Connect to `target` from inside the pod namespace at `pod_netns` and judge the attempt.
///
/// TCP: a handshake with a timeout (like `nc -zv -w2`). UDP port 53: a real DNS query (like
/// `dig @target kubernetes.default.svc.cluster.local`); any DNS answer, whatever its rcode,
/// proves the path. Other UDP ports: a small datagram, then wait for any reply (like
/// `nc -u`); silence is only a warning, as UDP cannot tell silence from loss.
pub fn connect(
    node: &str,
    pod_netns: &Path,
    target: SocketAddrV4,
    protocol: Protocol,
    timeout: Duration,
) -> ConnectOutcome {
    connect_bound(
        node,
        bind(pod_netns, protocol, None),
        target,
        protocol,
        timeout,
    )
}

/// [`connect`] with a socket [`bind`] already opened in the pod: from any thread, as the
/// socket belongs to the pod's namespace.
pub fn connect_bound(
    node: &str,
    bound: Result<Bound, String>,
    target: SocketAddrV4,
    protocol: Protocol,
    timeout: Duration,
) -> ConnectOutcome {
    let (attempt, local) = match bound {
        Ok(b) => match b.protocol {
            Protocol::UDP => udp_attempt(b.socket.into(), target, timeout),
            _ => tcp_attempt(b.socket, target, timeout),
        },
        Err(e) => (Attempt::Error(e), None),
    };
    ConnectOutcome {
        hop: judge(node, target, protocol, timeout, &attempt, local),
        local,
    }
}

/// A TCP handshake; socket2 rather than std so the local address survives a failed connect.
fn tcp_attempt(
    socket: Socket,
    target: SocketAddrV4,
    timeout: Duration,
) -> (Attempt, Option<SocketAddrV4>) {
    let start = Instant::now();
    let result = socket.connect_timeout(&SocketAddr::V4(target).into(), timeout);
    let latency = start.elapsed();
    let local = socket
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket_ipv4())
        .filter(|a| a.port() != 0);
    let attempt = match result {
        Ok(()) => Attempt::Answered {
            latency,
            rcode: None,
        },
        Err(e) => classify(&e, "connect"),
    };
    (attempt, local)
}

/// Send one datagram (a DNS query on port 53) on a connected UDP socket and wait for a reply.
fn udp_attempt(
    socket: UdpSocket,
    target: SocketAddrV4,
    timeout: Duration,
) -> (Attempt, Option<SocketAddrV4>) {
    // Connecting the socket makes the kernel report ICMP port unreachable as ECONNREFUSED.
    if let Err(e) = socket.connect(target) {
        return (classify(&e, "connect"), None);
    }
    let local = match socket.local_addr() {
        Ok(SocketAddr::V4(a)) => Some(a),
        _ => None,
    };
    let is_dns = target.port() == 53;
    let id = query_id();
    let payload = if is_dns {
        match wire::a_query("kubernetes.default.svc.cluster.local", id) {
            Ok(bytes) => bytes,
            Err(e) => return (Attempt::Error(e.to_string()), local),
        }
    } else {
        b"netdiag probe\n".to_vec()
    };
    if let Err(e) = socket.set_read_timeout(Some(timeout.max(Duration::from_millis(1)))) {
        return (
            Attempt::Error(format!("cannot set a receive timeout: {e}")),
            local,
        );
    }
    let start = Instant::now();
    if let Err(e) = socket.send(&payload) {
        return (classify(&e, "send"), local);
    }
    let mut buf = [0u8; 1500];
    loop {
        match socket.recv(&mut buf) {
            Ok(n) if is_dns => match wire::parse_answer(&buf[..n]) {
                // A stray datagram with another id is not our answer: keep waiting.
                Ok(answer) if answer.id == id => {
                    return (
                        Attempt::Answered {
                            latency: start.elapsed(),
                            rcode: Some(answer.rcode),
                        },
                        local,
                    );
                }
                _ if start.elapsed() < timeout => continue,
                _ => return (Attempt::TimedOut, local),
            },
            Ok(_) => {
                return (
                    Attempt::Answered {
                        latency: start.elapsed(),
                        rcode: None,
                    },
                    local,
                );
            }
            Err(e) => return (classify(&e, "receive"), local),
        }
    }
}

/// A query id that differs between runs, so a late answer to an earlier probe is not taken
/// for this one. Not a security measure: the probe trusts the pod's network anyway.
pub(crate) fn query_id() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (nanos ^ (nanos >> 16) ^ std::process::id()) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use netdiag_model::Reason;

    use netdiag_model::Verdict;

    const VIP: SocketAddrV4 = SocketAddrV4::new(std::net::Ipv4Addr::new(10, 96, 45, 10), 80);

    #[test]
    fn a_namespace_that_cannot_be_entered_is_a_connect_error() {
        let out = connect(
            "n",
            Path::new("/nonexistent/netns/pod"),
            VIP,
            Protocol::TCP,
            Duration::from_secs(2),
        );
        assert_eq!(out.hop.verdict, Verdict::Fail);
        assert_eq!(out.hop.reason.clone(), Some(Reason::ConnectError));
        assert!(
            out.hop.detail.contains("/nonexistent/netns/pod"),
            "{}",
            out.hop.detail
        );
        assert_eq!(out.local, None);
    }
}
