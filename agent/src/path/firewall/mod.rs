//! The Firewall hop: which rules the probe's own packets met, and the one that dropped them,
//! from nf_tables tracing (nftables rules and iptables-nft rules alike), the way an engineer
//! runs `nft monitor trace` with a `meta nftrace set 1` rule for one flow. [`table`] installs
//! and removes the trace table, [`crate::kernel::nftables::trace`] reads the events,
//! [`judge`] names the drop, [`rules`] fetches the rules' texts over netlink.

pub mod counters;
pub mod judge;
pub mod rules;
pub mod table;
pub mod watch;

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use netdiag_model::report::TracedRule;
use netdiag_model::{Hop, HopKind, Protocol, Reason, Verdict};

use self::rules::RuleTexts;
use self::table::TraceTable;
use crate::kernel::nftables::trace::{TraceEvent, TraceEvents};
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
    let flow = format!("{source} -> {target}/{protocol}");
    arm_flows(node, flow, &[(protocol, source)])
}

/// [`arm`] for several of the probe's sockets at once (its DNS queries), `flow` naming them in
/// the hop.
pub fn arm_flows(node: &str, flow: String, sources: &[(Protocol, SocketAddrV4)]) -> ArmedTrace {
    table::sweep();
    let table = TraceEvents::subscribe()
        .map_err(|e| e.to_string())
        .and_then(|events| {
            TraceTable::install(sources)
                .map(|t| (t, events))
                .map_err(|e| e.to_string())
        });
    ArmedTrace {
        node: node.to_string(),
        flow,
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
        let mut texts = RuleTexts::default();
        let hop = judge::judge(&self.node, &self.flow, &seen, |e| texts.of(e));
        (hop, judge::traced_rules(&seen, |e| texts.of(e)))
    }
}
