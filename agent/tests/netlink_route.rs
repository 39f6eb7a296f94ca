//! route_to against a real node namespace (the default lab's node-a, network only): local
//! bridge, via another node, and the ways a route can be missing.

use std::net::Ipv4Addr;
use std::path::Path;

use netdiag_agent::kernel::netns::run_in;
use netdiag_agent::kernel::rtnl::{RouteInfo, RouteKind};
use netdiag_agent::path::route::route_to;
use netdiag_model::Reason;
use netdiag_model::report::HopDetail;
use netdiag_model::{Hop, Verdict};
use netdiag_testkit::{Fixture, root_or_skip};

fn route_from(node: &Path, dst: [u8; 4]) -> (Hop, Option<RouteInfo>) {
    run_in(node, move || route_to("node-a", Ipv4Addr::from(dst))).expect("enter the node namespace")
}

#[test]
fn routes_to_local_and_remote_pods_are_followed_and_missing_ones_fail() {
    if !root_or_skip("routes_to_local_and_remote_pods_are_followed_and_missing_ones_fail") {
        return;
    }
    // node-a: pods on cni0 (10.244.1.1/24), eth0 172.18.0.2 to node-b, whose pod CIDR
    // 10.244.2.0/24 it routes via 172.18.0.3, as the lab builds it.
    let lab = Fixture::builder("rt").network_only().up();
    for kind in [
        "blackhole 10.244.4.0/24",
        "unreachable 10.244.5.0/24",
        "prohibit 10.244.6.0/24",
    ] {
        let mut argv = vec!["ip", "route", "add"];
        argv.extend(kind.split(' '));
        lab.exec("node-a", &argv);
    }
    let a = lab.netns_path("node-a");

    let (hop, info) = route_from(&a, [10, 244, 1, 2]);
    assert_eq!(
        (hop.verdict, hop.detail.as_str()),
        (Verdict::Ok, "local bridge cni0 src 10.244.1.1")
    );
    assert_eq!(info.and_then(|i| i.device).as_deref(), Some("cni0"));

    let (hop, info) = route_from(&a, [10, 244, 2, 7]);
    assert_eq!(hop.verdict, Verdict::Ok);
    assert_eq!(hop.detail, "via 172.18.0.3 dev eth0 (veth) src 172.18.0.2");
    let info = info.expect("route info");
    assert_eq!(info.gateway, Some(Ipv4Addr::new(172, 18, 0, 3)));
    assert_eq!(info.device.as_deref(), Some("eth0"));

    let (hop, info) = route_from(&a, [10, 244, 1, 1]);
    assert_eq!(hop.verdict, Verdict::Ok);
    assert_eq!(info.map(|i| i.kind), Some(RouteKind::Local));

    let (hop, info) = route_from(&a, [10, 244, 3, 7]);
    assert_eq!(
        (hop.verdict, hop.reason.clone()),
        (Verdict::Fail, Some(Reason::NoRoute))
    );
    assert_eq!(
        hop.detail,
        "node-a has no route to 10.244.3.7 (the route to the pod CIDR 10.244.3.0/24 of the other node is missing?)"
    );
    assert_eq!(info.map(|i| i.kind), Some(RouteKind::NoRoute));

    for (dst, kind) in [
        ([10, 244, 4, 7], "blackhole"),
        ([10, 244, 5, 7], "unreachable"),
        ([10, 244, 6, 7], "prohibit"),
    ] {
        let (hop, _) = route_from(&a, dst);
        assert_eq!(
            (hop.verdict, hop.reason.clone()),
            (Verdict::Fail, Some(Reason::NoRoute)),
            "{kind}"
        );
        let Some(HopDetail::Route(d)) = &hop.details else {
            panic!("no route detail")
        };
        assert_eq!(d.route_type, kind);
    }
}
