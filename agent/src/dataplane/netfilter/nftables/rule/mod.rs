//! nf_tables rules as `nft -j list chain` prints them (libnftables' JSON schema 1), parsed
//! into what a walker needs: matches, verdicts, verdict maps, NAT. Tolerant by design: an
//! expression or operand this version does not know is kept by its name, never an error, so a
//! newer nft or an unusual rule only makes the walk less precise.

use serde_json::Value;

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

/// Why an `nft -j` listing could not be read at all.
#[derive(Debug, thiserror::Error)]
#[error("nft printed JSON netdiag cannot read: {0}")]
pub struct JsonError(String);

/// The rules of an `nft -j list chain|table` listing, in order.
pub fn parse_listing(json: &[u8]) -> Result<Vec<NftRule>, JsonError> {
    let doc: Value = serde_json::from_slice(json).map_err(|e| JsonError(e.to_string()))?;
    let items = doc
        .get("nftables")
        .and_then(Value::as_array)
        .ok_or_else(|| JsonError("no \"nftables\" array".into()))?;
    Ok(items
        .iter()
        .filter_map(|item| item.get("rule"))
        .map(rule)
        .collect())
}

/// The `timeout` (seconds) of a set in an `nft -j list set` listing.
pub fn set_timeout(json: &[u8]) -> Option<u32> {
    let doc: Value = serde_json::from_slice(json).ok()?;
    doc.get("nftables")?
        .as_array()?
        .iter()
        .find_map(|item| item.get("set")?.get("timeout")?.as_u64())
        .and_then(|t| u32::try_from(t).ok())
}

fn rule(v: &Value) -> NftRule {
    NftRule {
        chain: text(v.get("chain")).unwrap_or_default(),
        handle: v.get("handle").and_then(Value::as_u64).unwrap_or(0),
        comment: text(v.get("comment")),
        exprs: v
            .get("expr")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(expr).collect())
            .unwrap_or_default(),
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

/// The single key of a JSON object statement, and its value.
fn keyed(v: &Value) -> Option<(&str, &Value)> {
    let obj = v.as_object()?;
    let (k, inner) = obj.iter().next()?;
    Some((k.as_str(), inner))
}

fn verdict(key: &str, inner: &Value) -> Option<NftVerdict> {
    let target = || text(inner.get("target")).unwrap_or_default();
    Some(match key {
        "accept" => NftVerdict::Accept,
        "drop" => NftVerdict::Drop,
        "return" => NftVerdict::Return,
        "continue" => NftVerdict::Continue,
        "jump" => NftVerdict::Jump(target()),
        "goto" => NftVerdict::Goto(target()),
        _ => return None,
    })
}

fn expr(v: &Value) -> Expr {
    let Some((key, inner)) = keyed(v) else {
        return Expr::Other("?".into());
    };
    if let Some(verdict) = verdict(key, inner) {
        return Expr::Verdict(verdict);
    }
    match key {
        "match" => Expr::Match {
            left: operand(inner.get("left").unwrap_or(&Value::Null)),
            op: text(inner.get("op")).unwrap_or_else(|| "==".into()),
            right: operand(inner.get("right").unwrap_or(&Value::Null)),
        },
        "vmap" => Expr::Vmap {
            key: operand(inner.get("key").unwrap_or(&Value::Null)),
            data: operand(inner.get("data").unwrap_or(&Value::Null)),
        },
        "dnat" => Expr::Dnat {
            addr: text(inner.get("addr")),
            port: inner
                .get("port")
                .and_then(Value::as_u64)
                .and_then(|p| u16::try_from(p).ok()),
        },
        "masquerade" => Expr::Masquerade,
        "reject" => Expr::Reject,
        "set" => Expr::SetUpdate {
            set: text(inner.get("set"))
                .map(|s| s.trim_start_matches('@').to_string())
                .unwrap_or_default(),
        },
        other => Expr::Other(other.to_string()),
    }
}

fn operand(v: &Value) -> Operand {
    match v {
        Value::String(s) => match s.strip_prefix('@') {
            Some(name) => Operand::SetRef(name.to_string()),
            None => Operand::Value(s.clone()),
        },
        Value::Number(n) => Operand::Value(n.to_string()),
        Value::Array(items) => mapping_or_value(items),
        Value::Object(_) => object_operand(v),
        Value::Bool(b) => Operand::Value(b.to_string()),
        Value::Null => Operand::Other("null".into()),
    }
}

/// A `[key, verdict]` pair of a verdict map, else a list of values.
fn mapping_or_value(items: &[Value]) -> Operand {
    if let [k, v] = items
        && let Some((key, inner)) = keyed(v)
        && let Some(verdict) = verdict(key, inner)
    {
        return Operand::Mapping(Box::new(operand(k)), verdict);
    }
    Operand::Set(items.iter().map(operand).collect())
}

fn object_operand(v: &Value) -> Operand {
    let Some((key, inner)) = keyed(v) else {
        return Operand::Other("{}".into());
    };
    let field = |name: &str| text(inner.get(name)).unwrap_or_default();
    match key {
        "payload" => Operand::Payload {
            protocol: field("protocol"),
            field: field("field"),
        },
        "meta" => Operand::Meta(field("key")),
        "fib" => Operand::Fib {
            flags: inner
                .get("flags")
                .map(|f| match f {
                    Value::Array(a) => a.iter().filter_map(|x| text(Some(x))).collect(),
                    other => text(Some(other)).into_iter().collect(),
                })
                .unwrap_or_default(),
            result: field("result"),
        },
        "numgen" => Operand::Numgen {
            modulus: inner
                .get("mod")
                .and_then(Value::as_u64)
                .and_then(|m| u32::try_from(m).ok())
                .unwrap_or(0),
        },
        "concat" => Operand::Concat(
            inner
                .as_array()
                .map(|a| a.iter().map(operand).collect())
                .unwrap_or_default(),
        ),
        "prefix" => Operand::Prefix {
            addr: field("addr"),
            len: inner
                .get("len")
                .and_then(Value::as_u64)
                .and_then(|l| u8::try_from(l).ok())
                .unwrap_or(0),
        },
        "set" => match inner {
            Value::Array(items) => Operand::Set(items.iter().map(operand).collect()),
            other => Operand::Set(vec![operand(other)]),
        },
        other => Operand::Other(other.to_string()),
    }
}

#[cfg(test)]
mod tests;
