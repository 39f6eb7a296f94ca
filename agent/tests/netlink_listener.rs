//! check_listener against real sockets made inside lab namespaces.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::path::Path;

use common::{Lab, netns_path, root_or_skip};
use netdiag_agent::kernel::netns::run_in;
use netdiag_agent::path::listener::check_listener;
use netdiag_model::Reason;
use netdiag_model::report::HopDetail;
use netdiag_model::{Hop, Protocol, Verdict};

fn check_from(node: &str, ep: SocketAddrV4, protocol: Protocol) -> Option<Hop> {
    run_in(&netns_path(node), move || {
        check_listener(
            "node-b",
            ep,
            protocol,
            Path::new("/var/run/netns"),
            Path::new("/proc"),
        )
    })
    .expect("enter the node namespace")
}

fn tcp_in(ns: &str, addr: SocketAddrV4) -> TcpListener {
    run_in(&netns_path(ns), move || TcpListener::bind(addr))
        .expect("enter")
        .expect("bind tcp")
}

fn ep(ip: [u8; 4], port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::from(ip), port)
}

#[test]
fn listeners_in_the_endpoint_pod_are_found_and_their_absence_fails() {
    if !root_or_skip("listeners_in_the_endpoint_pod_are_found_and_their_absence_fails") {
        return;
    }
    let mut lab = Lab::new();
    let node = lab.node("node", "10.244.2.1");
    let other = lab.node("other", "10.244.2.1");
    let pod = lab.pod(&node, "pod", "vethaaa", "10.244.2.7/24", Some("10.244.2.1"));
    let twin = lab.pod(
        &other,
        "twin",
        "vethtwin",
        "10.244.2.7/24",
        Some("10.244.2.1"),
    );
    // Sockets keep the namespace they were made in; they live until the end of the test.
    let _tcp = tcp_in(&pod.ns, ep([10, 244, 2, 7], 8080));
    let _udp = run_in(&netns_path(&pod.ns), || UdpSocket::bind("0.0.0.0:5353"))
        .expect("enter")
        .expect("bind udp");
    // The twin on another node listens on 8081: it must not answer for this node's pod.
    let _twin_tcp = tcp_in(&twin.ns, ep([10, 244, 2, 7], 8081));
    let label = format!("/var/run/netns/{}", pod.ns);

    let hop = check_from(&node, ep([10, 244, 2, 7], 8080), Protocol::TCP).expect("a hop");
    assert_eq!(hop.verdict, Verdict::Ok, "{}", hop.detail);
    let Some(HopDetail::Listener(d)) = &hop.details else {
        panic!("no listener detail")
    };
    assert_eq!(d.bound.as_deref(), Some("10.244.2.7:8080"));
    assert_eq!(d.netns, label);

    let hop = check_from(&node, ep([10, 244, 2, 7], 8081), Protocol::TCP).expect("a hop");
    assert_eq!(
        (hop.verdict, hop.reason.clone()),
        (Verdict::Fail, Some(Reason::NothingListening))
    );
    assert_eq!(
        hop.detail,
        format!("nothing listens on 10.244.2.7:8081 in {label}")
    );

    let hop = check_from(&node, ep([10, 244, 2, 7], 5353), Protocol::UDP).expect("a hop");
    assert_eq!(hop.verdict, Verdict::Ok, "{}", hop.detail);
    let hop = check_from(&node, ep([10, 244, 2, 7], 5354), Protocol::UDP).expect("a hop");
    assert_eq!(hop.verdict, Verdict::Fail, "{}", hop.detail);
    // The TCP listener on 8080 is no UDP socket.
    let hop = check_from(&node, ep([10, 244, 2, 7], 8080), Protocol::UDP).expect("a hop");
    assert_eq!(hop.verdict, Verdict::Fail, "{}", hop.detail);
}

#[test]
fn an_endpoint_on_another_node_gives_no_hop_and_a_host_network_one_is_checked_on_the_node() {
    if !root_or_skip(
        "an_endpoint_on_another_node_gives_no_hop_and_a_host_network_one_is_checked_on_the_node",
    ) {
        return;
    }
    let mut lab = Lab::new();
    let node = lab.node("node", "10.244.2.1");
    lab.pod(&node, "pod", "vethaaa", "10.244.2.7/24", Some("10.244.2.1"));
    assert_eq!(
        check_from(&node, ep([10, 244, 9, 9], 80), Protocol::TCP),
        None
    );

    // A hostNetwork endpoint: the node's own address.
    let _host = tcp_in(&node, ep([10, 244, 2, 1], 9090));
    let hop = check_from(&node, ep([10, 244, 2, 1], 9090), Protocol::TCP).expect("a hop");
    assert_eq!(hop.verdict, Verdict::Ok, "{}", hop.detail);
    let hop = check_from(&node, ep([10, 244, 2, 1], 9091), Protocol::TCP).expect("a hop");
    assert_eq!(
        hop.detail,
        "nothing listens on 10.244.2.1:9091 in the node's network namespace"
    );
}
