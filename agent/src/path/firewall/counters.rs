//! Drop attribution on the legacy iptables backend, which has no trace events: the packet
//! counters of every DROP and REJECT rule in the raw, mangle and filter tables, read from the
//! kernel before and after the connect, like `iptables-legacy -Z` then `-L -v -x` by hand. A
//! rule whose counter moved while the probe ran is named; other traffic moves counters too, so
//! the hop says how sure that is.

use std::collections::HashMap;

use netdiag_model::report::CounterDelta;
use netdiag_model::{Hop, HopKind, Reason, Verdict};

use super::judge::owner;
use crate::dataplane::netfilter::command::{Tool, run};
use crate::dataplane::netfilter::iptables::rule::{Neg, Rule};
use crate::dataplane::netfilter::iptables::xtables::LegacySocket;

/// The tables a dropping rule can sit in (nat is for address rewriting; kube-proxy marks there
/// and drops in filter).
const TABLES: [&str; 3] = ["raw", "mangle", "filter"];

const IPTABLES_LEGACY: Tool = Tool {
    program: "iptables-legacy",
    package: "iptables",
    missing: &["No chain/target/match", "does not exist"],
};

/// Where a rule sits: table, chain, position in the chain.
type Place = (String, String, usize);

/// Dropping rules and their packet counters at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot(HashMap<Place, (Rule, u64)>);

/// Read the counters in the calling thread's namespace; None when there are no legacy tables
/// or no dropping rule in them (nothing to attribute).
pub fn snapshot() -> Option<Snapshot> {
    let socket = LegacySocket::open().ok()?;
    let mut out = HashMap::new();
    for table in TABLES {
        let Ok(Some(t)) = socket.table(table) else {
            continue;
        };
        for (chain, index, rule, packets) in t.drop_counters() {
            out.insert((table.to_string(), chain, index), (rule, packets));
        }
    }
    (!out.is_empty()).then_some(Snapshot(out))
}

/// A dropping rule whose counter moved.
#[derive(Clone, Debug, PartialEq)]
pub struct Moved {
    pub table: String,
    pub chain: String,
    pub index: usize,
    pub rule: Rule,
    pub packets: u64,
}

/// The rules whose counters moved between `before` and `after`, most packets first. Pure.
pub fn moved(before: &Snapshot, after: &Snapshot) -> Vec<Moved> {
    let mut out: Vec<Moved> = after
        .0
        .iter()
        .filter_map(|((table, chain, index), (rule, now))| {
            let then = before.0.get(&(table.clone(), chain.clone(), *index));
            // A rule that changed place in between is not compared with another one.
            let delta = match then {
                Some((r, then)) if r == rule => now.saturating_sub(*then),
                _ => return None,
            };
            (delta > 0).then(|| Moved {
                table: table.clone(),
                chain: chain.clone(),
                index: *index,
                rule: rule.clone(),
                packets: delta,
            })
        })
        .collect();
    out.sort_by(|a, b| b.packets.cmp(&a.packets).then(a.chain.cmp(&b.chain)));
    out
}

/// Whether the rule's own matches name one of the probe's addresses: then its counter is far
/// more likely the probe's than another flow's.
fn names_probe(rule: &Rule, addresses: &[std::net::Ipv4Addr]) -> bool {
    let covers = |n: &Option<Neg>| {
        n.as_ref()
            .and_then(Neg::positive)
            .and_then(network)
            .is_some_and(|(net, mask)| addresses.iter().any(|a| u32::from(*a) & mask == net))
    };
    covers(&rule.dst) || covers(&rule.src)
}

/// `10.244.2.0/24` or `10.244.2.7` as (network, mask).
fn network(value: &str) -> Option<(u32, u32)> {
    let (addr, len) = value.split_once('/').unwrap_or((value, "32"));
    let addr: std::net::Ipv4Addr = addr.parse().ok()?;
    let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    Some((u32::from(addr) & mask, mask))
}

/// The Firewall hop for the first moved rule, with `text` the rule as `iptables -S` prints it;
/// None when no dropping rule moved. A Fail only when the connect failed and the rule names
/// the probe's addresses; otherwise the counter may be another flow's, and it is a Warn. Pure.
pub fn judge(
    node: &str,
    flow: &str,
    moved: &[Moved],
    addresses: &[std::net::Ipv4Addr],
    connect_failed: bool,
    text: impl Fn(&Moved) -> Option<String>,
) -> Option<Hop> {
    let first = moved.first()?;
    let likely = names_probe(&first.rule, addresses);
    let rule =
        text(first).unwrap_or_else(|| format!("rule {} of {}", first.index + 1, first.chain));
    let sure = if likely {
        "the rule matches the probe's addresses, so these are most likely its packets"
    } else {
        "the rule does not name the probe's addresses, so other traffic may have moved it"
    };
    let who = owner(&first.table, &first.chain, &rule);
    Some(
        Hop::new(
            node,
            HopKind::Firewall,
            flow,
            if likely && connect_failed {
                Verdict::Fail
            } else {
                Verdict::Warn
            },
            format!(
                "rule `{rule}` in legacy iptables {} {} on {node} counted {} packet{} while the probe ran: {who} (from counters, as the legacy backend has no tracing; {sure})",
                first.table,
                first.chain,
                first.packets,
                if first.packets == 1 { "" } else { "s" },
            ),
        )
        .with_reason(Reason::DroppedByRule),
    )
}

/// The rule as `iptables-legacy -S` prints it, by its position in the chain.
pub fn rule_text(m: &Moved) -> Option<String> {
    let out = run(&IPTABLES_LEGACY, &["-w", "-t", &m.table, "-S", &m.chain]).ok()??;
    String::from_utf8_lossy(&out)
        .lines()
        .filter(|l| l.starts_with("-A "))
        .nth(m.index)
        .map(str::to_string)
}

/// The moved rules for the report.
pub fn deltas(moved: &[Moved], text: impl Fn(&Moved) -> Option<String>) -> Vec<CounterDelta> {
    moved
        .iter()
        .map(|m| CounterDelta {
            table: m.table.clone(),
            chain: m.chain.clone(),
            rule: text(m).unwrap_or_else(|| format!("rule {} of {}", m.index + 1, m.chain)),
            packets: m.packets,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::netfilter::iptables::rule::Target;

    fn drop_to(dst: &str) -> Rule {
        Rule {
            chain: "FORWARD".into(),
            dst: Some(Neg {
                negated: false,
                value: dst.into(),
            }),
            target: Some(Target::Drop),
            ..Default::default()
        }
    }

    fn snap(rules: &[(&str, usize, Rule, u64)]) -> Snapshot {
        Snapshot(
            rules
                .iter()
                .map(|(c, i, r, p)| (("filter".to_string(), c.to_string(), *i), (r.clone(), *p)))
                .collect(),
        )
    }

    #[test]
    fn the_rule_whose_counter_moved_is_named_and_how_sure_that_is() {
        let r = drop_to("10.244.2.0/24");
        let other = drop_to("192.168.9.0/24");
        let before = snap(&[
            ("FORWARD", 0, r.clone(), 10),
            ("INPUT", 0, other.clone(), 5),
        ]);
        let after = snap(&[
            ("FORWARD", 0, r.clone(), 13),
            ("INPUT", 0, other.clone(), 5),
        ]);
        let m = moved(&before, &after);
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].chain.as_str(), m[0].packets), ("FORWARD", 3));
        let ip: std::net::Ipv4Addr = "10.244.2.7".parse().expect("ip");
        let text = |_: &Moved| Some("-A FORWARD -d 10.244.2.0/24 -j DROP".to_string());
        let Some(hop) = judge("node-a", "flow", &m, &[ip], true, text) else {
            panic!("a hop");
        };
        assert_eq!(hop.verdict, Verdict::Fail);
        assert_eq!(hop.reason, Some(Reason::DroppedByRule));
        assert!(hop.detail.starts_with("rule `-A FORWARD -d 10.244.2.0/24 -j DROP` in legacy iptables filter FORWARD on node-a counted 3 packets"), "{}", hop.detail);
        assert!(
            hop.detail.contains("most likely its packets"),
            "{}",
            hop.detail
        );
        let far: std::net::Ipv4Addr = "10.1.1.1".parse().expect("ip");
        let hop = judge("node-a", "flow", &m, &[far], true, text).expect("a hop");
        assert!(
            hop.detail.contains("other traffic may have moved it"),
            "{}",
            hop.detail
        );
        assert_eq!(judge("n", "f", &[], &[ip], true, text), None);
    }

    #[test]
    fn a_rule_that_changed_place_is_not_compared() {
        let before = snap(&[("FORWARD", 0, drop_to("10.0.0.0/8"), 1)]);
        let after = snap(&[("FORWARD", 0, drop_to("10.244.0.0/16"), 9)]);
        assert!(moved(&before, &after).is_empty());
    }
}
