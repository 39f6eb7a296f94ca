//! find_pod_netns against real namespaces: run from inside a lab "node" namespace, as the
//! agent runs in a node's.

mod common;

use std::net::Ipv4Addr;
use std::path::Path;

use common::{Lab, netns_path, root_or_skip};
use netdiag_agent::kernel::netns::discover::{DiscoverError, PodNetns, find_pod_netns};
use netdiag_agent::kernel::netns::{NsId, run_in};

/// Call find_pod_netns from a thread inside `node`.
fn find_from(node: &str, ip: Ipv4Addr, netns_dir: &Path) -> Result<PodNetns, String> {
    let dir = netns_dir.to_path_buf();
    run_in(&netns_path(node), move || {
        find_pod_netns(ip, &dir, Path::new("/proc")).map_err(|e| e.to_string())
    })
    .expect("enter the node namespace")
}

#[test]
fn the_pod_holding_the_ip_behind_a_veth_to_this_node_is_found() {
    if !root_or_skip("the_pod_holding_the_ip_behind_a_veth_to_this_node_is_found") {
        return;
    }
    let mut lab = Lab::new();
    let node = lab.node("node", "10.244.1.1");
    let pod = lab.pod(&node, "pod", "vethaaa", "10.244.1.2/24", Some("10.244.1.1"));
    let pid = lab.pause(&pod.ns);

    let found = find_from(&node, pod.ip, Path::new("/var/run/netns")).expect("found");
    assert_eq!(found.id, NsId::of(&netns_path(&pod.ns)).expect("pod ns id"));
    assert_eq!(found.label, format!("/var/run/netns/{}", pod.ns));
    assert_eq!(found.ifname, "eth0");
    assert_eq!(
        found.pid,
        Some(pid),
        "the process living in the namespace is found in /proc"
    );
    // The peer ifindex is the node-side veth's: check it against the node's own view.
    let peer = run_in(&netns_path(&node), || {
        netdiag_agent::kernel::rtnl::links()
            .expect("node links")
            .into_iter()
            .find(|l| l.name == "vethaaa")
    })
    .expect("enter node")
    .expect("veth on the node");
    assert_eq!(found.peer_ifindex, peer.index);
}

#[test]
fn a_namespace_reusing_the_ip_on_another_node_is_not_picked() {
    if !root_or_skip("a_namespace_reusing_the_ip_on_another_node_is_not_picked") {
        return;
    }
    let mut lab = Lab::new();
    let node = lab.node("node", "10.244.1.1");
    let other = lab.node("b-other", "10.244.1.1");
    // "a-..." sorts before "pod", so a search that only matched the address would stop here.
    let twin = lab.pod(
        &other,
        "a-twin",
        "vethtwin",
        "10.244.1.2/24",
        Some("10.244.1.1"),
    );
    let pod = lab.pod(&node, "pod", "vethaaa", "10.244.1.2/24", Some("10.244.1.1"));
    // Let the twin know this node's namespace under an id of its own, as namespaces linked
    // some other way do: only the id of its eth0's peer namespace may match.
    common::ip(&["-n", &twin.ns, "netns", "set", &node, "7"]);

    let found = find_from(&node, pod.ip, Path::new("/var/run/netns")).expect("found");
    assert_eq!(found.id, NsId::of(&netns_path(&pod.ns)).expect("pod ns id"));
    let from_other = find_from(&other, twin.ip, Path::new("/var/run/netns")).expect("found");
    assert_eq!(
        from_other.id,
        NsId::of(&netns_path(&twin.ns)).expect("twin ns id")
    );
}

#[test]
fn an_unnamed_namespace_is_found_through_its_process() {
    if !root_or_skip("an_unnamed_namespace_is_found_through_its_process") {
        return;
    }
    let mut lab = Lab::new();
    let node = lab.node("node", "10.244.1.1");
    let pod = lab.pod(&node, "pod", "vethaaa", "10.244.1.2/24", Some("10.244.1.1"));
    let pid = lab.pause(&pod.ns);
    // An empty namespace directory: only /proc/<pid>/ns/net leads to the pod, as for
    // docker-style pods.
    let empty = std::env::temp_dir().join(format!("ndnl-nonetns-{}", std::process::id()));
    std::fs::create_dir_all(&empty).expect("tmp dir");
    let found = find_from(&node, pod.ip, &empty);
    let _ = std::fs::remove_dir(&empty);
    let found = found.expect("found through /proc");
    assert_eq!(found.id, NsId::of(&netns_path(&pod.ns)).expect("pod ns id"));
    assert_eq!(found.pid, Some(pid));
    assert_eq!(found.label, format!("/proc/{pid}/ns/net"));
}

#[test]
fn an_ip_no_pod_of_this_node_holds_is_not_found() {
    if !root_or_skip("an_ip_no_pod_of_this_node_holds_is_not_found") {
        return;
    }
    let mut lab = Lab::new();
    let node = lab.node("node", "10.244.1.1");
    lab.pod(&node, "pod", "vethaaa", "10.244.1.2/24", Some("10.244.1.1"));
    let err = find_from(
        &node,
        Ipv4Addr::new(10, 244, 1, 99),
        Path::new("/var/run/netns"),
    )
    .expect_err("nobody holds 10.244.1.99");
    let expected = DiscoverError::NotFound {
        ip: Ipv4Addr::new(10, 244, 1, 99),
    }
    .to_string();
    assert_eq!(err, expected);
    assert!(
        err.contains("does the agent see the host's /proc and /var/run/netns?"),
        "{err}"
    );
}
