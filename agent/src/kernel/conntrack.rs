//! ctnetlink I/O: like `conntrack -G -p tcp -s SRC --sport P -d DST --dport P`, `conntrack -L`,
//! `conntrack -S` and `conntrack -E -e NEW`, over [`NetlinkSocket`]s in the calling thread's
//! network namespace.
//!
//! This answers with the kernel's raw attributes; decoding an entry and judging it are the
//! Conntrack hop's (`crate::path::conntrack`). Callers say which entry they want with the
//! tuple's attributes or a predicate over an entry's attributes.

use std::time::{Duration, Instant};

use netlink_packet_core::{
    DecodeError, NLM_F_DUMP, NLM_F_REQUEST, NetlinkDeserializable, NetlinkHeader,
    NetlinkSerializable, Nla,
};
use netlink_packet_netfilter::conntrack::{ConntrackAttribute, ConntrackMessage, Tuple};
use netlink_packet_netfilter::{
    NetfilterHeader, NetfilterMessage, NetfilterMessageInner, NetfilterProtoFamily,
};

use super::netlink::{Family, NetlinkError, NetlinkSocket};

/// `IPCTNL_MSG_CT_GET_STATS_CPU`: not named by the crate, carried as `ConntrackMessage::Other`.
const IPCTNL_MSG_CT_GET_STATS_CPU: u8 = 4;

/// `NFNLGRP_CONNTRACK_NEW`: the multicast group of new-entry events (`conntrack -E -e NEW`).
const NFNLGRP_CONNTRACK_NEW: u32 = 1;

/// One CPU's statistics as raw (attribute type, value) pairs, in the kernel's order.
pub type RawCpuStats = Vec<(u16, Vec<u8>)>;

/// `NFNL_SUBSYS_CTNETLINK`: the one nfnetlink subsystem a ctnetlink socket should hear from.
const SUBSYS_CTNETLINK: u8 = 1;

/// A netfilter message on a ctnetlink socket: `NetfilterMessage`, except that decoding refuses
/// every subsystem but ctnetlink before the crate sees the bytes. netlink-packet-netfilter
/// 0.4.0 sends other subsystems to its own parsers, and its nf_tables parser panics on
/// malformed attributes; any local process may send a datagram to this socket's port, so such a
/// message must be skipped like any other undecodable one, never handed to that parser.
#[derive(Debug)]
pub struct CtMessage(pub NetfilterMessage);

/// Why a message on a ctnetlink socket was not decoded.
#[derive(Debug, thiserror::Error)]
pub enum CtDecodeError {
    #[error("a message of nfnetlink subsystem {0} on a ctnetlink socket")]
    NotConntrack(u8),
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

impl NetlinkSerializable for CtMessage {
    fn message_type(&self) -> u16 {
        self.0.message_type()
    }
    fn buffer_len(&self) -> usize {
        NetlinkSerializable::buffer_len(&self.0)
    }
    fn serialize(&self, buffer: &mut [u8]) {
        self.0.serialize(buffer)
    }
}

impl NetlinkDeserializable for CtMessage {
    type Error = CtDecodeError;
    fn deserialize(header: &NetlinkHeader, payload: &[u8]) -> Result<Self, CtDecodeError> {
        let [_, subsys] = header.message_type.to_le_bytes();
        if subsys != SUBSYS_CTNETLINK {
            return Err(CtDecodeError::NotConntrack(subsys));
        }
        Ok(CtMessage(NetfilterMessage::deserialize(header, payload)?))
    }
}

fn request(msg: ConntrackMessage) -> CtMessage {
    CtMessage(NetfilterMessage::new(
        NetfilterHeader::new(NetfilterProtoFamily::IPv4, 0, 0),
        msg,
    ))
}

/// The attributes of a conntrack entry message (`IPCTNL_MSG_CT_NEW`, or a GET's echo).
pub fn entry_attrs(CtMessage(msg): CtMessage) -> Option<Vec<ConntrackAttribute>> {
    match msg.inner {
        NetfilterMessageInner::Conntrack(
            ConntrackMessage::New(attrs) | ConntrackMessage::Get(attrs),
        ) => Some(attrs),
        _ => None,
    }
}

/// A ctnetlink socket, bound in the namespace of the thread that opened it.
pub struct CtSocket {
    socket: NetlinkSocket,
}

impl CtSocket {
    /// Open a socket whose exchanges give up after `timeout` of silence, so a silent kernel
    /// cannot hang the agent.
    pub fn open(timeout: Duration) -> Result<CtSocket, NetlinkError> {
        let socket = NetlinkSocket::open(Family::Netfilter, "open ctnetlink", timeout)?;
        Ok(CtSocket { socket })
    }

    /// `IPCTNL_MSG_CT_GET` for exactly the original tuple `tuple`: `Ok(None)` when there is
    /// none (the kernel answers ENOENT).
    pub fn get(
        &mut self,
        tuple: Vec<Tuple>,
    ) -> Result<Option<Vec<ConntrackAttribute>>, NetlinkError> {
        let msg = request(ConntrackMessage::Get(vec![
            ConntrackAttribute::CtaTupleOrig(tuple),
        ]));
        let mut found = None;
        let op = "look up a conntrack entry (IPCTNL_MSG_CT_GET)";
        match self.socket.exchange(op, msg, NLM_F_REQUEST, |m| {
            if let Some(attrs) = entry_attrs(m) {
                found = Some(attrs);
            }
            false
        }) {
            Ok(()) => Ok(found),
            Err(e) if e.errno() == Some(nix::libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Dump the table and keep the first entry `wanted` accepts: the fallback when a kernel
    /// does not answer a keyed get.
    pub fn dump_find(
        &mut self,
        wanted: impl Fn(&[ConntrackAttribute]) -> bool,
    ) -> Result<Option<Vec<ConntrackAttribute>>, NetlinkError> {
        let mut found = None;
        self.socket.exchange(
            "dump the conntrack table (IPCTNL_MSG_CT_GET)",
            request(ConntrackMessage::Get(vec![])),
            NLM_F_REQUEST | NLM_F_DUMP,
            |m| {
                if found.is_none()
                    && let Some(attrs) = entry_attrs(m)
                    && wanted(&attrs)
                {
                    found = Some(attrs);
                }
                true
            },
        )?;
        Ok(found)
    }

    /// `IPCTNL_MSG_CT_GET_STATS_CPU`: each CPU's counters (like `conntrack -S`), undecoded.
    pub fn cpu_stats(&mut self) -> Result<Vec<RawCpuStats>, NetlinkError> {
        let op = "read conntrack statistics (IPCTNL_MSG_CT_GET_STATS_CPU)";
        let mut cpus = Vec::new();
        let msg = request(ConntrackMessage::Other {
            message_type: IPCTNL_MSG_CT_GET_STATS_CPU,
            attributes: vec![],
        });
        self.socket
            .exchange(op, msg, NLM_F_REQUEST | NLM_F_DUMP, |m| {
                if let NetfilterMessageInner::Conntrack(ConntrackMessage::Other {
                    attributes,
                    ..
                }) = m.0.inner
                {
                    cpus.push(
                        attributes
                            .iter()
                            .map(|nla| {
                                let mut value = vec![0; nla.value_len()];
                                nla.emit_value(&mut value);
                                (nla.kind(), value)
                            })
                            .collect(),
                    );
                }
                true
            })?;
        if cpus.is_empty() {
            return Err(NetlinkError::Decode {
                op,
                message: "no per-CPU statistics in the answer".into(),
            });
        }
        Ok(cpus)
    }
}

/// A subscription to conntrack's new-entry events, opened before the probe connects.
///
/// Some entries never stay in the table long enough to be read: the kernel deletes a TCP entry
/// at once when the only answer was a RST (a refused connect). Its NEW event still says which
/// endpoint DNAT chose.
pub struct CtEvents {
    socket: NetlinkSocket,
}

impl CtEvents {
    /// Subscribe in the calling thread's namespace (needs CAP_NET_ADMIN there).
    pub fn subscribe() -> Result<CtEvents, NetlinkError> {
        let socket = NetlinkSocket::subscribe(
            Family::Netfilter,
            NFNLGRP_CONNTRACK_NEW,
            "subscribe to conntrack events (NFNLGRP_CONNTRACK_NEW)",
        )?;
        Ok(CtEvents { socket })
    }

    /// The first NEW event `wanted` accepts, among the events queued by now or arriving within
    /// `wait` (events are queued when the entry is confirmed, before the probe's connect
    /// returns, so a short wait only covers scheduling). Returns by the end of `wait` however
    /// many other events a busy node sends meanwhile.
    pub fn find_new(
        &mut self,
        wait: Duration,
        wanted: impl Fn(&[ConntrackAttribute]) -> bool,
    ) -> Option<Vec<ConntrackAttribute>> {
        let deadline = Instant::now() + wait;
        self.socket
            .wait_for(deadline, |m: CtMessage| match m.0.inner {
                NetfilterMessageInner::Conntrack(ConntrackMessage::New(attrs))
                    if wanted(&attrs) =>
                {
                    Some(attrs)
                }
                _ => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_other_nfnetlink_subsystems_never_reach_the_crates_parsers() {
        // An nf_tables (subsystem 10) NEWRULE with garbage attributes, as any local process
        // could send to the socket's port: refused by its subsystem, before any parsing.
        let mut header = NetlinkHeader::default();
        header.message_type = (10 << 8) | 6;
        let garbage = [2u8, 0, 0, 0, 0xff, 0xff, 0x01, 0x80, 0xde, 0xad];
        assert!(matches!(
            CtMessage::deserialize(&header, &garbage),
            Err(CtDecodeError::NotConntrack(10))
        ));
        // ctnetlink itself still decodes (a bare IPCTNL_MSG_CT_NEW with no attributes)
        header.message_type = u16::from(SUBSYS_CTNETLINK) << 8;
        let empty = [2u8, 0, 0, 0];
        assert!(CtMessage::deserialize(&header, &empty).is_ok());
    }

    #[test]
    fn an_event_wait_with_no_matching_event_returns_in_about_its_wait() {
        // Subscribing needs CAP_NET_ADMIN: skipped as another user, except under CI.
        // SAFETY: geteuid cannot fail and touches no memory.
        if unsafe { nix::libc::geteuid() } != 0 {
            assert!(std::env::var_os("CI").is_none(), "needs root and CI is set");
            eprintln!("skipping: not root");
            return;
        }
        let mut events = CtEvents::subscribe().expect("subscribe to conntrack events");
        let start = Instant::now();
        // No event is ever accepted: whatever this machine's conntrack does, the wait ends.
        let found = events.find_new(Duration::from_millis(80), |_| false);
        let waited = start.elapsed();
        assert_eq!(found, None);
        assert!(waited >= Duration::from_millis(80), "{waited:?}");
        assert!(waited < Duration::from_millis(400), "{waited:?}");
    }
}
