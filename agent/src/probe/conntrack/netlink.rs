//! ctnetlink I/O: the only file of the conntrack probe that talks to the kernel. Like
//! `conntrack -G -p tcp -s SRC --sport P -d DST --dport P`, `conntrack -L` and `conntrack -S`,
//! through a NETLINK_NETFILTER socket in the calling thread's network namespace.

use std::io;
use std::time::Duration;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, Nla,
};
use netlink_packet_netfilter::conntrack::{ConntrackAttribute, ConntrackMessage};
use netlink_packet_netfilter::{
    NetfilterHeader, NetfilterMessage, NetfilterMessageInner, NetfilterProtoFamily,
};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_NETFILTER};

use super::entry::{CtTuple, decode, tuple_attrs};
use super::stats::{CpuCounters, add_cpu_stats};

/// `IPCTNL_MSG_CT_GET_STATS_CPU`: not named by the crate, carried as `ConntrackMessage::Other`.
const IPCTNL_MSG_CT_GET_STATS_CPU: u8 = 4;

/// A failed ctnetlink exchange; `op` names the request (`get`, `dump`, `stats`).
#[derive(Debug, thiserror::Error)]
pub enum CtNetlinkError {
    #[error("cannot open a ctnetlink socket: {source}")]
    Socket {
        #[source]
        source: io::Error,
    },
    #[error("ctnetlink {op}: cannot send the request: {source}")]
    Send {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("ctnetlink {op}: no complete answer from the kernel: {source}")]
    Recv {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("ctnetlink {op}: the kernel refused the request: {source}")]
    Kernel {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("ctnetlink {op}: cannot decode the answer: {message}")]
    Decode { op: &'static str, message: String },
}

impl CtNetlinkError {
    /// The kernel's errno, when it refused the request.
    pub fn errno(&self) -> Option<i32> {
        match self {
            CtNetlinkError::Kernel { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// A ctnetlink socket, bound in the namespace of the thread that opened it.
pub struct CtSocket {
    socket: Socket,
    seq: u32,
}

/// Big enough for one netlink dump batch (the kernel fills at most ~32 KiB per read).
const RECV_BUF: usize = 1 << 16;

impl CtSocket {
    /// Open a socket whose reads give up after `timeout`, so a silent kernel cannot hang the agent.
    pub fn open(timeout: Duration) -> Result<CtSocket, CtNetlinkError> {
        let mut socket =
            Socket::new(NETLINK_NETFILTER).map_err(|source| CtNetlinkError::Socket { source })?;
        socket
            .bind_auto()
            .map_err(|source| CtNetlinkError::Socket { source })?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(|source| CtNetlinkError::Socket { source })?;
        socket2::SockRef::from(&socket)
            .set_read_timeout(Some(timeout))
            .map_err(|source| CtNetlinkError::Socket { source })?;
        Ok(CtSocket { socket, seq: 0 })
    }

    /// `IPCTNL_MSG_CT_GET` for exactly this original tuple: `Ok(None)` when there is none.
    pub fn get(&mut self, t: &CtTuple) -> Result<Option<Vec<ConntrackAttribute>>, CtNetlinkError> {
        let msg = ConntrackMessage::Get(vec![ConntrackAttribute::CtaTupleOrig(tuple_attrs(t))]);
        let mut found = None;
        match self.exchange("get", NLM_F_REQUEST, msg, |inner| {
            if let NetfilterMessageInner::Conntrack(
                ConntrackMessage::New(attrs) | ConntrackMessage::Get(attrs),
            ) = inner
            {
                found = Some(attrs);
            }
            false
        }) {
            Ok(()) => Ok(found),
            Err(e) if e.errno() == Some(nix::libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Dump the table and keep the entry whose original tuple is `t`: the fallback when a
    /// kernel does not answer a keyed get.
    pub fn dump_find(
        &mut self,
        t: &CtTuple,
    ) -> Result<Option<Vec<ConntrackAttribute>>, CtNetlinkError> {
        let mut found = None;
        self.exchange(
            "dump",
            NLM_F_REQUEST | NLM_F_DUMP,
            ConntrackMessage::Get(vec![]),
            |inner| {
                if let NetfilterMessageInner::Conntrack(
                    ConntrackMessage::New(attrs) | ConntrackMessage::Get(attrs),
                ) = inner
                    && found.is_none()
                    && decode(&attrs).is_ok_and(|e| e.original == *t)
                {
                    found = Some(attrs);
                }
                true
            },
        )?;
        Ok(found)
    }

    /// `IPCTNL_MSG_CT_GET_STATS_CPU`: the per-CPU counters, summed (like `conntrack -S`).
    pub fn cpu_stats(&mut self) -> Result<CpuCounters, CtNetlinkError> {
        let mut sum = CpuCounters::default();
        let mut any = false;
        let msg = ConntrackMessage::Other {
            message_type: IPCTNL_MSG_CT_GET_STATS_CPU,
            attributes: vec![],
        };
        self.exchange("stats", NLM_F_REQUEST | NLM_F_DUMP, msg, |inner| {
            if let NetfilterMessageInner::Conntrack(ConntrackMessage::Other {
                attributes, ..
            }) = inner
            {
                let raw: Vec<(u16, Vec<u8>)> = attributes
                    .iter()
                    .map(|nla| {
                        let mut value = vec![0; nla.value_len()];
                        nla.emit_value(&mut value);
                        (nla.kind(), value)
                    })
                    .collect();
                add_cpu_stats(&mut sum, &raw);
                any = true;
            }
            true
        })?;
        if any {
            Ok(sum)
        } else {
            Err(CtNetlinkError::Decode {
                op: "stats",
                message: "no per-CPU statistics in the answer".into(),
            })
        }
    }

    /// Send one request and feed each answer to `on_msg` until the kernel is done: the end of a
    /// dump, an error, or (for a plain request) the first answer. `on_msg` returns whether a
    /// plain request expects more.
    fn exchange(
        &mut self,
        op: &'static str,
        flags: u16,
        msg: ConntrackMessage,
        mut on_msg: impl FnMut(NetfilterMessageInner) -> bool,
    ) -> Result<(), CtNetlinkError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = seq;
        let mut packet = NetlinkMessage::new(
            header,
            NetlinkPayload::from(NetfilterMessage::new(
                NetfilterHeader::new(NetfilterProtoFamily::IPv4, 0, 0),
                msg,
            )),
        );
        packet.finalize();
        let mut out = vec![0; packet.buffer_len()];
        packet.serialize(&mut out);
        self.socket
            .send(&out, 0)
            .map_err(|source| CtNetlinkError::Send { op, source })?;

        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut buf = vec![0u8; RECV_BUF];
        loop {
            let size = self
                .socket
                .recv(&mut &mut buf[..], 0)
                .map_err(|source| CtNetlinkError::Recv { op, source })?;
            let mut offset = 0;
            while offset < size {
                let bytes = &buf[offset..size];
                let (len, msg_seq) = match NetlinkBuffer::new_checked(bytes) {
                    Ok(b) => (b.length() as usize, b.sequence_number()),
                    Err(e) => {
                        return Err(CtNetlinkError::Decode {
                            op,
                            message: e.to_string(),
                        });
                    }
                };
                if len == 0 {
                    break;
                }
                offset += len;
                if msg_seq != seq {
                    continue; // a late answer to an earlier request on this socket
                }
                let parsed = match NetlinkMessage::<NetfilterMessage>::deserialize(&bytes[..len]) {
                    Ok(m) => m,
                    // One odd entry in a dump must not hide the others.
                    Err(_) if dump => continue,
                    Err(e) => {
                        return Err(CtNetlinkError::Decode {
                            op,
                            message: e.to_string(),
                        });
                    }
                };
                match parsed.payload {
                    NetlinkPayload::Done(_) => return Ok(()),
                    NetlinkPayload::Error(e) if e.raw_code() != 0 => {
                        return Err(CtNetlinkError::Kernel {
                            op,
                            source: e.to_io(),
                        });
                    }
                    NetlinkPayload::Error(_) => return Ok(()), // an ACK
                    NetlinkPayload::InnerMessage(m) => {
                        let more = on_msg(m.inner);
                        if !dump && !more {
                            return Ok(());
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// `NFNLGRP_CONNTRACK_NEW`: the multicast group of new-entry events (`conntrack -E -e NEW`).
const NFNLGRP_CONNTRACK_NEW: u32 = 1;

/// A subscription to conntrack's new-entry events, opened before the probe connects.
///
/// Some entries never stay in the table long enough to be read: the kernel deletes a TCP entry
/// at once when the only answer was a RST (a refused connect). Its NEW event still says which
/// endpoint DNAT chose.
pub struct CtEvents {
    socket: Socket,
}

impl CtEvents {
    /// Subscribe in the calling thread's namespace.
    pub fn subscribe() -> Result<CtEvents, CtNetlinkError> {
        let mut socket =
            Socket::new(NETLINK_NETFILTER).map_err(|source| CtNetlinkError::Socket { source })?;
        socket
            .bind_auto()
            .map_err(|source| CtNetlinkError::Socket { source })?;
        socket
            .add_membership(NFNLGRP_CONNTRACK_NEW)
            .map_err(|source| CtNetlinkError::Socket { source })?;
        socket
            .set_non_blocking(true)
            .map_err(|source| CtNetlinkError::Socket { source })?;
        Ok(CtEvents { socket })
    }

    /// The NEW event of the entry whose original tuple is `t`, among the events queued by now
    /// or arriving within `wait` (events are queued when the entry is confirmed, before the
    /// probe's connect returns, so a short wait only covers scheduling).
    pub fn find_new(&mut self, t: &CtTuple, wait: Duration) -> Option<Vec<ConntrackAttribute>> {
        let deadline = std::time::Instant::now() + wait;
        let mut buf = vec![0u8; RECV_BUF];
        loop {
            let size = match self.socket.recv(&mut &mut buf[..], 0) {
                Ok(size) => size,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if std::time::Instant::now() >= deadline {
                        return None;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                }
                // ENOBUFS: events were lost while the table was busy; what is queued still counts.
                Err(e) if e.raw_os_error() == Some(nix::libc::ENOBUFS) => continue,
                Err(_) => return None,
            };
            let mut offset = 0;
            while offset < size {
                let bytes = &buf[offset..size];
                let Ok(len) = NetlinkBuffer::new_checked(bytes).map(|b| b.length() as usize) else {
                    break;
                };
                if len == 0 {
                    break;
                }
                offset += len;
                let Ok(parsed) = NetlinkMessage::<NetfilterMessage>::deserialize(&bytes[..len])
                else {
                    continue;
                };
                if let NetlinkPayload::InnerMessage(m) = parsed.payload
                    && let NetfilterMessageInner::Conntrack(ConntrackMessage::New(attrs)) = m.inner
                    && decode(&attrs).is_ok_and(|e| e.original == *t)
                {
                    return Some(attrs);
                }
            }
        }
    }
}
