//! check_listener against real sockets made inside lab namespaces (network-only testkit
//! fixtures of the default lab: node-b, its pod echo-2 at 10.244.2.2, cni0 at 10.244.2.1).

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::path::Path;

use netdiag_agent::kernel::netns::run_in;
use netdiag_agent::path::listener::check_listener;
use netdiag_model::Reason;
use netdiag_model::report::HopDetail;
use netdiag_model::{Hop, Protocol, Verdict};
use netdiag_testkit::{Fixture, root_or_skip};

fn check_from(node: &Path, ep: SocketAddrV4, protocol: Protocol) -> Option<Hop> {
    run_in(node, move || {
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

fn tcp_in(ns: &Path, addr: SocketAddrV4) -> TcpListener {
    run_in(ns, move || TcpListener::bind(addr))
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
    // A second lab is another cluster's node-b, with a twin echo-2 at the same address.
    let lab = Fixture::builder("lis").network_only().up();
    let twin = Fixture::builder("twin").network_only().up();
    let node = lab.netns_path("node-b");
    let pod = lab.netns_path("echo-2");
    // Sockets keep the namespace they were made in; they live until the end of the test.
    let _tcp = tcp_in(&pod, ep([10, 244, 2, 2], 8080));
    let _udp = run_in(&pod, || UdpSocket::bind("0.0.0.0:5353"))
        .expect("enter")
        .expect("bind udp");
    // The twin on another node listens on 8081: it must not answer for this node's pod.
    let _twin_tcp = tcp_in(&twin.netns_path("echo-2"), ep([10, 244, 2, 2], 8081));
    let label = pod.display().to_string();

    let hop = check_from(&node, ep([10, 244, 2, 2], 8080), Protocol::TCP).expect("a hop");
    assert_eq!(hop.verdict, Verdict::Ok, "{}", hop.detail);
    let Some(HopDetail::Listener(d)) = &hop.details else {
        panic!("no listener detail")
    };
    assert_eq!(
        d.bound.map(|b| b.to_string()).as_deref(),
        Some("10.244.2.2:8080")
    );
    assert_eq!(d.netns, label);

    let hop = check_from(&node, ep([10, 244, 2, 2], 8081), Protocol::TCP).expect("a hop");
    assert_eq!(
        (hop.verdict, hop.reason.clone()),
        (Verdict::Fail, Some(Reason::NothingListening))
    );
    assert_eq!(
        hop.detail,
        format!("nothing listens on 10.244.2.2:8081 in {label}")
    );

    let hop = check_from(&node, ep([10, 244, 2, 2], 5353), Protocol::UDP).expect("a hop");
    assert_eq!(hop.verdict, Verdict::Ok, "{}", hop.detail);
    let hop = check_from(&node, ep([10, 244, 2, 2], 5354), Protocol::UDP).expect("a hop");
    assert_eq!(hop.verdict, Verdict::Fail, "{}", hop.detail);
    // The TCP listener on 8080 is no UDP socket.
    let hop = check_from(&node, ep([10, 244, 2, 2], 8080), Protocol::UDP).expect("a hop");
    assert_eq!(hop.verdict, Verdict::Fail, "{}", hop.detail);
}

#[test]
fn an_endpoint_on_another_node_gives_no_hop_and_the_nodes_own_sockets_are_never_listed() {
    if !root_or_skip(
        "an_endpoint_on_another_node_gives_no_hop_and_the_nodes_own_sockets_are_never_listed",
    ) {
        return;
    }
    let lab = Fixture::builder("lis").network_only().up();
    let node = lab.netns_path("node-b");
    assert_eq!(
        check_from(&node, ep([10, 244, 9, 9], 80), Protocol::TCP),
        None
    );

    // The node's own address (a hostNetwork endpoint): a probe must not map what listens on
    // a node, so listening or not, the hop says the same and names no socket.
    let _host = tcp_in(&node, ep([10, 244, 2, 1], 9090));
    let listening = check_from(&node, ep([10, 244, 2, 1], 9090), Protocol::TCP).expect("a hop");
    let silent = check_from(&node, ep([10, 244, 2, 1], 9091), Protocol::TCP).expect("a hop");
    assert_eq!(listening.verdict, Verdict::Info, "{}", listening.detail);
    assert_eq!(listening.details, None);
    assert_eq!(
        listening.detail.replace("9090", "PORT"),
        silent.detail.replace("9091", "PORT")
    );
    assert!(
        listening.detail.contains("never the node's"),
        "{}",
        listening.detail
    );
}
