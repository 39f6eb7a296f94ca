//! `render-agent-pod` through the real binary, its output split into the plan ConfigMap and
//! the pod, shared by render.rs and render_plan.rs.

use std::process::Command;

use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use netdiag_model::TracePlan;

/// What `render-agent-pod` printed.
pub struct Rendered {
    pub text: String,
    pub config_map: ConfigMap,
    pub pod: Pod,
}

/// The two YAML documents of the output, the ConfigMap first.
pub fn documents(text: &str) -> (ConfigMap, Pod) {
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(docs.len(), 2, "a ConfigMap and a Pod:\n{text}");
    assert_eq!(docs[0]["kind"], "ConfigMap", "the plan comes first");
    assert_eq!(docs[1]["kind"], "Pod");
    (
        serde_json::from_value(docs[0].clone()).expect("a ConfigMap"),
        serde_json::from_value(docs[1].clone()).expect("a Pod"),
    )
}

/// `render-agent-pod --probe FILE --node NODE --role ROLE EXTRA...`, as it exited.
pub fn run_render(file: &str, node: &str, role: &str, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_netdiag-controller"))
        .args([
            "render-agent-pod",
            "--probe",
            file,
            "--node",
            node,
            "--role",
            role,
        ])
        .args(extra)
        .env("NETDIAG_AGENT_IMAGE", "registry.example/netdiag:9.9.9")
        .env_remove("POD_NAMESPACE")
        .env_remove("NETDIAG_NODE_SOURCE_NAMESPACES")
        .output()
        .expect("run netdiag-controller")
}

pub fn render_cli(file: &str, node: &str, role: &str, extra: &[&str]) -> Rendered {
    let out = run_render(file, node, role, extra);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let (config_map, pod) = documents(&text);
    Rendered {
        text,
        config_map,
        pod,
    }
}

/// A fresh directory for one test's files.
pub fn scratch(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ndrender-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

/// The controller's test fixtures, as one `--objects` file in `dir`.
pub fn fixture_objects(dir: &std::path::Path) -> String {
    let text = [
        "pods.yaml",
        "services.yaml",
        "endpointslices.yaml",
        "nodes.yaml",
    ]
    .map(|f| std::fs::read_to_string(super::fixture_path(f)).expect("fixture"))
    .join("\n---\n");
    let path = dir.join("objects.yaml");
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

/// The plan a ConfigMap holds.
pub fn plan_of(cm: &ConfigMap) -> TracePlan {
    let json = cm
        .data
        .as_ref()
        .and_then(|d| d.get("plan.json"))
        .expect("plan.json");
    serde_json::from_str(json).expect("the plan is JSON")
}
