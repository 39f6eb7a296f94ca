//! The kernel's expressions back into statements: loads (`payload`, `meta`, `ct`, `numgen`)
//! fill registers, `bitwise` masks them, `cmp`/`range`/`lookup` compare what they hold, the
//! rest are statements of their own. Registers are tracked in 32-bit units (uapi
//! `NFT_REG32_00` is 8; the old 16-byte `NFT_REG_1..4` alias 8, 12, 16, 20) so a
//! concatenation (`ip daddr . meta l4proto . th dport`) is read back field by field. Pure.

use std::collections::HashMap;

use super::{Field, Key, Op, Right, Rule, Stmt};
use crate::dataplane::netfilter::nftables::netlink::{data_value, data_verdict, u};
use crate::kernel::nftables::msg::{self, attr};
use crate::kernel::nftables::{RawRule, SetElement};

/// `NFT_REG_VERDICT`.
const REG_VERDICT: u64 = 0;

#[derive(Clone, Debug)]
pub(super) enum Reg {
    /// Loaded from a field; `seq` orders loads (a concatenation's fields follow each other).
    Loaded { key: Key, len: u32, seq: usize },
    /// A constant from `immediate`.
    Value(Vec<u8>),
    /// `(field & mask) ^ xor` with `xor` set: a computed value (`meta mark | 0x4000`).
    Or { field: Field, bits: Vec<u8> },
    /// Loaded from what this version does not print: its marker is out already, and what
    /// reads the register adds nothing to it.
    Unknown,
}

/// A register number in 32-bit units.
pub(super) fn reg32(r: u64) -> u64 {
    match r {
        1..=4 => 8 + (r - 1) * 4,
        other => other,
    }
}

/// Where a `payload` load comes from, when it is a field the printer names.
fn payload_field(base: u64, offset: u64, len: u64) -> Option<(Field, Option<Vec<u8>>)> {
    let field = match (base, offset, len) {
        (1, 12, 4) => Field::Ip("saddr"),
        (1, 16, 4) => Field::Ip("daddr"),
        // nft loads only the whole bytes of a byte-aligned prefix: an address under a mask.
        (1, 12 | 16, 1..=3) => {
            let mut mask = vec![0xff; len as usize];
            mask.resize(4, 0);
            let name = if offset == 12 { "saddr" } else { "daddr" };
            return Some((Field::Ip(name), Some(mask)));
        }
        (1, 9, 1) => Field::Ip("protocol"),
        (1, 8, 1) => Field::Ip("ttl"),
        (2, 0, 2) => Field::Transport("sport"),
        (2, 2, 2) => Field::Transport("dport"),
        _ => return None,
    };
    Some((field, None))
}

/// The bytes of a masked comparison: a value shorter than its mask (a partial load) is padded.
pub(super) fn padded(mut bytes: Vec<u8>, mask: &Option<Vec<u8>>) -> Vec<u8> {
    if let Some(m) = mask {
        bytes.resize(m.len().max(bytes.len()), 0);
    }
    bytes
}

pub(super) fn cmp_op(code: Option<u64>) -> Option<Op> {
    Some(match code? {
        0 => Op::Eq,
        1 => Op::Ne,
        2 => Op::Lt,
        3 => Op::Le,
        4 => Op::Gt,
        5 => Op::Ge,
        _ => return None,
    })
}

pub(super) struct Decoder<'a> {
    pub(super) regs: HashMap<u64, Reg>,
    pub(super) seq: usize,
    /// The expression being decoded (from 1): where its statement came from.
    at: usize,
    pub(super) stmts: Vec<(usize, Stmt)>,
    anonymous: &'a mut dyn FnMut(&str) -> Vec<SetElement>,
}

impl Decoder<'_> {
    pub(super) fn push(&mut self, stmt: Stmt) {
        self.stmts.push((self.at, stmt));
    }

    fn load(&mut self, dreg: u64, key: Key, len: u32) {
        self.seq += 1;
        let seq = self.seq;
        self.regs.insert(reg32(dreg), Reg::Loaded { key, len, seq });
    }

    /// The key a comparison at `sreg` reads: one field, or the concatenation loaded into the
    /// registers from `sreg` on (each field after the one before it).
    pub(super) fn key(&self, sreg: u64, concat: bool) -> Option<Key> {
        let mut at = reg32(sreg);
        let Some(Reg::Loaded { key, len, seq }) = self.regs.get(&at) else {
            return None;
        };
        if !concat || key.mask.is_some() {
            return Some(key.clone());
        }
        let mut fields = key.fields.clone();
        let (mut len, mut last) = (*len, *seq);
        loop {
            at += u64::from(len.div_ceil(4));
            match self.regs.get(&at) {
                Some(Reg::Loaded {
                    key: next,
                    len: l,
                    seq: s,
                }) if *s > last && next.mask.is_none() => {
                    fields.extend(next.fields.iter().cloned());
                    (len, last) = (*l, *s);
                }
                _ => break,
            }
        }
        Some(Key { fields, mask: None })
    }

    fn set(&mut self, name: String) -> Right {
        if name.starts_with("__") {
            Right::Anonymous((self.anonymous)(&name))
        } else {
            Right::Named(name)
        }
    }

    /// One expression; false when it is not one this version prints.
    fn expr(&mut self, name: &str, d: &[u8]) -> bool {
        match name {
            "payload" => {
                let (Some(dreg), Some(base), Some(off), Some(len)) =
                    (u(d, 1), u(d, 2), u(d, 3), u(d, 4))
                else {
                    return false;
                };
                let Some((field, mask)) = payload_field(base, off, len) else {
                    return false;
                };
                let len = if mask.is_some() { 4 } else { len as u32 };
                self.load(
                    dreg,
                    Key {
                        fields: vec![field],
                        mask,
                    },
                    len,
                );
            }
            "meta" => match (u(d, 1), u(d, 2), u(d, 3)) {
                (Some(dreg), Some(key), None) => {
                    let len = match key {
                        6 | 7 => 16,
                        15 | 16 => 1,
                        _ => 4,
                    };
                    self.load(dreg, one(Field::Meta(key as u32)), len);
                }
                (None, Some(key), Some(sreg)) => {
                    let stmt = match self.regs.get(&reg32(sreg)) {
                        Some(Reg::Value(v)) => Stmt::MetaSet {
                            key: key as u32,
                            value: v.clone(),
                        },
                        Some(Reg::Or { field, bits }) if *field == Field::Meta(key as u32) => {
                            Stmt::MetaOr {
                                key: key as u32,
                                bits: bits.clone(),
                            }
                        }
                        _ => return false,
                    };
                    self.push(stmt);
                }
                _ => return false,
            },
            "ct" => {
                // A direction (`ct original saddr`) or `ct KEY set`: not printed here.
                let (Some(dreg), Some(key), None, None) = (u(d, 1), u(d, 2), u(d, 3), u(d, 4))
                else {
                    return false;
                };
                self.load(dreg, one(Field::Ct(key as u32)), 4);
            }
            "numgen" => {
                let (Some(dreg), Some(modulus)) = (u(d, 1), u(d, 2)) else {
                    return false;
                };
                let field = Field::Numgen {
                    modulus: modulus as u32,
                    random: u(d, 3) == Some(1),
                    offset: u(d, 4).unwrap_or(0) as u32,
                };
                self.load(dreg, one(field), 4);
            }
            "bitwise" => return self.bitwise(d),
            "immediate" => match u(d, 1) {
                Some(REG_VERDICT) => match data_verdict(d, 2) {
                    Some(v) => self.push(Stmt::Verdict(v)),
                    None => return false,
                },
                Some(dreg) => match data_value(d, 2) {
                    Some(v) => {
                        self.regs.insert(reg32(dreg), Reg::Value(v));
                    }
                    None => return false,
                },
                None => return false,
            },
            "cmp" => return self.cmp(d),
            "range" => {
                let key = u(d, 1).and_then(|r| self.key(r, false));
                let (Some(key), Some(op), Some(from), Some(to)) =
                    (key, cmp_op(u(d, 2)), data_value(d, 3), data_value(d, 4))
                else {
                    return false;
                };
                self.push(Stmt::Match {
                    key,
                    op,
                    right: Right::Range(from, to),
                });
            }
            "lookup" => {
                let set = attr(d, 1).map(msg::string).unwrap_or_default();
                let Some(key) = u(d, 2).and_then(|r| self.key(r, true)) else {
                    return false;
                };
                let right = self.set(set);
                match u(d, 3) {
                    Some(REG_VERDICT) => self.push(Stmt::Vmap { key, map: right }),
                    Some(_) => return false,
                    None => {
                        let inverted = u(d, 5).is_some_and(|f| f & 1 != 0);
                        let op = if inverted { Op::Ne } else { Op::Eq };
                        self.push(Stmt::Match { key, op, right });
                    }
                }
            }
            "counter" => self.push(Stmt::Counter {
                bytes: u(d, 1).unwrap_or(0),
                packets: u(d, 2).unwrap_or(0),
            }),
            "reject" => self.push(Stmt::Reject {
                kind: u(d, 1).unwrap_or(0) as u32,
                code: u(d, 2).unwrap_or(0) as u32,
            }),
            "nat" => return self.nat(d),
            "masq" => {
                if u(d, 2).is_some() {
                    return false;
                }
                self.push(Stmt::Masquerade {
                    flags: u(d, 1).unwrap_or(0) as u32,
                });
            }
            "log" => {
                // A group, snaplen, queue threshold, flags or a level but `warn`: not printed.
                let plain = [1, 3, 4, 6].iter().all(|k| attr(d, *k).is_none())
                    && u(d, 5).is_none_or(|l| l == 4);
                if !plain {
                    return false;
                }
                let prefix = attr(d, 2).map(msg::string);
                self.push(Stmt::Log { prefix });
            }
            "match" | "target" => {
                let xt = attr(d, 1).map(msg::string).unwrap_or_default();
                let info = attr(d, 3).unwrap_or_default().to_vec();
                self.push(if name == "match" {
                    Stmt::XtMatch { name: xt, info }
                } else {
                    Stmt::XtTarget { name: xt, info }
                });
            }
            _ => return false,
        }
        true
    }

    /// Whether a comparison reads (`NFTA_CMP_SREG`, `_RANGE_SREG`, `_BITWISE_SREG` are all 1)
    /// a register an unprinted load filled. A lookup gets a marker of its own: it may carry a
    /// verdict.
    fn reads_unknown(&self, name: &str, d: &[u8]) -> bool {
        let sreg = match name {
            "cmp" | "range" | "bitwise" => u(d, 1),
            _ => None,
        };
        sreg.is_some_and(|r| matches!(self.regs.get(&reg32(r)), Some(Reg::Unknown)))
    }
}

fn one(field: Field) -> Key {
    Key {
        fields: vec![field],
        mask: None,
    }
}

/// Decode `raw`, a rule of a `family` table; `anonymous` gives an anonymous set's elements.
pub fn decode(
    family: u8,
    raw: &RawRule,
    mut anonymous: impl FnMut(&str) -> Vec<SetElement>,
) -> Rule {
    let mut dec = Decoder {
        regs: HashMap::new(),
        seq: 0,
        at: 0,
        stmts: Vec::new(),
        anonymous: &mut anonymous,
    };
    for (i, (name, data)) in raw.exprs.iter().enumerate() {
        dec.at = i + 1;
        if dec.reads_unknown(name, data) {
            // Its load's marker stands for this comparison too.
            if let Some(dreg) = u(data, 2).filter(|_| name == "bitwise") {
                dec.regs.insert(reg32(dreg), Reg::Unknown);
            }
            continue;
        }
        if !dec.expr(name, data) {
            let loads = ["payload", "meta", "ct", "numgen"].contains(&name.as_str());
            if let Some(dreg) = u(data, 1).filter(|r| loads && *r != REG_VERDICT) {
                dec.regs.insert(reg32(dreg), Reg::Unknown);
            }
            dec.push(Stmt::Unknown {
                index: i + 1,
                name: name.clone(),
            });
        }
    }
    Rule {
        family,
        stmts: dec.stmts,
        comment: raw.comment.clone(),
    }
}
