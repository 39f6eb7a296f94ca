//! The probe's own trace table, `table inet netdiag-trace-<unix time>-<pid>-<n>`: two chains at
//! the earliest prerouting and output hooks that set `meta nftrace` on the probe's packets only
//! (its source address and port, both directions), so `nft monitor trace`'s events describe
//! exactly this connection. The table is removed when dropped; one an agent killed by SIGKILL
//! left behind is removed by the next agent on the node ([`sweep`]).

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use netdiag_model::Protocol;

use crate::dataplane::kube_proxy::nftables::read::NFT;
use crate::dataplane::netfilter::command::{CommandError, run, run_input};

pub const PREFIX: &str = "netdiag-trace-";
/// Before raw (-300) and conntrack (-200): the first thing the packet meets.
const PRIORITY: i32 = -350;
/// No agent runs longer than this (plans are bounded well below): an older table is a leftover.
pub const MAX_AGE: Duration = Duration::from_secs(15 * 60);

/// An installed trace table; dropping it deletes it.
pub struct TraceTable {
    pub name: String,
}

/// The `nft -f` script of a trace table for the probe from `source`:`port`. Pure.
pub fn script(name: &str, protocol: Protocol, source: Ipv4Addr, port: u16) -> String {
    let proto = protocol.as_lower();
    let rules = format!(
        "meta l4proto {proto} ip saddr {source} th sport {port} meta nftrace set 1\n\
         meta l4proto {proto} ip daddr {source} th dport {port} meta nftrace set 1\n"
    );
    let mut out = format!("table inet {name} {{\n");
    for (chain, hook) in [("pre", "prerouting"), ("out", "output")] {
        out.push_str(&format!(
            "chain {chain} {{\ntype filter hook {hook} priority {PRIORITY}; policy accept;\n{rules}}}\n"
        ));
    }
    out.push_str("}\n");
    out
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A name no other agent on the node uses.
fn unique_name() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    format!("{PREFIX}{}-{}-{n}", now_secs(), std::process::id())
}

impl TraceTable {
    /// Install the table in the calling thread's network namespace.
    pub fn install(
        protocol: Protocol,
        source: Ipv4Addr,
        port: u16,
    ) -> Result<TraceTable, CommandError> {
        let name = unique_name();
        let text = script(&name, protocol, source, port);
        run_input(&NFT, &["-f", "-"], Some(text.as_bytes()))?;
        Ok(TraceTable { name })
    }
}

impl Drop for TraceTable {
    fn drop(&mut self) {
        // Best effort: what cannot be deleted now the next agent's sweep deletes.
        let _ = run(&NFT, &["delete", "table", "inet", &self.name]);
    }
}

/// Whether a trace table named `name` is a leftover at `now` (seconds): older than
/// [`MAX_AGE`], or made by an agent process that is gone (`alive` says). Pure.
pub fn is_leftover(name: &str, now: u64, alive: impl Fn(u32) -> bool) -> bool {
    let Some(rest) = name.strip_prefix(PREFIX) else {
        return false;
    };
    let mut parts = rest.split('-');
    let (Some(Ok(made)), Some(Ok(pid))) = (
        parts.next().map(str::parse::<u64>),
        parts.next().map(str::parse::<u32>),
    ) else {
        // Not one of ours after all: leave it.
        return false;
    };
    now.saturating_sub(made) > MAX_AGE.as_secs() || !alive(pid)
}

fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The `netdiag-trace-*` tables in an `nft -j list tables` listing. Pure.
pub fn trace_tables(json: &[u8]) -> Vec<String> {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(json) else {
        return Vec::new();
    };
    doc.get("nftables")
        .and_then(|v| v.as_array())
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.get("table"))
                .filter(|t| t.get("family").and_then(|f| f.as_str()) == Some("inet"))
                .filter_map(|t| t.get("name").and_then(|n| n.as_str()))
                .filter(|n| n.starts_with(PREFIX))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Delete the trace tables earlier agents left in the calling thread's namespace; the names
/// deleted.
pub fn sweep() -> Vec<String> {
    let Ok(Some(json)) = run(&NFT, &["-j", "list", "tables"]) else {
        return Vec::new();
    };
    let now = now_secs();
    trace_tables(&json)
        .into_iter()
        .filter(|name| is_leftover(name, now, process_alive))
        .filter(|name| run(&NFT, &["delete", "table", "inet", name]).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_traces_both_directions_at_both_hooks() {
        let s = script(
            "netdiag-trace-1-2-0",
            Protocol::TCP,
            Ipv4Addr::new(10, 244, 1, 2),
            41234,
        );
        assert!(s.starts_with("table inet netdiag-trace-1-2-0 {\n"));
        assert_eq!(s.matches("priority -350").count(), 2);
        assert_eq!(
            s.matches("meta l4proto tcp ip saddr 10.244.1.2 th sport 41234 meta nftrace set 1")
                .count(),
            2
        );
        assert_eq!(s.matches("ip daddr 10.244.1.2 th dport 41234").count(), 2);
    }

    #[test]
    fn leftovers_are_old_or_orphaned_tables_of_ours() {
        let alive = |pid| pid == 42;
        assert!(!is_leftover("netdiag-trace-1000-42-0", 1000 + 60, alive));
        assert!(
            is_leftover("netdiag-trace-1000-43-0", 1000 + 60, alive),
            "its agent is gone"
        );
        assert!(
            is_leftover("netdiag-trace-1000-42-0", 1000 + 901, alive),
            "too old"
        );
        assert!(!is_leftover("netdiag-trace-x-y", 5000, alive));
        assert!(!is_leftover("firewalld", 5000, alive));
    }

    #[test]
    fn only_inet_trace_tables_are_listed() {
        let json =
            br#"{"nftables": [{"metainfo": {}}, {"table": {"family": "ip", "name": "filter"}},
            {"table": {"family": "inet", "name": "netdiag-trace-1-2-0"}},
            {"table": {"family": "ip", "name": "netdiag-trace-9-9-9"}}]}"#;
        assert_eq!(trace_tables(json), ["netdiag-trace-1-2-0"]);
        assert!(trace_tables(b"garbage").is_empty());
    }
}
