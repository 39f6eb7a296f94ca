//! Ethernet, ARP, IPv4, TCP and UDP headers to one tcpdump-like line: what the seeds read off
//! `tcpdump -e -n` on each interface (MACs, TTL, the addresses before and after DNAT, the TCP
//! flags). Pure and tolerant: a truncated frame says what it could read.

use std::net::Ipv4Addr;

use crate::kernel::rtnl::format_mac;

/// What one frame says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    pub summary: String,
    pub src_mac: Option<String>,
    pub dst_mac: Option<String>,
    pub ttl: Option<u8>,
    /// A TCP SYN without ACK: the probe's first packet.
    pub syn: bool,
    /// `tcp`, `udp`, `icmp`, `arp`.
    pub protocol: Option<&'static str>,
    /// `IP:PORT` (ICMP and ARP: the IP) of the sender and the receiver.
    pub src: Option<String>,
    pub dst: Option<String>,
    pub tcp_flags: Option<String>,
    /// ICMP type and code.
    pub icmp: Option<(u8, u8)>,
}

fn ip_at(b: &[u8], at: usize) -> Option<Ipv4Addr> {
    let o: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(Ipv4Addr::from(o))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// Decode an Ethernet frame.
pub fn decode(frame: &[u8]) -> Decoded {
    let (Some(dst), Some(src), Some(ethertype)) =
        (frame.get(0..6), frame.get(6..12), u16_at(frame, 12))
    else {
        return Decoded {
            summary: format!("truncated frame ({} bytes)", frame.len()),
            ..Default::default()
        };
    };
    let mut d = Decoded {
        src_mac: Some(format_mac(src)),
        dst_mac: Some(format_mac(dst)),
        ..Default::default()
    };
    let payload = &frame[14..];
    d.summary = match ethertype {
        0x0806 => arp(payload, &mut d),
        0x0800 => ipv4(payload, &mut d),
        other => format!("ethertype {other:#06x}"),
    };
    d
}

fn arp(p: &[u8], d: &mut Decoded) -> String {
    d.protocol = Some("arp");
    let (Some(op), Some(sha), Some(spa), Some(tpa)) =
        (u16_at(p, 6), p.get(8..14), ip_at(p, 14), ip_at(p, 24))
    else {
        return String::from("ARP, truncated");
    };
    d.src = Some(spa.to_string());
    d.dst = Some(tpa.to_string());
    match op {
        1 => format!("ARP, Request who-has {tpa} tell {spa}"),
        2 => format!("ARP, Reply {spa} is-at {}", format_mac(sha)),
        other => format!("ARP, opcode {other}"),
    }
}

fn ipv4(p: &[u8], d: &mut Decoded) -> String {
    let (Some(first), Some(src), Some(dst)) = (p.first(), ip_at(p, 12), ip_at(p, 16)) else {
        return String::from("IP, truncated");
    };
    d.ttl = p.get(8).copied();
    let proto = p.get(9).copied().unwrap_or_default();
    let ihl = usize::from(first & 0x0f) * 4;
    let fragment = u16_at(p, 6).unwrap_or_default() & 0x1fff != 0;
    let l4 = p.get(ihl..).unwrap_or_default();
    if proto == 1 && !fragment {
        return icmp(src, dst, l4, d);
    }
    let ports = (u16_at(l4, 0), u16_at(l4, 2));
    let (Some(sport), Some(dport), false) = (ports.0, ports.1, fragment) else {
        return format!("IP {src} > {dst}: proto {proto}");
    };
    let head = format!("IP {src}.{sport} > {dst}.{dport}");
    d.src = Some(format!("{src}:{sport}"));
    d.dst = Some(format!("{dst}:{dport}"));
    d.protocol = match proto {
        6 => Some("tcp"),
        17 => Some("udp"),
        _ => None,
    };
    match proto {
        6 => match l4.get(13) {
            Some(&flags) => {
                d.syn = flags & 0x12 == 0x02;
                let letters = tcp_flags(flags);
                d.tcp_flags = Some(letters.clone());
                format!("{head}: Flags [{letters}]")
            }
            None => format!("{head}: tcp, truncated"),
        },
        17 => match u16_at(l4, 4) {
            Some(len) => format!("{head}: UDP, length {}", len.saturating_sub(8)),
            None => format!("{head}: UDP, truncated"),
        },
        other => format!("{head}: proto {other}"),
    }
}

/// An ICMP error about one of the probe's packets: which packet (the header it quotes).
fn icmp(src: Ipv4Addr, dst: Ipv4Addr, l4: &[u8], d: &mut Decoded) -> String {
    d.protocol = Some("icmp");
    d.src = Some(src.to_string());
    d.dst = Some(dst.to_string());
    let (Some(&kind), Some(&code)) = (l4.first(), l4.get(1)) else {
        return format!("IP {src} > {dst}: ICMP, truncated");
    };
    d.icmp = Some((kind, code));
    let name = netdiag_model::report::icmp_name(kind, code);
    // The quoted packet: its IPv4 header after the 8 bytes of ICMP header, then its ports.
    let inner = l4.get(8..).unwrap_or_default();
    let inner_ihl = usize::from(inner.first().copied().unwrap_or_default() & 0x0f) * 4;
    let about = match (ip_at(inner, 16), u16_at(inner, inner_ihl + 2)) {
        (Some(ip), Some(port)) => format!(" for {ip}:{port}"),
        (Some(ip), None) => format!(" for {ip}"),
        _ => String::new(),
    };
    format!("IP {src} > {dst}: ICMP {name}{about}")
}

/// tcpdump's letters: S SYN, F FIN, R RST, P PSH, . ACK, U URG.
fn tcp_flags(f: u8) -> String {
    let mut s = String::new();
    for (bit, c) in [
        (0x02, 'S'),
        (0x01, 'F'),
        (0x04, 'R'),
        (0x08, 'P'),
        (0x20, 'U'),
    ] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    if f & 0x10 != 0 {
        s.push('.');
    }
    if s.is_empty() {
        s.push_str("none");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const POD: [u8; 6] = [0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x02];
    const GW: [u8; 6] = [0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x01];

    fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = GW.to_vec();
        f.extend(POD);
        f.extend(ethertype.to_be_bytes());
        f.extend(payload);
        f
    }

    fn tcp(flags: u8) -> Vec<u8> {
        let mut ip = vec![0x45, 0, 0, 60, 0, 1, 0x40, 0, 64, 6, 0, 0];
        ip.extend([10, 244, 1, 2, 10, 96, 45, 10]);
        ip.extend(41234u16.to_be_bytes());
        ip.extend(80u16.to_be_bytes());
        ip.extend([0u8; 8]);
        ip.extend([0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        eth(0x0800, &ip)
    }

    #[test]
    fn a_syn_reads_like_tcpdump() {
        let d = decode(&tcp(0x02));
        assert_eq!(d.summary, "IP 10.244.1.2.41234 > 10.96.45.10.80: Flags [S]");
        assert_eq!(d.src_mac.as_deref(), Some("0a:58:0a:f4:01:02"));
        assert_eq!(d.dst_mac.as_deref(), Some("0a:58:0a:f4:01:01"));
        assert_eq!(d.ttl, Some(64));
        assert!(d.syn);
        let synack = decode(&tcp(0x12));
        assert!(synack.summary.ends_with("Flags [S.]"), "{}", synack.summary);
        assert!(!synack.syn);
        assert!(decode(&tcp(0x14)).summary.ends_with("Flags [R.]"));
        assert_eq!(synack.tcp_flags.as_deref(), Some("S."));
        assert_eq!(d.protocol, Some("tcp"));
        assert_eq!(d.src.as_deref(), Some("10.244.1.2:41234"));
        assert_eq!(d.dst.as_deref(), Some("10.96.45.10:80"));
    }

    #[test]
    fn an_icmp_error_names_the_packet_it_quotes() {
        let syn = tcp(0x02);
        let mut ip = vec![0x45, 0, 0, 56, 0, 1, 0, 0, 64, 1, 0, 0];
        ip.extend([172, 18, 0, 2, 10, 244, 1, 2]);
        ip.extend([3, 3, 0, 0, 0, 0, 0, 0]);
        ip.extend(&syn[14..42]);
        let d = decode(&eth(0x0800, &ip));
        assert_eq!(
            d.summary,
            "IP 172.18.0.2 > 10.244.1.2: ICMP port unreachable for 10.96.45.10:80"
        );
        assert_eq!((d.protocol, d.icmp), (Some("icmp"), Some((3, 3))));
        assert_eq!(d.src.as_deref(), Some("172.18.0.2"));
    }

    #[test]
    fn arp_requests_and_replies() {
        let mut req = vec![0, 1, 8, 0, 6, 4, 0, 1];
        req.extend(POD);
        req.extend([10, 244, 1, 2]);
        req.extend([0u8; 6]);
        req.extend([10, 244, 1, 1]);
        assert_eq!(
            decode(&eth(0x0806, &req)).summary,
            "ARP, Request who-has 10.244.1.1 tell 10.244.1.2"
        );
        let mut rep = vec![0, 1, 8, 0, 6, 4, 0, 2];
        rep.extend(GW);
        rep.extend([10, 244, 1, 1]);
        rep.extend(POD);
        rep.extend([10, 244, 1, 2]);
        assert_eq!(
            decode(&eth(0x0806, &rep)).summary,
            "ARP, Reply 10.244.1.1 is-at 0a:58:0a:f4:01:01"
        );
    }

    #[test]
    fn udp_and_truncation() {
        let mut ip = vec![0x45, 0, 0, 40, 0, 1, 0, 0, 63, 17, 0, 0];
        ip.extend([10, 244, 1, 2, 10, 96, 0, 10, 0xa0, 0x12, 0, 53, 0, 20, 0, 0]);
        assert_eq!(
            decode(&eth(0x0800, &ip)).summary,
            "IP 10.244.1.2.40978 > 10.96.0.10.53: UDP, length 12"
        );
        let syn = tcp(0x02);
        assert_eq!(
            decode(&syn[..40]).summary,
            "IP 10.244.1.2.41234 > 10.96.45.10.80: tcp, truncated"
        );
        assert_eq!(decode(&syn[..20]).summary, "IP, truncated");
        assert_eq!(decode(&syn[..5]).summary, "truncated frame (5 bytes)");
    }
}
