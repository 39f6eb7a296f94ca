//! `render-agent-pod` for a NetProbe whose source is a node: where the controller allows node
//! sources, the pod runs on that node in its host network and its plan starts from the node (its
//! InternalIP, `sourceIsNode`); where it does not, or on another node, no pod is printed.

mod common;

use common::render::{fixture_objects, plan_of, render_cli, run_render, scratch};
use netdiag_model::PlanRole;

const NODE_PROBE: &str = "apiVersion: netdiag.dev/v1alpha1
kind: NetProbe
metadata: {name: from-node, namespace: netops}
spec:
  source: {node: node-b}
  target: {service: {name: echo, namespace: default, port: http}}
";

fn probe_file(tag: &str) -> (std::path::PathBuf, String) {
    let dir = scratch(tag);
    let file = dir.join("probe.yaml");
    std::fs::write(&file, NODE_PROBE).expect("write");
    let file = file.to_str().expect("utf-8").to_string();
    (dir, file)
}

#[test]
fn a_node_source_renders_a_host_network_pod_on_that_node_planned_from_the_node() {
    let (dir, file) = probe_file("nodesrc");
    let objects = fixture_objects(&dir);
    let allow = ["--node-source-namespaces", "netops"];
    let placeholders = render_cli(&file, "node-b", "source", &allow);
    let resolved = render_cli(
        &file,
        "node-b",
        "source",
        &[allow[0], allow[1], "--objects", &objects],
    );
    let _ = std::fs::remove_dir_all(&dir);
    for r in [&placeholders, &resolved] {
        let spec = r.pod.spec.as_ref().expect("spec");
        assert_eq!(spec.host_network, Some(true), "{}", r.text);
        assert_eq!(spec.node_name.as_deref(), Some("node-b"));
        let plan = plan_of(&r.config_map);
        assert_eq!(plan.role, PlanRole::Source);
        assert!(
            plan.source_is_node,
            "the agent connects from the host: {plan:?}"
        );
    }
    let plan = plan_of(&resolved.config_map);
    assert_eq!(
        plan.source_ip.map(|ip| ip.to_string()).as_deref(),
        Some("172.18.0.3"),
        "node-b's InternalIP from nodes.yaml"
    );
    assert_eq!(
        plan.target.as_ref().map(|t| t.to_string()).as_deref(),
        Some("10.96.0.50:80/tcp")
    );
    assert_eq!(
        plan_of(&placeholders.config_map).source_ip,
        Some(std::net::Ipv4Addr::UNSPECIFIED),
        "without --objects the node's address is a placeholder"
    );
}

#[test]
fn a_node_source_is_refused_where_the_controller_would_refuse_it_or_on_another_node() {
    let (dir, file) = probe_file("nodesrcno");
    let refused = run_render(&file, "node-b", "source", &[]);
    let elsewhere = run_render(
        &file,
        "node-a",
        "source",
        &["--node-source-namespaces", "netops"],
    );
    let other_ns = run_render(
        &file,
        "node-b",
        "source",
        &["--node-source-namespaces", "default"],
    );
    let _ = std::fs::remove_dir_all(&dir);
    for (out, says) in [
        (
            &refused,
            "source node/node-b is not allowed in namespace netops",
        ),
        (
            &other_ns,
            "source node/node-b is not allowed in namespace netops",
        ),
        (&elsewhere, "runs its source agent on node-b, not on node-a"),
    ] {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(out.stdout.is_empty(), "no pod is printed");
        assert!(err.contains(says), "{err}");
    }
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("--node-source-namespaces"), "{err}");
}
