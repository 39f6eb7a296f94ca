//! trace_pod against real namespaces: eth0, its veth peer on the node, the bridge. Bridged
//! pods are the default lab's curl pod (a network-only testkit fixture); the routed pod, which
//! a lab spec cannot express yet, comes from the `routed_pod` harness.

mod routed_pod;

use std::net::Ipv4Addr;
use std::path::Path;

use netdiag_agent::kernel::netns::discover::find_pod_netns;
use netdiag_agent::kernel::netns::run_in;
use netdiag_agent::path::{PodPath, trace_pod};
use netdiag_model::Reason;
use netdiag_model::report::HopDetail;
use netdiag_model::{HopKind, Verdict};
use netdiag_testkit::{Fixture, root_or_skip};

/// The default lab's curl pod on node-a, behind cni0 (10.244.1.1/24).
const CURL: Ipv4Addr = Ipv4Addr::new(10, 244, 1, 2);

/// Find the pod and trace it from a thread inside `node`, as the agent does on a node.
fn trace_from(node: &Path, ip: Ipv4Addr) -> PodPath {
    let node = node.to_path_buf();
    run_in(&node, move || {
        let ns = find_pod_netns(ip, Path::new("/var/run/netns"), Path::new("/proc"))
            .unwrap_or_else(|e| panic!("{e}"));
        trace_pod("node-a", &ns, Path::new("/proc"))
    })
    .expect("enter the node namespace")
}

fn kinds_and_verdicts(p: &PodPath) -> Vec<(HopKind, Verdict, Option<Reason>)> {
    p.hops
        .iter()
        .map(|h| (h.kind.clone(), h.verdict, h.reason.clone()))
        .collect()
}

#[test]
fn a_healthy_bridged_pod_is_traced_to_its_bridge_with_its_resolv_conf() {
    if !root_or_skip("a_healthy_bridged_pod_is_traced_to_its_bridge_with_its_resolv_conf") {
        return;
    }
    // The lab writes the pod's resolv.conf as kubelet would (nodelocaldns, three searches).
    let mut lab = Fixture::builder("pod").network_only().up();
    lab.pause("curl");
    // What the pod's ARP cache holds for its gateway once it has talked to it.
    lab.exec(
        "curl",
        &[
            "ip",
            "neigh",
            "replace",
            "10.244.1.1",
            "lladdr",
            "aa:bb:cc:00:00:01",
            "dev",
            "eth0",
            "nud",
            "permanent",
        ],
    );

    let path = trace_from(&lab.netns_path("node-a"), CURL);
    assert_eq!(
        kinds_and_verdicts(&path),
        vec![
            (HopKind::PodInterface, Verdict::Ok, None),
            (HopKind::HostVeth, Verdict::Ok, None),
            (HopKind::Bridge, Verdict::Ok, None),
        ]
    );
    let veth = netdiag_lab::names::host_veth(netdiag_lab::spec::Cni::Bridge, "curl");
    assert_eq!(path.host_veth.as_deref(), Some(veth.as_str()));
    assert_eq!(path.bridge.as_deref(), Some("cni0"));
    assert_eq!(path.pod_mtu, 1500);
    let detail = &path.hops[0].detail;
    assert!(detail.starts_with("eth0@if"), "{detail}");
    assert!(
        detail.contains("10.244.1.2/24 mtu 1500 gw 10.244.1.1"),
        "{detail}"
    );
    assert!(
        detail.ends_with(&format!("in /var/run/netns/{}", lab.netns("curl"))),
        "{detail}"
    );
    let rc = path
        .resolv_conf
        .expect("resolv.conf read through the pod's process");
    assert_eq!(rc.nameservers, vec!["169.254.25.10"]);
    assert_eq!(rc.options, vec!["ndots:5"]);
    let Some(HopDetail::PodInterface(d)) = &path.hops[0].details else {
        panic!("no PodInterface detail")
    };
    assert_eq!(
        d.gateway.map(|v| v.to_string()).as_deref(),
        Some("10.244.1.1")
    );
    assert_eq!(d.resolv_conf.as_ref().map(|r| r.search.len()), Some(3));
    let Some(HopDetail::Bridge(b)) = &path.hops[2].details else {
        panic!("no Bridge detail")
    };
    assert_eq!(b.addresses, vec!["10.244.1.1/24"]);
}

#[test]
fn a_host_veth_set_down_fails_the_host_veth_hop() {
    if !root_or_skip("a_host_veth_set_down_fails_the_host_veth_hop") {
        return;
    }
    let lab = Fixture::builder("down").network_only().up();
    let veth = netdiag_lab::names::host_veth(netdiag_lab::spec::Cni::Bridge, "curl");
    lab.exec("node-a", &["ip", "link", "set", &veth, "down"]);

    let path = trace_from(&lab.netns_path("node-a"), CURL);
    let hop = &path.hops[1];
    assert_eq!(
        (&hop.kind, hop.verdict),
        (&HopKind::HostVeth, Verdict::Fail)
    );
    assert_eq!(hop.reason.clone(), Some(Reason::HostVethDown));
    assert_eq!(
        hop.detail,
        format!("{veth}, the node side of the pod's eth0, is down")
    );
    // The pod's side only lost its carrier: a warning pointing at the cause, not a second
    // failure that would hide it.
    assert_eq!(path.hops[0].verdict, Verdict::Warn);
}

#[test]
fn an_mtu_mismatch_warns_and_a_bridge_set_down_fails() {
    if !root_or_skip("an_mtu_mismatch_warns_and_a_bridge_set_down_fails") {
        return;
    }
    let lab = Fixture::builder("mtu").network_only().up();
    lab.exec("curl", &["ip", "link", "set", "eth0", "mtu", "1450"]);
    lab.exec("node-a", &["ip", "link", "set", "cni0", "down"]);

    let path = trace_from(&lab.netns_path("node-a"), CURL);
    assert_eq!(
        kinds_and_verdicts(&path),
        vec![
            (HopKind::PodInterface, Verdict::Ok, None),
            (HopKind::HostVeth, Verdict::Warn, Some(Reason::MtuMismatch)),
            (HopKind::Bridge, Verdict::Fail, Some(Reason::BridgeDown)),
        ]
    );
    assert_eq!(path.pod_mtu, 1450);
}

#[test]
fn a_routed_pod_has_no_bridge() {
    if !root_or_skip("a_routed_pod_has_no_bridge") {
        return;
    }
    let mut lab = routed_pod::Lab::new();
    let node = lab.netns("node");
    let pod = lab.routed_pod(&node, "pod", "cali573926084b2", "10.244.208.5");

    let path = trace_from(&routed_pod::netns_path(&node), pod);
    assert_eq!(path.hops.len(), 3);
    assert_eq!(path.hops[0].verdict, Verdict::Ok, "{}", path.hops[0].detail);
    assert!(
        path.hops[0].detail.contains("gw 169.254.1.1"),
        "{}",
        path.hops[0].detail
    );
    assert_eq!(path.hops[1].verdict, Verdict::Ok);
    assert_eq!(
        (&path.hops[2].kind, path.hops[2].verdict),
        (&HopKind::Bridge, Verdict::Info)
    );
    assert!(
        path.hops[2].detail.starts_with("none (routed)"),
        "{}",
        path.hops[2].detail
    );
    assert_eq!(path.bridge, None);
    assert_eq!(path.host_veth.as_deref(), Some("cali573926084b2"));
}
