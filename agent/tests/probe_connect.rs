//! The Connect probe against a real mini data plane: a client pod reaching a "VIP" that the
//! node DNATs to a server pod, refused and silent targets. Needs root.

mod probe_common;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use netdiag_agent::path::connect::connect;
use netdiag_model::Reason;
use netdiag_model::{HopDetail, Protocol, Verdict};
use probe_common::{Lab, root_or_skip};

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 244, 1, 2);
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 244, 1, 3);

#[test]
fn tcp_to_a_dnatted_vip_connects_and_reports_the_local_port() {
    if !root_or_skip("tcp_to_a_dnatted_vip_connects_and_reports_the_local_port") {
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
    assert_eq!(*local.ip(), CLIENT);
    assert_ne!(local.port(), 0);
    let Some(HopDetail::Connect(d)) = &out.hop.details else {
        panic!("no detail")
    };
    assert!(d.ok);
    assert!(d.latency_ms.is_some_and(|ms| (0.0..2000.0).contains(&ms)));
    assert_eq!(d.local.map(|l| l.to_string()), Some(local.to_string()));
}

#[test]
fn a_port_nobody_listens_on_is_refused() {
    if !root_or_skip("a_port_nobody_listens_on_is_refused") {
        return;
    }
    let lab = Lab::new(&[CLIENT, SERVER]);
    let client = lab.pod(0);
    let vip = SocketAddrV4::new(Ipv4Addr::new(10, 96, 0, 50), 80);
    lab.dnat(vip, "tcp", SocketAddrV4::new(SERVER, 8081));

    let out = connect(
        "node-a",
        &client,
        vip,
        Protocol::TCP,
        Duration::from_secs(2),
    );
    assert_eq!(out.hop.verdict, Verdict::Fail);
    assert_eq!(out.hop.reason.clone(), Some(Reason::ConnectionRefused));
    assert!(
        out.hop
            .detail
            .starts_with("connection to 10.96.0.50:80/tcp refused"),
        "{}",
        out.hop.detail
    );
    assert!(
        out.local.is_some(),
        "the refused socket's local address is kept for conntrack"
    );
}

#[test]
fn a_dnat_to_a_black_hole_times_out() {
    if !root_or_skip("a_dnat_to_a_black_hole_times_out") {
        return;
    }
    let lab = Lab::new(&[CLIENT]);
    let client = lab.pod(0);
    // 10.244.9.9 exists nowhere; the node drops packets to it silently.
    lab.node
        .exec(&["ip", "route", "add", "blackhole", "10.244.9.9/32"]);
    let vip = SocketAddrV4::new(Ipv4Addr::new(10, 96, 0, 51), 80);
    lab.dnat(
        vip,
        "tcp",
        SocketAddrV4::new(Ipv4Addr::new(10, 244, 9, 9), 8080),
    );

    let out = connect(
        "node-a",
        &client,
        vip,
        Protocol::TCP,
        Duration::from_millis(300),
    );
    assert_eq!(out.hop.verdict, Verdict::Fail, "{}", out.hop.detail);
    assert_eq!(out.hop.reason.clone(), Some(Reason::ConnectTimeout));
    assert!(
        out.hop
            .detail
            .starts_with("no answer from 10.96.0.51:80/tcp within 300ms"),
        "{}",
        out.hop.detail
    );
}

#[test]
fn an_unreachable_route_in_the_pod_is_host_unreachable() {
    if !root_or_skip("an_unreachable_route_in_the_pod_is_host_unreachable") {
        return;
    }
    let lab = Lab::new(&[CLIENT]);
    let client = lab.pod(0);
    lab.pods[0].exec(&["ip", "route", "add", "unreachable", "10.96.0.52/32"]);
    let target = SocketAddrV4::new(Ipv4Addr::new(10, 96, 0, 52), 80);
    let out = connect(
        "node-a",
        &client,
        target,
        Protocol::TCP,
        Duration::from_secs(1),
    );
    assert_eq!(
        out.hop.reason.clone(),
        Some(Reason::HostUnreachable),
        "{}",
        out.hop.detail
    );
}

#[test]
fn udp_to_a_closed_port_is_refused_and_to_a_silent_one_is_a_warning() {
    if !root_or_skip("udp_to_a_closed_port_is_refused_and_to_a_silent_one_is_a_warning") {
        return;
    }
    let lab = Lab::new(&[CLIENT, SERVER]);
    let client = lab.pod(0);
    // The server pod answers a datagram to a closed port with ICMP port unreachable.
    let closed = SocketAddrV4::new(SERVER, 9999);
    let out = connect(
        "node-a",
        &client,
        closed,
        Protocol::UDP,
        Duration::from_secs(1),
    );
    assert_eq!(
        out.hop.reason.clone(),
        Some(Reason::ConnectionRefused),
        "{}",
        out.hop.detail
    );

    // A bound socket that never replies.
    let quiet = SocketAddrV4::new(SERVER, 9998);
    let _socket = netdiag_agent::kernel::netns::run_in(&lab.pods[1].path(), move || {
        std::net::UdpSocket::bind(quiet)
    })
    .expect("enter server pod")
    .expect("bind quiet socket");
    let out = connect(
        "node-a",
        &client,
        quiet,
        Protocol::UDP,
        Duration::from_millis(200),
    );
    assert_eq!(out.hop.verdict, Verdict::Warn, "{}", out.hop.detail);
    assert_eq!(out.hop.reason.clone(), Some(Reason::NoUdpReply));
}
