//! The Firewall hop: which rules the probe's own packets met, and the one that dropped them,
//! from nf_tables tracing (nftables rules and iptables-nft rules alike), the way an engineer
//! runs `nft monitor trace` with a `meta nftrace set 1` rule for one flow. [`table`] installs
//! and removes the trace table, [`crate::kernel::nftables::trace`] reads the events,
//! [`judge`] names the drop; this module looks up rule texts (I/O).

pub mod counters;
pub mod judge;
pub mod table;

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use netdiag_model::report::TracedRule;
use netdiag_model::{Hop, HopKind, Protocol, Reason, Verdict};

use self::judge::{RuleText, family_name, rule_in_listing};
use self::table::TraceTable;
use crate::dataplane::kube_proxy::iptables::read::IPTABLES_NFT;
use crate::dataplane::kube_proxy::nftables::read::NFT;
use crate::dataplane::netfilter::command::run;
use crate::kernel::nftables::trace::{TraceEvent, TraceEvents};

/// The tables iptables-nft keeps in family ip: their rules are shown as `iptables -S` prints them.
const IPTABLES_TABLES: [&str; 5] = ["filter", "nat", "mangle", "raw", "security"];
/// Events are queued by the time the connect returns; this bounds a busy node's stream.
const DRAIN_LIMIT: Duration = Duration::from_millis(200);

/// A trace armed for one probe: its table installed and the events subscribed, before the
/// first packet. Dropping it removes the table.
pub struct ArmedTrace {
    node: String,
    flow: String,
    table: Result<(TraceTable, TraceEvents), String>,
}

/// Arm the trace for the probe from `source` (the bound socket's address) in the calling
/// thread's namespace (the node's); also remove what killed agents left.
pub fn arm(
    node: &str,
    protocol: Protocol,
    source: SocketAddrV4,
    target: SocketAddrV4,
) -> ArmedTrace {
    table::sweep();
    let table = TraceEvents::subscribe()
        .map_err(|e| e.to_string())
        .and_then(|events| {
            TraceTable::install(protocol, *source.ip(), source.port())
                .map(|t| (t, events))
                .map_err(|e| e.to_string())
        });
    ArmedTrace {
        node: node.to_string(),
        flow: format!("{source} -> {target}/{protocol}"),
        table,
    }
}

impl ArmedTrace {
    /// After the connect: the events, the table removed, the hop and the rules met.
    pub fn finish(self) -> (Hop, Vec<TracedRule>) {
        let (table, mut events) = match self.table {
            Ok(t) => t,
            Err(e) => {
                let hop = Hop::new(
                    &self.node,
                    HopKind::Firewall,
                    self.flow,
                    Verdict::Warn,
                    format!(
                        "the probe's packets could not be traced on {}: {e}",
                        self.node
                    ),
                )
                .with_reason(Reason::TraceUnavailable);
                return (hop, Vec::new());
            }
        };
        let all = events.drain(Instant::now() + DRAIN_LIMIT);
        let seen: Vec<TraceEvent> = all.into_iter().filter(|e| e.table != table.name).collect();
        drop(table);
        let mut decided: Option<(u32, String)> = None;
        let hop = judge::judge(&self.node, &self.flow, &seen, |e| {
            let text = rule_text(e);
            if let Some(t) = &text {
                decided = Some((e.id, t.iptables.clone().unwrap_or_else(|| t.nft.clone())));
            }
            text
        });
        (hop, judge::traced_rules(&seen, decided))
    }
}

/// A traced rule's text: `nft -a list chain`, and `iptables-nft -S` for iptables-nft's tables.
fn rule_text(e: &TraceEvent) -> Option<RuleText> {
    let handle = e.handle?;
    let family = family_name(e.family);
    let listing = run(&NFT, &["-a", "list", "chain", family, &e.table, &e.chain]).ok()??;
    let (nft, index) = rule_in_listing(&String::from_utf8_lossy(&listing), handle)?;
    let iptables = (family == "ip" && IPTABLES_TABLES.contains(&e.table.as_str()))
        .then(|| {
            run(&IPTABLES_NFT, &["-w", "-t", &e.table, "-S", &e.chain])
                .ok()
                .flatten()
        })
        .flatten()
        .and_then(|out| {
            String::from_utf8_lossy(&out)
                .lines()
                .filter(|l| l.starts_with("-A "))
                .nth(index)
                .map(str::to_string)
        });
    Some(RuleText { nft, iptables })
}
