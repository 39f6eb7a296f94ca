//! The plan ConfigMap `render-agent-pod` prints before the pod, and `--objects`: the plan
//! resolved from API objects in a file, exactly as the controller resolves them.

mod common;

use common::render::{fixture_objects, plan_of, render_cli, scratch};
use netdiag_controller::agents::plan_config_map::{MAX_PLAN_BYTES, plan_json};
use netdiag_controller::agents::pod::PodError;
use netdiag_controller::netprobe::plan::NodePlan;
use netdiag_model::{Endpoint, PlanRole, TracePlan};

const PROBE: &str = "apiVersion: netdiag.dev/v1alpha1
kind: NetProbe
metadata: {name: p, namespace: default}
spec:
  source: {pod: curl1}
  target: {service: {name: echo, port: http}}
";

#[test]
fn the_plan_config_map_carries_the_pods_name_labels_and_namespace_and_nothing_else() {
    let dir = format!("{}/../config/samples", env!("CARGO_MANIFEST_DIR"));
    let r = render_cli(
        &format!("{dir}/netprobe-service.yaml"),
        "node-a",
        "source",
        &[],
    );
    let (cm, pod) = (&r.config_map.metadata, &r.pod.metadata);
    assert_eq!(cm.name, pod.name, "the pod's volume names it");
    assert_eq!(cm.namespace.as_deref(), Some("netdiag-system"));
    assert_eq!(
        cm.labels, pod.labels,
        "the run's clean-up and the sweep find both"
    );
    assert_eq!(cm.annotations, pod.annotations);
    assert_eq!(cm.owner_references, pod.owner_references);
    let data = r.config_map.data.clone().expect("data");
    assert_eq!(data.keys().collect::<Vec<_>>(), ["plan.json"]);
    assert!(r.config_map.binary_data.is_none());
    assert_eq!(plan_of(&r.config_map).role, PlanRole::Source);
}

#[test]
fn objects_resolve_the_plan_the_way_the_controller_does() {
    let dir = scratch("objects");
    let probe = dir.join("probe.yaml");
    std::fs::write(&probe, PROBE).expect("write");
    let objects = fixture_objects(&dir);
    let r = render_cli(
        probe.to_str().expect("utf-8"),
        "node-a",
        "source",
        &["--objects", &objects],
    );
    let ep = render_cli(
        probe.to_str().expect("utf-8"),
        "node-b",
        "endpoint",
        &["--objects", &objects],
    );
    let _ = std::fs::remove_dir_all(&dir);
    let plan = plan_of(&r.config_map);
    assert_eq!(
        plan.source_ip.map(|v| v.to_string()).as_deref(),
        Some("10.244.1.2")
    );
    assert_eq!(
        plan.target.as_ref().map(|t| t.to_string()).as_deref(),
        Some("10.96.0.50:80/tcp")
    );
    let mut expected: Vec<String> = plan
        .expected_endpoints
        .iter()
        .map(|e| e.to_string())
        .collect();
    expected.sort();
    assert_eq!(
        expected,
        ["10.244.1.5:5678", "10.244.2.7:5678"],
        "ready only"
    );
    assert_eq!(
        plan.dns_servers.first().map(|d| d.address.to_string()),
        Some("10.96.0.10:53".to_string())
    );
    let nodes: Vec<(&str, String)> = (plan.nodes.iter())
        .map(|n| (n.name.as_str(), n.address.to_string()))
        .collect();
    assert_eq!(
        nodes,
        [
            ("node-a", "172.18.0.2".to_string()),
            ("node-b", "172.18.0.3".to_string())
        ],
        "the source's and the endpoints' nodes, for the overlay's VTEP check"
    );
    assert!(r.text.contains("resolved from"), "{}", r.text);
    assert!(!r.text.contains("<resolved-at-run-time>"));
    let ep_plan = plan_of(&ep.config_map);
    assert_eq!(
        ep_plan.endpoint.map(|e| e.to_string()).as_deref(),
        Some("10.244.2.7:5678"),
        "the ready endpoint on node-b"
    );
}

#[test]
fn an_object_missing_from_the_file_is_named_with_the_file() {
    let dir = scratch("missing");
    let probe = dir.join("probe.yaml");
    std::fs::write(&probe, PROBE.replace("curl1", "curl9")).expect("write");
    let objects = fixture_objects(&dir);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netdiag-controller"))
        .args(["render-agent-pod", "--probe"])
        .arg(&probe)
        .args(["--node", "node-a", "--objects", &objects])
        .output()
        .expect("run");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("curl9") && err.contains("objects.yaml") && err.contains("--objects"),
        "{err}"
    );
}

#[test]
fn a_plan_that_would_not_fit_a_config_map_is_refused_with_its_size() {
    let node_plan = |n: u32| {
        let mut plan: TracePlan = serde_json::from_str(r#"{"role": "Source"}"#).expect("plan");
        plan.expected_endpoints = (0..n)
            .map(|i| Endpoint {
                ip: [
                    10,
                    (100 + i / 65536) as u8,
                    ((i / 256) % 256) as u8,
                    (i % 256) as u8,
                ]
                .into(),
                port: 8080,
            })
            .collect();
        NodePlan {
            node: "node-a".into(),
            role: PlanRole::Source,
            plan,
        }
    };
    let fits = plan_json(&node_plan(50_000)).expect("50,000 endpoints fit");
    assert!(fits.len() <= MAX_PLAN_BYTES);
    match plan_json(&node_plan(80_000)) {
        Err(e @ PodError::PlanTooLarge { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("80000 expected endpoints"), "{msg}");
            assert_eq!(e.reason(), "PlanTooLarge");
        }
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn a_node_ports_node_gets_a_run_for_its_own_rules_while_it_holds_the_address() {
    let dir = scratch("nodeport");
    let probe = dir.join("probe.yaml");
    let spec = |node: &str| {
        format!(
            "apiVersion: netdiag.dev/v1alpha1
kind: NetProbe
metadata: {{name: p, namespace: default}}
spec:
  source: {{pod: curl1}}
  target: {{address: {{ip: 172.18.0.3, port: 30080, node: {node}}}}}
"
        )
    };
    std::fs::write(&probe, spec("node-b")).expect("write");
    let objects = fixture_objects(&dir);
    let probe_path = probe.to_str().expect("utf-8").to_string();
    let there = render_cli(&probe_path, "node-b", "endpoint", &["--objects", &objects]);
    let plan = plan_of(&there.config_map);
    assert_eq!(plan.role, PlanRole::Endpoint);
    assert_eq!(plan.endpoint, None, "no endpoint: node-b's NodePort rules");
    assert_eq!(
        plan.target.as_ref().map(|t| t.to_string()).as_deref(),
        Some("172.18.0.3:30080/tcp")
    );
    assert!(plan.target_is_service);
    // It watches for the probe's packets there: its pod is ready once armed, and the source
    // binds the port it watches for.
    assert!(
        plan.watch_ms.is_some() && plan.source_port.is_some(),
        "{plan:?}"
    );
    let agent = &there.pod.spec.as_ref().expect("spec").containers[0];
    assert!(
        agent.readiness_probe.is_some(),
        "the armed-file readiness probe"
    );
    let source = render_cli(&probe_path, "node-a", "source", &["--objects", &objects]);
    assert_eq!(plan_of(&source.config_map).source_port, plan.source_port);
    // A stale hint (the node no longer holds the address) plans no such run.
    std::fs::write(&probe, spec("node-a")).expect("write");
    let stale = render_cli(&probe_path, "node-a", "endpoint", &["--objects", &objects]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(plan_of(&stale.config_map).endpoint.is_some());
}
