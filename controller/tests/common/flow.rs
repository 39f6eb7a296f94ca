//! The reconciler's API flows as the tests state them: the request paths, the agent pods' shape,
//! the reads and writes a run makes, shared by api.rs and api_runs.rs.

use netdiag_crds::NetProbeStatus;
use netdiag_testkit::api::scenario::{answer_nodes, answer_service};
use netdiag_testkit::api::{MockServer, Seen};
use serde_json::{Value, json};

// What every flow test needs besides the flows (each test binary uses a different part).
#[allow(unused_imports)]
pub use netdiag_testkit::api::{
    list, objects::TEST_UID as UID, prelude::*, scenario::answer_get, to_json,
};

use super::context::AGENT_IMAGE;
use super::{pod, reports, service, slices};

pub const AGENTS: &str = "/api/v1/namespaces/netdiag-system/pods";
pub const PLANS: &str = "/api/v1/namespaces/netdiag-system/configmaps";
pub const STATUS: &str = "/apis/netdiag.dev/v1alpha1/namespaces/default/netprobes/p/status";
pub const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/default/events";

/// The agent pod as the API server returns it: what the controller posted, plus a creation
/// time and a status.
pub fn agent(posted: &Value, created: &str, status: Value) -> Value {
    let mut p = posted.clone();
    p["metadata"]["creationTimestamp"] = json!(created);
    p["metadata"]["uid"] = json!("pod-uid");
    p["status"] = status;
    p
}

/// Probe `p`: curl1 to Service echo's port `http` (two endpoints, on node-b in the fixtures).
pub fn echo_probe() -> NetProbe {
    NetProbe::test("p").service_target("echo", "http")
}

/// Probe `p`: curl1 to kube-dns's ClusterIP, a bare address.
pub fn address_probe() -> NetProbe {
    NetProbe::test("p").address_target("10.96.0.10", 53, netdiag_crds::Protocol::UDP)
}

pub fn succeeded() -> Value {
    json!({"phase": "Succeeded", "containerStatuses": [{"name": "agent", "ready": false, "restartCount": 0, "image": AGENT_IMAGE, "imageID": "", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]})
}

pub fn report_log(i: usize) -> String {
    format!(
        "starting trace\n{}\n",
        serde_json::to_string(&reports()[i]).expect("json")
    )
}

/// Apply-patch body: the status, checked to be a server-side apply of this kind.
pub fn applied_status(seen: &Seen) -> NetProbeStatus {
    assert!(
        seen.query.contains("fieldManager=netdiag-controller") && seen.query.contains("force=true"),
        "{}",
        seen.query
    );
    assert_eq!(seen.body["apiVersion"], "netdiag.dev/v1alpha1");
    assert_eq!(seen.body["kind"], "NetProbe");
    serde_json::from_value(seen.body["status"].clone()).expect("a NetProbeStatus")
}

pub fn condition<'a>(s: &'a NetProbeStatus, t: &str) -> (&'a str, &'a str) {
    let c = s.condition(t).unwrap_or_else(|| panic!("no {t} condition"));
    (c.status.as_str(), c.reason.as_deref().unwrap_or(""))
}

pub async fn expect_event(api: &mut MockServer, reason: &str) {
    let ev = api.expect("POST", EVENTS).await;
    assert_eq!(ev.body["reason"], reason);
    assert_eq!(ev.body["regarding"]["kind"], "NetProbe");
    ev.echo();
}

/// The end of a run that fails before any agent pod: its one status apply, its ProbeFailed
/// Event, and nothing else asked of the API (no read, no ConfigMap, no pod). Returns the applied
/// status for the test to check.
pub async fn expect_failed_and_nothing_else(api: &mut MockServer) -> NetProbeStatus {
    let patch = api.expect("PATCH", STATUS).await;
    let s = applied_status(&patch);
    patch.applied();
    expect_event(api, "ProbeFailed").await;
    api.done().await;
    s
}

/// The Completed condition's message, empty without one.
pub fn completed_message(s: &NetProbeStatus) -> String {
    s.condition("Completed")
        .and_then(|c| c.message.clone())
        .unwrap_or_default()
}

/// Reconcile `p` while `server` answers and checks what it asks of the API; the action, once
/// the verifier has seen every request it expects.
pub async fn reconcile_verified(
    p: NetProbe,
    ctx: std::sync::Arc<netdiag_controller::netprobe::Context>,
    server: tokio::task::JoinHandle<()>,
) -> kube::runtime::controller::Action {
    let action = netdiag_controller::netprobe::reconcile(std::sync::Arc::new(p), ctx)
        .await
        .expect("reconcile");
    server.await.expect("verifier");
    action
}

/// The resolve reads for a Service target: source pod, Service, its EndpointSlices, kube-dns.
pub async fn expect_resolve_echo(api: &mut MockServer) {
    let fixture = slices("default", "echo").iter().map(to_json).collect();
    expect_resolve_echo_with(api, fixture).await;
}

/// [`expect_resolve_echo`], the EndpointSlice list answered with `slices`; then the nodes of
/// the source and of the ready endpoints.
pub async fn expect_resolve_echo_with(api: &mut MockServer, slices: Vec<Value>) {
    answer_get(api, &pod("default", "curl1")).await;
    answer_service(api, &service("default", "echo"), &slices).await;
    let mut nodes = vec!["node-a".to_string()]; // curl1's
    for node in slices
        .iter()
        .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["conditions"]["ready"] != false)
        .filter_map(|e| e["nodeName"].as_str().map(String::from))
    {
        if !nodes.contains(&node) {
            nodes.push(node);
        }
    }
    answer_get(api, &service("kube-system", "kube-dns")).await;
    answer_nodes(api, &nodes).await;
}

/// What the reconcile of a new echo probe reads before it creates anything: the resolve, its
/// own agent pods (none), the agent pods at work (none).
pub async fn expect_fresh_echo_reads(api: &mut MockServer) {
    expect_resolve_echo(api).await;
    expect_list_agents(api, vec![]).await;
    expect_count_agents(api, vec![]).await;
}

pub async fn expect_list_agents(api: &mut MockServer, pods: Vec<Value>) {
    expect_list_agents_of(api, UID, pods).await;
}

/// The list of one probe's agent pods (by its UID label), answered with `pods`.
pub async fn expect_list_agents_of(api: &mut MockServer, uid: &str, pods: Vec<Value>) {
    api.expect("GET", AGENTS)
        .await
        .assert_query(&format!("labelSelector=netdiag.dev%2Fprobe%3D{uid}"))
        .ok_list(&pods);
}

/// The count of agent pods at work that admission makes before creating any (all of this
/// controller's agent pods, by label); answered with `pods`.
pub async fn expect_count_agents(api: &mut MockServer, pods: Vec<Value>) {
    api.expect("GET", AGENTS).await.assert_query(
        "labelSelector=app.kubernetes.io%2Fmanaged-by%3Dnetdiag-controller%2Capp.kubernetes.io%2Fcomponent%3Dagent",
    ).ok_list(&pods);
}

/// A node run's creation: its plan ConfigMap, then the audited pod that mounts it. Both are
/// answered; returns the posted pod and the plan the ConfigMap holds.
pub async fn expect_create_agent(
    api: &mut MockServer,
    node: &str,
    role: &str,
) -> (Value, netdiag_model::TracePlan) {
    let cm = api.expect("POST", PLANS).await;
    let name = format!("netdiag-{UID}-r1-{role}");
    assert_eq!(cm.body["metadata"]["name"], name);
    assert_eq!(cm.body["metadata"]["labels"]["netdiag.dev/probe"], UID);
    assert_eq!(
        cm.body["metadata"]["labels"]["app.kubernetes.io/component"],
        "agent"
    );
    let plan: netdiag_model::TracePlan = serde_json::from_str(
        cm.body["data"]["plan.json"]
            .as_str()
            .expect("the ConfigMap holds plan.json"),
    )
    .expect("plan json");
    cm.echo();
    let post = api.expect("POST", AGENTS).await;
    let posted = audited(&post.body, node, role);
    let volume = posted["spec"]["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "plan")
        .cloned()
        .expect("a plan volume");
    assert_eq!(volume["configMap"]["name"], name, "the pod mounts its plan");
    let args = &posted["spec"]["containers"][0]["args"];
    assert_eq!(args[1], "--plan-file");
    assert_eq!(args[2], "/etc/netdiag/plan/plan.json");
    post.echo();
    (posted, plan)
}

/// A node run's clean-up: its pod, then its plan ConfigMap.
pub async fn expect_delete_agent(api: &mut MockServer, name: &str) {
    let d = api.expect("DELETE", &format!("{AGENTS}/{name}")).await;
    assert_eq!(d.body["propagationPolicy"], "Background");
    d.success();
    api.expect("DELETE", &format!("{PLANS}/{name}"))
        .await
        .success();
}

/// Check a posted agent pod against the audited essentials and return it.
pub fn audited(posted: &Value, node: &str, role: &str) -> Value {
    let spec = &posted["spec"];
    assert_eq!(posted["metadata"]["namespace"], "netdiag-system");
    assert_eq!(
        posted["metadata"]["name"],
        format!("netdiag-{UID}-r1-{role}")
    );
    assert_eq!(posted["metadata"]["labels"]["netdiag.dev/probe"], UID);
    assert_eq!(posted["metadata"]["labels"]["netdiag.dev/node"], node);
    assert_eq!(spec["nodeName"], node);
    assert_eq!(
        (spec["hostNetwork"].clone(), spec["hostPID"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(spec["automountServiceAccountToken"], false);
    assert_eq!(spec["activeDeadlineSeconds"], 30);
    assert_eq!(spec["tolerations"], json!([{"operator": "Exists"}]));
    let c = &spec["containers"][0];
    assert_eq!(c["image"], AGENT_IMAGE);
    assert_eq!(c["securityContext"]["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(c["securityContext"]["privileged"], false);
    assert!(
        posted["metadata"].get("ownerReferences").is_none(),
        "no owner reference across namespaces"
    );
    posted.clone()
}

/// The source agent pod the controller would have made for an address probe of kube-dns's
/// ClusterIP from curl1, as the API returns it with `run_status`.
pub fn address_source_pod(run_status: Value) -> Value {
    // The very pod the controller would have created, found by label after a restart.
    let p = address_probe();
    let facts = netdiag_controller::netprobe::resolve::Resolved {
        source: netdiag_controller::netprobe::resolve::source_from_pod(
            "default",
            "curl1",
            Some(&pod("default", "curl1")),
        )
        .expect("src"),
        target: netdiag_controller::netprobe::resolve::ResolvedTarget::Address {
            ip: [10, 96, 0, 10].into(),
            port: 53,
            protocol: netdiag_crds::Protocol::UDP,
        },
        dns_name: None,
        dns_servers: vec![],
        nodes: Vec::new(),
    };
    let spec = netdiag_controller::netprobe::spec::ValidSpec::new(&p.spec).expect("valid");
    let plan = netdiag_controller::netprobe::plan::source_plan(&spec, &facts);
    let id = netdiag_controller::agents::pod::ProbeRef {
        namespace: "default".into(),
        name: "p".into(),
        uid: UID.into(),
        generation: 1,
        run: 1,
    };
    let settings = netdiag_controller::agents::pod::AgentSettings {
        image: AGENT_IMAGE.into(),
        namespace: "netdiag-system".into(),
    };
    let pod: k8s_openapi::api::core::v1::Pod =
        netdiag_controller::agents::pod::agent_objects(&settings, &id, &plan, 30)
            .expect("pod")
            .pod;
    agent(&to_json(&pod), "2026-01-01T00:00:00Z", run_status)
}
