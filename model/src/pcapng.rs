//! The probe's packets as a pcapng file (what Wireshark and `tcpdump -r` read): one section,
//! one Interface Description Block per interface (so a reader sees on which interface each
//! packet was), Enhanced Packet Blocks with microsecond timestamps, Ethernet link type.
//! Written by the agent with a size bound, read back and merged by the lab and the plugin so
//! several nodes' captures become one file. Pure: bytes in, bytes out.

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const LINKTYPE_ETHERNET: u16 = 1;
const OPT_IF_NAME: u16 = 2;

/// Bytes a packet may keep (headers only).
pub const SNAPLEN: u32 = 128;
/// The most one node's capture may take in its report.
pub const MAX_BYTES: usize = 64 * 1024;

/// One captured packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Index into [`Capture::interfaces`].
    pub interface: u32,
    /// Microseconds since the Unix epoch.
    pub ts_us: u64,
    /// Length on the wire (the data may be shorter).
    pub wire_len: u32,
    pub data: Vec<u8>,
}

/// A pcapng file's content, as this module writes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capture {
    /// Interface names, by interface id.
    pub interfaces: Vec<String>,
    pub packets: Vec<Packet>,
}

/// A file this module cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcapError {
    pub offset: usize,
    pub what: &'static str,
}

impl std::fmt::Display for PcapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the capture is not a pcapng file this version reads: {} at byte {}",
            self.what, self.offset
        )
    }
}

impl std::error::Error for PcapError {}

fn pad4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let total = (12 + body.len()) as u32;
    let mut b = Vec::with_capacity(total as usize);
    b.extend(kind.to_le_bytes());
    b.extend(total.to_le_bytes());
    b.extend(body);
    b.extend(total.to_le_bytes());
    b
}

fn shb() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(BYTE_ORDER_MAGIC.to_le_bytes());
    body.extend(1u16.to_le_bytes());
    body.extend(0u16.to_le_bytes());
    body.extend((-1i64).to_le_bytes()); // section length not given
    block(SHB, &body)
}

fn idb(name: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend(LINKTYPE_ETHERNET.to_le_bytes());
    body.extend(0u16.to_le_bytes());
    body.extend(SNAPLEN.to_le_bytes());
    let name = name.as_bytes();
    body.extend(OPT_IF_NAME.to_le_bytes());
    body.extend((name.len() as u16).to_le_bytes());
    body.extend(name);
    body.resize(pad4(body.len()), 0);
    body.extend([0u8; 4]); // opt_endofopt
    block(IDB, &body)
}

fn epb(p: &Packet) -> Vec<u8> {
    let data = &p.data[..p.data.len().min(SNAPLEN as usize)];
    let mut body = Vec::with_capacity(20 + pad4(data.len()));
    body.extend(p.interface.to_le_bytes());
    body.extend(((p.ts_us >> 32) as u32).to_le_bytes());
    body.extend((p.ts_us as u32).to_le_bytes());
    body.extend((data.len() as u32).to_le_bytes());
    body.extend(p.wire_len.max(data.len() as u32).to_le_bytes());
    body.extend(data);
    body.resize(20 + pad4(data.len()), 0);
    block(EPB, &body)
}

/// Write `capture` as one pcapng section, keeping packets in order while the file stays
/// within `limit` bytes; returns the file and how many packets did not fit.
pub fn write(capture: &Capture, limit: usize) -> (Vec<u8>, usize) {
    let mut out = shb();
    for name in &capture.interfaces {
        out.extend(idb(name));
    }
    let mut left_out = 0;
    for p in &capture.packets {
        let b = epb(p);
        if (p.interface as usize) < capture.interfaces.len() && out.len() + b.len() <= limit {
            out.extend(b);
        } else {
            left_out += 1;
        }
    }
    (out, left_out)
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Read a little-endian pcapng file of Ethernet interfaces; sections after the first continue
/// it (their interfaces are appended). Other block types are skipped.
pub fn read(bytes: &[u8]) -> Result<Capture, PcapError> {
    let mut out = Capture::default();
    let mut at = 0;
    let mut base = 0u32; // interface ids of the current section start here
    let err = |offset, what| PcapError { offset, what };
    while at < bytes.len() {
        let kind = u32_at(bytes, at).ok_or(err(at, "a truncated block header"))?;
        let len = u32_at(bytes, at + 4).ok_or(err(at, "a truncated block header"))? as usize;
        if len < 12 || !len.is_multiple_of(4) || at + len > bytes.len() {
            return Err(err(at, "a block length past the end of the file"));
        }
        let body = &bytes[at + 8..at + len - 4];
        match kind {
            SHB => {
                if u32_at(body, 0) != Some(BYTE_ORDER_MAGIC) {
                    return Err(err(at, "a big-endian or damaged section header"));
                }
                base = out.interfaces.len() as u32;
            }
            IDB => {
                if u16_at(body, 0) != Some(LINKTYPE_ETHERNET) {
                    return Err(err(at, "an interface that is not Ethernet"));
                }
                out.interfaces.push(if_name(body).unwrap_or_default());
            }
            EPB => {
                let f = |o| u32_at(body, o).ok_or(err(at, "a truncated packet block"));
                let (iface, hi, lo, caplen, wire) = (f(0)?, f(4)?, f(8)?, f(12)?, f(16)?);
                let data = body
                    .get(20..20 + caplen as usize)
                    .ok_or(err(at, "a packet longer than its block"))?;
                // A crafted interface id near u32::MAX must not overflow `base + iface`.
                let interface = base
                    .checked_add(iface)
                    .filter(|i| (*i as usize) < out.interfaces.len())
                    .ok_or(err(at, "a packet on an interface not described"))?;
                out.packets.push(Packet {
                    interface,
                    ts_us: (u64::from(hi) << 32) | u64::from(lo),
                    wire_len: wire,
                    data: data.to_vec(),
                });
            }
            _ => {}
        }
        at += len;
    }
    Ok(out)
}

fn if_name(body: &[u8]) -> Option<String> {
    let mut at = 8;
    while let (Some(code), Some(len)) = (u16_at(body, at), u16_at(body, at + 2)) {
        if code == 0 {
            break;
        }
        let value = body.get(at + 4..at + 4 + len as usize)?;
        if code == OPT_IF_NAME {
            return Some(String::from_utf8_lossy(value).into_owned());
        }
        at += 4 + pad4(len as usize);
    }
    None
}

/// Merge several nodes' files into one section: each interface named `node/interface`,
/// packets in time order.
pub fn merge(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, PcapError> {
    let mut all = Capture::default();
    for (node, bytes) in files {
        let c = read(bytes)?;
        let base = all.interfaces.len() as u32;
        all.interfaces
            .extend(c.interfaces.iter().map(|i| format!("{node}/{i}")));
        all.packets.extend(c.packets.into_iter().map(|p| Packet {
            interface: p.interface + base,
            ..p
        }));
    }
    all.packets.sort_by_key(|p| p.ts_us);
    Ok(write(&all, usize::MAX).0)
}

/// Every node's evidence pcap as one file ([`merge`]); None when no node captured anything.
pub fn merge_evidence(evidence: &[crate::report::Evidence]) -> Result<Option<Vec<u8>>, PcapError> {
    let mut files = Vec::new();
    for e in evidence {
        if let Some(bytes) = e.pcap_bytes()? {
            files.push((e.node.clone(), bytes));
        }
    }
    if files.is_empty() {
        return Ok(None);
    }
    merge(&files).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(interface: u32, ts_us: u64, n: usize) -> Packet {
        Packet {
            interface,
            ts_us,
            wire_len: 1500,
            data: (0..n).map(|i| i as u8).collect(),
        }
    }

    fn sample() -> Capture {
        Capture {
            interfaces: vec!["veth1".into(), "cni0".into()],
            packets: vec![
                packet(0, 1_700_000_000_000_001, 54),
                packet(1, 1_700_000_000_000_002, 66),
            ],
        }
    }

    #[test]
    fn round_trips() {
        let (bytes, left) = write(&sample(), MAX_BYTES);
        assert_eq!(left, 0);
        assert_eq!(&bytes[..4], &[0x0A, 0x0D, 0x0D, 0x0A]);
        assert_eq!(read(&bytes), Ok(sample()));
    }

    #[test]
    fn truncates_to_the_snaplen_and_honours_the_limit() {
        let mut c = sample();
        c.packets = (0..1000).map(|i| packet(0, i, 200)).collect();
        let (bytes, left) = write(&c, MAX_BYTES);
        assert!(bytes.len() <= MAX_BYTES);
        let back = read(&bytes).unwrap();
        assert_eq!(back.packets.len() + left, 1000);
        assert!(
            back.packets
                .iter()
                .all(|p| p.data.len() == SNAPLEN as usize)
        );
    }

    #[test]
    fn merges_nodes_into_one_section() {
        let (a, _) = write(&sample(), MAX_BYTES);
        let mut other = sample();
        other.interfaces = vec!["eth0".into()];
        other.packets = vec![packet(0, 1_700_000_000_000_000, 60)];
        let (b, _) = write(&other, MAX_BYTES);
        let merged = read(&merge(&[("n1".into(), a), ("n2".into(), b)]).unwrap()).unwrap();
        assert_eq!(merged.interfaces, ["n1/veth1", "n1/cni0", "n2/eth0"]);
        let order: Vec<u32> = merged.packets.iter().map(|p| p.interface).collect();
        assert_eq!(order, [2, 0, 1]);
    }

    #[test]
    fn merges_the_evidence_of_nodes_that_captured() {
        use crate::report::Evidence;
        let (a, _) = write(&sample(), MAX_BYTES);
        let evidence = [
            Evidence {
                node: "node-a".into(),
                pcap: Some(crate::base64::encode(&a)),
                ..Default::default()
            },
            Evidence {
                node: "node-b".into(),
                ..Default::default()
            },
        ];
        let merged = read(&merge_evidence(&evidence).unwrap().unwrap()).unwrap();
        assert_eq!(merged.interfaces, ["node-a/veth1", "node-a/cni0"]);
        assert_eq!(merged.packets.len(), 2);
        assert_eq!(merge_evidence(&evidence[1..]), Ok(None));
        let bad = [Evidence {
            node: "x".into(),
            pcap: Some("!!".into()),
            ..Default::default()
        }];
        assert!(merge_evidence(&bad).is_err());
    }

    #[test]
    fn refuses_damaged_files() {
        let (bytes, _) = write(&sample(), MAX_BYTES);
        assert!(read(&bytes[..bytes.len() - 3]).is_err());
        assert!(read(b"not a capture at all").is_err());
    }
}
