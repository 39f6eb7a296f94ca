//! `-o dot` is readable on a screen: a ten-hop path, laid out by Graphviz's own `dot -Tpng`,
//! is narrower than 2,000 px. Needs graphviz (scripts/packages.txt); under CI a missing `dot`
//! fails the test instead of skipping it.

use std::io::Write as _;
use std::process::{Command, Stdio};

use netdiag_model::merge::first_failure;
use netdiag_model::{Hop, HopKind, MergedPath, Progress, Reason, Verdict};

/// `dot` on $PATH, or None locally (a skip) and a panic under CI.
fn dot_or_skip() -> Option<()> {
    let found = Command::new("dot")
        .arg("-V")
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some(());
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "graphviz's `dot` is not installed and CI is set: apt-get install graphviz (scripts/packages.txt)"
    );
    eprintln!("skipping: graphviz's `dot` is not installed");
    None
}

/// A lab path with long real hop texts: node-a's eight hops, node-b's route and listener, the
/// listener failing.
fn ten_hops() -> MergedPath {
    let a = "node-a";
    let b = "node-b";
    let hop = |node: &str, kind, name: &str, detail: &str| {
        Hop::new(node, kind, name, Verdict::Ok, detail)
    };
    let mut hops = vec![
        hop(
            a,
            HopKind::PodInterface,
            "eth0",
            "eth0@if4 10.244.1.2/24 mtu 1500 gw 10.244.1.1 (no neighbour entry yet) in /var/run/netns/nd-readme-curl",
        ),
        hop(
            a,
            HopKind::HostVeth,
            "veth427e4b79",
            "veth427e4b79@if2 up mtu 1500, the node side of the pod's eth0",
        ),
        hop(
            a,
            HopKind::Bridge,
            "cni0",
            "bridge cni0 10.244.1.1/24 (state up), veth427e4b79 is a port",
        ),
        hop(
            a,
            HopKind::NodeSettings,
            "sysctl",
            "net.ipv4.ip_forward=1, net.bridge.bridge-nf-call-iptables=1, net.ipv4.conf.cni0.rp_filter=0 (all=0, cni0=0), net.ipv4.conf.eth0.rp_filter=0 (all=0, eth0=0)",
        ),
        hop(
            a,
            HopKind::ServiceRules,
            "10.96.45.10:80/tcp",
            "default/echo-service:http -> 3 endpoints: 10.244.1.3:8080 (33%), 10.244.2.2:8080 (33%), 10.244.2.3:8080 (33%)",
        ),
        hop(
            a,
            HopKind::Firewall,
            "10.244.1.2:57081 -> 10.96.45.10:80/tcp",
            "6 traced packets met 26 rules in 11 chains: none dropped them",
        ),
        hop(
            a,
            HopKind::Conntrack,
            "10.244.1.2:57081 -> 10.96.45.10:80/tcp",
            "CLOSE, DNAT to 10.244.2.3:8080",
        ),
        hop(
            a,
            HopKind::Route,
            "10.244.2.3",
            "via 172.18.0.3 dev eth0 (veth) src 172.18.0.2",
        ),
        hop(
            b,
            HopKind::Route,
            "10.244.2.3",
            "local bridge cni0 src 10.244.2.1",
        ),
        hop(
            b,
            HopKind::Listener,
            "10.244.2.3:8080",
            "nothing listens on 10.244.2.3:8080 in /var/run/netns/nd-readme-echo-3",
        ),
        hop(
            a,
            HopKind::Connect,
            "10.96.45.10:80/tcp",
            "connection refused by 10.244.2.3:8080 after DNAT",
        ),
    ];
    hops[9].verdict = Verdict::Fail;
    hops[9].reason = Some(Reason::NothingListening);
    hops[10].verdict = Verdict::Fail;
    MergedPath {
        progress: Progress::Done,
        reachable: Some(false),
        first_failure: first_failure(&hops),
        hops,
        ..Default::default()
    }
}

/// The width of a PNG, from its IHDR chunk (bytes 16..20, big-endian).
fn png_width(png: &[u8]) -> u32 {
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "dot -Tpng wrote no PNG"
    );
    u32::from_be_bytes([png[16], png[17], png[18], png[19]])
}

#[test]
fn a_ten_hop_path_renders_narrower_than_2000_px() {
    if dot_or_skip().is_none() {
        return;
    }
    let path = ten_hops();
    assert_eq!(
        path.hops
            .iter()
            .filter(|h| h.kind != HopKind::Connect)
            .count(),
        10
    );
    let graph = netdiag_render::dot(&path, "default/curl", "svc/echo-service:http");
    let mut child = Command::new("dot")
        .arg("-Tpng")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(graph.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "dot -Tpng failed: {}\n{graph}",
        String::from_utf8_lossy(&out.stderr)
    );
    let width = png_width(&out.stdout);
    assert!(width < 2000, "{width} px wide:\n{graph}");
}
