//! Judge the probe's traced packets: the first rule that dropped one, with its text and who
//! owns it, or the rules they passed. What an engineer concludes from `nft monitor trace` (or
//! `iptables -t raw -j TRACE` and the kernel log) for one connection. Pure.

use netdiag_model::Reason;
use netdiag_model::report::TracedRule;
use netdiag_model::{Hop, HopKind, Verdict};

use crate::kernel::nftables::trace::{TraceEvent, TraceType};

pub use crate::dataplane::netfilter::nftables::print::RuleText;

/// `NFPROTO_*` as `nft` spells the family.
pub fn family_name(family: u8) -> &'static str {
    match family {
        1 => "inet",
        2 => "ip",
        3 => "arp",
        5 => "netdev",
        7 => "bridge",
        10 => "ip6",
        _ => "unknown",
    }
}

/// What the Firewall hop says a rule dropped; a caller tracing a particular kind of packet
/// (the DNS queries) says which in its place.
pub const DROPPED_PACKET: &str = "the probe's packet";

/// Who a rule belongs to, from its table, chain and text: the component to look at.
pub fn owner(table: &str, chain: &str, text: &str) -> String {
    let c = chain;
    if c.starts_with("KUBE-NWPLCY-") || c.starts_with("KUBE-POD-FW-") || c == "KUBE-ROUTER-FORWARD"
    {
        return "a kube-router NetworkPolicy chain".into();
    }
    if c.starts_with("cali-") {
        return "Calico (a NetworkPolicy or host endpoint policy)".into();
    }
    if c.starts_with("CILIUM_") || c.to_ascii_lowercase().contains("cilium") {
        return "Cilium".into();
    }
    if table == "kube-proxy" || c.starts_with("KUBE-") || text.contains("kube-proxy") {
        return "kube-proxy".into();
    }
    "a node firewall rule (not kube-proxy's, nor a known CNI's NetworkPolicy)".into()
}

/// The Firewall hop for `events` (our own trace table's events already removed), with
/// `lookup` giving a rule's text by (family, table, chain, handle).
pub fn judge(
    node: &str,
    flow: &str,
    events: &[TraceEvent],
    mut lookup: impl FnMut(&TraceEvent) -> Option<RuleText>,
) -> Hop {
    let hop = |verdict, text: String| Hop::new(node, HopKind::Firewall, flow, verdict, text);
    if events.is_empty() {
        return hop(
            Verdict::Info,
            format!(
                "no rule on {node} saw the probe's packets (traced with nf_tables): nothing on this node filters them, or they never reached it"
            ),
        );
    }
    if let Some(drop) = events.iter().find(|e| e.drops()) {
        let place = format!("{} {} {}", family_name(drop.family), drop.table, drop.chain);
        let (what, text) = match drop.kind {
            TraceType::Policy => (format!("the policy of {place}"), String::new()),
            _ => {
                let text = lookup(drop).unwrap_or_default();
                let shown = text.iptables.clone().unwrap_or_else(|| text.nft.clone());
                let handle = drop
                    .handle
                    .map(|h| format!(" (handle {h})"))
                    .unwrap_or_default();
                let rule = if shown.is_empty() {
                    format!("a rule{handle}")
                } else {
                    format!("rule `{shown}`{handle}")
                };
                (format!("{rule} in {place}"), shown)
            }
        };
        let who = owner(&drop.table, &drop.chain, &text);
        return hop(
            Verdict::Fail,
            format!("{what} on {node} dropped {DROPPED_PACKET}: {who}"),
        )
        .with_reason(Reason::DroppedByRule);
    }
    let packets = {
        let mut ids: Vec<u32> = events.iter().map(|e| e.id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    };
    let mut chains: Vec<String> = Vec::new();
    for e in events {
        let c = format!("{} {}", e.table, e.chain);
        if !chains.contains(&c) {
            chains.push(c);
        }
    }
    let rules = events.iter().filter(|e| e.kind == TraceType::Rule).count();
    hop(
        Verdict::Ok,
        format!(
            "{packets} traced packet{} met {rules} rule{} in {} chain{}: none dropped them",
            if packets == 1 { "" } else { "s" },
            if rules == 1 { "" } else { "s" },
            chains.len(),
            if chains.len() == 1 { "" } else { "s" },
        ),
    )
}

/// The events as the report's rule trace, each rule with the text `text` gives (iptables'
/// spelling for an iptables-nft rule). Pure.
pub fn traced_rules(
    events: &[TraceEvent],
    mut text: impl FnMut(&TraceEvent) -> Option<RuleText>,
) -> Vec<TracedRule> {
    events
        .iter()
        .map(|e| {
            let verdict = match e.kind {
                TraceType::Policy => match e.policy {
                    Some(0) => "policy drop".to_string(),
                    _ => "policy accept".to_string(),
                },
                TraceType::Return => "return".to_string(),
                _ => e
                    .verdict
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_else(|| "continue".into()),
            };
            let rule = match e.kind {
                TraceType::Rule => text(e).map(|t| t.iptables.unwrap_or(t.nft)),
                _ => None,
            };
            TracedRule {
                packet: e.id,
                family: family_name(e.family).to_string(),
                table: e.table.clone(),
                chain: e.chain.clone(),
                handle: e.handle,
                rule,
                verdict,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
