//! The hairpin flag of a bridge port and the bridge's promiscuity, decoded from the real
//! kernel's link dump (IFLA_LINKINFO -> IFLA_INFO_SLAVE_DATA -> IFLA_BRPORT_MODE, and
//! IFLA_PROMISCUITY), in the default lab's node-a (network only, removed on drop), as they are
//! flipped with `ip link set ... type bridge_slave hairpin`, `bridge link set` and `promisc`.

use std::net::Ipv4Addr;
use std::path::Path;

use netdiag_agent::kernel::netns::discover::find_pod_netns;
use netdiag_agent::kernel::netns::run_in;
use netdiag_agent::kernel::rtnl::{self, Link};
use netdiag_agent::path::hairpin::BridgePort;
use netdiag_agent::path::{PodPath, trace_pod};
use netdiag_lab::names::host_veth;
use netdiag_model::HopKind;
use netdiag_model::report::{BridgeDetail, HopDetail};
use netdiag_testkit::{Fixture, root_or_skip};

/// The default lab's curl pod on node-a.
const CURL: Ipv4Addr = Ipv4Addr::new(10, 244, 1, 2);

fn links_in(ns: &Path) -> Vec<Link> {
    run_in(ns, rtnl::links)
        .expect("enter the namespace")
        .expect("dump the links")
}

fn link<'a>(links: &'a [Link], name: &str) -> &'a Link {
    links
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no link {name} in {links:?}"))
}

/// The curl pod's walk to its bridge, as the agent does it on a node.
fn curl_path(node: &Path) -> PodPath {
    run_in(node, || {
        let ns = find_pod_netns(CURL, Path::new("/var/run/netns"), Path::new("/proc"))
            .unwrap_or_else(|e| panic!("{e}"));
        trace_pod("node-a", &ns, Path::new("/proc"))
    })
    .expect("enter the node namespace")
}

/// The curl pod's bridge port, as the agent's pod walk reads it.
fn curl_port(node: &Path) -> Option<BridgePort> {
    curl_path(node).bridge_port
}

#[test]
fn a_bridge_ports_hairpin_mode_and_the_bridges_promiscuity_are_read_from_the_kernel() {
    if !root_or_skip(
        "a_bridge_ports_hairpin_mode_and_the_bridges_promiscuity_are_read_from_the_kernel",
    ) {
        return;
    }
    let mut lab = Fixture::builder("hp").network_only().up();
    // The pod walk finds the pod's namespace by a process in it.
    lab.pause("curl");
    let node = lab.netns_path("node-a");
    let veth = host_veth(netdiag_lab::spec::Cni::Bridge, "curl");

    // The lab sets hairpin mode as kubelet's hairpin-veth mode does.
    let links = links_in(&node);
    assert_eq!(link(&links, &veth).hairpin, Some(true));
    assert_eq!(link(&links, "cni0").promiscuity, 0);
    assert_eq!(link(&links, "cni0").hairpin, None, "a bridge is no port");
    assert_eq!(link(&links, "eth0").hairpin, None, "eth0 is no bridge port");
    assert_eq!(
        curl_port(&node),
        Some(BridgePort {
            port: veth.clone(),
            bridge: "cni0".into(),
            hairpin: Some(true),
            bridge_promiscuity: 0,
        })
    );

    // The Bridge hop carries the flags for -o json.
    let path = curl_path(&node);
    let bridge = path
        .hops
        .iter()
        .find(|h| h.kind == HopKind::Bridge)
        .expect("a Bridge hop");
    let Some(HopDetail::Bridge(BridgeDetail {
        port,
        hairpin,
        promiscuity,
        ..
    })) = &bridge.details
    else {
        panic!("a Bridge hop without bridge details: {bridge:?}")
    };
    assert_eq!(
        (port.as_deref(), *hairpin, *promiscuity),
        (Some(veth.as_str()), Some(true), Some(0))
    );

    lab.exec(
        "node-a",
        &[
            "ip",
            "link",
            "set",
            "dev",
            &veth,
            "type",
            "bridge_slave",
            "hairpin",
            "off",
        ],
    );
    assert_eq!(link(&links_in(&node), &veth).hairpin, Some(false));

    lab.exec("node-a", &["ip", "link", "set", "cni0", "promisc", "on"]);
    let port = curl_port(&node).expect("a bridge port");
    assert_eq!(port.hairpin, Some(false));
    assert!(port.bridge_promiscuity >= 1, "{port:?}");

    lab.exec(
        "node-a",
        &["bridge", "link", "set", "dev", &veth, "hairpin", "on"],
    );
    lab.exec("node-a", &["ip", "link", "set", "cni0", "promisc", "off"]);
    let links = links_in(&node);
    assert_eq!(link(&links, &veth).hairpin, Some(true));
    assert_eq!(link(&links, "cni0").promiscuity, 0);
}
