//! A node-source trace's NetProbe, as `lab trace --from node/NAME -o yaml` writes it, is one a
//! cluster takes: it reads back as a NetProbe with `source.node` that passes the CRD's
//! validation, and `netdiag-controller render-agent-pod` on it (where node sources are allowed)
//! prints a host-network pod on that node whose plan starts from the node.

use std::process::Command;

use netdiag_crds::{NetProbe, SourceRef};
use netdiag_e2e::{binary, default_lab};
use netdiag_model::{PlanRole, TracePlan};

#[test]
fn a_node_source_traces_yaml_reads_back_and_renders_a_host_network_agent_pod() {
    let lab = default_lab("nsy");
    let trace = Command::new(binary("kubectl-netdiag"))
        .args(["lab", "trace", "--name", lab.name()])
        .args([
            "--from",
            "node/node-a",
            "--to",
            "svc/echo-service",
            "-o",
            "yaml",
        ])
        .env("NO_COLOR", "1")
        .output()
        .expect("kubectl-netdiag runs");
    let yaml = String::from_utf8_lossy(&trace.stdout).into_owned();
    assert!(
        trace.status.success(),
        "lab trace: {}\n{yaml}",
        String::from_utf8_lossy(&trace.stderr)
    );
    let probe: NetProbe =
        serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("not a NetProbe: {e}\n{yaml}"));
    assert_eq!(
        probe.spec.source.kind(),
        Some(SourceRef::Node("node-a")),
        "{yaml}"
    );
    netdiag_crds::validate::validate_spec(&probe.spec)
        .unwrap_or_else(|e| panic!("the CRD's rules refuse it: {e}\n{yaml}"));
    let status = probe.status.clone().unwrap_or_default();
    assert!(
        status.hops.iter().any(|h| h.node == "node-a"),
        "the trace ran on node-a:\n{yaml}"
    );

    let file = std::env::temp_dir().join(format!("{}-probe.yaml", lab.name()));
    std::fs::write(&file, &yaml).expect("write the probe");
    let rendered = Command::new(binary("netdiag-controller"))
        .arg("render-agent-pod")
        .arg("--probe")
        .arg(&file)
        .args(["--node", "node-a", "--node-source-namespaces", "default"])
        .env_remove("NETDIAG_NODE_SOURCE_NAMESPACES")
        .output()
        .expect("netdiag-controller runs");
    let _ = std::fs::remove_file(&file);
    let text = String::from_utf8_lossy(&rendered.stdout).into_owned();
    assert!(
        rendered.status.success(),
        "render-agent-pod: {}\n{yaml}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let [config_map, pod] = docs.as_slice() else {
        panic!("a ConfigMap and a Pod:\n{text}");
    };
    assert_eq!(pod["kind"], "Pod", "{text}");
    assert_eq!(pod["spec"]["hostNetwork"], true, "{text}");
    assert_eq!(pod["spec"]["nodeName"], "node-a", "{text}");
    let plan: TracePlan = config_map["data"]["plan.json"]
        .as_str()
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_else(|| panic!("no plan in the ConfigMap:\n{text}"));
    assert_eq!(plan.role, PlanRole::Source);
    assert!(plan.source_is_node, "{plan:?}");
}
