//! Asking DNS servers from inside a pod: the I/O of the Dns probe, like running
//! `dig @server name A` once per nameserver, all at once.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, SocketAddrV4, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
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
    ask_all_with(pod_netns, name, servers, timeout, |_| ())
}

/// [`ask_all`], calling `before_send` with the queries' local addresses (IPv4 ones) once every
/// socket is bound and before the first query leaves: a rule trace armed there matches
/// exactly these queries.
pub fn ask_all_with(
    pod_netns: &Path,
    name: &str,
    servers: &[DnsTarget],
    timeout: Duration,
    before_send: impl FnOnce(&[SocketAddrV4]),
) -> Result<Vec<Asked>, NetnsError> {
    let addrs: Vec<SocketAddr> = servers.iter().map(|s| s.addr).collect();
    // Only the sockets need the pod's namespace; they keep it when the thread is gone.
    let opened: Vec<Result<UdpSocket, Reply>> =
        run_in(pod_netns, move || addrs.iter().map(|a| open(*a)).collect())?;
    let locals: Vec<SocketAddrV4> = (opened.iter().flatten())
        .filter_map(|s| match s.local_addr() {
            Ok(SocketAddr::V4(a)) => Some(a),
            _ => None,
        })
        .collect();
    before_send(&locals);
    let base = crate::path::connect::query_id();
    let sent: Vec<Sent> = (0u16..)
        .zip(opened)
        .map(|(i, socket)| send(socket?, name, base.wrapping_add(i)))
        .collect();
    let deadline = Instant::now() + timeout;
    let pod = pod_netns.to_path_buf();
    let replies: Vec<Reply> = std::thread::scope(|scope| {
        let waits: Vec<_> = sent
            .into_iter()
            .zip(servers.iter().map(|s| s.addr))
            .map(|(s, addr)| {
                let pod = pod.clone();
                let name = name.to_string();
                scope.spawn(move || match s {
                    Ok((socket, id, start)) => match wait(&socket, id, start, deadline) {
                        Waited::Truncated => over_tcp(pod, addr, name, id, start, deadline),
                        Waited::Reply(r) => r,
                    },
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

/// A UDP socket in the calling thread's namespace, bound and connected to `addr`: its local
/// port is known before anything is sent.
fn open(addr: SocketAddr) -> Result<UdpSocket, Reply> {
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
    Ok(socket)
}

fn send(socket: UdpSocket, name: &str, id: u16) -> Sent {
    let query = wire::a_query(name, id).map_err(|e| Reply::Unreachable(e.to_string()))?;
    let start = Instant::now();
    socket.send(&query).map_err(|e| unreachable(&e))?;
    Ok((socket, id, start))
}

/// What waiting on the UDP socket gave: a reply, or an answer cut short.
enum Waited {
    Reply(Reply),
    Truncated,
}

/// The largest DNS message (and UDP datagram) there is.
const MAX_MESSAGE: usize = 65_535;

fn reply(a: wire::Answer, start: Instant) -> Reply {
    Reply::Answer {
        latency: start.elapsed(),
        texts: a.texts(),
        rcode: a.rcode,
        ips: a.ips,
    }
}

fn wait(socket: &UdpSocket, id: u16, start: Instant, deadline: Instant) -> Waited {
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Waited::Reply(Reply::Timeout);
        }
        if let Err(e) = socket.set_read_timeout(Some(left)) {
            return Waited::Reply(Reply::Unreachable(format!(
                "cannot set a receive timeout: {e}"
            )));
        }
        match socket.recv(&mut buf) {
            Ok(n) => match wire::parse_answer(&buf[..n]) {
                Ok(a) if a.id == id && a.truncated => return Waited::Truncated,
                Ok(a) if a.id == id => return Waited::Reply(reply(a, start)),
                // Not our answer (a late one, or garbage): keep listening until the deadline.
                _ => continue,
            },
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Waited::Reply(Reply::Timeout);
            }
            Err(e) => return Waited::Reply(unreachable(&e)),
        }
    }
}

/// Ask again over TCP from the pod (RFC 7766), as a resolver does after a truncated answer:
/// a two-byte length, then the message, both ways.
fn over_tcp(
    pod: PathBuf,
    addr: SocketAddr,
    name: String,
    id: u16,
    start: Instant,
    deadline: Instant,
) -> Reply {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Reply::Timeout;
    }
    let connected = run_in(&pod, move || TcpStream::connect_timeout(&addr, left));
    let mut stream = match connected {
        Ok(Ok(s)) => s,
        Ok(Err(e)) if e.kind() == io::ErrorKind::TimedOut => return Reply::Timeout,
        Ok(Err(e)) => return unreachable(&e),
        Err(e) => return Reply::Unreachable(e.to_string()),
    };
    let mut exchange = || -> io::Result<Vec<u8>> {
        let left = deadline.saturating_duration_since(Instant::now());
        stream.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
        let query = wire::a_query(&name, id).map_err(io::Error::other)?;
        let len = u16::try_from(query.len()).map_err(io::Error::other)?;
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(&query);
        stream.write_all(&framed)?;
        let mut len = [0u8; 2];
        stream.read_exact(&mut len)?;
        let mut answer = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut answer)?;
        Ok(answer)
    };
    match exchange() {
        Ok(bytes) => match wire::parse_answer(&bytes) {
            Ok(a) if a.id == id => reply(a, start),
            Ok(_) => Reply::Unreachable("its TCP answer carries another query's id".into()),
            Err(e) => Reply::Unreachable(format!("its TCP answer does not decode: {e}")),
        },
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Reply::Timeout
        }
        Err(e) => unreachable(&e),
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
