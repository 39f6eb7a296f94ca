//! The Conntrack hop: find the probe's own connection in the node's conntrack table and read
//! which endpoint DNAT chose, like `conntrack -G -p tcp -s 10.244.1.5 --sport 55886 -d
//! 10.96.45.10 --dport 80` plus `conntrack -S` and `sysctl net.netfilter.nf_conntrack_count`.
//!
//! Runs in the calling thread's namespace (the node's). Decoding ([`entry`], [`stats`]) and the
//! verdict ([`verdict`]) are pure; [`crate::kernel::conntrack`] does the kernel I/O.

pub mod entry;
pub mod stats;
pub mod verdict;

use std::net::SocketAddrV4;
use std::time::Duration;

use netdiag_model::{Endpoint, Hop, Protocol};

use self::entry::{CtTuple, decode, tuple_attrs};
use self::stats::{CpuCounters, TablePressure, add_cpu_stats, parse_proc_stat, parse_sysctl};
use self::verdict::{Found, judge, original_tuple};
use crate::kernel::conntrack::{CtEvents, CtSocket};

/// The result of [`lookup`]: the hop, and the endpoint DNAT chose when the entry shows one.
#[derive(Clone, Debug, PartialEq)]
pub struct ConntrackOutcome {
    pub hop: Hop,
    pub chosen: Option<Endpoint>,
}

/// How long one ctnetlink answer may take; the kernel answers a keyed get in microseconds.
const NETLINK_TIMEOUT: Duration = Duration::from_secs(2);

/// Look up the connection `src -> dst` (the probe socket's local address and the target) in
/// the current namespace's conntrack table, and judge the table's pressure.
pub fn lookup(
    node: &str,
    protocol: Protocol,
    src: SocketAddrV4,
    dst: SocketAddrV4,
) -> ConntrackOutcome {
    lookup_watched(node, protocol, src, dst, None)
}

/// Start watching for new conntrack entries in the current namespace; call before the probe
/// connects and hand the watch to [`lookup_watched`]. `None` when events cannot be subscribed
/// to (the lookup then relies on the table alone).
pub fn watch() -> Option<CtEvents> {
    CtEvents::subscribe().ok()
}

/// How long to wait for a NEW event that is not queued yet.
const EVENT_WAIT: Duration = Duration::from_millis(50);

/// [`lookup`], falling back on the events seen by `events` when the entry has left the table:
/// [`read`], then the pure [`judge`].
pub fn lookup_watched(
    node: &str,
    protocol: Protocol,
    src: SocketAddrV4,
    dst: SocketAddrV4,
    events: Option<CtEvents>,
) -> ConntrackOutcome {
    let facts = read(protocol, src, dst, events);
    let (hop, chosen) = judge(node, protocol, src, dst, &facts.found, &facts.pressure);
    ConntrackOutcome { hop, chosen }
}

/// What the table says about one flow, and how full it is.
#[derive(Clone, Debug, PartialEq)]
pub struct ConntrackFacts {
    pub found: Found,
    pub pressure: TablePressure,
}

/// Look the flow `src -> dst` up in the calling thread's conntrack table (its NEW event in
/// `events` when the entry has gone), and read the table's fill and counters.
pub fn read(
    protocol: Protocol,
    src: SocketAddrV4,
    dst: SocketAddrV4,
    events: Option<CtEvents>,
) -> ConntrackFacts {
    let tuple = original_tuple(protocol, src, dst);
    let mut socket = CtSocket::open(NETLINK_TIMEOUT);
    let mut found = match &mut socket {
        Ok(s) => find(s, &tuple),
        Err(e) => Found::Unreadable(format!("{e} (the agent needs CAP_NET_ADMIN)")),
    };
    if found == Found::NotFound
        && let Some(mut events) = events
        && let Some(attrs) = events.find_new(EVENT_WAIT, |a| is_flow(a, &tuple))
        && let Ok(entry) = decode(&attrs)
    {
        found = Found::Gone(entry);
    }
    let pressure = pressure(socket.as_mut().ok());
    ConntrackFacts { found, pressure }
}

/// The calling thread's conntrack fill and per-CPU counters, like `sysctl
/// net.netfilter.nf_conntrack_count net.netfilter.nf_conntrack_max` and `conntrack -S`: the
/// counters over `socket` (ctnetlink), else from procfs.
pub fn pressure(socket: Option<&mut CtSocket>) -> TablePressure {
    let counters = socket
        .and_then(|s| s.cpu_stats().ok())
        .map(|cpus| {
            let mut sum = CpuCounters::default();
            for cpu in &cpus {
                add_cpu_stats(&mut sum, cpu);
            }
            sum
        })
        .or_else(proc_counters);
    TablePressure {
        count: read_sysctl("nf_conntrack_count"),
        max: read_sysctl("nf_conntrack_max"),
        ..Default::default()
    }
    .with_counters(counters)
}

/// [`pressure`] over a socket of its own: for callers that look no flow up (node inspection).
pub fn table_pressure() -> TablePressure {
    let mut socket = CtSocket::open(NETLINK_TIMEOUT).ok();
    pressure(socket.as_mut())
}

/// Whether an entry's attributes are those of the flow whose original tuple is `tuple`.
fn is_flow(
    attrs: &[netlink_packet_netfilter::conntrack::ConntrackAttribute],
    tuple: &CtTuple,
) -> bool {
    decode(attrs).is_ok_and(|e| e.original == *tuple)
}

/// A keyed get first; a filtered dump when the kernel does not take the keyed form.
fn find(socket: &mut CtSocket, tuple: &CtTuple) -> Found {
    let attrs = match socket.get(tuple_attrs(tuple)) {
        Ok(attrs) => Ok(attrs),
        // Permission problems would fail the dump too; anything else may be an old kernel.
        Err(e) if matches!(e.errno(), Some(nix::libc::EPERM | nix::libc::EACCES)) => Err(e),
        Err(_) => socket.dump_find(|a| is_flow(a, tuple)),
    };
    match attrs {
        Ok(Some(attrs)) => match decode(&attrs) {
            Ok(entry) => Found::Entry(entry),
            Err(e) => Found::Unreadable(e.to_string()),
        },
        Ok(None) => Found::NotFound,
        Err(e) => Found::Unreadable(e.to_string()),
    }
}

/// `/proc/sys/net/netfilter/NAME`: sysctl files resolve to the opening thread's namespace.
fn read_sysctl(name: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/sys/net/netfilter/{name}"))
        .ok()
        .and_then(|t| parse_sysctl(&t))
}

/// The per-CPU counters from procfs, when ctnetlink has no statistics to give. Through
/// `thread-self`, since `/proc/net` is the main thread's namespace, not necessarily ours.
fn proc_counters() -> Option<CpuCounters> {
    std::fs::read_to_string("/proc/thread-self/net/stat/nf_conntrack")
        .ok()
        .and_then(|t| parse_proc_stat(&t).ok())
}
