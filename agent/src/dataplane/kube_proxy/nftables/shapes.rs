//! The shapes of kube-proxy's nftables rules the walker recognises: which chain names a
//! Service port, which rule balances (`numgen ... vmap`), blocks, marks for masquerade or checks
//! affinity, and whether an address falls in a match. Pure.

use std::net::Ipv4Addr;

use super::walk::REJECT_CHAIN;
use crate::dataplane::kube_proxy::model::BlockAction;
use crate::dataplane::netfilter::nftables::rule::{Expr, NftRule, NftVerdict, Operand};

/// `ns/svc/proto/port` out of `service-HASH-ns/svc/proto/port` or an endpoint chain's
/// `endpoint-HASH-ns/svc/proto/port__IP/PORT`, as `ns/svc:port` (kube-proxy's own spelling).
pub(super) fn service_port_name(chain: &str) -> Option<String> {
    let (_, rest) = chain.split_once('-')?;
    let (_, name) = rest.split_once('-')?;
    let name = name.split("__").next()?;
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        [ns, svc, _proto, port] => Some(format!("{ns}/{svc}:{port}")),
        _ => None,
    }
}

/// The endpoint chains of a `numgen random mod N vmap { i : goto endpoint-... }` rule.
pub(super) fn numgen_targets(rule: &NftRule) -> Option<Vec<String>> {
    rule.exprs.iter().find_map(|e| match e {
        Expr::Vmap {
            key: Operand::Numgen { .. },
            data: Operand::Set(entries),
        } => Some(
            entries
                .iter()
                .filter_map(|m| match m {
                    Operand::Mapping(_, NftVerdict::Goto(c) | NftVerdict::Jump(c)) => {
                        Some(c.clone())
                    }
                    _ => None,
                })
                .collect(),
        ),
        _ => None,
    })
}

pub(super) fn blocks(rule: &NftRule) -> Option<BlockAction> {
    if rule.exprs.contains(&Expr::Reject) {
        return Some(BlockAction::Reject);
    }
    match rule.verdict() {
        Some(NftVerdict::Drop) => Some(BlockAction::Drop),
        Some(NftVerdict::Goto(c) | NftVerdict::Jump(c)) if c == REJECT_CHAIN => {
            Some(BlockAction::Reject)
        }
        _ => None,
    }
}

pub(super) fn matches_fib_local(rule: &NftRule) -> bool {
    rule.matches().any(
        |(l, _, _)| matches!(l, Operand::Fib { flags, .. } if flags.iter().any(|f| f == "saddr")),
    )
}

/// `ip saddr @affinity-...`: the affinity set a returning client is looked up in.
pub(super) fn affinity_set(rule: &NftRule) -> Option<String> {
    rule.matches().find_map(|(l, _, r)| match r {
        Operand::SetRef(set) if set.starts_with("affinity-") && is_payload(l, "ip", "saddr") => {
            Some(set.clone())
        }
        _ => None,
    })
}

pub(super) fn is_payload(op: &Operand, proto: &str, name: &str) -> bool {
    matches!(op, Operand::Payload { protocol, field } if protocol == proto && field == name)
}

/// Whether `ip` is the value, in the prefix, or in the anonymous set.
pub(super) fn operand_contains(op: &Operand, ip: Ipv4Addr) -> bool {
    match op {
        Operand::Value(v) => v.parse::<Ipv4Addr>().is_ok_and(|a| a == ip),
        Operand::Prefix { addr, len } => addr.parse::<Ipv4Addr>().is_ok_and(|net| {
            let mask = u32::MAX
                .checked_shl(32 - u32::from((*len).min(32)))
                .unwrap_or(0);
            u32::from(net) & mask == u32::from(ip) & mask
        }),
        Operand::Set(items) => items.iter().any(|i| operand_contains(i, ip)),
        _ => false,
    }
}

pub(super) fn operand_text(op: &Operand) -> String {
    match op {
        Operand::Value(v) => v.clone(),
        Operand::Prefix { addr, len } => format!("{addr}/{len}"),
        Operand::Set(items) => items
            .iter()
            .map(operand_text)
            .collect::<Vec<_>>()
            .join(", "),
        Operand::SetRef(s) => format!("@{s}"),
        _ => "?".into(),
    }
}
