//! node_settings against a real node namespace (the default lab's node-a, network only): the
//! values come from /proc/sys as seen by a thread inside the namespace, not the machine's.

use std::net::Ipv4Addr;
use std::path::Path;

use netdiag_agent::kernel::netns::run_in;
use netdiag_agent::path::node_settings::{
    Ingress, SettingsInput, node_settings, node_settings_with_ingress,
};
use netdiag_model::Reason;
use netdiag_model::{Hop, Verdict};
use netdiag_testkit::{Fixture, root_or_skip};

/// Write a sysctl inside `node`; false when the file is absent there.
fn set(node: &Path, rel: &str, value: &str) -> bool {
    let rel = rel.to_string();
    let value = value.to_string();
    run_in(node, move || {
        std::fs::write(Path::new("/proc/sys").join(&rel), value).is_ok()
    })
    .expect("enter the node namespace")
}

fn settings_in(node: &Path, input: SettingsInput, ingress: Vec<Ingress>) -> Hop {
    run_in(node, move || {
        if ingress.is_empty() {
            node_settings("node-a", &input)
        } else {
            node_settings_with_ingress("node-a", &input, &ingress)
        }
    })
    .expect("enter the node namespace")
}

/// node-a of the default lab: cni0 with the curl pod 10.244.1.2, eth0 172.18.0.2 to node-b.
fn lab() -> Fixture {
    Fixture::builder("set").network_only().up()
}

fn cross_node() -> SettingsInput {
    SettingsInput {
        source_bridge: Some("cni0".into()),
        egress_devices: vec!["eth0".into()],
        endpoint_on_source_bridge: false,
        is_service: true,
    }
}

#[test]
fn ip_forward_is_read_in_the_node_namespace_and_judged() {
    if !root_or_skip("ip_forward_is_read_in_the_node_namespace_and_judged") {
        return;
    }
    let lab = lab();
    let a = lab.netns_path("node-a");
    assert!(set(&a, "net/ipv4/ip_forward", "0"));
    let hop = settings_in(&a, cross_node(), vec![]);
    assert_eq!(
        (hop.verdict, hop.reason.clone()),
        (Verdict::Fail, Some(Reason::IpForwardDisabled))
    );
    assert_eq!(
        hop.detail,
        "net.ipv4.ip_forward=0 on node-a: the node drops pod traffic it must route (to Services and to other nodes)"
    );
    assert!(set(&a, "net/ipv4/ip_forward", "1"));
    let hop = settings_in(&a, cross_node(), vec![]);
    assert_eq!(hop.verdict, Verdict::Ok, "{}", hop.detail);
    assert!(
        hop.detail.contains("net.ipv4.ip_forward=1"),
        "{}",
        hop.detail
    );
}

#[test]
fn bridge_netfilter_off_fails_a_service_with_an_endpoint_on_the_same_bridge() {
    if !root_or_skip("bridge_netfilter_off_fails_a_service_with_an_endpoint_on_the_same_bridge") {
        return;
    }
    let lab = lab();
    let a = lab.netns_path("node-a");
    assert!(set(&a, "net/ipv4/ip_forward", "1"));
    // Off, or absent when br_netfilter is not loaded: the same failure either way.
    let present = set(&a, "net/bridge/bridge-nf-call-iptables", "0");
    let same_bridge = SettingsInput {
        source_bridge: Some("cni0".into()),
        egress_devices: vec!["cni0".into()],
        endpoint_on_source_bridge: true,
        is_service: true,
    };
    let hop = settings_in(&a, same_bridge.clone(), vec![]);
    assert_eq!(
        (hop.verdict, hop.reason.clone()),
        (Verdict::Fail, Some(Reason::BridgeNetfilterDisabled))
    );
    assert!(
        hop.detail.contains("skip kube-proxy's un-DNAT"),
        "{}",
        hop.detail
    );
    if present {
        assert!(set(&a, "net/bridge/bridge-nf-call-iptables", "1"));
        let hop = settings_in(&a, same_bridge, vec![]);
        assert_eq!(hop.verdict, Verdict::Ok, "{}", hop.detail);
    }
}

#[test]
fn strict_rp_filter_warns_when_the_route_back_to_the_source_leaves_elsewhere() {
    if !root_or_skip("strict_rp_filter_warns_when_the_route_back_to_the_source_leaves_elsewhere") {
        return;
    }
    let lab = lab();
    let a = lab.netns_path("node-a");
    assert!(set(&a, "net/ipv4/ip_forward", "1"));
    let _ = set(&a, "net/bridge/bridge-nf-call-iptables", "1");
    assert!(set(&a, "net/ipv4/conf/all/rp_filter", "1"));
    let from_pod = vec![Ingress {
        source: Ipv4Addr::new(10, 244, 1, 2),
        ingress: "cni0".into(),
    }];

    let hop = settings_in(&a, cross_node(), from_pod.clone());
    assert_eq!(hop.verdict, Verdict::Ok, "symmetric: {}", hop.detail);

    // A more specific route sends replies to the pod out by eth0, the node's uplink.
    lab.exec(
        "node-a",
        &[
            "ip",
            "route",
            "add",
            "10.244.1.2/32",
            "via",
            "172.18.0.3",
            "dev",
            "eth0",
        ],
    );
    let hop = settings_in(&a, cross_node(), from_pod.clone());
    assert_eq!(
        (hop.verdict, hop.reason.clone()),
        (Verdict::Warn, Some(Reason::StrictRpFilter))
    );
    assert!(
        hop.detail.contains("the route back leaves by eth0"),
        "{}",
        hop.detail
    );

    // Loose mode accepts it.
    assert!(set(&a, "net/ipv4/conf/all/rp_filter", "2"));
    let hop = settings_in(&a, cross_node(), from_pod);
    assert_eq!(hop.verdict, Verdict::Ok, "{}", hop.detail);
}
