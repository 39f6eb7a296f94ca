//! ICMP echo on the wire (pure): the requests the path MTU probe sends and what comes back on a
//! raw ICMP socket (the IPv4 header, then the ICMP message), as `ping -M do -s SIZE` does.

use std::net::Ipv4Addr;

/// IPv4 header (no options) plus ICMP echo header: what a ping of `payload` bytes adds.
pub const HEADERS: u32 = 28;

const ECHO_REPLY: u8 = 0;
const DEST_UNREACHABLE: u8 = 3;
const FRAGMENTATION_NEEDED: u8 = 4;
const ECHO_REQUEST: u8 = 8;

/// What one received datagram says about our probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// An echo reply to the request with this sequence number.
    Reply { from: Ipv4Addr, seq: u16 },
    /// A router (or the node) refused the request with this sequence number as too big for
    /// its next hop: the path said so, which is no black hole.
    TooBig {
        from: Ipv4Addr,
        seq: u16,
        next_hop_mtu: u16,
    },
}

/// An echo request of `ip_len` bytes of IP in all (the kernel writes the IP header).
pub fn echo_request(id: u16, seq: u16, ip_len: u32) -> Vec<u8> {
    let payload = ip_len.saturating_sub(HEADERS) as usize;
    let mut m = vec![0u8; 8 + payload];
    m[0] = ECHO_REQUEST;
    m[4..6].copy_from_slice(&id.to_be_bytes());
    m[6..8].copy_from_slice(&seq.to_be_bytes());
    for (i, b) in m[8..].iter_mut().enumerate() {
        *b = i as u8;
    }
    let sum = checksum(&m);
    m[2..4].copy_from_slice(&sum.to_be_bytes());
    m
}

/// What `datagram` (as a raw ICMP socket returns it: IPv4 header first) says about the
/// requests with identifier `id`; None for anything else (other pings, other ICMP).
pub fn parse(datagram: &[u8], id: u16) -> Option<Received> {
    let (from, icmp) = ipv4_payload(datagram)?;
    match *icmp.first()? {
        ECHO_REPLY if be16(icmp, 4)? == id => Some(Received::Reply {
            from,
            seq: be16(icmp, 6)?,
        }),
        DEST_UNREACHABLE if *icmp.get(1)? == FRAGMENTATION_NEEDED => {
            // The error quotes our request: its IP header and the first 8 bytes of ICMP.
            let (_, quoted) = ipv4_payload(icmp.get(8..)?)?;
            (*quoted.first()? == ECHO_REQUEST && be16(quoted, 4)? == id).then_some(
                Received::TooBig {
                    from,
                    seq: be16(quoted, 6)?,
                    next_hop_mtu: be16(icmp, 6)?,
                },
            )
        }
        _ => None,
    }
}

/// The source address and the payload of an IPv4 packet.
fn ipv4_payload(p: &[u8]) -> Option<(Ipv4Addr, &[u8])> {
    let first = *p.first()?;
    let ihl = usize::from(first & 0x0f) * 4;
    if first >> 4 != 4 || ihl < 20 {
        return None;
    }
    let src: [u8; 4] = p.get(12..16)?.try_into().ok()?;
    Some((Ipv4Addr::from(src), p.get(ihl..)?))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// The Internet checksum (RFC 1071).
fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
pub(super) fn checksum_of(b: &[u8]) -> u16 {
    checksum(b)
}
