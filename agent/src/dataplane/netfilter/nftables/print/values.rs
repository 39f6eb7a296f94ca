//! Values as nft spells them: addresses, protocol and port numbers, marks, interface names,
//! `ct state` flags. Pure.

use std::net::Ipv4Addr;

use super::Field;

pub fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\\\""))
}

/// The protocols whose ports nft names after them (`tcp dport`).
pub fn transport_name(p: u8) -> Option<&'static str> {
    Some(match p {
        6 => "tcp",
        17 => "udp",
        33 => "dccp",
        132 => "sctp",
        136 => "udplite",
        _ => return None,
    })
}

/// A protocol number as `/etc/protocols` (and so nft) names it.
pub fn proto_name(p: u8) -> String {
    match p {
        1 => "icmp".into(),
        2 => "igmp".into(),
        47 => "gre".into(),
        50 => "esp".into(),
        51 => "ah".into(),
        58 => "ipv6-icmp".into(),
        other => transport_name(other).map_or_else(|| other.to_string(), str::to_string),
    }
}

pub fn field_name(field: &Field, proto: Option<&str>) -> Option<String> {
    Some(match field {
        Field::Ip(name) => format!("ip {name}"),
        Field::Transport(name) => format!("{} {name}", proto.unwrap_or("th")),
        Field::Meta(key) => match key {
            3 => "meta mark".into(),
            4 => "iif".into(),
            5 => "oif".into(),
            6 => "iifname".into(),
            7 => "oifname".into(),
            15 => "meta nfproto".into(),
            16 => "meta l4proto".into(),
            _ => return None,
        },
        Field::Ct(key) => match key {
            0 => "ct state".into(),
            1 => "ct direction".into(),
            2 => "ct status".into(),
            3 => "ct mark".into(),
            _ => return None,
        },
        Field::Numgen {
            modulus,
            random,
            offset,
        } => {
            let kind = if *random { "random" } else { "inc" };
            match offset {
                0 => format!("numgen {kind} mod {modulus}"),
                o => format!("numgen {kind} mod {modulus} offset {o}"),
            }
        }
    })
}

pub fn host_u32(b: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(..4)?.try_into().ok()?))
}

/// `ct state` and `ct status` bits by name, in bit order.
pub fn flags(field: &Field, bits: u32) -> Option<String> {
    let names: &[(u32, &str)] = match field {
        Field::Ct(0) => &[
            (1, "invalid"),
            (2, "established"),
            (4, "related"),
            (8, "new"),
            (64, "untracked"),
        ],
        Field::Ct(2) => &[
            (1, "expected"),
            (2, "seen-reply"),
            (4, "assured"),
            (8, "confirmed"),
            (16, "snat"),
            (32, "dnat"),
            (512, "dying"),
        ],
        _ => return None,
    };
    let known: u32 = names.iter().map(|(b, _)| b).sum();
    if bits == 0 || bits & !known != 0 {
        return None;
    }
    let set: Vec<&str> = names
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .collect();
    Some(set.join(","))
}

/// A value of `field` as nft spells it.
pub fn value(field: &Field, b: &[u8], interface: &dyn Fn(u32) -> Option<String>) -> Option<String> {
    Some(match field {
        Field::Ip("saddr" | "daddr") => {
            let [a, b2, c, d] = *b.get(..4)? else {
                return None;
            };
            Ipv4Addr::new(a, b2, c, d).to_string()
        }
        Field::Ip("protocol") | Field::Meta(16) => proto_name(*b.first()?),
        Field::Ip(_) => b.first()?.to_string(),
        Field::Transport(_) => u16::from_be_bytes([*b.first()?, *b.get(1)?]).to_string(),
        Field::Meta(3) | Field::Ct(3) => format!("0x{:08x}", host_u32(b)?),
        Field::Meta(4 | 5) => {
            let index = host_u32(b)?;
            interface(index).map_or_else(|| index.to_string(), |n| quoted(&n))
        }
        Field::Meta(6 | 7) => match b.iter().position(|c| *c == 0) {
            Some(end) => quoted(&String::from_utf8_lossy(&b[..end])),
            // iptables' `-i eth+` compares the prefix only.
            None => quoted(&format!("{}*", String::from_utf8_lossy(b))),
        },
        Field::Meta(15) => match b.first()? {
            2 => "ipv4".into(),
            10 => "ipv6".into(),
            n => n.to_string(),
        },
        Field::Ct(0 | 2) => flags(field, host_u32(b)?)?,
        Field::Ct(1) => match b.first()? {
            0 => "original".into(),
            1 => "reply".into(),
            _ => return None,
        },
        Field::Numgen { .. } => host_u32(b)?.to_string(),
        _ => return None,
    })
}

/// A field held in host order: its sets sort by number, not by bytes.
pub fn host_order(field: &Field) -> bool {
    matches!(
        field,
        Field::Meta(3..=5) | Field::Ct(_) | Field::Numgen { .. }
    )
}

pub fn be(b: &[u8]) -> u128 {
    b.iter().fold(0u128, |acc, x| (acc << 8) | u128::from(*x))
}

pub fn be_bytes(v: u128, len: usize) -> Vec<u8> {
    let all = v.to_be_bytes();
    all[all.len() - len.min(16)..].to_vec()
}
