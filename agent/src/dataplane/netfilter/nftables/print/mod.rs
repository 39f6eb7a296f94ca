//! A rule's text from the kernel's expressions, as `nft list` prints it (and, for the tables
//! iptables-nft keeps, as `iptables -S` does), so the rule trace names a rule without running
//! `nft -a list chain`, which on a node with a large kube-proxy table fetches every set first.
//! [`decode`] turns the register machine back into statements; [`nft`] and [`iptables`] print
//! them. What this version cannot print exactly is shown as an `[expr N: NAME]` marker (N
//! counts the rule's expressions from 1), never as a guess. Pure: anonymous set elements and
//! interface names come from the caller.

mod compare;
pub mod decode;
pub mod iptables;
pub mod nft;
#[cfg(test)]
mod tests;
pub mod values;

pub use crate::kernel::nftables::msg::NftVerdict;
use crate::kernel::nftables::{RawRule, SetElement};

/// What a register was loaded from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    /// The IPv4 header: `saddr`, `daddr`, `protocol`, `ttl`.
    Ip(&'static str),
    /// The transport header's `sport` or `dport` (`th`, or `tcp`/`udp` after a dependency).
    Transport(&'static str),
    /// `meta KEY` (uapi `enum nft_meta_keys`).
    Meta(u32),
    /// `ct KEY` (uapi `enum nft_ct_keys`).
    Ct(u32),
    /// `numgen random|inc mod N [offset O]`.
    Numgen {
        modulus: u32,
        random: bool,
        offset: u32,
    },
}

/// The left side of a match or a map's key: one field, or a concatenation; with the mask a
/// `bitwise` (or a partial address load) applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub fields: Vec<Field>,
    pub mask: Option<Vec<u8>>,
}

/// `cmp`'s operators (uapi `enum nft_cmp_ops`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The right side of a match or a map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Right {
    /// The compared bytes, in register order.
    Value(Vec<u8>),
    /// `from-to`, both included.
    Range(Vec<u8>, Vec<u8>),
    /// `@name`.
    Named(String),
    /// An anonymous set or verdict map's elements.
    Anonymous(Vec<SetElement>),
}

/// One statement of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stmt {
    Match {
        key: Key,
        op: Op,
        right: Right,
    },
    Vmap {
        key: Key,
        map: Right,
    },
    Verdict(NftVerdict),
    Counter {
        packets: u64,
        bytes: u64,
    },
    Reject {
        kind: u32,
        code: u32,
    },
    /// `snat`/`dnat`: address and port ranges (min, max) as register bytes.
    Nat {
        dnat: bool,
        addr: Option<(Vec<u8>, Vec<u8>)>,
        port: Option<(Vec<u8>, Vec<u8>)>,
        flags: u32,
    },
    Masquerade {
        flags: u32,
    },
    /// `meta KEY set VALUE` with a constant.
    MetaSet {
        key: u32,
        value: Vec<u8>,
    },
    /// `meta KEY set meta KEY | BITS` (what kube-proxy's masquerade mark does).
    MetaOr {
        key: u32,
        bits: Vec<u8>,
    },
    Log {
        prefix: Option<String>,
    },
    /// iptables-nft's `-m NAME` and `-j NAME` that nf_tables runs through x_tables.
    XtMatch {
        name: String,
        info: Vec<u8>,
    },
    XtTarget {
        name: String,
        info: Vec<u8>,
    },
    /// An expression this version does not print: its place (from 1) and name.
    Unknown {
        index: usize,
        name: String,
    },
}

/// A decoded rule: its statements and comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// `NFPROTO_*` of its table: `dnat ip to` in `inet`, `dnat to` in `ip`.
    pub family: u8,
    /// Each statement with the place (from 1) of the expression that made it.
    pub stmts: Vec<(usize, Stmt)>,
    pub comment: Option<String>,
}

/// A rule's texts: as `nft list` prints it, and as `iptables -S` does when it is one of
/// iptables-nft's rules and every statement has an iptables spelling.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleText {
    pub nft: String,
    pub iptables: Option<String>,
}

/// The tables iptables-nft keeps in family ip: their rules are shown as `iptables -S` prints them.
pub const IPTABLES_TABLES: [&str; 5] = ["filter", "nat", "mangle", "raw", "security"];

/// The texts of `raw`, a rule of `family` `table` `chain`; `anonymous` gives an anonymous
/// set's elements, `interface` an interface index's name.
pub fn rule_text(
    family: u8,
    table: &str,
    chain: &str,
    raw: &RawRule,
    anonymous: impl FnMut(&str) -> Vec<SetElement>,
    interface: &dyn Fn(u32) -> Option<String>,
) -> RuleText {
    let rule = decode::decode(family, raw, anonymous);
    let iptables = (family == crate::kernel::nftables::msg::NFPROTO_IPV4
        && IPTABLES_TABLES.contains(&table))
    .then(|| iptables::print(chain, &rule))
    .flatten();
    RuleText {
        nft: nft::print(&rule, interface),
        iptables,
    }
}
