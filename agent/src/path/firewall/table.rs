//! The probe's own trace table, `table inet netdiag-trace-<unix time>-<pid>-<n>`: two chains at
//! the earliest prerouting and output hooks that set `meta nftrace` on the probe's packets only
//! (its source address and port, both directions), so `nft monitor trace`'s events describe
//! exactly this connection. It is written, deleted and listed over nf_tables netlink (one
//! transaction to install, no `nft` process). The table is removed when dropped; one an agent
//! killed by SIGKILL left behind is removed by the next agent on the node ([`sweep`]).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use netdiag_model::Protocol;

use crate::kernel::netlink::{DEFAULT_TIMEOUT, NetlinkError};
use crate::kernel::nftables::NftSocket;
use crate::kernel::nftables::write::{
    self, Expr, Hook, META_L4PROTO, META_NFPROTO, META_NFTRACE, NFPROTO_INET, Op, PAYLOAD_NETWORK,
    PAYLOAD_TRANSPORT, REG_1,
};

pub const PREFIX: &str = "netdiag-trace-";
/// Before raw (-300) and conntrack (-200): the first thing the packet meets.
const PRIORITY: i32 = -350;
/// No agent runs longer than this (plans are bounded well below): an older table is a leftover.
pub const MAX_AGE: Duration = Duration::from_secs(15 * 60);

/// An installed trace table; dropping it deletes it (over the socket that made it).
pub struct TraceTable {
    pub name: String,
    socket: NftSocket,
}

/// Why the trace table could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("a trace rule cannot match protocol {0}")]
    Protocol(&'static str),
    #[error("cannot install the trace table {name} over netlink: {source}")]
    Netlink {
        name: String,
        #[source]
        source: NetlinkError,
    },
}

/// Which of the probe's addresses a rule matches: its packets out, or the answers in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Source,
    Destination,
}

/// `meta l4proto PROTO ip saddr ADDR th sport PORT meta nftrace set 1` (or daddr/dport), as
/// `nft` compiles it for an inet table: the `meta nfproto ipv4` test is the dependency `ip
/// saddr` needs there, which `nft` leaves out when it prints the rule. Pure.
fn rule(l4proto: u8, side: Side, addr: Ipv4Addr, port: u16) -> Vec<Expr> {
    // The IPv4 header's saddr is at 12, daddr at 16; a transport header's ports at 0 and 2.
    let (addr_at, port_at) = match side {
        Side::Source => (12, 0),
        Side::Destination => (16, 2),
    };
    vec![
        write::meta_load(META_L4PROTO, REG_1),
        write::cmp_eq(REG_1, &[l4proto]),
        write::meta_load(META_NFPROTO, REG_1),
        write::cmp_eq(REG_1, &[crate::kernel::nftables::msg::NFPROTO_IPV4]),
        write::payload_load(PAYLOAD_NETWORK, addr_at, 4, REG_1),
        write::cmp_eq(REG_1, &addr.octets()),
        write::payload_load(PAYLOAD_TRANSPORT, port_at, 2, REG_1),
        write::cmp_eq(REG_1, &port.to_be_bytes()),
        write::immediate(REG_1, &[1]),
        write::meta_set(META_NFTRACE, REG_1),
    ]
}

/// The messages that install trace table `name` for the probe's `flows` (each a protocol and
/// the local address of one of its sockets): the table, chains `pre` and `out` at the
/// prerouting and output hooks, and in each a rule per flow and direction. Pure.
pub fn install_ops(
    name: &str,
    flows: &[(Protocol, SocketAddrV4)],
) -> Result<Vec<Op>, InstallError> {
    let l4protos = flows
        .iter()
        .map(|(protocol, source)| match protocol {
            Protocol::TCP => Ok((6, *source)),
            Protocol::UDP => Ok((17, *source)),
            Protocol::Unknown => Err(InstallError::Protocol(protocol.as_lower())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let chains = [("pre", Hook::Prerouting), ("out", Hook::Output)];
    let mut ops = vec![write::new_table(NFPROTO_INET, name)];
    // Chains first, then rules, as `nft -f` orders a table: the handles come out the same.
    for (chain, hook) in chains {
        ops.push(write::new_base_chain(
            NFPROTO_INET,
            name,
            chain,
            hook,
            PRIORITY,
        ));
    }
    for (chain, _) in chains {
        for (l4proto, source) in &l4protos {
            for side in [Side::Source, Side::Destination] {
                let exprs = rule(*l4proto, side, *source.ip(), source.port());
                ops.push(write::new_rule(NFPROTO_INET, name, chain, &exprs));
            }
        }
    }
    Ok(ops)
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
    /// Install the table for `flows` in the calling thread's network namespace, in one
    /// transaction.
    pub fn install(flows: &[(Protocol, SocketAddrV4)]) -> Result<TraceTable, InstallError> {
        let name = unique_name();
        let ops = install_ops(&name, flows)?;
        let failed = |source| InstallError::Netlink {
            name: name.clone(),
            source,
        };
        let mut socket = NftSocket::open(DEFAULT_TIMEOUT).map_err(failed)?;
        socket
            .commit("install the trace table (nf_tables batch)", ops)
            .map_err(failed)?;
        Ok(TraceTable { name, socket })
    }
}

/// Delete table `name` over `socket`.
fn delete(socket: &mut NftSocket, name: &str) -> Result<(), NetlinkError> {
    let op = "delete the trace table (NFT_MSG_DELTABLE)";
    socket.commit(op, vec![write::del_table(NFPROTO_INET, name)])
}

impl Drop for TraceTable {
    fn drop(&mut self) {
        // Best effort: what cannot be deleted now the next agent's sweep deletes.
        let _ = delete(&mut self.socket, &self.name);
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

/// Delete the trace tables earlier agents left in the calling thread's namespace; the names
/// deleted.
pub fn sweep() -> Vec<String> {
    let Ok(mut socket) = NftSocket::open(DEFAULT_TIMEOUT) else {
        return Vec::new();
    };
    let Ok(names) = socket.table_names(NFPROTO_INET) else {
        return Vec::new();
    };
    let now = now_secs();
    names
        .into_iter()
        .filter(|name| is_leftover(name, now, process_alive))
        // One transaction each: another agent sweeping the same table must not undo the rest.
        .filter(|name| delete(&mut socket, name).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::nftables::msg::{AttrWriter, RULE_HANDLE};
    use crate::kernel::nftables::raw_rule;

    #[test]
    fn the_table_traces_both_directions_at_both_hooks() {
        let source = Ipv4Addr::new(10, 244, 1, 2);
        let flow = [(Protocol::TCP, SocketAddrV4::new(source, 41234))];
        let Ok(ops) = install_ops("netdiag-trace-1-2-0", &flow) else {
            panic!("tcp is traceable");
        };
        let kinds: Vec<u8> = ops.iter().map(|(m, _)| m.msg).collect();
        assert_eq!(
            kinds,
            [0, 3, 3, 6, 6, 6, 6],
            "the table, its chains, their rules (as nft -f orders them)"
        );
        assert!(ops.iter().all(|(m, _)| m.family == NFPROTO_INET));
        // Read back as the rule reader reads a kernel dump (which adds the handle).
        let rules: Vec<_> = ops
            .iter()
            .filter_map(|(m, _)| {
                let mut m = m.clone();
                m.attrs = AttrWriter::raw(&m.attrs)
                    .bytes(RULE_HANDLE, &1u64.to_be_bytes())
                    .finish();
                raw_rule(&m)
            })
            .collect();
        let chains: Vec<&str> = rules.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(chains, ["pre", "pre", "out", "out"]);
        let outbound = &rules[0].1.exprs;
        let names: Vec<&str> = outbound.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "meta",
                "cmp",
                "meta",
                "cmp",
                "payload",
                "cmp",
                "payload",
                "cmp",
                "immediate",
                "meta"
            ]
        );
        assert_eq!(outbound[5].1, write::cmp_eq(REG_1, &[10, 244, 1, 2]).data);
        assert_eq!(
            outbound[4].1,
            write::payload_load(PAYLOAD_NETWORK, 12, 4, REG_1).data
        );
        let inbound = &rules[1].1.exprs;
        assert_eq!(
            inbound[4].1,
            write::payload_load(PAYLOAD_NETWORK, 16, 4, REG_1).data
        );
        assert_eq!(
            inbound[6].1,
            write::payload_load(PAYLOAD_TRANSPORT, 2, 2, REG_1).data
        );
        assert_eq!(
            inbound[7].1,
            write::cmp_eq(REG_1, &41234u16.to_be_bytes()).data
        );
        let unknown = [(Protocol::Unknown, SocketAddrV4::new(source, 1))];
        assert!(install_ops("x", &unknown).is_err());
        // A DNS query and the connect share one table: a rule per flow and direction.
        let both = [flow[0], (Protocol::UDP, SocketAddrV4::new(source, 5353))];
        let Ok(ops) = install_ops("x", &both) else {
            panic!("both are traceable");
        };
        assert_eq!(ops.iter().filter(|(m, _)| m.msg == 6).count(), 8);
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
}
