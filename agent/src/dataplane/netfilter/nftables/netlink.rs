//! nf_tables rules as the kernel hands them out (`NFT_MSG_GETRULE`): register machines of
//! expressions (`payload` loads `ip daddr` into a register, `cmp` compares it), decoded back
//! into the same [`NftRule`] the JSON listing gives, so the walker reads either. `nft list`
//! does this too, but it first fetches every set of the table (seconds at 10,000 Services);
//! here only the chains and anonymous maps a walk reaches are asked for. Pure: anonymous set
//! elements come from the caller.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::rule::{Expr, NftRule, NftVerdict, Operand};
use crate::kernel::nftables::msg::{self, attr, be_uint};
use crate::kernel::nftables::{RawRule, SetElement};

/// `NFT_REG_VERDICT`: a register that holds a verdict (vmaps and `immediate` verdicts).
const REG_VERDICT: u64 = 0;

/// What a register holds while a rule is decoded.
#[derive(Clone, Debug)]
enum Reg {
    Source(Operand),
    /// A source masked by `bitwise` (a prefix match): the source and the mask's bytes.
    Masked(Operand, Vec<u8>),
    /// A constant from `immediate` (NAT addresses and ports).
    Value(Vec<u8>),
}

pub(crate) fn u(data: &[u8], kind: u16) -> Option<u64> {
    attr(data, kind).and_then(be_uint)
}

pub(crate) fn data_value(data: &[u8], kind: u16) -> Option<Vec<u8>> {
    attr(data, kind)
        .and_then(|d| attr(d, msg::DATA_VALUE))
        .map(<[u8]>::to_vec)
}

pub(crate) fn data_verdict(data: &[u8], kind: u16) -> Option<NftVerdict> {
    attr(data, kind)
        .and_then(|d| attr(d, msg::DATA_VERDICT))
        .and_then(msg::verdict)
}

/// `payload` at (base, offset, len) as nft names it.
fn payload(base: u64, offset: u64, len: u64) -> Operand {
    let (protocol, field) = match (base, offset, len) {
        (1, 12, 4) => ("ip", "saddr"),
        (1, 16, 4) => ("ip", "daddr"),
        (1, 9, 1) => ("ip", "protocol"),
        (2, 0, 2) => ("th", "sport"),
        (2, 2, 2) => ("th", "dport"),
        _ => return Operand::Other(format!("payload base {base} offset {offset} len {len}")),
    };
    Operand::Payload {
        protocol: protocol.into(),
        field: field.into(),
    }
}

/// `meta KEY` (uapi `enum nft_meta_keys`).
fn meta(key: u64) -> Operand {
    let name = match key {
        3 => "mark",
        4 => "iif",
        5 => "oif",
        15 => "nfproto",
        16 => "l4proto",
        other => return Operand::Meta(format!("key {other}")),
    };
    Operand::Meta(name.into())
}

/// A compared value in the words of what it is compared with.
fn value(left: &Operand, bytes: &[u8]) -> Operand {
    let text = match left {
        Operand::Payload { protocol, field } if protocol == "ip" && bytes.len() == 4 => {
            let _ = field;
            Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string()
        }
        Operand::Payload { .. } if bytes.len() == 2 => {
            u16::from_be_bytes([bytes[0], bytes[1]]).to_string()
        }
        Operand::Meta(k) if k == "l4proto" && bytes.len() == 1 => match bytes[0] {
            6 => "tcp".into(),
            17 => "udp".into(),
            132 => "sctp".into(),
            n => n.to_string(),
        },
        // fib's address type: RTN_LOCAL is 2.
        Operand::Fib { .. } if bytes.first() == Some(&2) => "local".into(),
        _ => bytes.iter().map(|b| format!("{b:02x}")).collect(),
    };
    Operand::Value(text)
}

/// A set's elements as the right side of a vmap: `key : verdict` for each.
fn mapping(elements: &[SetElement]) -> Operand {
    // numgen writes a host-order u32 into its register; the kernel dumps in hash order.
    let mut entries: Vec<(u32, NftVerdict)> = elements
        .iter()
        .filter_map(|e| {
            let key = e.key.get(..4)?.try_into().ok().map(u32::from_ne_bytes)?;
            Some((key, e.verdict.clone()?))
        })
        .collect();
    entries.sort_by_key(|(k, _)| *k);
    Operand::Set(
        entries
            .into_iter()
            .map(|(k, v)| Operand::Mapping(Box::new(Operand::Value(k.to_string())), v))
            .collect(),
    )
}

/// An anonymous set of IPv4 addresses as its members: single addresses, or the prefixes its
/// intervals are (start element, then the element flagged as the interval's end).
fn members(elements: &[SetElement]) -> Operand {
    let ip = |k: &[u8]| -> Option<u32> { Some(u32::from_be_bytes(k.get(..4)?.try_into().ok()?)) };
    // Interval sets dump in tree order (often descending): sort by address first.
    let mut sorted: Vec<&SetElement> = elements.iter().collect();
    sorted.sort_by_key(|e| (ip(&e.key), !e.interval_end));
    let mut out = Vec::new();
    let mut iter = sorted.into_iter().peekable();
    while let Some(e) = iter.next() {
        if e.interval_end {
            continue;
        }
        let Some(start) = ip(&e.key) else { continue };
        let end = iter
            .peek()
            .filter(|n| n.interval_end)
            .and_then(|n| ip(&n.key));
        let addr = Ipv4Addr::from(start).to_string();
        match end {
            Some(end)
                if end > start && (end - start).is_power_of_two() && start % (end - start) == 0 =>
            {
                let len = 32 - (end - start).trailing_zeros();
                out.push(Operand::Prefix {
                    addr,
                    len: u8::try_from(len).unwrap_or(32),
                });
            }
            _ => out.push(Operand::Value(addr)),
        }
    }
    match out.len() {
        1 => out.remove(0),
        _ => Operand::Set(out),
    }
}

/// Decode one rule of `chain`; `anonymous` gives the elements of an anonymous set (`__map0`).
pub fn decode(
    chain: &str,
    raw: &RawRule,
    mut anonymous: impl FnMut(&str) -> Vec<SetElement>,
) -> NftRule {
    let mut regs: HashMap<u64, Reg> = HashMap::new();
    let mut exprs = Vec::new();
    let operand = |regs: &HashMap<u64, Reg>, r: Option<u64>| match r.and_then(|r| regs.get(&r)) {
        Some(Reg::Source(o)) | Some(Reg::Masked(o, _)) => o.clone(),
        _ => Operand::Other("register".into()),
    };
    for (name, d) in &raw.exprs {
        let d = d.as_slice();
        match name.as_str() {
            "payload" => {
                if let (Some(dreg), Some(base), Some(off), Some(len)) =
                    (u(d, 1), u(d, 2), u(d, 3), u(d, 4))
                {
                    // nft loads only the whole bytes of a byte-aligned prefix (`ip daddr
                    // 172.30.0.0/16` is 2 bytes at offset 16): a masked address.
                    let reg = match (base, off, len) {
                        (1, 12 | 16, 1..=3) => {
                            let mut mask = vec![0xff; len as usize];
                            mask.resize(4, 0);
                            Reg::Masked(payload(base, off, 4), mask)
                        }
                        _ => Reg::Source(payload(base, off, len)),
                    };
                    regs.insert(dreg, reg);
                }
            }
            "meta" => match (u(d, 1), u(d, 2)) {
                (Some(dreg), Some(key)) => {
                    regs.insert(dreg, Reg::Source(meta(key)));
                }
                // `meta nftrace set 1`, `meta mark set ...`: a statement, not a match.
                _ => exprs.push(Expr::Other("meta".into())),
            },
            "numgen" => {
                if let (Some(dreg), Some(m)) = (u(d, 1), u(d, 2)) {
                    let modulus = u32::try_from(m).unwrap_or(0);
                    regs.insert(dreg, Reg::Source(Operand::Numgen { modulus }));
                }
            }
            "fib" => {
                if let Some(dreg) = u(d, 1) {
                    let flags = u(d, 3).unwrap_or(0);
                    let mut names = Vec::new();
                    if flags & 1 != 0 {
                        names.push("saddr".to_string());
                    }
                    if flags & 2 != 0 {
                        names.push("daddr".to_string());
                    }
                    let result = if u(d, 2) == Some(3) { "type" } else { "other" };
                    regs.insert(
                        dreg,
                        Reg::Source(Operand::Fib {
                            flags: names,
                            result: result.into(),
                        }),
                    );
                }
            }
            "bitwise" => {
                if let (Some(sreg), Some(dreg), Some(mask)) = (u(d, 1), u(d, 2), data_value(d, 4)) {
                    let src = operand(&regs, Some(sreg));
                    regs.insert(dreg, Reg::Masked(src, mask));
                }
            }
            "immediate" => match u(d, 1) {
                Some(REG_VERDICT) => {
                    if let Some(v) = data_verdict(d, 2) {
                        exprs.push(Expr::Verdict(v));
                    }
                }
                Some(dreg) => {
                    if let Some(v) = data_value(d, 2) {
                        regs.insert(dreg, Reg::Value(v));
                    }
                }
                None => {}
            },
            "cmp" => {
                let sreg = u(d, 1);
                let op = if u(d, 2) == Some(1) { "!=" } else { "==" };
                let bytes = data_value(d, 3).unwrap_or_default();
                let (left, right) = match sreg.and_then(|r| regs.get(&r)) {
                    Some(Reg::Masked(src, mask)) => {
                        let len = mask.iter().map(|b| b.count_ones()).sum::<u32>();
                        let mut bytes = bytes.clone();
                        bytes.resize(mask.len().max(bytes.len()), 0);
                        let Operand::Value(addr) = value(src, &bytes) else {
                            continue;
                        };
                        let len = u8::try_from(len).unwrap_or(0);
                        (src.clone(), Operand::Prefix { addr, len })
                    }
                    Some(Reg::Source(src)) => (src.clone(), value(src, &bytes)),
                    _ => (
                        Operand::Other("register".into()),
                        value(&Operand::Other(String::new()), &bytes),
                    ),
                };
                exprs.push(Expr::Match {
                    left,
                    op: op.into(),
                    right,
                });
            }
            "lookup" => {
                let set = attr(d, 1).map(msg::string).unwrap_or_default();
                let key = operand(&regs, u(d, 2));
                let inverted = u(d, 5).is_some_and(|f| f & 1 != 0);
                if u(d, 3) == Some(REG_VERDICT) {
                    let data = if set.starts_with("__") {
                        mapping(&anonymous(&set))
                    } else {
                        Operand::SetRef(set)
                    };
                    exprs.push(Expr::Vmap { key, data });
                } else {
                    // An anonymous set (`{ 172.30.0.0/16 }`) is read as its members.
                    let right = if set.starts_with("__") {
                        members(&anonymous(&set))
                    } else {
                        Operand::SetRef(set)
                    };
                    exprs.push(Expr::Match {
                        left: key,
                        op: if inverted { "!=" } else { "==" }.into(),
                        right,
                    });
                }
            }
            "nat" => {
                // NFT_NAT_DNAT is 1; addresses and ports come from registers `immediate` filled.
                if u(d, 1) == Some(1) {
                    let reg_bytes = |k| match u(d, k).and_then(|r| regs.get(&r)) {
                        Some(Reg::Value(v)) => Some(v.clone()),
                        _ => None,
                    };
                    let addr = reg_bytes(3)
                        .filter(|v| v.len() >= 4)
                        .map(|v| Ipv4Addr::new(v[0], v[1], v[2], v[3]).to_string());
                    let port = reg_bytes(5)
                        .filter(|v| v.len() >= 2)
                        .map(|v| u16::from_be_bytes([v[0], v[1]]));
                    exprs.push(Expr::Dnat { addr, port });
                } else {
                    exprs.push(Expr::Other("snat".into()));
                }
            }
            "masq" => exprs.push(Expr::Masquerade),
            "reject" => exprs.push(Expr::Reject),
            "dynset" => exprs.push(Expr::SetUpdate {
                set: attr(d, 1).map(msg::string).unwrap_or_default(),
            }),
            other => exprs.push(Expr::Other(other.into())),
        }
    }
    NftRule {
        chain: chain.to_string(),
        handle: raw.handle,
        comment: raw.comment.clone(),
        exprs,
    }
}
