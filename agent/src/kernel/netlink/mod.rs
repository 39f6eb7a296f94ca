//! The agent's one netlink transport: a socket of one family, bound in the namespace of the
//! thread that opened it, one request/dump exchange, and event reads. Links, addresses,
//! neighbours, routes and namespace ids ([`super::rtnl`]), conntrack ([`super::conntrack`]) and
//! sockets ([`super::sock_diag`]) all go through it, so message alignment, sequence matching,
//! kernel errors and deadlines are handled in one place.
//!
//! Every read has a deadline. An exchange gives up when the kernel stays silent for the
//! socket's timeout (a dump keeps going as long as the kernel keeps answering); an event wait
//! ends at its deadline however many unrelated events arrive meanwhile.

use std::io;
use std::time::{Duration, Instant};

use netlink_packet_core::{
    NLM_F_DUMP, NetlinkBuffer, NetlinkDeserializable, NetlinkHeader, NetlinkMessage,
    NetlinkPayload, NetlinkSerializable,
};
use netlink_sys::{Socket, SocketAddr, protocols};

pub mod batch;
mod close;

/// The netlink families the agent speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// NETLINK_ROUTE: links, addresses, neighbours, routes, namespace ids (what `ip` uses).
    Route,
    /// NETLINK_NETFILTER: conntrack (what `conntrack` uses), later nf_tables.
    Netfilter,
    /// NETLINK_SOCK_DIAG: sockets (what `ss` uses).
    SockDiag,
    /// NETLINK_GENERIC: families resolved by name, IPVS among them (what `ipvsadm` uses).
    Generic,
}

impl Family {
    fn protocol(self) -> isize {
        match self {
            Family::Route => protocols::NETLINK_ROUTE,
            Family::Netfilter => protocols::NETLINK_NETFILTER,
            Family::SockDiag => protocols::NETLINK_SOCK_DIAG,
            Family::Generic => protocols::NETLINK_GENERIC,
        }
    }

    /// The family's name in error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Route => "rtnetlink",
            Family::Netfilter => "netfilter netlink",
            Family::SockDiag => "sock_diag netlink",
            Family::Generic => "generic netlink",
        }
    }
}

/// How long the kernel may stay silent within one exchange. It answers a keyed get in
/// microseconds and fills a dump batch in well under a millisecond, so this is only reached
/// when something is wrong, and then the agent reports instead of hanging.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// A failed netlink exchange; `op` names it ("dump links (RTM_GETLINK)").
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("{op}: cannot open a {family} socket: {source}")]
    Open {
        op: &'static str,
        family: &'static str,
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
    #[error(
        "{op}: the kernel did not answer within {} ms (an overloaded node, or a kernel without this netlink family?)",
        .waited.as_millis()
    )]
    TimedOut { op: &'static str, waited: Duration },
    #[error("{op}: cannot decode the kernel's answer: {message}")]
    Decode { op: &'static str, message: String },
    #[error("{op}: the kernel answered: {source}")]
    Kernel {
        op: &'static str,
        #[source]
        source: io::Error,
    },
}

impl NetlinkError {
    /// The kernel's errno, when it refused the request.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetlinkError::Kernel { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// A netlink socket of one family, answering for the namespace it was created in.
pub struct NetlinkSocket {
    socket: Socket,
    family: Family,
    seq: u32,
    timeout: Duration,
    buf: Vec<u8>,
}

/// The first receive buffer: one dump batch (the kernel fills at most ~32 KiB per read). A
/// larger datagram grows it.
const RECV_BUF: usize = 1 << 16;

impl NetlinkSocket {
    /// Open a socket of `family` talking to the kernel, in the calling thread's namespace.
    /// Each exchange gives up after `timeout` of silence.
    pub fn open(
        family: Family,
        op: &'static str,
        timeout: Duration,
    ) -> Result<NetlinkSocket, NetlinkError> {
        let socket = NetlinkSocket::bound(family, op, timeout)?;
        socket
            .socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(|source| open_error(family, op, source))?;
        Ok(socket)
    }

    /// Open a socket of `family` that receives the kernel's events of multicast `group`
    /// (like `conntrack -E`), in the calling thread's namespace.
    pub fn subscribe(
        family: Family,
        group: u32,
        op: &'static str,
    ) -> Result<NetlinkSocket, NetlinkError> {
        let socket = NetlinkSocket::bound(family, op, DEFAULT_TIMEOUT)?;
        socket
            .socket
            .add_membership(group)
            .map_err(|source| open_error(family, op, source))?;
        Ok(socket)
    }

    fn bound(
        family: Family,
        op: &'static str,
        timeout: Duration,
    ) -> Result<NetlinkSocket, NetlinkError> {
        let mut socket =
            Socket::new(family.protocol()).map_err(|source| open_error(family, op, source))?;
        socket
            .bind_auto()
            .map_err(|source| open_error(family, op, source))?;
        Ok(NetlinkSocket {
            socket,
            family,
            seq: 0,
            timeout,
            buf: vec![0; RECV_BUF],
        })
    }

    /// Send one request and collect the answers: up to NLMSG_DONE for a dump, the first
    /// answer otherwise.
    pub fn request<I>(
        &mut self,
        op: &'static str,
        msg: I,
        flags: u16,
    ) -> Result<Vec<I>, NetlinkError>
    where
        I: NetlinkSerializable + NetlinkDeserializable,
    {
        let mut out = Vec::new();
        self.exchange(op, msg, flags, |m| {
            out.push(m);
            false
        })?;
        Ok(out)
    }

    /// Send one request and feed each answer to `on_msg` until the kernel is done: the end of a
    /// dump, an error or ACK, or (for a plain request) an answer after which `on_msg` returns
    /// false. In a dump, a message that does not decode is skipped: one odd entry must not hide
    /// the others.
    pub fn exchange<I>(
        &mut self,
        op: &'static str,
        msg: I,
        flags: u16,
        mut on_msg: impl FnMut(I) -> bool,
    ) -> Result<(), NetlinkError>
    where
        I: NetlinkSerializable + NetlinkDeserializable,
    {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        packet.finalize();
        let mut out = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut out);
        self.socket
            .send(&out, 0)
            .map_err(|source| NetlinkError::Send { op, source })?;

        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        loop {
            let size = self.recv_answer(op)?;
            for part in messages(&self.buf[..size]) {
                let (msg_seq, bytes) =
                    part.map_err(|message| NetlinkError::Decode { op, message })?;
                if msg_seq != seq {
                    continue; // a late answer to an earlier request on this socket
                }
                let parsed = match NetlinkMessage::<I>::deserialize(bytes) {
                    Ok(m) => m,
                    Err(_) if dump => continue,
                    Err(e) => {
                        return Err(NetlinkError::Decode {
                            op,
                            message: e.to_string(),
                        });
                    }
                };
                match parsed.payload {
                    NetlinkPayload::Done(_) => return Ok(()),
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(()), // an ACK
                            Some(_) => Err(NetlinkError::Kernel {
                                op,
                                source: e.to_io(),
                            }),
                        };
                    }
                    NetlinkPayload::InnerMessage(m) => {
                        let more = on_msg(m);
                        if !more && !dump {
                            return Ok(());
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Read the next datagram of an exchange into the buffer. The deadline is re-armed per
    /// datagram: a long dump is fine, a silent kernel is not.
    fn recv_answer(&mut self, op: &'static str) -> Result<usize, NetlinkError> {
        let deadline = Instant::now() + self.timeout;
        self.recv_before(deadline)
            .map_err(|source| NetlinkError::Recv { op, source })?
            .ok_or(NetlinkError::TimedOut {
                op,
                waited: self.timeout,
            })
    }

    /// Read events until `pick` accepts one or `deadline` passes, whichever comes first: a busy
    /// node's stream of other events cannot extend the wait. None at the deadline, and when the
    /// socket fails (the caller then knows only what it had). Lost events (ENOBUFS, the queue
    /// overflowed) do not end the wait: what is still queued counts.
    pub fn wait_for<I, T>(
        &mut self,
        deadline: Instant,
        mut pick: impl FnMut(I) -> Option<T>,
    ) -> Option<T>
    where
        I: NetlinkDeserializable,
    {
        loop {
            let size = match self.recv_before(deadline) {
                Ok(Some(size)) => size,
                Ok(None) => return None,
                Err(e) if e.raw_os_error() == Some(nix::libc::ENOBUFS) => continue,
                Err(_) => return None,
            };
            for (_, bytes) in messages(&self.buf[..size]).map_while(Result::ok) {
                let Ok(parsed) = NetlinkMessage::<I>::deserialize(bytes) else {
                    continue;
                };
                if let NetlinkPayload::InnerMessage(m) = parsed.payload
                    && let Some(found) = pick(m)
                {
                    return Some(found);
                }
            }
        }
    }

    /// Read one datagram into the buffer, waiting until `deadline` at most: `Ok(None)` once it
    /// has passed. The datagram's size is peeked first so a large one is never truncated.
    fn recv_before(&mut self, deadline: Instant) -> io::Result<Option<usize>> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            // A receive timeout of zero would mean "wait forever"; `left` is never zero here.
            socket2::SockRef::from(&self.socket).set_read_timeout(Some(left))?;
            let mut peek = [0u8; 16];
            let peeked = self.socket.recv(
                &mut &mut peek[..],
                nix::libc::MSG_PEEK | nix::libc::MSG_TRUNC,
            );
            let size = match peeked {
                Ok(size) => size,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            };
            if size > self.buf.len() {
                self.buf.resize(size, 0);
            }
            let size = self.socket.recv(&mut &mut self.buf[..], 0)?;
            return Ok(Some(size));
        }
    }
}

impl Drop for NetlinkSocket {
    fn drop(&mut self) {
        // The socket is released when its last descriptor closes: a duplicate handed to the
        // closer thread makes that close, and its wait, happen there ([`close`]).
        if self.family == Family::Netfilter
            && let Ok(dup) = std::os::fd::AsFd::as_fd(&self.socket).try_clone_to_owned()
        {
            close::close_later(dup);
        }
    }
}

fn open_error(family: Family, op: &'static str, source: io::Error) -> NetlinkError {
    NetlinkError::Open {
        op,
        family: family.as_str(),
        source,
    }
}

/// The netlink messages of one datagram, with their sequence numbers. Messages start at
/// 4-byte boundaries (NLMSG_ALIGN); a header that does not fit ends the walk with an error.
pub fn messages(data: &[u8]) -> impl Iterator<Item = Result<(u32, &[u8]), String>> {
    let mut offset = 0;
    std::iter::from_fn(move || {
        if offset >= data.len() {
            return None;
        }
        let rest = &data[offset..];
        match NetlinkBuffer::new_checked(rest) {
            Ok(b) => {
                // new_checked guarantees 16 <= length <= rest.len().
                let len = b.length() as usize;
                let seq = b.sequence_number();
                offset += (len + 3) & !3;
                Some(Ok((seq, &rest[..len])))
            }
            Err(e) => {
                offset = data.len();
                Some(Err(e.to_string()))
            }
        }
    })
}

#[cfg(test)]
mod tests;
