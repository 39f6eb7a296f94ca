//! `render-agent-pod`: the printed pod is checked field by field against the security rules of
//! issue 4 section 4, through the real binary and through the library the reconciler uses.

mod common;

use std::process::Command;

use common::render::{plan_of, render_cli};
use k8s_openapi::api::core::v1::Pod;
use netdiag_controller::agents::pod::{self, AgentSettings, ProbeRef};
use netdiag_controller::agents::render::render_objects;
use netdiag_crds::{NODE_LABEL, PROBE_LABEL};
use netdiag_model::PlanRole;

fn settings() -> AgentSettings {
    AgentSettings {
        image: "registry.example/netdiag:9.9.9".into(),
        namespace: "netdiag-system".into(),
    }
}

fn sample(name: &str) -> String {
    format!("{}/../config/samples/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn render_pod(p: &netdiag_crds::NetProbe) -> Pod {
    render_objects(
        &settings(),
        p,
        "node-a",
        PlanRole::Source,
        "cluster.local",
        None,
    )
    .expect("renders")
    .pod
}

/// Every rule of section 4, on one pod.
fn assert_audited(pod: &Pod, node: &str, probe_ns: &str) {
    let meta = &pod.metadata;
    assert_eq!(
        meta.namespace.as_deref(),
        Some("netdiag-system"),
        "agent pods live in the controller's namespace only"
    );
    let labels = meta.labels.clone().expect("labels");
    assert!(labels.contains_key(PROBE_LABEL));
    assert_eq!(labels.get(NODE_LABEL).map(String::as_str), Some(node));
    assert_eq!(
        labels
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("netdiag-controller")
    );
    assert_eq!(
        labels
            .get("app.kubernetes.io/component")
            .map(String::as_str),
        Some("agent")
    );
    assert_eq!(
        labels.get("app.kubernetes.io/name").map(String::as_str),
        Some("netdiag")
    );
    let owners = meta.owner_references.clone().unwrap_or_default();
    if probe_ns == "netdiag-system" {
        assert_eq!(owners.len(), 1);
        assert_eq!(
            (owners[0].kind.as_str(), owners[0].controller),
            ("NetProbe", Some(true))
        );
    } else {
        assert!(
            owners.is_empty(),
            "an owner reference across namespaces would get the pod garbage-collected at once"
        );
        let ann = meta.annotations.clone().expect("annotations");
        assert_eq!(
            ann.get("netdiag.dev/probe-namespace").map(String::as_str),
            Some(probe_ns)
        );
    }

    let spec = pod.spec.as_ref().expect("spec");
    assert_eq!(spec.node_name.as_deref(), Some(node));
    assert_eq!(spec.host_network, Some(true));
    assert_eq!(spec.host_pid, Some(true));
    assert_eq!(spec.host_ipc, None);
    assert_eq!(spec.automount_service_account_token, Some(false));
    assert_eq!(spec.service_account_name, None);
    assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
    assert!(spec.active_deadline_seconds.is_some_and(|d| d >= 1));
    let tolerations = spec.tolerations.clone().expect("tolerations");
    assert_eq!(tolerations.len(), 1);
    assert_eq!(tolerations[0].operator.as_deref(), Some("Exists"));
    assert_eq!(tolerations[0].key, None, "tolerates every taint");
    assert_eq!(spec.containers.len(), 1);
    assert!(spec.init_containers.is_none());

    let c = &spec.containers[0];
    assert_eq!(c.image.as_deref(), Some("registry.example/netdiag:9.9.9"));
    assert_eq!(
        c.command.as_deref(),
        Some(&["netdiag-agent".to_string()][..])
    );
    let args = c.args.clone().expect("args");
    assert_eq!(
        args,
        [
            "trace",
            "--plan-file",
            "/etc/netdiag/plan/plan.json",
            "-o",
            "json",
            "--node-name",
            node,
            "--netns-dir",
            "/var/run/netns",
            "--proc",
            "/proc"
        ],
        "fixed flags only: the plan is a file"
    );
    assert!(c.env.is_none() && c.env_from.is_none());
    let sc = c.security_context.as_ref().expect("securityContext");
    assert_eq!(sc.privileged, Some(false));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    let caps = sc.capabilities.as_ref().expect("capabilities");
    assert_eq!(caps.drop.as_deref(), Some(&["ALL".to_string()][..]));
    let mut add = caps.add.clone().expect("add");
    add.sort();
    assert_eq!(add, ["NET_ADMIN", "NET_RAW", "SYS_ADMIN", "SYS_PTRACE"]);
    let res = c.resources.as_ref().expect("resources");
    for key in ["cpu", "memory"] {
        assert!(
            res.requests.as_ref().is_some_and(|r| r.contains_key(key)),
            "request {key}"
        );
        assert!(
            res.limits.as_ref().is_some_and(|r| r.contains_key(key)),
            "limit {key}"
        );
    }

    let mounts = c.volume_mounts.clone().expect("mounts");
    assert_eq!(mounts.len(), 3, "the two host paths and the plan");
    let plan = mounts
        .iter()
        .find(|m| m.mount_path == "/etc/netdiag/plan")
        .expect("plan mount");
    assert_eq!(plan.read_only, Some(true));
    let netns = mounts
        .iter()
        .find(|m| m.mount_path == "/var/run/netns")
        .expect("netns mount");
    assert_eq!(netns.read_only, Some(true));
    assert_eq!(netns.mount_propagation.as_deref(), Some("HostToContainer"));
    let lock = mounts
        .iter()
        .find(|m| m.mount_path == "/run/xtables.lock")
        .expect("lock mount");
    assert_eq!(
        lock.read_only,
        Some(false),
        "iptables -w must open and flock the lock"
    );
    let volumes = spec.volumes.clone().expect("volumes");
    let paths: Vec<_> = volumes
        .iter()
        .filter_map(|v| v.host_path.as_ref().map(|h| h.path.as_str()))
        .collect();
    assert_eq!(paths, ["/var/run/netns", "/run/xtables.lock"]);
    let plan = volumes
        .iter()
        .find_map(|v| v.config_map.as_ref())
        .expect("the plan volume");
    assert_eq!(Some(&plan.name), meta.name.as_ref(), "its own run's plan");
    assert_eq!(plan.default_mode, Some(0o444));
    assert_eq!(volumes.len(), 3, "nothing else is mounted");
}

#[test]
fn render_agent_pod_prints_the_audited_source_pod() {
    let r = render_cli(&sample("netprobe-service.yaml"), "node-a", "source", &[]);
    assert!(r.text.starts_with("# The agent pod"), "{}", r.text);
    assert_audited(&r.pod, "node-a", "default");
    let spec = r.pod.spec.as_ref().expect("spec");
    assert_eq!(
        spec.active_deadline_seconds,
        Some(30),
        "the sample's timeoutSeconds"
    );
    let plan = plan_of(&r.config_map);
    assert_eq!(plan.role, PlanRole::Source);
    assert_eq!(
        plan.dns_name.as_deref(),
        Some("echo.default.svc.cluster.local")
    );
}

#[test]
fn render_agent_pod_prints_the_endpoint_pod_and_the_default_image() {
    let out = Command::new(env!("CARGO_BIN_EXE_netdiag-controller"))
        .args([
            "render-agent-pod",
            "--probe",
            &sample("netprobe-pod.yaml"),
            "--node",
            "node-b",
            "--role",
            "endpoint",
        ])
        .env_remove("NETDIAG_AGENT_IMAGE")
        .output()
        .expect("run");
    assert!(out.status.success());
    let pod: Pod = common::render::documents(&String::from_utf8_lossy(&out.stdout)).1;
    let image = pod
        .spec
        .as_ref()
        .and_then(|s| s.containers[0].image.clone());
    assert_eq!(
        image,
        Some(format!(
            "ghcr.io/netdiag/netdiag:{}",
            env!("CARGO_PKG_VERSION")
        ))
    );
    assert_eq!(pod.labels_role(), Some("endpoint".to_string()));
}

trait RoleLabel {
    fn labels_role(&self) -> Option<String>;
}
impl RoleLabel for Pod {
    fn labels_role(&self) -> Option<String> {
        self.metadata.labels.as_ref()?.get(pod::ROLE_LABEL).cloned()
    }
}

#[test]
fn every_sample_renders_an_audited_pod() {
    let dir = format!("{}/../config/samples", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("samples") {
        let path = entry.expect("entry").path();
        if path
            .file_name()
            .and_then(|f| f.to_str())
            .is_some_and(|f| f.starts_with("netprobe-"))
        {
            let r = render_cli(path.to_str().expect("utf-8 path"), "node-a", "source", &[]);
            assert_audited(&r.pod, "node-a", "default");
            n += 1;
        }
    }
    assert!(n >= 5, "{n} samples");
}

#[test]
fn a_probe_in_the_controllers_namespace_gets_a_controller_owner_reference() {
    let mut p = common::probe(
        "netdiag-system",
        "self-check",
        "{source: {pod: curl1}, target: {dns: {name: kubernetes.default}}}",
    );
    p.metadata.generation = Some(3);
    let pod = render_pod(&p);
    assert_audited(&pod, "node-a", "netdiag-system");
    let owner = &pod.metadata.owner_references.as_ref().expect("owner")[0];
    assert_eq!(owner.uid, "0a1b2c3d-1111-4222-8333-444455556666");
    assert_eq!(owner.api_version, "netdiag.dev/v1alpha1");
}

#[test]
fn nothing_from_the_spec_reaches_image_command_paths_or_node() {
    // A hostile spec: every string field tries to smuggle a flag, a path or a node name in.
    let mut p = common::probe(
        "default",
        "evil",
        "{source: {pod: curl1}, target: {dns: {name: x}}}",
    );
    p.spec.source.pod = Some("--proc=/etc".into());
    assert!(
        render_objects(
            &settings(),
            &p,
            "node-a",
            PlanRole::Source,
            "cluster.local",
            None
        )
        .is_err(),
        "refused by validation"
    );
    let p = common::probe(
        "default",
        "evil",
        "{source: {pod: curl1}, target: {dns: {name: node-b.evil}}, dnsName: netns-dir.x}",
    );
    let pod = render_pod(&p);
    let c = &pod.spec.as_ref().expect("spec").containers[0];
    let args = c.args.clone().expect("args");
    // The spec's names appear only in the plan ConfigMap, never in an argument.
    for (i, a) in args.iter().enumerate() {
        assert!(
            !a.contains("evil") && !a.contains("netns-dir.x"),
            "arg {i}: {a}"
        );
    }
    assert_eq!(
        pod.spec.as_ref().and_then(|s| s.node_name.as_deref()),
        Some("node-a")
    );
}

#[test]
fn pod_names_are_deterministic_per_probe_run_and_role() {
    let id = ProbeRef {
        namespace: "default".into(),
        name: "p".into(),
        uid: "u-1".into(),
        generation: 2,
        run: 7,
    };
    assert_eq!(
        pod::agent_pod_name(&id, PlanRole::Source),
        "netdiag-u-1-r7-source"
    );
    assert_eq!(
        pod::agent_pod_name(&id, PlanRole::Endpoint),
        "netdiag-u-1-r7-endpoint"
    );
}

#[test]
fn a_node_inspection_renders_its_pod_on_its_own_node_with_the_same_posture() {
    let file = format!(
        "{}/tests/fixtures/nodeinspection-node.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    // --node is ignored for a node inspection: the spec names the node.
    let out = Command::new(env!("CARGO_BIN_EXE_netdiag-controller"))
        .args(["render-agent-pod", "--probe", &file, "--node", "other"])
        .env("NETDIAG_AGENT_IMAGE", "registry.example/netdiag:9.9.9")
        .env_remove("POD_NAMESPACE")
        .output()
        .expect("run netdiag-controller");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("`netdiag-agent inspect -o json`"), "{text}");
    let pod: Pod = serde_saphyr::from_str(&text).expect("one Pod document");
    let spec = pod.spec.expect("spec");
    assert_eq!(spec.node_name.as_deref(), Some("worker-1"));
    assert_eq!(spec.automount_service_account_token, Some(false));
    let args = spec.containers[0].args.clone().unwrap_or_default();
    assert_eq!(args[..3], ["inspect", "-o", "json"]);
    let owner = &pod.metadata.owner_references.expect("owned")[0];
    assert_eq!(owner.kind, "NodeInspection");
    // The same spec as a NetProbe run's pod, but for the arguments and the plan volume.
    let probe = render_pod(
        &serde_saphyr::from_str(
            &std::fs::read_to_string(sample("netprobe-service.yaml")).expect("sample"),
        )
        .expect("a NetProbe"),
    );
    let mut probe_spec = probe.spec.expect("spec");
    probe_spec.node_name = Some("worker-1".into());
    probe_spec.containers[0].args = Some(args);
    if let Some(v) = probe_spec.volumes.as_mut() {
        v.retain(|v| v.name != "plan");
    }
    if let Some(m) = probe_spec.containers[0].volume_mounts.as_mut() {
        m.retain(|m| m.name != "plan");
    }
    probe_spec.active_deadline_seconds = spec.active_deadline_seconds;
    assert_eq!(probe_spec, spec);
}
