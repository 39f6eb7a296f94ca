//! trace_pod against real namespaces: eth0, its veth peer on the node, the bridge.

mod common;

use std::path::Path;

use common::{Lab, Pod, netns_path, root_or_skip};
use netdiag_agent::kernel::netns::discover::find_pod_netns;
use netdiag_agent::kernel::netns::run_in;
use netdiag_agent::path::{PodPath, trace_pod};
use netdiag_model::Reason;
use netdiag_model::report::HopDetail;
use netdiag_model::{HopKind, Verdict};

/// Find the pod and trace it from a thread inside `node`, as the agent does on a node.
fn trace_from(node: &str, pod: &Pod) -> PodPath {
    let ip = pod.ip;
    run_in(&netns_path(node), move || {
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
    let mut lab = Lab::new();
    let node = lab.node("node", "10.244.1.1");
    let pod = lab.pod(
        &node,
        "pod",
        "veth81ebcd7c",
        "10.244.1.2/24",
        Some("10.244.1.1"),
    );
    lab.resolv_conf(
        &pod.ns,
        "search default.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n",
    );
    lab.pause(&pod.ns);
    // What the pod's ARP cache holds for its gateway once it has talked to it.
    common::ip(&[
        "-n",
        &pod.ns,
        "neigh",
        "replace",
        "10.244.1.1",
        "lladdr",
        "aa:bb:cc:00:00:01",
        "dev",
        "eth0",
        "nud",
        "permanent",
    ]);

    let path = trace_from(&node, &pod);
    assert_eq!(
        kinds_and_verdicts(&path),
        vec![
            (HopKind::PodInterface, Verdict::Ok, None),
            (HopKind::HostVeth, Verdict::Ok, None),
            (HopKind::Bridge, Verdict::Ok, None),
        ]
    );
    assert_eq!(path.host_veth.as_deref(), Some("veth81ebcd7c"));
    assert_eq!(path.bridge.as_deref(), Some("cni0"));
    assert_eq!(path.pod_mtu, 1500);
    let detail = &path.hops[0].detail;
    assert!(detail.starts_with("eth0@if"), "{detail}");
    assert!(
        detail.contains("10.244.1.2/24 mtu 1500 gw 10.244.1.1"),
        "{detail}"
    );
    assert!(
        detail.ends_with(&format!("in /var/run/netns/{}", pod.ns)),
        "{detail}"
    );
    let rc = path
        .resolv_conf
        .expect("resolv.conf read through the pod's process");
    assert_eq!(rc.nameservers, vec!["10.96.0.10"]);
    assert_eq!(rc.options, vec!["ndots:5"]);
    let Some(HopDetail::PodInterface(d)) = &path.hops[0].details else {
        panic!("no PodInterface detail")
    };
    assert_eq!(d.gateway.as_deref(), Some("10.244.1.1"));
    assert_eq!(d.resolv_conf.as_ref().map(|r| r.search.len()), Some(2));
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
    let mut lab = Lab::new();
    let node = lab.node("node", "10.244.1.1");
    let pod = lab.pod(
        &node,
        "pod",
        "vethdown",
        "10.244.1.2/24",
        Some("10.244.1.1"),
    );
    common::ip(&["-n", &node, "link", "set", "vethdown", "down"]);

    let path = trace_from(&node, &pod);
    let veth = &path.hops[1];
    assert_eq!(
        (&veth.kind, veth.verdict),
        (&HopKind::HostVeth, Verdict::Fail)
    );
    assert_eq!(veth.reason.clone(), Some(Reason::HostVethDown));
    assert_eq!(
        veth.detail,
        "vethdown, the node side of the pod's eth0, is down"
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
    let mut lab = Lab::new();
    let node = lab.node("node", "10.244.1.1");
    let pod = lab.pod(&node, "pod", "vethmtu", "10.244.1.2/24", Some("10.244.1.1"));
    common::ip(&["-n", &pod.ns, "link", "set", "eth0", "mtu", "1450"]);
    common::ip(&["-n", &node, "link", "set", "cni0", "down"]);

    let path = trace_from(&node, &pod);
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
    let mut lab = Lab::new();
    let node = lab.netns("node");
    let pod = lab.pod(&node, "pod", "cali573926084b2", "10.244.208.5/32", None);

    let path = trace_from(&node, &pod);
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
