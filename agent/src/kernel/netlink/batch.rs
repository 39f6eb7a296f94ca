//! A batch of requests sent in one datagram and answered message by message: how nf_tables
//! takes a transaction (nfnetlink's `NFNL_MSG_BATCH_BEGIN` ... `NFNL_MSG_BATCH_END`, applied
//! all or nothing). The caller brings the begin and end messages; this numbers the messages,
//! frames them (pure: [`frame`]) and waits for the kernel's verdict on each one that asks for
//! an ACK.

use std::collections::BTreeSet;

use netlink_packet_core::{
    NLM_F_ACK, NetlinkDeserializable, NetlinkHeader, NetlinkMessage, NetlinkPayload,
    NetlinkSerializable,
};

use super::{NetlinkError, NetlinkSocket, messages};

/// The datagram of `parts` (each a message and its flags), numbered from `first_seq` on. Pure.
pub fn frame<I: NetlinkSerializable>(first_seq: u32, parts: Vec<(I, u16)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (n, (msg, flags)) in (0u32..).zip(parts) {
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = first_seq.wrapping_add(n);
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        packet.finalize();
        let start = out.len();
        out.resize(start + packet.buffer_len(), 0);
        packet.serialize(&mut out[start..]);
        // Messages start at 4-byte boundaries (NLMSG_ALIGN).
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }
    out
}

impl NetlinkSocket {
    /// Send `parts` as one datagram and wait until the kernel has answered every message
    /// flagged `NLM_F_ACK`. The first error ends the wait: in an nfnetlink batch it means the
    /// whole batch was rolled back, and an error on the first message is how the kernel reports
    /// a refused batch (EPERM) or a failed commit.
    pub fn batch<I>(&mut self, op: &'static str, parts: Vec<(I, u16)>) -> Result<(), NetlinkError>
    where
        I: NetlinkSerializable + NetlinkDeserializable,
    {
        let first = self.seq.wrapping_add(1);
        let count = u32::try_from(parts.len()).unwrap_or(u32::MAX);
        self.seq = self.seq.wrapping_add(count);
        let mut pending: BTreeSet<u32> = (0u32..)
            .zip(&parts)
            .filter(|(_, (_, flags))| flags & NLM_F_ACK == NLM_F_ACK)
            .map(|(n, _)| first.wrapping_add(n))
            .collect();
        let ours = |seq: u32| seq.wrapping_sub(first) < count;
        let out = frame(first, parts);
        self.socket
            .send(&out, 0)
            .map_err(|source| NetlinkError::Send { op, source })?;
        while !pending.is_empty() {
            let size = self.recv_answer(op)?;
            for part in messages(&self.buf[..size]) {
                let (seq, bytes) = part.map_err(|message| NetlinkError::Decode { op, message })?;
                if !ours(seq) {
                    continue; // a late answer to an earlier request on this socket
                }
                let Ok(parsed) = NetlinkMessage::<I>::deserialize(bytes) else {
                    continue;
                };
                if let NetlinkPayload::Error(e) = parsed.payload {
                    if e.code.is_some() {
                        return Err(NetlinkError::Kernel {
                            op,
                            source: e.to_io(),
                        });
                    }
                    pending.remove(&seq);
                }
            }
        }
        Ok(())
    }
}
