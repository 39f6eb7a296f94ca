//! The reconciler's API flows as the tests state them: the request paths, the agent pods' shape,
//! the reads and writes a run makes, shared by api.rs and api_runs.rs.

use netdiag_crds::{NetProbe, NetProbeStatus};
use serde_json::{Value, json};

use super::verifier::{AGENT_IMAGE, ApiServerVerifier};
use super::{pod, reports, service, slices};

pub const AGENTS: &str = "/api/v1/namespaces/netdiag-system/pods";
pub const PLANS: &str = "/api/v1/namespaces/netdiag-system/configmaps";
pub const STATUS: &str = "/apis/netdiag.dev/v1alpha1/namespaces/default/netprobes/p/status";
pub const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/default/events";
pub const UID: &str = "0a1b2c3d-1111-4222-8333-444455556666";

pub fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("json")
}

pub fn list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "1"}, "items": items})
}

/// The agent pod as the API server returns it: what the controller posted, plus a creation
/// time and a status.
pub fn agent(posted: &Value, created: &str, status: Value) -> Value {
    let mut p = posted.clone();
    p["metadata"]["creationTimestamp"] = json!(created);
    p["metadata"]["uid"] = json!("pod-uid");
    p["status"] = status;
    p
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

pub fn with_status(mut p: NetProbe, status: Value) -> NetProbe {
    p.status = Some(serde_json::from_value(status).expect("status"));
    p
}

/// Apply-patch body: the status, checked to be a server-side apply of this kind.
pub fn applied_status(seen: &super::verifier::Seen) -> NetProbeStatus {
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

pub async fn expect_event(api: &mut ApiServerVerifier, reason: &str) {
    let ev = api.expect("POST", EVENTS).await;
    assert_eq!(ev.body["reason"], reason);
    assert_eq!(ev.body["regarding"]["kind"], "NetProbe");
    ev.echo();
}

/// The resolve reads for a Service target: source pod, Service, its EndpointSlices, kube-dns.
pub async fn expect_resolve_echo(api: &mut ApiServerVerifier) {
    let fixture = slices("default", "echo").iter().map(to_json).collect();
    expect_resolve_echo_with(api, fixture).await;
}

/// [`expect_resolve_echo`], the EndpointSlice list answered with `slices`.
pub async fn expect_resolve_echo_with(api: &mut ApiServerVerifier, slices: Vec<Value>) {
    api.expect("GET", "/api/v1/namespaces/default/pods/curl1")
        .await
        .ok(&to_json(&pod("default", "curl1")));
    api.expect("GET", "/api/v1/namespaces/default/services/echo")
        .await
        .ok(&to_json(&service("default", "echo")));
    let sl = api
        .expect(
            "GET",
            "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
        )
        .await;
    assert!(
        sl.query
            .contains("labelSelector=kubernetes.io%2Fservice-name%3Decho"),
        "{}",
        sl.query
    );
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
    sl.ok(&list(slices));
    api.expect("GET", "/api/v1/namespaces/kube-system/services/kube-dns")
        .await
        .ok(&to_json(&service("kube-system", "kube-dns")));
    expect_nodes(api, &nodes).await;
}

/// The reads of the nodes a trace may cross, in order, each answered as kind's nodes are:
/// node-a 172.18.0.2 with 10.244.1.0/24, node-b .3 with 10.244.2.0/24, and so on.
pub async fn expect_nodes(api: &mut ApiServerVerifier, names: &[String]) {
    for name in names {
        let i = name.bytes().last().map_or(0, |b| b.saturating_sub(b'a'));
        api.expect("GET", &format!("/api/v1/nodes/{name}"))
            .await
            .ok(&serde_json::json!({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name},
                "spec": {"podCIDR": format!("10.244.{}.0/24", i + 1)},
                "status": {"addresses": [{"type": "InternalIP", "address": format!("172.18.0.{}", i + 2)}]}
            }));
    }
}

pub async fn expect_list_agents(api: &mut ApiServerVerifier, pods: Vec<Value>) {
    expect_list_agents_of(api, UID, pods).await;
}

/// The list of one probe's agent pods (by its UID label), answered with `pods`.
pub async fn expect_list_agents_of(api: &mut ApiServerVerifier, uid: &str, pods: Vec<Value>) {
    let l = api.expect("GET", AGENTS).await;
    assert!(
        l.query
            .contains(&format!("labelSelector=netdiag.dev%2Fprobe%3D{uid}")),
        "{}",
        l.query
    );
    l.ok(&list(pods));
}

/// The count of agent pods at work that admission makes before creating any (all of this
/// controller's agent pods, by label); answered with `pods`.
pub async fn expect_count_agents(api: &mut ApiServerVerifier, pods: Vec<Value>) {
    let l = api.expect("GET", AGENTS).await;
    assert!(
        l.query.contains(
            "labelSelector=app.kubernetes.io%2Fmanaged-by%3Dnetdiag-controller%2Capp.kubernetes.io%2Fcomponent%3Dagent"
        ),
        "{}",
        l.query
    );
    l.ok(&list(pods));
}

/// A node run's creation: its plan ConfigMap, then the audited pod that mounts it. Both are
/// answered; returns the posted pod and the plan the ConfigMap holds.
pub async fn expect_create_agent(
    api: &mut ApiServerVerifier,
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
pub async fn expect_delete_agent(api: &mut ApiServerVerifier, name: &str) {
    let d = api.expect("DELETE", &format!("{AGENTS}/{name}")).await;
    assert_eq!(d.body["propagationPolicy"], "Background");
    d.ok(&json!({}));
    api.expect("DELETE", &format!("{PLANS}/{name}"))
        .await
        .ok(&json!({}));
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
    let p = super::probe(
        "default",
        "p",
        "{source: {pod: curl1}, target: {address: {ip: 10.96.0.10, port: 53, protocol: UDP}}}",
    );
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
