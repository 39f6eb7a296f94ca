//! nf_tables rules as a walker needs them: matches, verdicts, verdict maps, NAT, in nft's own
//! words (`ip saddr != 10.0.0.0/8`). [`super::netlink`] decodes the kernel's rules into these.
//! Tolerant by design: an expression or operand this version does not know is kept by its
//! name, never an error, so an unusual rule only makes the walk less precise.

pub use crate::kernel::nftables::msg::NftVerdict;

/// One rule of a chain.
#[derive(Clone, Debug, PartialEq)]
pub struct NftRule {
    pub chain: String,
    pub handle: u64,
    pub comment: Option<String>,
    pub exprs: Vec<Expr>,
}

/// One statement of a rule.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `left op right`, e.g. `ip saddr != 10.0.0.0/8`.
    Match {
        left: Operand,
        op: String,
        right: Operand,
    },
    /// `jump`, `goto`, `accept`, `drop`, `return`, `continue`.
    Verdict(NftVerdict),
    /// `KEY vmap { k : verdict, ... }` or `KEY vmap @map`.
    Vmap {
        key: Operand,
        data: Operand,
    },
    /// `dnat to ADDR[:PORT]`.
    Dnat {
        addr: Option<String>,
        port: Option<u16>,
    },
    Masquerade,
    /// `reject [with ...]`: the client gets an ICMP error or a RST.
    Reject,
    /// `update @set { ... }`, `add @set { ... }`: the set's name without `@`.
    SetUpdate {
        set: String,
    },
    /// Anything else (`counter`, `mangle`, `log`, ...), by its JSON key.
    Other(String),
}

/// The left or right side of a match, a vmap key or its data.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    /// `ip daddr`, `tcp dport`, `th dport`.
    Payload {
        protocol: String,
        field: String,
    },
    /// `meta l4proto`, `meta mark`.
    Meta(String),
    /// `fib saddr type`: the flags (`saddr`) and the result (`type`).
    Fib {
        flags: Vec<String>,
        result: String,
    },
    /// `numgen random mod N`.
    Numgen {
        modulus: u32,
    },
    Concat(Vec<Operand>),
    /// An address, a protocol name, a port, a number: as text.
    Value(String),
    /// `10.0.0.0/8`.
    Prefix {
        addr: String,
        len: u8,
    },
    /// `@name`: a named set or map.
    SetRef(String),
    /// An anonymous set `{ a, b }`, or a verdict map's `{ k : v, ... }` (then each entry is a
    /// `Mapping`).
    Set(Vec<Operand>),
    Mapping(Box<Operand>, NftVerdict),
    /// Anything else, by its JSON key.
    Other(String),
}

impl NftRule {
    /// The rule's verdict statement, if it has one.
    pub fn verdict(&self) -> Option<&NftVerdict> {
        self.exprs.iter().find_map(|e| match e {
            Expr::Verdict(v) => Some(v),
            _ => None,
        })
    }

    /// The matches the rule applies before its statements.
    pub fn matches(&self) -> impl Iterator<Item = (&Operand, &str, &Operand)> {
        self.exprs.iter().filter_map(|e| match e {
            Expr::Match { left, op, right } => Some((left, op.as_str(), right)),
            _ => None,
        })
    }

    /// Whether the rule applies to every packet that reaches it.
    pub fn is_unconditional(&self) -> bool {
        self.matches().next().is_none()
    }

    /// The `dnat to` target, if any.
    pub fn dnat(&self) -> Option<(String, Option<u16>)> {
        self.exprs.iter().find_map(|e| match e {
            Expr::Dnat {
                addr: Some(addr),
                port,
            } => Some((addr.clone(), *port)),
            _ => None,
        })
    }
}
