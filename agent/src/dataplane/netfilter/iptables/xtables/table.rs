//! One x_tables table as `IPT_SO_GET_ENTRIES` returns it, indexed by chain without decoding the
//! rules: at 10,000 Services the nat table holds some 230k entries, and a lookup for one VIP
//! needs a few hundred of them.
//!
//! The blob is what `iptables-legacy-save` itself reads before it formats every rule as text.
//! Layout (libiptc's compiled form): each built-in chain runs from its hook entry to its
//! underflow (the policy entry); each user chain starts with an ERROR entry naming it and ends
//! with an unconditional RETURN; a last ERROR entry named "ERROR" closes the table.

use std::collections::HashMap;
use std::ops::Range;

use super::extensions::{decode_match, decode_target};
use super::layout::*;
use crate::dataplane::netfilter::iptables::rule::{Neg, Rule, Target};

/// Why a blob could not be read as a table. Only a kernel bug or a foreign ABI gets here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {table} table at byte {offset}: {what}")]
pub struct Malformed {
    pub table: String,
    pub offset: usize,
    pub what: &'static str,
}

/// What `IPT_SO_GET_INFO` says about a table: where its built-in chains start and end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableInfo {
    pub valid_hooks: u32,
    pub hook_entry: [u32; NUMHOOKS],
    pub underflow: [u32; NUMHOOKS],
    /// Bytes of entries.
    pub size: u32,
}

impl TableInfo {
    /// Decode a `struct ipt_getinfo`.
    pub fn decode(raw: &[u8]) -> Option<TableInfo> {
        let mut info = TableInfo {
            valid_hooks: u32_at(raw, INFO_VALID_HOOKS)?,
            size: u32_at(raw, INFO_SIZE)?,
            ..Default::default()
        };
        for h in 0..NUMHOOKS {
            info.hook_entry[h] = u32_at(raw, INFO_HOOK_ENTRY + 4 * h)?;
            info.underflow[h] = u32_at(raw, INFO_UNDERFLOW + 4 * h)?;
        }
        Some(info)
    }
}

/// A table's entries, with each chain's span of rule entries.
#[derive(Debug)]
pub struct Table {
    name: String,
    /// The entries are `buf[start..]`: at 10,000 Services they are over 100 MB, too much to
    /// copy just to drop the request header in front of them.
    buf: Vec<u8>,
    start: usize,
    /// Chain name -> byte range of its rules (policy or trailing RETURN excluded).
    chains: HashMap<String, Range<usize>>,
    /// Offset of a user chain's first entry -> its name: where `-j CHAIN` verdicts point.
    jump_targets: HashMap<usize, String>,
}

impl Table {
    /// Index the entries in `buf[start..]` (after `struct ipt_get_entries`, in what the kernel
    /// filled). One pass over the entry headers; no rule is decoded here.
    pub fn index(
        name: &str,
        info: &TableInfo,
        buf: Vec<u8>,
        start: usize,
    ) -> Result<Table, Malformed> {
        let malformed = |offset, what| Malformed {
            table: name.to_string(),
            offset,
            what,
        };
        let entries = buf
            .get(start..)
            .ok_or_else(|| malformed(start, "the entries start past the end"))?;
        let mut chains = HashMap::new();
        let mut jump_targets = HashMap::new();
        for (hook, chain) in HOOK_CHAINS.iter().enumerate() {
            if info.valid_hooks & (1 << hook) != 0 {
                let (start, end) = (info.hook_entry[hook], info.underflow[hook]);
                let (start, end) = (start as usize, end as usize);
                if start > end || end > entries.len() {
                    return Err(malformed(start, "a built-in chain lies outside the table"));
                }
                chains.insert((*chain).to_string(), start..end);
            }
        }
        // The user chain being read: its name and where its rules start.
        let mut open: Option<(String, usize)> = None;
        let mut previous = 0;
        let mut offset = 0;
        while offset < entries.len() {
            let (next, target_at) =
                entry_bounds(entries, offset).map_err(|what| malformed(offset, what))?;
            let target = offset + target_at;
            if c_str(entries, target + EXT_NAME, EXTENSION_MAXNAMELEN) == Some("ERROR") {
                if let Some((chain, start)) = open.take() {
                    // The entry before this head is the chain's own RETURN.
                    chains.insert(chain, start..previous.max(start));
                }
                let chain = c_str(entries, target + EXT_HEADER_SIZE, FUNCTION_MAXNAMELEN)
                    .ok_or_else(|| malformed(offset, "a chain name is not text"))?;
                if chain == "ERROR" {
                    break;
                }
                jump_targets.insert(offset + next, chain.to_string());
                open = Some((chain.to_string(), offset + next));
            }
            previous = offset;
            offset += next;
        }
        if let Some((chain, start)) = open {
            chains.insert(chain, start..previous.max(start));
        }
        Ok(Table {
            name: name.to_string(),
            buf,
            start,
            chains,
            jump_targets,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn has_chain(&self, chain: &str) -> bool {
        self.chains.contains_key(chain)
    }

    /// The chain names, built-in ones included, in no particular order.
    pub fn chain_names(&self) -> impl Iterator<Item = &str> {
        self.chains.keys().map(String::as_str)
    }

    /// Decode `chain`'s rules, as `iptables-legacy-save` would print them; `None` when the
    /// table has no such chain.
    pub fn rules(&self, chain: &str) -> Option<Result<Vec<Rule>, Malformed>> {
        let span = self.chains.get(chain)?.clone();
        let mut rules = Vec::new();
        let mut offset = span.start;
        while offset < span.end {
            match self.rule(chain, offset) {
                Ok((rule, next)) => {
                    rules.push(rule);
                    offset += next;
                }
                Err(what) => {
                    return Some(Err(Malformed {
                        table: self.name.clone(),
                        offset,
                        what,
                    }));
                }
            }
        }
        Some(Ok(rules))
    }

    /// Every DROP and REJECT rule of the table with its packet counter: (chain, position in
    /// the chain, rule, packets), like `iptables-legacy -t TABLE -L -v -x` read for its
    /// dropping lines. Chains that fail to decode are skipped.
    pub fn drop_counters(&self) -> Vec<(String, usize, Rule, u64)> {
        let entries = &self.buf[self.start..];
        let mut out = Vec::new();
        for (chain, span) in &self.chains {
            let mut offset = span.start;
            let mut index = 0;
            while offset < span.end {
                let Ok((rule, next)) = self.rule(chain, offset) else {
                    break;
                };
                if matches!(rule.target, Some(Target::Drop | Target::Reject { .. })) {
                    let packets = entries
                        .get(offset + ENTRY_PACKETS..offset + ENTRY_PACKETS + 8)
                        .and_then(|b| b.try_into().ok())
                        .map(u64::from_ne_bytes)
                        .unwrap_or(0);
                    out.push((chain.clone(), index, rule, packets));
                }
                index += 1;
                offset += next;
            }
        }
        out
    }

    /// The rule at `offset` and the size of its entry.
    fn rule(&self, chain: &str, offset: usize) -> Result<(Rule, usize), &'static str> {
        let entries = &self.buf[self.start..];
        let (next, target_at) = entry_bounds(entries, offset)?;
        let entry = &entries[offset..offset + next];
        let cut = "an entry is cut short";
        let flags = *entry.get(IP_FLAGS).ok_or(cut)?;
        let inv = *entry.get(IP_INVFLAGS).ok_or(cut)?;
        let mut rule = Rule {
            chain: chain.to_string(),
            src: address(entry, IP_SRC, IP_SMSK, inv & IPT_INV_SRCIP != 0),
            dst: address(entry, IP_DST, IP_DMSK, inv & IPT_INV_DSTIP != 0),
            protocol: protocol(
                u16_at(entry, IP_PROTO).ok_or(cut)?,
                inv & IPT_INV_PROTO != 0,
            ),
            ..Default::default()
        };
        interface(
            &mut rule.other,
            "-i",
            entry,
            IP_INIFACE,
            inv & IPT_INV_VIA_IN != 0,
        );
        interface(
            &mut rule.other,
            "-o",
            entry,
            IP_OUTIFACE,
            inv & IPT_INV_VIA_OUT != 0,
        );
        if flags & IPT_F_FRAG != 0 {
            if inv & IPT_INV_FRAG != 0 {
                rule.other.push("!".into());
            }
            rule.other.push("-f".into());
        }
        let mut at = ENTRY_SIZE;
        while at < target_at {
            let ext = extension(entry, at).ok_or("a match is cut short")?;
            decode_match(&mut rule, &ext);
            at += ext.size;
        }
        let ext = extension(entry, target_at).ok_or("the target is cut short")?;
        rule.target = if ext.name.is_empty() {
            let verdict = i32_at(ext.data, 0).ok_or("the target is cut short")?;
            self.standard_target(offset + next, verdict, flags & IPT_F_GOTO != 0)
        } else {
            decode_target(&ext)
        };
        Ok((rule, next))
    }

    /// What a standard target's verdict means here: a built-in verdict, a jump (or goto) into a
    /// user chain, or, pointing at the next entry (`next_entry`), no target at all.
    fn standard_target(&self, next_entry: usize, verdict: i32, goto: bool) -> Option<Target> {
        let builtin = |name: &str| Target::Other {
            name: name.to_string(),
            args: Vec::new(),
        };
        Some(match verdict {
            VERDICT_ACCEPT => Target::Accept,
            VERDICT_DROP => Target::Drop,
            VERDICT_RETURN => Target::Return,
            VERDICT_QUEUE => builtin("QUEUE"),
            v if v >= 0 && v as usize == next_entry => return None,
            v => match usize::try_from(v)
                .ok()
                .and_then(|o| self.jump_targets.get(&o))
            {
                Some(chain) if goto => Target::Goto(chain.clone()),
                Some(chain) => Target::Jump(chain.clone()),
                None => builtin(&format!("verdict {v}")),
            },
        })
    }
}

/// An entry's size and where its target starts, both checked to lie within the table: every
/// loop over entries advances by at least one header.
fn entry_bounds(entries: &[u8], offset: usize) -> Result<(usize, usize), &'static str> {
    let cut = "an entry is cut short";
    let next = usize::from(u16_at(entries, offset + ENTRY_NEXT_OFFSET).ok_or(cut)?);
    let target_at = usize::from(u16_at(entries, offset + ENTRY_TARGET_OFFSET).ok_or(cut)?);
    if next < ENTRY_SIZE || offset + next > entries.len() {
        return Err("an entry's size is out of bounds");
    }
    if target_at < ENTRY_SIZE || target_at >= next {
        return Err("an entry's target is out of bounds");
    }
    Ok((next, target_at))
}

/// One match or target: its name, revision, payload, and full aligned size.
pub struct Extension<'a> {
    pub name: &'a str,
    pub revision: u8,
    pub data: &'a [u8],
    pub size: usize,
}

fn extension(entry: &[u8], at: usize) -> Option<Extension<'_>> {
    let size = usize::from(u16_at(entry, at)?);
    if size < EXT_HEADER_SIZE {
        return None;
    }
    let body = entry.get(at..at + size)?;
    Some(Extension {
        name: c_str(body, EXT_NAME, EXTENSION_MAXNAMELEN)?,
        revision: *body.get(EXT_REVISION)?,
        data: &body[EXT_HEADER_SIZE..],
        size,
    })
}

/// `-s`/`-d` as iptables-save prints them: `10.96.0.10/32`, `10.244.0.0/16`; absent when the
/// mask is empty and not negated.
fn address(entry: &[u8], addr_at: usize, mask_at: usize, negated: bool) -> Option<Neg> {
    let addr = ipv4_at(entry, addr_at)?;
    let mask = u32::from_be_bytes(entry.get(mask_at..mask_at + 4)?.try_into().ok()?);
    if mask == 0 && !negated {
        return None;
    }
    let value = if mask.leading_ones() + mask.trailing_zeros() == 32 {
        format!("{addr}/{}", mask.leading_ones())
    } else {
        format!("{addr}/{}", std::net::Ipv4Addr::from(mask))
    };
    Some(Neg { negated, value })
}

/// `-p` by name for the protocols iptables names itself, else the number.
fn protocol(number: u16, negated: bool) -> Option<Neg> {
    let value = match number {
        0 if !negated => return None,
        0 => "all".to_string(),
        1 => "icmp".to_string(),
        6 => "tcp".to_string(),
        17 => "udp".to_string(),
        132 => "sctp".to_string(),
        136 => "udplite".to_string(),
        58 => "ipv6-icmp".to_string(),
        n => n.to_string(),
    };
    Some(Neg { negated, value })
}

/// `-i`/`-o`, kept with the other options the walker does not use. The kernel keeps the name as
/// typed, a wildcard's `+` included (`veth+`), and matches it through a mask.
fn interface(other: &mut Vec<String>, flag: &str, entry: &[u8], at: usize, negated: bool) {
    let Some(name) = c_str(entry, at, 16).filter(|n| !n.is_empty()) else {
        return;
    };
    if negated {
        other.push("!".into());
    }
    other.extend([flag.to_string(), name.to_string()]);
}

pub(super) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(super) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Network byte order, as addresses and NAT ports are stored.
pub(super) fn be16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(super) fn ipv4_at(b: &[u8], at: usize) -> Option<std::net::Ipv4Addr> {
    let o: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(std::net::Ipv4Addr::from(o))
}

/// A NUL-terminated string in a fixed field of `len` bytes; `None` if it is not UTF-8.
pub(super) fn c_str(b: &[u8], at: usize, len: usize) -> Option<&str> {
    let field = b.get(at..(at + len).min(b.len()))?;
    let end = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    std::str::from_utf8(&field[..end]).ok()
}
