//! Asking DNS servers from inside a pod: the I/O of the Dns probe, like running
//! `dig @server name A` once per nameserver, all at once.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use super::DnsTarget;
use super::verdict::{Asked, Reply};
use super::wire;
use crate::kernel::netns::{NetnsError, run_in};

/// One query on its way: the connected socket, its id, when it left. `Err` holds a reply that
/// is already known (the send itself failed).
type Sent = Result<(UdpSocket, u16, Instant), Reply>;

/// Send an A query for `name` to every server from the pod namespace, then wait for all the
/// answers in parallel: the whole call takes about the slowest answer, or `timeout`.
pub fn ask_all(
    pod_netns: &Path,
    name: &str,
    servers: &[DnsTarget],
    timeout: Duration,
) -> Result<Vec<Asked>, NetnsError> {
    let owned_name = name.to_string();
    let addrs: Vec<SocketAddr> = servers.iter().map(|s| s.addr).collect();
    // Only the sockets need the pod's namespace; they keep it when the thread is gone.
    let sent: Vec<Sent> = run_in(pod_netns, move || {
        let base = crate::path::connect::query_id();
        addrs
            .iter()
            .enumerate()
            .map(|(i, addr)| send(*addr, &owned_name, base.wrapping_add(i as u16)))
            .collect()
    })?;
    let deadline = Instant::now() + timeout;
    let replies: Vec<Reply> = std::thread::scope(|scope| {
        let waits: Vec<_> = sent
            .into_iter()
            .map(|s| {
                scope.spawn(move || match s {
                    Ok((socket, id, start)) => wait(&socket, id, start, deadline),
                    Err(reply) => reply,
                })
            })
            .collect();
        waits
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Reply::Unreachable("the query thread panicked".into()))
            })
            .collect()
    });
    Ok(servers
        .iter()
        .cloned()
        .zip(replies)
        .map(|(target, reply)| Asked { target, reply })
        .collect())
}

fn send(addr: SocketAddr, name: &str, id: u16) -> Sent {
    let bind: SocketAddr = match addr {
        SocketAddr::V4(_) => "0.0.0.0:0",
        SocketAddr::V6(_) => "[::]:0",
    }
    .parse()
    .map_err(|_| Reply::Unreachable("cannot form a local address".into()))?;
    let socket = UdpSocket::bind(bind)
        .map_err(|e| Reply::Unreachable(format!("cannot open a socket: {e}")))?;
    // Connected, so ICMP port unreachable comes back as ECONNREFUSED instead of silence.
    socket.connect(addr).map_err(|e| unreachable(&e))?;
    let query = wire::a_query(name, id).map_err(|e| Reply::Unreachable(e.to_string()))?;
    let start = Instant::now();
    socket.send(&query).map_err(|e| unreachable(&e))?;
    Ok((socket, id, start))
}

fn wait(socket: &UdpSocket, id: u16, start: Instant, deadline: Instant) -> Reply {
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Reply::Timeout;
        }
        if let Err(e) = socket.set_read_timeout(Some(left)) {
            return Reply::Unreachable(format!("cannot set a receive timeout: {e}"));
        }
        match socket.recv(&mut buf) {
            Ok(n) => match wire::parse_answer(&buf[..n]) {
                Ok(a) if a.id == id => {
                    return Reply::Answer {
                        latency: start.elapsed(),
                        texts: a.texts(),
                        rcode: a.rcode,
                        ips: a.ips,
                    };
                }
                // Not our answer (a late one, or garbage): keep listening until the deadline.
                _ => continue,
            },
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Reply::Timeout;
            }
            Err(e) => return unreachable(&e),
        }
    }
}

/// The kernel's reason a server cannot be reached, in words.
fn unreachable(e: &io::Error) -> Reply {
    Reply::Unreachable(match e.kind() {
        io::ErrorKind::ConnectionRefused => {
            "nothing listens on its port (ICMP port unreachable)".into()
        }
        io::ErrorKind::HostUnreachable => {
            "no host answers for that address (ICMP host unreachable)".into()
        }
        io::ErrorKind::NetworkUnreachable => "the pod has no route to it".into(),
        _ => e.to_string(),
    })
}
