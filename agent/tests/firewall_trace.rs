//! Root tests: the rule trace of the probe's own packets against the real kernel, in a
//! throwaway node namespace: the trace table is installed and removed, the events name the
//! rule that dropped the packet, and a table a killed agent left is swept.

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::time::Duration;

use netdiag_agent::kernel::netns::run_in;
use netdiag_agent::path::firewall;
use netdiag_agent::path::firewall::table::{PREFIX, TraceTable, sweep};
use netdiag_model::report::TracedRule;
use netdiag_model::{HopKind, Protocol, Reason, Verdict};
use netdiag_testkit::Fixture;

const NODE: &str = "node-a";

fn root_or_skip() -> bool {
    netdiag_testkit::root_or_skip("firewall_trace")
}

fn tables(f: &Fixture) -> String {
    f.exec(NODE, &["nft", "list", "tables"])
}

/// Connect over the node's loopback from a bound socket, with the trace armed around it.
fn traced_connect(f: &Fixture, port: u16) -> (netdiag_model::Hop, Vec<TracedRule>) {
    let path = f.netns_path(NODE);
    let result = netdiag_agent::kernel::netns::run_in(&path, move || {
        let _ = std::process::Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status();
        let listener = TcpListener::bind(("127.0.0.1", port)).ok();
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("a socket");
        socket
            .bind(&SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0).into())
            .expect("bind");
        let local = socket
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket_ipv4())
            .expect("a local address");
        let target = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
        let armed = firewall::arm(NODE, Protocol::TCP, local, target);
        let _ = socket.connect_timeout(&target.into(), Duration::from_millis(300));
        drop(listener);
        armed.finish()
    });
    result.unwrap_or_else(|e| panic!("entering the test namespace: {e}"))
}

#[test]
fn a_drop_in_a_host_firewall_table_is_named_and_the_trace_table_is_gone() {
    if !root_or_skip() {
        return;
    }
    let f = Fixture::builder("fwtr").network_only().up();
    let (hop, _) = traced_connect(&f, 18080);
    assert_eq!(hop.kind, HopKind::Firewall);
    assert_eq!(
        hop.verdict,
        Verdict::Info,
        "no rule but ours: {}",
        hop.detail
    );

    f.exec_stdin(
        NODE,
        &["nft", "-f", "-"],
        "table inet hostfw {\n chain input {\n type filter hook input priority 0; policy accept;\n tcp dport 18081 drop comment \"block the test port\"\n }\n}\n",
    );
    let (hop, rules) = traced_connect(&f, 18081);
    assert_eq!(hop.verdict, Verdict::Fail, "{}", hop.detail);
    let drop = rules
        .iter()
        .find(|r| r.verdict == "drop")
        .unwrap_or_else(|| panic!("the drop is in the rule trace: {rules:?}"));
    assert_eq!(
        (
            drop.family.as_str(),
            drop.table.as_str(),
            drop.chain.as_str()
        ),
        ("inet", "hostfw", "input")
    );
    assert_eq!(
        drop.rule.as_deref(),
        Some("tcp dport 18081 drop comment \"block the test port\"")
    );
    assert!(
        rules.iter().all(|r| !r.table.starts_with(PREFIX)),
        "our own table is left out"
    );
    assert_eq!(hop.reason, Some(Reason::DroppedByRule));
    assert!(
        hop.detail
            .contains("rule `tcp dport 18081 drop comment \"block the test port\"`")
            && hop.detail.contains("in inet hostfw input")
            && hop.detail.contains("a node firewall rule"),
        "{}",
        hop.detail
    );
    assert!(!tables(&f).contains(PREFIX), "{}", tables(&f));
}

#[test]
fn an_iptables_nft_drop_is_shown_as_iptables_prints_it() {
    if !root_or_skip() {
        return;
    }
    let f = Fixture::builder("fwip").network_only().up();
    f.exec(
        NODE,
        &[
            "iptables-nft",
            "-w",
            "-A",
            "INPUT",
            "-p",
            "tcp",
            "--dport",
            "18082",
            "-j",
            "DROP",
        ],
    );
    let (hop, _) = traced_connect(&f, 18082);
    assert_eq!(hop.reason, Some(Reason::DroppedByRule), "{}", hop.detail);
    assert!(
        hop.detail
            .starts_with("rule `-A INPUT -p tcp -m tcp --dport 18082 -j DROP`")
            && hop.detail.contains("in ip filter INPUT"),
        "{}",
        hop.detail
    );
}

#[test]
fn a_table_a_killed_agent_left_is_swept_by_the_next_one() {
    if !root_or_skip() {
        return;
    }
    let f = Fixture::builder("fwsw").network_only().up();
    // An agent whose pid is gone (pid_max is far below this) and one too old to be alive.
    let stale = [
        format!("{PREFIX}1700000000-4000000-0"),
        format!("{PREFIX}100-1-0"),
    ];
    for name in &stale {
        f.exec(NODE, &["nft", "add", "table", "inet", name]);
    }
    let mine = format!("{PREFIX}{}-{}-7", u64::MAX / 2, std::process::id());
    f.exec(NODE, &["nft", "add", "table", "inet", &mine]);
    let path = f.netns_path(NODE);
    let swept = netdiag_agent::kernel::netns::run_in(&path, sweep).expect("enter the namespace");
    assert_eq!(swept.len(), 2, "{swept:?}");
    let left = tables(&f);
    assert!(stale.iter().all(|n| !left.contains(n.as_str())), "{left}");
    assert!(left.contains(&mine), "a live agent's table stays: {left}");
}

/// The `nft -f` script the agent ran before it wrote the trace table over netlink: the
/// reference its transaction must match rule for rule.
fn nft_script(name: &str, proto: &str, source: Ipv4Addr, port: u16) -> String {
    let rules = format!(
        "meta l4proto {proto} ip saddr {source} th sport {port} meta nftrace set 1\n\
         meta l4proto {proto} ip daddr {source} th dport {port} meta nftrace set 1\n"
    );
    let mut out = format!("table inet {name} {{\n");
    for (chain, hook) in [("pre", "prerouting"), ("out", "output")] {
        out.push_str(&format!(
            "chain {chain} {{\ntype filter hook {hook} priority -350; policy accept;\n{rules}}}\n"
        ));
    }
    out.push_str("}\n");
    out
}

/// A listing with the table's name and its (namespace-wide) handle taken out; chain and rule
/// handles are the table's own and stay.
fn normalized(listing: &str, name: &str) -> String {
    let listing = listing.replace(name, "NAME");
    let mut lines = listing.lines();
    let first = lines.next().unwrap_or_default();
    let first = first.split(" # handle").next().unwrap_or_default();
    std::iter::once(first)
        .chain(lines)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_netlink_table_holds_what_the_nft_script_wrote_and_delete_and_sweep_remove_it() {
    if !root_or_skip() {
        return;
    }
    let f = Fixture::builder("fwnl").network_only().up();
    let path = f.netns_path(NODE);
    let source = Ipv4Addr::new(10, 244, 1, 2);
    for (protocol, proto) in [(Protocol::TCP, "tcp"), (Protocol::UDP, "udp")] {
        let flow = [(protocol, SocketAddrV4::new(source, 41234))];
        let table = run_in(&path, move || TraceTable::install(&flow))
            .expect("enter the namespace")
            .unwrap_or_else(|e| panic!("install over netlink: {e}"));
        let ours = f.exec(NODE, &["nft", "-a", "list", "table", "inet", &table.name]);
        assert!(
            ours.contains(&format!(
                "ip daddr 10.244.1.2 {proto} dport 41234 meta nftrace set 1"
            )),
            "{ours}"
        );
        f.exec_stdin(
            NODE,
            &["nft", "-f", "-"],
            &nft_script("reference", proto, source, 41234),
        );
        let theirs = f.exec(NODE, &["nft", "-a", "list", "table", "inet", "reference"]);
        assert_eq!(
            normalized(&ours, &table.name),
            normalized(&theirs, "reference")
        );
        f.exec(NODE, &["nft", "delete", "table", "inet", "reference"]);
        let name = table.name.clone();
        drop(table);
        assert!(!tables(&f).contains(&name), "deleted: {}", tables(&f));
    }
    // A full table (chains and rules) a dead agent left is swept like an empty one.
    let stale = format!("{PREFIX}100-1-0");
    f.exec_stdin(
        NODE,
        &["nft", "-f", "-"],
        &nft_script(&stale, "tcp", source, 1),
    );
    let swept = run_in(&path, sweep).expect("enter the namespace");
    assert_eq!(swept, [stale]);
    assert!(!tables(&f).contains(PREFIX), "{}", tables(&f));
}
