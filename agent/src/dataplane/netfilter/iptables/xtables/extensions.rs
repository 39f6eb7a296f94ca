//! The matches and targets kube-proxy writes, decoded from their kernel structs into the same
//! [`Rule`] fields the text parser fills from `iptables-save`. Payload layouts are those of
//! `<linux/netfilter/xt_*.h>`; what iptables-save would print is noted where it decides a value.
//! Anything else is kept by name in [`Rule::other`], as the text parser keeps unknown options.

use super::table::{Extension, be16_at, c_str, ipv4_at, u16_at, u32_at};
use crate::dataplane::netfilter::iptables::rule::{AddrType, Neg, Recent, Rule, Target};

/// `xt_tcp.invflags` / `xt_udp.invflags`: `! --dport`.
const INV_DSTPT: u8 = 0x02;
/// `xt_sctp_info.flags` / `invflags`.
const SCTP_DEST_PORTS: u32 = 0x02;
const STATISTIC_MODE_RANDOM: u16 = 0;
const RECENT_CHECK: u8 = 0x01;
const RECENT_SET: u8 = 0x02;
const RECENT_UPDATE: u8 = 0x04;
const RECENT_REMOVE: u8 = 0x08;
const RECENT_TTL: u8 = 0x10;
const RECENT_REAP: u8 = 0x20;
const RECENT_SOURCE: u8 = 0;
const ADDRTYPE_INVERT_SOURCE: u32 = 0x01;
const ADDRTYPE_INVERT_DEST: u32 = 0x02;
const ADDRTYPE_LIMIT_IFACE_IN: u32 = 0x04;
const ADDRTYPE_LIMIT_IFACE_OUT: u32 = 0x08;
/// `enum xt_addrtype_t` bit order, as libxt_addrtype names them.
const ADDRTYPES: [&str; 12] = [
    "UNSPEC",
    "UNICAST",
    "LOCAL",
    "BROADCAST",
    "ANYCAST",
    "MULTICAST",
    "BLACKHOLE",
    "UNREACHABLE",
    "PROHIBIT",
    "THROW",
    "NAT",
    "XRESOLVE",
];
const NAT_MAP_IPS: u32 = 0x01;
const NAT_PROTO_SPECIFIED: u32 = 0x02;
const NAT_PROTO_RANDOM: u32 = 0x04;
const NAT_PERSISTENT: u32 = 0x08;
const NAT_PROTO_RANDOM_FULLY: u32 = 0x10;
/// `enum ipt_reject_with`, in order.
const REJECT_WITH: [&str; 9] = [
    "icmp-net-unreachable",
    "icmp-host-unreachable",
    "icmp-proto-unreachable",
    "icmp-port-unreachable",
    "icmp-echo-reply",
    "icmp-net-prohibited",
    "icmp-host-prohibited",
    "tcp-reset",
    "icmp-admin-prohibited",
];

/// Add what match `m` says to `rule`.
pub fn decode_match(rule: &mut Rule, m: &Extension<'_>) {
    let d = m.data;
    let known = match m.name {
        "comment" => {
            rule.comment = c_str(d, 0, 256).map(str::to_string);
            rule.comment.is_some()
        }
        // xt_tcp and xt_udp both start `__u16 spts[2], dpts[2]`; the invflags follow.
        "tcp" | "udp" => ports(d, 4, if m.name == "tcp" { 11 } else { 8 }).is_some_and(|p| {
            rule.dport = p;
            true
        }),
        "sctp" => sctp_dport(d).is_some_and(|p| {
            rule.dport = p;
            true
        }),
        "statistic" => statistic(rule, d).is_some(),
        "recent" => recent(rule, d, m.revision).is_some(),
        "addrtype" if m.revision == 1 => addrtype(rule, d).is_some(),
        "mark" if m.revision == 1 => mark(rule, d).is_some(),
        _ => false,
    };
    if !known {
        rule.other.push("-m".into());
        rule.other.push(m.name.to_string());
    }
}

/// `--dport` of a tcp/udp match: `spts[2]` then `dpts[2]` (host order), and `invflags` at
/// `inv_at`. iptables prints no `--dport` for the full range 0:65535.
fn ports(d: &[u8], dpts_at: usize, inv_at: usize) -> Option<Option<Neg>> {
    let (lo, hi) = (u16_at(d, dpts_at)?, u16_at(d, dpts_at + 2)?);
    let negated = d.get(inv_at)? & INV_DSTPT != 0;
    Some(port_range(lo, hi, negated, !(lo == 0 && hi == u16::MAX)))
}

/// `xt_sctp_info`: `dpts[2]` first, then `spts[2]`, the chunk map (`u32[256 / 4]`), the match
/// type, 4 flag infos of 3 bytes, `flag_count`, `flags`, `invflags`.
fn sctp_dport(d: &[u8]) -> Option<Option<Neg>> {
    let (lo, hi) = (u16_at(d, 0)?, u16_at(d, 2)?);
    let flags = u32_at(d, 284)?;
    let negated = u32_at(d, 288)? & SCTP_DEST_PORTS != 0;
    Some(port_range(lo, hi, negated, flags & SCTP_DEST_PORTS != 0))
}

fn port_range(lo: u16, hi: u16, negated: bool, present: bool) -> Option<Neg> {
    present.then(|| Neg {
        negated,
        value: if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}:{hi}")
        },
    })
}

/// `xt_statistic_info`: `mode`, `flags`, then `probability` as a fraction of 2^31 (or `every`
/// and `packet` in nth mode). iptables-save prints the probability with 11 decimals and the text
/// parser reads that back: do the same, so both readers agree to the bit.
fn statistic(rule: &mut Rule, d: &[u8]) -> Option<()> {
    if u16_at(d, 0)? != STATISTIC_MODE_RANDOM {
        // The kernel stores `every - 1`; u32::MAX from a hostile or odd blob must not overflow.
        let (every, packet) = (u64::from(u32_at(d, 4)?) + 1, u32_at(d, 8)?);
        rule.other
            .extend(["--mode", "nth", "--every"].map(String::from));
        rule.other
            .extend([every.to_string(), "--packet".into(), packet.to_string()]);
        return Some(());
    }
    let p = f64::from(u32_at(d, 4)?) / f64::from(0x8000_0000_u32);
    rule.probability = format!("{p:.11}").parse().ok();
    Some(())
}

/// `xt_recent_mtinfo` (revision 0) and `_v1` (adds the mask): seconds, hit_count, check_set,
/// invert, name[200], side.
fn recent(rule: &mut Rule, d: &[u8], revision: u8) -> Option<()> {
    let (seconds, hit_count) = (u32_at(d, 0)?, u32_at(d, 4)?);
    let check_set = *d.get(8)?;
    let side = *d.get(210)?;
    let action = [
        (RECENT_SET, "set"),
        (RECENT_CHECK, "rcheck"),
        (RECENT_UPDATE, "update"),
        (RECENT_REMOVE, "remove"),
    ]
    .into_iter()
    .find(|(bit, _)| check_set & bit != 0)
    .map(|(_, name)| name.to_string());
    rule.recent = Some(Recent {
        action,
        seconds: (seconds != 0).then_some(seconds),
        name: c_str(d, 10, 200).map(str::to_string),
        reap: check_set & RECENT_REAP != 0,
    });
    if hit_count != 0 {
        rule.other
            .extend(["--hitcount".to_string(), hit_count.to_string()]);
    }
    if check_set & RECENT_TTL != 0 {
        rule.other.push("--rttl".into());
    }
    if revision >= 1 {
        // `union nf_inet_addr mask`, 4-aligned after `side`.
        rule.other
            .extend(["--mask".to_string(), ipv4_at(d, 212)?.to_string()]);
    }
    rule.other.push(
        if side == RECENT_SOURCE {
            "--rsource"
        } else {
            "--rdest"
        }
        .into(),
    );
    Some(())
}

/// `xt_addrtype_info_v1`: `u16 source`, `u16 dest` (bit sets), `u32 flags`.
fn addrtype(rule: &mut Rule, d: &[u8]) -> Option<()> {
    let (source, dest, flags) = (u16_at(d, 0)?, u16_at(d, 2)?, u32_at(d, 4)?);
    let types = |bits: u16, negated: bool| {
        (bits != 0).then(|| Neg {
            negated,
            value: ADDRTYPES
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, n)| *n)
                .collect::<Vec<_>>()
                .join(","),
        })
    };
    rule.addrtype = Some(AddrType {
        src_type: types(source, flags & ADDRTYPE_INVERT_SOURCE != 0),
        dst_type: types(dest, flags & ADDRTYPE_INVERT_DEST != 0),
    });
    if flags & ADDRTYPE_LIMIT_IFACE_IN != 0 {
        rule.other.push("--limit-iface-in".into());
    }
    if flags & ADDRTYPE_LIMIT_IFACE_OUT != 0 {
        rule.other.push("--limit-iface-out".into());
    }
    Some(())
}

/// `xt_mark_mtinfo1`: mark, mask, invert. Printed `0x4000/0x4000`, the mask left out when full.
fn mark(rule: &mut Rule, d: &[u8]) -> Option<()> {
    let (value, mask, negated) = (u32_at(d, 0)?, u32_at(d, 4)?, *d.get(8)? != 0);
    rule.mark = Some(Neg {
        negated,
        value: if mask == u32::MAX {
            format!("{value:#x}")
        } else {
            format!("{value:#x}/{mask:#x}")
        },
    });
    Some(())
}

/// A named target (DNAT, MARK, ...); the standard target, a bare verdict, is the table's to
/// resolve.
pub fn decode_target(t: &Extension<'_>) -> Option<Target> {
    let d = t.data;
    let target = match t.name {
        "DNAT" => dnat(d, t.revision).unwrap_or_else(|| Target::Dnat {
            to: None,
            args: Vec::new(),
        }),
        "MASQUERADE" => Target::Masquerade {
            args: masquerade(d).unwrap_or_default(),
        },
        "MARK" if t.revision == 2 => Target::Mark {
            args: vec![
                "--set-xmark".into(),
                format!("{:#x}/{:#x}", u32_at(d, 0)?, u32_at(d, 4)?),
            ],
        },
        "MARK" => Target::Mark { args: Vec::new() },
        "REJECT" => Target::Reject {
            with: u32_at(d, 0)
                .and_then(|w| REJECT_WITH.get(w as usize))
                .map(|w| (*w).to_string()),
        },
        other => Target::Other {
            name: other.to_string(),
            args: Vec::new(),
        },
    };
    Some(target)
}

/// One NAT range: flags, addresses and ports (ports in network order).
struct NatRange {
    flags: u32,
    min_ip: std::net::Ipv4Addr,
    max_ip: std::net::Ipv4Addr,
    min_port: u16,
    max_port: u16,
}

impl NatRange {
    /// Revision 0 (`nf_nat_ipv4_multi_range_compat`: rangesize, then flags, min_ip, max_ip,
    /// min, max) or 1 and 2 (`nf_nat_range[2]`: flags, 16-byte min and max addresses, ports).
    fn decode(d: &[u8], revision: u8) -> Option<NatRange> {
        if revision == 0 {
            Some(NatRange {
                flags: u32_at(d, 4)?,
                min_ip: ipv4_at(d, 8)?,
                max_ip: ipv4_at(d, 12)?,
                min_port: be16_at(d, 16)?,
                max_port: be16_at(d, 18)?,
            })
        } else {
            Some(NatRange {
                flags: u32_at(d, 0)?,
                min_ip: ipv4_at(d, 4)?,
                max_ip: ipv4_at(d, 20)?,
                min_port: be16_at(d, 36)?,
                max_port: be16_at(d, 38)?,
            })
        }
    }

    fn ports(&self) -> String {
        if self.min_port == self.max_port {
            self.min_port.to_string()
        } else {
            format!("{}-{}", self.min_port, self.max_port)
        }
    }

    /// `--random`, `--persistent`, `--random-fully`, in libxt_NAT's order.
    fn flag_args(&self, out: &mut Vec<String>) {
        for (bit, arg) in [
            (NAT_PROTO_RANDOM, "--random"),
            (NAT_PERSISTENT, "--persistent"),
            (NAT_PROTO_RANDOM_FULLY, "--random-fully"),
        ] {
            if self.flags & bit != 0 {
                out.push(arg.into());
            }
        }
    }
}

/// `--to-destination IP[-IP][:PORT[-PORT]]` and the flags, as iptables-save prints them.
fn dnat(d: &[u8], revision: u8) -> Option<Target> {
    let r = NatRange::decode(d, revision)?;
    let mut to = String::new();
    if r.flags & NAT_MAP_IPS != 0 {
        to.push_str(&r.min_ip.to_string());
        if r.max_ip != r.min_ip {
            to.push_str(&format!("-{}", r.max_ip));
        }
    }
    if r.flags & NAT_PROTO_SPECIFIED != 0 {
        to.push_str(&format!(":{}", r.ports()));
    }
    let mut args = vec!["--to-destination".to_string(), to.clone()];
    r.flag_args(&mut args);
    Some(Target::Dnat { to: Some(to), args })
}

/// MASQUERADE's options: `--to-ports`, then the flags.
fn masquerade(d: &[u8]) -> Option<Vec<String>> {
    let r = NatRange::decode(d, 0)?;
    let mut args = Vec::new();
    if r.flags & NAT_PROTO_SPECIFIED != 0 {
        args.extend(["--to-ports".to_string(), r.ports()]);
    }
    r.flag_args(&mut args);
    Some(args)
}
