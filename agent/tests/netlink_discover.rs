//! find_pod_netns against real namespaces: run from inside a lab node's namespace (a
//! network-only testkit fixture of the default lab), as the agent runs in a node's.

use std::net::Ipv4Addr;
use std::path::Path;

use netdiag_agent::kernel::netns::discover::{
    DiscoverError, PodNetns, find_pod_netns, find_pod_netns_each,
};
use netdiag_agent::kernel::netns::{NsId, run_in};
use netdiag_testkit::{Fixture, root_or_skip};

/// The default lab's curl pod on node-a.
const CURL: Ipv4Addr = Ipv4Addr::new(10, 244, 1, 2);

/// Call find_pod_netns from a thread inside `node`.
fn find_from(node: &Path, ip: Ipv4Addr, netns_dir: &Path) -> Result<PodNetns, String> {
    let dir = netns_dir.to_path_buf();
    run_in(node, move || {
        find_pod_netns(ip, &dir, Path::new("/proc")).map_err(|e| e.to_string())
    })
    .expect("enter the node namespace")
}

fn lab(tag: &str) -> Fixture {
    Fixture::builder(tag).network_only().up()
}

#[test]
fn the_pod_holding_the_ip_behind_a_veth_to_this_node_is_found() {
    if !root_or_skip("the_pod_holding_the_ip_behind_a_veth_to_this_node_is_found") {
        return;
    }
    let mut lab = lab("dis");
    let pid = lab.pause("curl");
    let node = lab.netns_path("node-a");

    let found = find_from(&node, CURL, Path::new("/var/run/netns")).expect("found");
    assert_eq!(
        found.id,
        NsId::of(&lab.netns_path("curl")).expect("pod ns id")
    );
    assert_eq!(found.label, lab.netns_path("curl").display().to_string());
    assert_eq!(found.ifname, "eth0");
    assert_eq!(
        found.pid,
        Some(pid),
        "the process living in the namespace is found in /proc"
    );
    // The peer ifindex is the node-side veth's: check it against the node's own view.
    let veth = netdiag_lab::names::host_veth(netdiag_lab::spec::Cni::Bridge, "curl");
    let peer = run_in(&node, move || {
        netdiag_agent::kernel::rtnl::links()
            .expect("node links")
            .into_iter()
            .find(|l| l.name == veth)
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
    // A second lab is another cluster's node with the same pod IPs. Its namespaces sort first
    // (nd-a... < nd-b...), so a search that only matched the address would stop there.
    let twin = lab("a");
    let lab = lab("b");
    // Let the twin pod know this node's namespace under an id of its own, as namespaces
    // linked some other way do: only the id of its eth0's peer namespace may match.
    twin.exec("curl", &["ip", "netns", "set", &lab.netns("node-a"), "7"]);

    let found =
        find_from(&lab.netns_path("node-a"), CURL, Path::new("/var/run/netns")).expect("found");
    assert_eq!(
        found.id,
        NsId::of(&lab.netns_path("curl")).expect("pod ns id")
    );
    let from_twin = find_from(
        &twin.netns_path("node-a"),
        CURL,
        Path::new("/var/run/netns"),
    )
    .expect("found");
    assert_eq!(
        from_twin.id,
        NsId::of(&twin.netns_path("curl")).expect("twin ns id")
    );
}

#[test]
fn an_unnamed_namespace_is_found_through_its_process() {
    if !root_or_skip("an_unnamed_namespace_is_found_through_its_process") {
        return;
    }
    let mut lab = lab("anon");
    let pid = lab.pause("curl");
    // An empty namespace directory: only /proc/<pid>/ns/net leads to the pod, as for
    // docker-style pods.
    let empty = std::env::temp_dir().join(format!("ndnl-nonetns-{}", lab.name()));
    std::fs::create_dir_all(&empty).expect("tmp dir");
    let found = find_from(&lab.netns_path("node-a"), CURL, &empty);
    let _ = std::fs::remove_dir(&empty);
    let found = found.expect("found through /proc");
    assert_eq!(
        found.id,
        NsId::of(&lab.netns_path("curl")).expect("pod ns id")
    );
    assert_eq!(found.pid, Some(pid));
    assert_eq!(found.label, format!("/proc/{pid}/ns/net"));
}

#[test]
fn an_ip_no_pod_of_this_node_holds_is_not_found() {
    if !root_or_skip("an_ip_no_pod_of_this_node_holds_is_not_found") {
        return;
    }
    let lab = lab("none");
    let err = find_from(
        &lab.netns_path("node-a"),
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

#[test]
fn two_namespaces_claiming_one_ip_are_named_not_picked() {
    if !root_or_skip("two_namespaces_claiming_one_ip_are_named_not_picked") {
        return;
    }
    let lab = lab("dup");
    // echo-1 also runs on node-a; give it curl's address too.
    lab.exec(
        "echo-1",
        &["ip", "addr", "add", "10.244.1.2/32", "dev", "eth0"],
    );
    let err = find_from(&lab.netns_path("node-a"), CURL, Path::new("/var/run/netns"))
        .expect_err("a second claimant is an error");
    assert!(
        err.starts_with("two network namespaces on this node claim 10.244.1.2: ")
            && err.contains(&lab.netns_path("curl").display().to_string())
            && err.contains(&lab.netns_path("echo-1").display().to_string()),
        "{err}"
    );
}

#[test]
fn several_addresses_are_found_in_one_scan_as_one_at_a_time_finds_them() {
    if !root_or_skip("several_addresses_are_found_in_one_scan_as_one_at_a_time_finds_them") {
        return;
    }
    let lab = lab("each");
    let node = lab.netns_path("node-a");
    let dir = Path::new("/var/run/netns");
    // echo-1 lives on node-a too; .99 is nobody's.
    let echo1 = Ipv4Addr::new(10, 244, 1, 3);
    let ips = [echo1, Ipv4Addr::new(10, 244, 1, 99), CURL];
    let one_by_one: Vec<Result<PodNetns, String>> =
        ips.iter().map(|ip| find_from(&node, *ip, dir)).collect();
    let all = run_in(&node, move || {
        find_pod_netns_each(&ips, Path::new("/var/run/netns"), Path::new("/proc"))
            .map(|found| {
                (found.into_iter())
                    .map(|r| r.map_err(|e| e.to_string()))
                    .collect::<Vec<_>>()
            })
            .map_err(|e| e.to_string())
    })
    .expect("enter the node namespace")
    .expect("the scan runs");
    assert_eq!(all, one_by_one);
    assert!(
        all[0].as_ref().is_ok_and(|p| p.label.ends_with("echo-1")),
        "{all:?}"
    );
    assert!(all[1].is_err() && all[2].is_ok(), "{all:?}");
}
