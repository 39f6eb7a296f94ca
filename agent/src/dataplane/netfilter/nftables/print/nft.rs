//! Statements as `nft list` prints them (nftables 1.0): implicit `==`, `tcp dport` for a
//! transport port after its `meta l4proto tcp` dependency (which nft then leaves out, as it
//! leaves out `meta nfproto ipv4` before `ip daddr` in an inet table), `ct state` flags, set
//! elements sorted, intervals as prefixes or ranges. Pure.

use super::values::{
    be, be_bytes, field_name, flags, host_order, host_u32, quoted, transport_name, value,
};
use super::{Field, Key, Op, Right, Rule, Stmt};
use crate::kernel::nftables::SetElement;

/// `NFPROTO_INET`.
const INET: u8 = 1;

/// The text of `rule`; `interface` names an interface index (`iif "lo"`).
pub fn print(rule: &Rule, interface: &dyn Fn(u32) -> Option<String>) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut proto: Option<&'static str> = None;
    for (i, (at, stmt)) in rule.stmts.iter().enumerate() {
        let next = rule.stmts.get(i + 1).map(|(_, s)| s);
        if let Some(p) = dependency(rule.family, stmt, next) {
            proto = p;
            continue;
        }
        let text = statement(rule.family, stmt, proto.take(), interface);
        words.push(text.unwrap_or_else(|| marker(*at, stmt)));
    }
    if let Some(c) = &rule.comment {
        words.push(format!("comment {}", quoted(c)));
    }
    words.join(" ")
}

/// `[expr N: NAME]`: what this version does not print.
pub fn marker(at: usize, stmt: &Stmt) -> String {
    let name = match stmt {
        Stmt::Match {
            right: Right::Named(_) | Right::Anonymous(_),
            ..
        }
        | Stmt::Vmap { .. } => "lookup",
        Stmt::Match { .. } => "cmp",
        Stmt::Verdict(_) => "immediate",
        Stmt::Counter { .. } => "counter",
        Stmt::Reject { .. } => "reject",
        Stmt::Nat { .. } => "nat",
        Stmt::Masquerade { .. } => "masq",
        Stmt::MetaSet { .. } | Stmt::MetaOr { .. } => "meta",
        Stmt::Log { .. } => "log",
        Stmt::XtMatch { .. } => "match",
        Stmt::XtTarget { .. } => "target",
        Stmt::Unknown { name, .. } => name,
    };
    format!("[expr {at}: {name}]")
}

/// Whether `stmt` is a dependency nft leaves out before `next`: `meta l4proto P` (or `ip
/// protocol P`) before a transport field, `Some(P's name)`; `meta nfproto ipv4` before an IPv4
/// field in an inet table, `Some(None)`.
fn dependency(family: u8, stmt: &Stmt, next: Option<&Stmt>) -> Option<Option<&'static str>> {
    let Stmt::Match {
        key,
        op: Op::Eq,
        right: Right::Value(v),
    } = stmt
    else {
        return None;
    };
    let first = match next? {
        Stmt::Match { key, .. } | Stmt::Vmap { key, .. } => key.fields.first()?,
        _ => return None,
    };
    match (
        key.fields.as_slice(),
        key.mask.is_none(),
        first,
        v.as_slice(),
    ) {
        ([Field::Meta(16) | Field::Ip("protocol")], true, Field::Transport(_), [p, ..]) => {
            transport_name(*p).map(Some)
        }
        ([Field::Meta(15)], true, Field::Ip(_), [2, ..]) if family == INET => Some(None),
        _ => None,
    }
}

/// An interval's text: a CIDR prefix for an aligned address block, `from-to` otherwise.
fn interval(
    field: &Field,
    from: &[u8],
    to: &[u8],
    names: &dyn Fn(u32) -> Option<String>,
) -> Option<String> {
    let (lo, hi) = (be(from), be(to));
    if lo == hi {
        return value(field, from, names);
    }
    let size = hi - lo + 1;
    if matches!(field, Field::Ip("saddr" | "daddr"))
        && size.is_power_of_two()
        && lo % size == 0
        && from.len() == 4
    {
        let len = 32 - size.trailing_zeros();
        return Some(format!("{}/{len}", value(field, from, names)?));
    }
    Some(format!(
        "{}-{}",
        value(field, from, names)?,
        value(field, to, names)?
    ))
}

/// An anonymous set's elements, `{ a, b-c }`, for a one-field key.
fn anonymous(
    key: &Key,
    elements: &[SetElement],
    names: &dyn Fn(u32) -> Option<String>,
) -> Option<String> {
    let [field] = key.fields.as_slice() else {
        return None;
    };
    let mut sorted: Vec<&SetElement> = elements.iter().collect();
    if host_order(field) {
        sorted.sort_by_key(|e| host_u32(&e.key));
    } else {
        // At one key an interval's end sorts before the next one's start.
        sorted.sort_by_key(|e| (be(&e.key), !e.interval_end));
    }
    let mut items = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let e = sorted[i];
        i += 1;
        if e.interval_end {
            continue;
        }
        let mut item = match sorted.get(i).filter(|n| n.interval_end) {
            Some(end) => {
                i += 1;
                let to = be_bytes(be(&end.key).checked_sub(1)?, end.key.len());
                interval(field, &e.key, &to, names)?
            }
            None if elements.iter().any(|x| x.interval_end) => {
                // The last interval runs to the top of the key's range.
                let top = be_bytes(u128::MAX, e.key.len());
                interval(field, &e.key, &top, names)?
            }
            None => value(field, &e.key, names)?,
        };
        if let Some(v) = &e.verdict {
            item = format!("{item} : {v}");
        }
        items.push(item);
    }
    // nft makes no empty anonymous set: none here means its elements could not be read.
    if items.is_empty() {
        return None;
    }
    Some(format!("{{ {} }}", items.join(", ")))
}

fn key_text(key: &Key, proto: Option<&str>) -> Option<String> {
    let names: Option<Vec<String>> = key.fields.iter().map(|f| field_name(f, proto)).collect();
    Some(names?.join(" . "))
}

fn op_text(op: Op) -> &'static str {
    match op {
        Op::Eq => "",
        Op::Ne => "!= ",
        Op::Lt => "< ",
        Op::Le => "<= ",
        Op::Gt => "> ",
        Op::Ge => ">= ",
    }
}

fn matched(
    key: &Key,
    op: Op,
    right: &Right,
    proto: Option<&str>,
    names: &dyn Fn(u32) -> Option<String>,
) -> Option<String> {
    let left = key_text(key, proto)?;
    let field = key.fields.first()?;
    if let Some(mask) = &key.mask {
        let Right::Value(v) = right else { return None };
        return masked(&left, field, mask, op, v, names);
    }
    let right = match right {
        Right::Value(v) if key.fields.len() == 1 => value(field, v, names)?,
        Right::Range(a, b) if key.fields.len() == 1 => {
            format!("{}-{}", value(field, a, names)?, value(field, b, names)?)
        }
        Right::Named(set) => format!("@{set}"),
        Right::Anonymous(elements) => anonymous(key, elements, names)?,
        _ => return None,
    };
    Some(format!("{left} {}{right}", op_text(op)))
}

/// A masked comparison: an address prefix, `ct state` flags, or `meta mark & M == V`.
fn masked(
    left: &str,
    field: &Field,
    mask: &[u8],
    op: Op,
    v: &[u8],
    names: &dyn Fn(u32) -> Option<String>,
) -> Option<String> {
    let ones: u32 = mask.iter().map(|b| b.count_ones()).sum();
    // The mask's ones all lead: a prefix.
    let contiguous =
        mask.len() <= 16 && (be(mask) << (128 - 8 * mask.len() as u32)).leading_ones() == ones;
    match (field, op) {
        (Field::Ip("saddr" | "daddr"), Op::Eq | Op::Ne) if contiguous && mask.len() == 4 => Some(
            format!("{left} {}{}/{ones}", op_text(op), value(field, v, names)?),
        ),
        (Field::Ct(0 | 2), Op::Ne) if v.iter().all(|b| *b == 0) => {
            Some(format!("{left} {}", flags(field, host_u32(mask)?)?))
        }
        (Field::Meta(3) | Field::Ct(3), Op::Eq | Op::Ne) => {
            let op = if op == Op::Eq { "==" } else { "!=" };
            Some(format!(
                "{left} & 0x{:08x} {op} 0x{:08x}",
                host_u32(mask)?,
                host_u32(v)?
            ))
        }
        _ => None,
    }
}

fn nat_flags(flags: u32) -> Option<String> {
    // NF_NAT_RANGE_PROTO_RANDOM 4, _PROTO_RANDOM_FULLY 16, _PERSISTENT 8, as nft orders them.
    let names = [(4, "random"), (16, "fully-random"), (8, "persistent")];
    if flags & !(1 | 2 | 4 | 8 | 16) != 0 {
        return None;
    }
    let set: Vec<&str> = names
        .iter()
        .filter(|(b, _)| flags & b != 0)
        .map(|(_, n)| *n)
        .collect();
    Some(if set.is_empty() {
        String::new()
    } else {
        format!(" {}", set.join(","))
    })
}

fn reject(family: u8, kind: u32, code: u32) -> Option<String> {
    let with = match (kind, code) {
        // NFT_REJECT_ICMP_UNREACH port-unreachable, NFT_REJECT_ICMPX_UNREACH port-unreachable.
        (0, 3) | (2, 1) => return Some("reject".into()),
        (1, _) => "tcp reset".to_string(),
        (0, c) if family != INET => {
            let name = match c {
                0 => "net-unreachable",
                1 => "host-unreachable",
                2 => "prot-unreachable",
                9 => "net-prohibited",
                10 => "host-prohibited",
                13 => "admin-prohibited",
                _ => return None,
            };
            format!("icmp {name}")
        }
        (2, c) => {
            let name = match c {
                0 => "no-route",
                2 => "host-unreachable",
                3 => "admin-prohibited",
                _ => return None,
            };
            format!("icmpx {name}")
        }
        _ => return None,
    };
    Some(format!("reject with {with}"))
}

fn statement(
    family: u8,
    stmt: &Stmt,
    proto: Option<&str>,
    names: &dyn Fn(u32) -> Option<String>,
) -> Option<String> {
    let addr = |b: &[u8]| value(&Field::Ip("daddr"), b, names);
    let port = |b: &[u8]| value(&Field::Transport("dport"), b, names);
    Some(match stmt {
        Stmt::Match { key, op, right } => matched(key, *op, right, proto, names)?,
        Stmt::Vmap { key, map } => {
            let map = match map {
                Right::Named(m) => format!("@{m}"),
                Right::Anonymous(elements) => anonymous(key, elements, names)?,
                _ => return None,
            };
            format!("{} vmap {map}", key_text(key, proto)?)
        }
        Stmt::Verdict(v) => v.to_string(),
        Stmt::Counter { packets, bytes } => format!("counter packets {packets} bytes {bytes}"),
        Stmt::Reject { kind, code } => reject(family, *kind, *code)?,
        Stmt::Nat {
            dnat,
            addr: a,
            port: p,
            flags,
        } => {
            let mut to = String::new();
            if let Some((lo, hi)) = a {
                to.push_str(&addr(lo)?);
                if hi != lo {
                    to.push_str(&format!("-{}", addr(hi)?));
                }
            }
            if let Some((lo, hi)) = p {
                to.push_str(&format!(":{}", port(lo)?));
                if hi != lo {
                    to.push_str(&format!("-{}", port(hi)?));
                }
            }
            let kind = if *dnat { "dnat" } else { "snat" };
            let ip = if family == INET { " ip" } else { "" };
            format!("{kind}{ip} to {to}{}", nat_flags(*flags)?)
        }
        Stmt::Masquerade { flags } => format!("masquerade{}", nat_flags(*flags)?),
        Stmt::MetaSet { key: 3, value: v } => format!("meta mark set 0x{:08x}", host_u32(v)?),
        Stmt::MetaSet { key: 12, value: v } => format!("meta nftrace set {}", v.first()?),
        Stmt::MetaOr { key: 3, bits } => {
            format!("meta mark set meta mark | 0x{:08x}", host_u32(bits)?)
        }
        Stmt::Log { prefix: None } => "log".into(),
        Stmt::Log { prefix: Some(p) } => format!("log prefix {}", quoted(p)),
        Stmt::XtMatch { name, .. } => format!("xt match {}", quoted(name)),
        Stmt::XtTarget { name, .. } => format!("xt target {}", quoted(name)),
        _ => return None,
    })
}
