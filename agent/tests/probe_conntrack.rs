//! The Conntrack probe against a real mini data plane: connect from a client pod to a VIP the
//! node DNATs, then read the node namespace's conntrack for that very connection. Needs root.

mod probe_common;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use netdiag_agent::kernel::conntrack::CtSocket;
use netdiag_agent::kernel::netns::run_in;
use netdiag_agent::path::connect::connect;
use netdiag_agent::path::conntrack::entry::decode;
use netdiag_agent::path::conntrack::lookup;
use netdiag_agent::path::conntrack::verdict::original_tuple;
use netdiag_model::Reason;
use netdiag_model::{Endpoint, HopDetail, HopKind, Protocol, Verdict};
use probe_common::{Lab, root_or_skip};

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 244, 1, 2);
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 244, 1, 3);

#[test]
fn conntrack_names_the_endpoint_dnat_chose_for_the_probe_connection() {
    if !root_or_skip("conntrack_names_the_endpoint_dnat_chose_for_the_probe_connection") {
        return;
    }
    let mut lab = Lab::new(&[CLIENT, SERVER]);
    let client = lab.pod(0);
    lab.tcp_server(1, SocketAddrV4::new(SERVER, 8080));
    let vip = SocketAddrV4::new(Ipv4Addr::new(10, 96, 0, 50), 80);
    lab.dnat(vip, "tcp", SocketAddrV4::new(SERVER, 8080));

    let out = connect(
        "node-a",
        &client,
        vip,
        Protocol::TCP,
        Duration::from_secs(2),
    );
    assert_eq!(out.hop.verdict, Verdict::Ok, "{}", out.hop.detail);
    let local = out.local.expect("local address");

    let ct = run_in(&lab.node.path(), move || {
        lookup("node-a", Protocol::TCP, local, vip)
    })
    .expect("enter node");
    assert_eq!(
        ct.chosen,
        Some(Endpoint {
            ip: SERVER,
            port: 8080
        }),
        "{}",
        ct.hop.detail
    );
    assert_eq!(ct.hop.kind, HopKind::Conntrack);
    assert_eq!(ct.hop.name, format!("{local} -> 10.96.0.50:80/tcp"));
    let Some(HopDetail::Conntrack(d)) = &ct.hop.details else {
        panic!("no detail")
    };
    let original = d.original.as_ref().expect("original tuple");
    assert_eq!(
        (original.src.to_string().as_str(), original.sport),
        ("10.244.1.2", local.port())
    );
    assert_eq!(
        (original.dst.to_string().as_str(), original.dport),
        ("10.96.0.50", 80)
    );
    let reply = d.reply.as_ref().expect("reply tuple");
    assert_eq!(
        (reply.src.to_string().as_str(), reply.sport),
        ("10.244.1.3", 8080)
    );
    assert!(d.flags.iter().any(|f| f == "SEEN_REPLY"), "{:?}", d.flags);
    assert!(d.flags.iter().any(|f| f == "DST_NAT"), "{:?}", d.flags);
    assert!(d.state.is_some(), "a TCP entry has a state");
    assert!(
        d.count.is_some_and(|c| c >= 1),
        "the table counts at least our entry: {:?}",
        d.count
    );
    assert!(d.max.is_some());
    assert!(d.drop.is_some(), "per-CPU counters are read");
    assert_eq!(ct.hop.verdict, Verdict::Ok, "{}", ct.hop.detail);

    // The fallback paths read the same facts: a filtered dump, and ctnetlink's per-CPU stats.
    let (by_dump, stats) = run_in(&lab.node.path(), move || {
        let mut s = CtSocket::open(Duration::from_secs(2)).expect("ctnetlink socket");
        let tuple = original_tuple(Protocol::TCP, local, vip);
        (
            s.dump_find(|a| decode(a).is_ok_and(|e| e.original == tuple))
                .map(|a| a.map(|a| decode(&a))),
            s.cpu_stats().map(|_| ()),
        )
    })
    .expect("enter node");
    let entry = by_dump
        .expect("dump")
        .expect("entry in dump")
        .expect("decodes");
    assert_eq!(entry.dnat_target(), Some(SocketAddrV4::new(SERVER, 8080)));
    stats.expect("IPCTNL_MSG_CT_GET_STATS_CPU answers");
}

#[test]
fn a_connection_to_a_silent_endpoint_shows_the_chosen_endpoint_never_answered() {
    if !root_or_skip("a_connection_to_a_silent_endpoint_shows_the_chosen_endpoint_never_answered") {
        return;
    }
    let lab = Lab::new(&[CLIENT, SERVER]);
    let client = lab.pod(0);
    // The endpoint drops everything to its port, like a NetworkPolicy would.
    lab.pods[1].exec(&[
        "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "8080", "-j", "DROP",
    ]);
    let vip = SocketAddrV4::new(Ipv4Addr::new(10, 96, 0, 51), 80);
    lab.dnat(vip, "tcp", SocketAddrV4::new(SERVER, 8080));

    let out = connect(
        "node-a",
        &client,
        vip,
        Protocol::TCP,
        Duration::from_millis(300),
    );
    assert_eq!(
        out.hop.reason.clone(),
        Some(Reason::ConnectTimeout),
        "{}",
        out.hop.detail
    );
    let local = out
        .local
        .expect("a timed-out socket keeps its local address");

    let ct = run_in(&lab.node.path(), move || {
        lookup("node-a", Protocol::TCP, local, vip)
    })
    .expect("enter node");
    assert_eq!(
        ct.chosen.as_ref().map(|e| e.to_string()).as_deref(),
        Some("10.244.1.3:8080")
    );
    assert_eq!(ct.hop.verdict, Verdict::Warn);
    assert_eq!(
        ct.hop.reason.clone(),
        Some(Reason::ConntrackUnreplied),
        "{}",
        ct.hop.detail
    );
    assert!(ct.hop.detail.contains("SYN_SENT"), "{}", ct.hop.detail);
}

#[test]
fn a_connection_the_node_never_saw_has_no_entry() {
    if !root_or_skip("a_connection_the_node_never_saw_has_no_entry") {
        return;
    }
    let lab = Lab::new(&[]);
    // Tracking is on in the node (a nat rule registers the hooks) but nothing was sent.
    let vip = SocketAddrV4::new(Ipv4Addr::new(10, 96, 0, 50), 80);
    lab.dnat(vip, "tcp", SocketAddrV4::new(SERVER, 8080));
    let src = SocketAddrV4::new(CLIENT, 40000);
    let ct = run_in(&lab.node.path(), move || {
        lookup("node-a", Protocol::TCP, src, vip)
    })
    .expect("enter node");
    assert_eq!(ct.hop.verdict, Verdict::Warn);
    assert_eq!(
        ct.hop.reason.clone(),
        Some(Reason::NoConntrackEntry),
        "{}",
        ct.hop.detail
    );
    assert_eq!(ct.chosen, None);
}
