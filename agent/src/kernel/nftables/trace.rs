//! nf_tables trace events, what `nft monitor trace` prints: once a rule sets `meta nftrace`, the
//! kernel reports every rule, chain return and base-chain policy the packet meets, with its
//! verdict, to the `NFNLGRP_NFTRACE` group. Subscribing is in the calling thread's namespace;
//! decoding is pure.

use std::time::{Duration, Instant};

use super::msg::{self, NftMessage, NftVerdict};
use crate::kernel::netlink::{Family, NetlinkError, NetlinkSocket};

/// `NFNLGRP_NFTRACE`.
const NFNLGRP_NFTRACE: u32 = 9;
/// `NFT_MSG_TRACE`.
pub const MSG_TRACE: u8 = 17;

// enum nft_trace_attributes
const TRACE_TABLE: u16 = 1;
const TRACE_CHAIN: u16 = 2;
const TRACE_RULE_HANDLE: u16 = 3;
const TRACE_TYPE: u16 = 4;
const TRACE_VERDICT: u16 = 5;
const TRACE_ID: u16 = 6;
const TRACE_IIF: u16 = 10;
const TRACE_OIF: u16 = 12;
const TRACE_POLICY: u16 = 16;

/// What a trace event reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceType {
    /// A rule matched (its verdict may be `continue`).
    Rule,
    /// The end of a regular chain: back to the caller.
    Return,
    /// The end of a base chain: its policy decides.
    Policy,
    Other(u32),
}

/// One trace event of one packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    /// The kernel's id for the traced packet: every event of one packet shares it.
    pub id: u32,
    /// The table's family (`NFPROTO_*`: 1 inet, 2 ip, 10 ip6, 7 bridge, 5 netdev).
    pub family: u8,
    pub table: String,
    pub chain: String,
    pub handle: Option<u64>,
    pub kind: TraceType,
    pub verdict: Option<NftVerdict>,
    /// A base chain's policy (`NF_DROP` 0, `NF_ACCEPT` 1) for [`TraceType::Policy`].
    pub policy: Option<u32>,
    pub iif: Option<u32>,
    pub oif: Option<u32>,
}

impl TraceEvent {
    /// Whether the packet was dropped here (`drop`, `reject`, or a `policy drop`).
    pub fn drops(&self) -> bool {
        match self.kind {
            TraceType::Rule => self.verdict == Some(NftVerdict::Drop),
            TraceType::Policy => self.policy == Some(0),
            _ => false,
        }
    }
}

#[cfg(test)]
impl TraceEvent {
    /// An `ip` rule's event with `verdict`, as the judges' tests build them.
    pub fn rule(id: u32, table: &str, chain: &str, handle: u64, verdict: NftVerdict) -> TraceEvent {
        TraceEvent {
            id,
            family: 2,
            table: table.into(),
            chain: chain.into(),
            handle: Some(handle),
            kind: TraceType::Rule,
            verdict: Some(verdict),
            policy: None,
            iif: None,
            oif: None,
        }
    }
}

fn be32(v: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?))
}

/// Decode one `NFT_MSG_TRACE` message; None for other messages or one without table and chain.
pub fn decode(m: &NftMessage) -> Option<TraceEvent> {
    if m.msg != MSG_TRACE {
        return None;
    }
    let a = |kind| msg::attr(&m.attrs, kind);
    Some(TraceEvent {
        id: a(TRACE_ID).and_then(be32)?,
        family: m.family,
        table: msg::string(a(TRACE_TABLE)?),
        chain: msg::string(a(TRACE_CHAIN)?),
        handle: a(TRACE_RULE_HANDLE)
            .and_then(|v| Some(u64::from_be_bytes(v.get(..8)?.try_into().ok()?))),
        kind: match a(TRACE_TYPE).and_then(be32) {
            Some(1) => TraceType::Policy,
            Some(2) => TraceType::Return,
            Some(3) => TraceType::Rule,
            other => TraceType::Other(other.unwrap_or(0)),
        },
        verdict: a(TRACE_VERDICT).and_then(msg::verdict),
        policy: a(TRACE_POLICY).and_then(be32),
        iif: a(TRACE_IIF).and_then(be32),
        oif: a(TRACE_OIF).and_then(be32),
    })
}

/// A subscription to trace events, opened before the traced packets are sent.
pub struct TraceEvents {
    socket: NetlinkSocket,
}

/// How long the kernel may stay quiet before the trace is taken as complete: events are sent
/// synchronously as the packet passes, so once the connect has returned they are queued
/// already; this only bounds a reader that catches the queue mid-delivery.
const QUIET: Duration = Duration::from_millis(3);

impl TraceEvents {
    pub fn subscribe() -> Result<TraceEvents, NetlinkError> {
        let socket = NetlinkSocket::subscribe(
            Family::Netfilter,
            NFNLGRP_NFTRACE,
            "subscribe to nf_tables trace events (NFNLGRP_NFTRACE)",
        )?;
        Ok(TraceEvents { socket })
    }

    /// The next event, waiting for it until `deadline`.
    pub fn next(&mut self, deadline: Instant) -> Option<TraceEvent> {
        self.socket.wait_for(deadline, |m: NftMessage| decode(&m))
    }

    /// Every queued event, until the kernel stays quiet or `deadline` passes.
    pub fn drain(&mut self, deadline: Instant) -> Vec<TraceEvent> {
        let mut out = Vec::new();
        loop {
            let until = (Instant::now() + QUIET).min(deadline);
            match self.socket.wait_for(until, |m: NftMessage| decode(&m)) {
                Some(e) => out.push(e),
                None => return out,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::nftables::msg::AttrWriter;

    fn event(kind: u32, verdict: Option<i32>, policy: Option<u32>) -> NftMessage {
        let mut w = AttrWriter::default()
            .string(TRACE_TABLE, "filter")
            .string(TRACE_CHAIN, "FORWARD")
            .bytes(TRACE_RULE_HANDLE, &7u64.to_be_bytes())
            .bytes(TRACE_TYPE, &kind.to_be_bytes())
            .bytes(TRACE_ID, &0xdead_beefu32.to_be_bytes())
            .bytes(TRACE_IIF, &4u32.to_be_bytes());
        if let Some(v) = verdict {
            w = w.nested(
                TRACE_VERDICT,
                AttrWriter::default().bytes(msg::VERDICT_CODE, &v.to_be_bytes()),
            );
        }
        if let Some(p) = policy {
            w = w.bytes(TRACE_POLICY, &p.to_be_bytes());
        }
        NftMessage::new(MSG_TRACE, msg::NFPROTO_IPV4, w.finish())
    }

    #[test]
    fn a_rule_that_drops_is_decoded_with_its_place() {
        let Some(e) = decode(&event(3, Some(0), None)) else {
            panic!("decodes");
        };
        assert_eq!(
            (e.id, e.table.as_str(), e.chain.as_str(), e.handle, e.kind),
            (0xdead_beef, "filter", "FORWARD", Some(7), TraceType::Rule)
        );
        assert_eq!(e.iif, Some(4));
        assert!(e.drops());
        let go_on = decode(&event(3, Some(-1), None));
        assert!(go_on.is_some_and(|e| !e.drops() && e.verdict == Some(NftVerdict::Continue)));
    }

    #[test]
    fn a_base_chain_policy_drop_counts_and_other_messages_do_not_decode() {
        assert!(decode(&event(1, None, Some(0))).is_some_and(|e| e.drops()));
        assert!(decode(&event(1, None, Some(1))).is_some_and(|e| !e.drops()));
        let other = NftMessage::new(msg::MSG_NEWSETELEM, 2, vec![]);
        assert_eq!(decode(&other), None);
        let no_table = NftMessage::new(MSG_TRACE, 2, vec![]);
        assert_eq!(decode(&no_table), None);
    }
}
