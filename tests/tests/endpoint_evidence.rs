//! The endpoint node's evidence: when the endpoint is on another node than the source and known
//! before any agent ran (a pod target), that node's run is armed before the source connects
//! and traces the probe's own packets arriving there. A rule dropping them on the endpoint's
//! node is then named as the first failure, with its text, on that node.

use netdiag_e2e::*;
use netdiag_model::Reason;
use netdiag_model::{HopKind, Verdict};

/// echo-2 runs on node-b; curl on node-a.
const TARGET: &str = "pod/echo-2:8080";

fn echo_2_ip(lab: &Fixture) -> String {
    lab.spec().pod("echo-2").expect("echo-2").ip.to_string()
}

/// `TOOL -I FORWARD 1 -d ECHO-2 -j DROP` on node-b, the endpoint's node.
fn forward_drop_on_node_b(lab: &Fixture, tool: &str) -> String {
    let ip = echo_2_ip(lab);
    lab.exec(
        "node-b",
        &[tool, "-w", "-I", "FORWARD", "1", "-d", &ip, "-j", "DROP"],
    );
    ip
}

#[test]
fn a_healthy_pod_target_on_another_node_is_watched_there_and_stays_healthy() {
    let lab = default_lab("ew");
    let t = trace_to(&lab, "curl", TARGET);
    assert_eq!(t.path.first_failure, None, "{}", describe(&t.path.hops));
    assert_eq!(t.path.reachable, Some(true));
    // Both runs shared the planned source port, and node-b saw the probe's packets pass.
    let ports: Vec<_> = t.plans.iter().map(|p| p.source_port).collect();
    assert!(
        ports.iter().all(|p| p.is_some()) && ports[0] == ports[1],
        "{ports:?}"
    );
    let fw = hop(&t.path.hops, "node-b", HopKind::Firewall);
    assert_ne!(fw.verdict, Verdict::Fail, "{}", fw.detail);
    assert!(
        !fw.detail.contains("no rule on node-b saw"),
        "node-b traced the probe: {}",
        fw.detail
    );
    let node_b = t.path.evidence.iter().find(|e| e.node == "node-b");
    let node_b = node_b.expect("node-b has evidence");
    assert!(!node_b.rule_trace.is_empty(), "rules met on node-b");
    let port = ports[0].expect("port").to_string();
    let syn_seen = (node_b.capture.iter().flat_map(|c| &c.packets))
        .any(|p| p.src.as_deref().is_some_and(|s| s.ends_with(&port)));
    assert!(syn_seen, "node-b captured the probe: {:?}", node_b.capture);
    // Nothing is left: no trace table on either node.
    for node in ["node-a", "node-b"] {
        let tables = lab.exec(node, &["nft", "list", "tables"]);
        assert!(!tables.contains("netdiag-trace-"), "{node}: {tables}");
    }
}

/// With `tool`'s DROP on node-b, trace: the first failure is that drop, named on node-b, after
/// which only the connect fails. Its message, and echo-2's address.
fn dropped_on_node_b(tag: &str, tool: &str) -> (String, String) {
    let lab = default_lab(tag);
    let ip = forward_drop_on_node_b(&lab, tool);
    let t = trace_to(&lab, "curl", TARGET);
    assert_failure(
        &t,
        HopKind::Firewall,
        Reason::DroppedByRule,
        &[HopKind::Connect],
    );
    let f = t.path.first_failure.as_ref().expect("a failure");
    assert_eq!(f.node, "node-b", "{}", describe(&t.path.hops));
    (ip, f.message.clone())
}

#[test]
fn a_forward_drop_on_the_endpoints_node_is_named_there() {
    let (ip, msg) = dropped_on_node_b("ed", "iptables-nft");
    assert!(
        msg.starts_with(&format!("rule `-A FORWARD -d {ip}/32 -j DROP`"))
            && msg.contains("in ip filter FORWARD on node-b"),
        "{msg}"
    );
}

#[test]
fn the_same_drop_on_the_endpoints_legacy_backend_is_named_from_counters() {
    let (ip, msg) = dropped_on_node_b("el", "iptables-legacy");
    assert!(
        msg.starts_with(&format!(
            "rule `-A FORWARD -d {ip}/32 -j DROP` in legacy iptables filter FORWARD on node-b counted"
        )) && msg.contains("from counters"),
        "{msg}"
    );
}
