//! API-level tests of the reconciler: each states every request it makes (method, path, body
//! essentials) against a tower-test mock API server, which also fails when an expected request
//! never comes.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::verifier::{AGENT_IMAGE, ApiServerVerifier, test_context};
use common::{pod, probe, reports, service, slices};
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::controller::Action;
use netdiag_controller::netprobe::reconcile;
use netdiag_crds::{NetProbe, NetProbeStatus, Phase};
use serde_json::{Value, json};

const AGENTS: &str = "/api/v1/namespaces/netdiag-system/pods";
const STATUS: &str = "/apis/netdiag.dev/v1alpha1/namespaces/default/netprobes/p/status";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/default/events";
const UID: &str = "0a1b2c3d-1111-4222-8333-444455556666";

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("json")
}

fn list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "1"}, "items": items})
}

/// The agent pod as the API server returns it: what the controller posted, plus a creation
/// time and a status.
fn agent(posted: &Value, created: &str, status: Value) -> Value {
    let mut p = posted.clone();
    p["metadata"]["creationTimestamp"] = json!(created);
    p["metadata"]["uid"] = json!("pod-uid");
    p["status"] = status;
    p
}

fn succeeded() -> Value {
    json!({"phase": "Succeeded", "containerStatuses": [{"name": "agent", "ready": false, "restartCount": 0, "image": AGENT_IMAGE, "imageID": "", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]})
}

fn report_log(i: usize) -> String {
    format!(
        "starting trace\n{}\n",
        serde_json::to_string(&reports()[i]).expect("json")
    )
}

fn with_status(mut p: NetProbe, status: Value) -> NetProbe {
    p.status = Some(serde_json::from_value(status).expect("status"));
    p
}

/// Apply-patch body: the status, checked to be a server-side apply of this kind.
fn applied_status(seen: &common::verifier::Seen) -> NetProbeStatus {
    assert!(
        seen.query.contains("fieldManager=netdiag-controller") && seen.query.contains("force=true"),
        "{}",
        seen.query
    );
    assert_eq!(seen.body["apiVersion"], "netdiag.dev/v1alpha1");
    assert_eq!(seen.body["kind"], "NetProbe");
    serde_json::from_value(seen.body["status"].clone()).expect("a NetProbeStatus")
}

fn condition<'a>(s: &'a NetProbeStatus, t: &str) -> (&'a str, &'a str) {
    let c = s.condition(t).unwrap_or_else(|| panic!("no {t} condition"));
    (c.status.as_str(), c.reason.as_deref().unwrap_or(""))
}

async fn expect_event(api: &mut ApiServerVerifier, reason: &str) {
    let ev = api.expect("POST", EVENTS).await;
    assert_eq!(ev.body["reason"], reason);
    assert_eq!(ev.body["regarding"]["kind"], "NetProbe");
    ev.echo();
}

/// The resolve reads for a Service target: source pod, Service, its EndpointSlices, kube-dns.
async fn expect_resolve_echo(api: &mut ApiServerVerifier) {
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
    sl.ok(&list(
        slices("default", "echo").iter().map(to_json).collect(),
    ));
    api.expect("GET", "/api/v1/namespaces/kube-system/services/kube-dns")
        .await
        .ok(&to_json(&service("kube-system", "kube-dns")));
}

async fn expect_list_agents(api: &mut ApiServerVerifier, pods: Vec<Value>) {
    let l = api.expect("GET", AGENTS).await;
    assert!(
        l.query
            .contains(&format!("labelSelector=netdiag.dev%2Fprobe%3D{UID}")),
        "{}",
        l.query
    );
    l.ok(&list(pods));
}

/// Check a posted agent pod against the audited essentials and return it.
fn audited(posted: &Value, node: &str, role: &str) -> Value {
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

#[tokio::test]
async fn a_fresh_probe_runs_the_source_then_the_chosen_endpoints_node_then_reports_and_cleans_up() {
    let (ctx, mut api) = test_context();
    let p = probe(
        "default",
        "p",
        "{source: {pod: curl1}, target: {service: {name: echo, port: http}}}",
    );

    // 1. Fresh: resolve, no agent pod yet, create the source pod, mark Running.
    let server = tokio::spawn(async move {
        expect_resolve_echo(&mut api).await;
        expect_list_agents(&mut api, vec![]).await;
        let post = api.expect("POST", AGENTS).await;
        let posted = audited(&post.body, "node-a", "source");
        let plan: netdiag_model::TracePlan = serde_json::from_str(
            posted["spec"]["containers"][0]["args"][2]
                .as_str()
                .expect("plan"),
        )
        .expect("plan json");
        assert_eq!(
            plan.target.as_ref().map(|t| t.ip.as_str()),
            Some("10.96.0.50")
        );
        assert_eq!(plan.source_ip.as_deref(), Some("10.244.1.2"));
        assert_eq!(plan.expected_endpoints.len(), 2);
        post.echo();
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied_status(&patch);
        assert_eq!(s.phase, Some(Phase::Running));
        assert_eq!(condition(&s, "Reconciling"), ("True", "RunInProgress"));
        assert_eq!(condition(&s, "Ready").0, "False");
        assert_eq!(
            s.nodes[0].agent_pod.as_deref(),
            Some(posted["metadata"]["name"].as_str().expect("name"))
        );
        patch.applied();
        expect_event(&mut api, "Started").await;
        (api, posted, s)
    });
    let action = reconcile(Arc::new(p.clone()), ctx.clone())
        .await
        .expect("reconcile 1");
    assert_eq!(action, Action::requeue(Duration::from_secs(5)));
    let (mut api, source_pod, running) = server.await.expect("verifier 1");

    // 2. The source agent succeeded: read its report, plan the endpoint run on node-b.
    let p2 = with_status(p.clone(), to_json(&running));
    let src_done = agent(
        &source_pod,
        &running.start_time.clone().expect("start"),
        succeeded(),
    );
    let src_done2 = src_done.clone();
    let server = tokio::spawn(async move {
        expect_list_agents(&mut api, vec![src_done2.clone()]).await;
        let log = api
            .expect("GET", &format!("{AGENTS}/netdiag-{UID}-r1-source/log"))
            .await;
        assert!(
            log.query.contains("container=agent") && log.query.contains("tailLines=50"),
            "{}",
            log.query
        );
        log.text(&report_log(0));
        expect_resolve_echo(&mut api).await;
        let post = api.expect("POST", AGENTS).await;
        let posted = audited(&post.body, "node-b", "endpoint");
        let plan: netdiag_model::TracePlan = serde_json::from_str(
            posted["spec"]["containers"][0]["args"][2]
                .as_str()
                .expect("plan"),
        )
        .expect("plan json");
        assert_eq!(
            plan.endpoint.as_ref().map(|e| e.to_string()).as_deref(),
            Some("10.244.2.7:5678"),
            "DNAT's choice"
        );
        post.echo();
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied_status(&patch);
        assert_eq!(
            s.nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
            ["node-a", "node-b"]
        );
        patch.applied();
        (api, posted, s)
    });
    let action = reconcile(Arc::new(p2), ctx.clone())
        .await
        .expect("reconcile 2");
    assert_eq!(action, Action::requeue(Duration::from_secs(5)));
    let (mut api, endpoint_pod, running2) = server.await.expect("verifier 2");

    // 3. Both agents done: read both reports, write the merged path, then delete both pods.
    let p3 = with_status(p, to_json(&running2));
    let ep_done = agent(
        &endpoint_pod,
        &running.start_time.clone().expect("start"),
        succeeded(),
    );
    let server = tokio::spawn(async move {
        expect_list_agents(&mut api, vec![src_done, ep_done]).await;
        api.expect("GET", &format!("{AGENTS}/netdiag-{UID}-r1-source/log"))
            .await
            .text(&report_log(0));
        api.expect("GET", &format!("{AGENTS}/netdiag-{UID}-r1-endpoint/log"))
            .await
            .text(&report_log(1));
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied_status(&patch);
        assert_eq!(s.phase, Some(Phase::Succeeded));
        assert_eq!(s.runs, Some(1));
        let f = s.first_failure.clone().expect("first failure");
        assert_eq!(
            (f.hop, f.node.as_str(), f.reason),
            (
                netdiag_model::HopKind::Listener,
                "node-b",
                netdiag_model::Reason::NothingListening
            )
        );
        assert_eq!(condition(&s, "Reachable"), ("False", "NothingListening"));
        assert_eq!(condition(&s, "Completed").0, "True");
        assert_eq!(condition(&s, "Reconciling").0, "False");
        assert!(s.completion_time.is_some());
        patch.applied();
        expect_event(&mut api, "FailureFound").await;
        expect_event(&mut api, "Completed").await;
        let d1 = api
            .expect("DELETE", &format!("{AGENTS}/netdiag-{UID}-r1-source"))
            .await;
        assert_eq!(d1.body["propagationPolicy"], "Background");
        d1.ok(&json!({}));
        api.expect("DELETE", &format!("{AGENTS}/netdiag-{UID}-r1-endpoint"))
            .await
            .ok(&json!({}));
        api.done().await;
    });
    let action = reconcile(Arc::new(p3), ctx).await.expect("reconcile 3");
    assert_eq!(
        action,
        Action::await_change(),
        "a one-shot probe without TTL waits for a change"
    );
    server.await.expect("verifier 3");
}

fn existing_source_pod(run_status: Value) -> Value {
    // The very pod the controller would have created, found by label after a restart.
    let p = probe(
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
            ip: "10.96.0.10".into(),
            port: 53,
            protocol: netdiag_crds::Protocol::UDP,
        },
        dns_name: None,
        dns_servers: vec![],
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
    let pod: Pod =
        netdiag_controller::agents::pod::agent_pod(&settings, &id, &plan, 30).expect("pod");
    agent(&to_json(&pod), "2026-01-01T00:00:00Z", run_status)
}

fn address_probe() -> NetProbe {
    probe(
        "default",
        "p",
        "{source: {pod: curl1}, target: {address: {ip: 10.96.0.10, port: 53, protocol: UDP}}}",
    )
}

#[tokio::test]
async fn a_restarted_controller_adopts_the_agent_pod_it_finds_and_creates_none() {
    let (ctx, mut api) = test_context();
    let running = json!({"phase": "Running"});
    let existing = existing_source_pod(running);
    let server = tokio::spawn(async move {
        // The status write of the first run was lost: the controller starts over, finds the pod.
        api.expect("GET", "/api/v1/namespaces/default/pods/curl1")
            .await
            .ok(&to_json(&pod("default", "curl1")));
        expect_list_agents(&mut api, vec![existing]).await;
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied_status(&patch);
        assert_eq!(s.phase, Some(Phase::Running));
        assert_eq!(
            s.start_time.as_deref(),
            Some("2026-01-01T00:00:00Z"),
            "the run began when the adopted pod was made"
        );
        assert_eq!(s.nodes[0].phase.as_deref(), Some("Running"));
        patch.applied();
        expect_event(&mut api, "Started").await;
        api.done().await; // no POST: nothing duplicated
    });
    reconcile(Arc::new(address_probe()), ctx)
        .await
        .expect("reconcile");
    server.await.expect("verifier");
}

#[tokio::test]
async fn a_run_under_way_with_its_pod_running_only_looks() {
    let (ctx, mut api) = test_context();
    let existing = existing_source_pod(json!({"phase": "Running"}));
    let now = jiff::Timestamp::now().to_string();
    let p = with_status(
        address_probe(),
        json!({"phase": "Running", "observedGeneration": 1, "startTime": now,
               "nodes": [{"name": "node-a", "agentPod": format!("netdiag-{UID}-r1-source"), "phase": "Running"}]}),
    );
    let server = tokio::spawn(async move {
        expect_list_agents(&mut api, vec![existing]).await;
        api.done().await;
    });
    let action = reconcile(Arc::new(p), ctx).await.expect("reconcile");
    assert_eq!(action, Action::requeue(Duration::from_secs(5)));
    server.await.expect("verifier");
}

#[tokio::test]
async fn an_agent_pod_pending_past_the_timeout_fails_the_probe_with_the_pods_reason_and_is_deleted()
{
    let (ctx, mut api) = test_context();
    let pending = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": "0/3 nodes are available: 1 node(s) had untolerated taint"}]});
    let existing = existing_source_pod(pending);
    let p = with_status(
        address_probe(),
        json!({"phase": "Running", "observedGeneration": 1, "startTime": "2026-01-01T00:00:00Z"}),
    );
    let server = tokio::spawn(async move {
        expect_list_agents(&mut api, vec![existing]).await;
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied_status(&patch);
        assert_eq!(s.phase, Some(Phase::Failed));
        assert_eq!(condition(&s, "Completed"), ("True", "Unschedulable"));
        assert_eq!(condition(&s, "Reachable"), ("Unknown", "Unschedulable"));
        assert_eq!(condition(&s, "Ready"), ("False", "Unschedulable"));
        let msg = s
            .condition("Completed")
            .and_then(|c| c.message.clone())
            .unwrap_or_default();
        assert!(msg.contains("untolerated taint"), "{msg}");
        assert_eq!(s.runs, Some(1));
        patch.applied();
        expect_event(&mut api, "ProbeFailed").await;
        api.expect("DELETE", &format!("{AGENTS}/netdiag-{UID}-r1-source"))
            .await
            .ok(&json!({}));
        api.done().await;
    });
    let action = reconcile(Arc::new(p), ctx).await.expect("reconcile");
    assert_eq!(action, Action::await_change());
    server.await.expect("verifier");
}

#[tokio::test]
async fn an_invalid_spec_fails_with_invalid_spec_and_starts_no_pod() {
    let (ctx, mut api) = test_context();
    let p = probe(
        "default",
        "p",
        "{source: {pod: curl1}, target: {address: {ip: 10.96.0.10, port: 70000}}, intervalSeconds: 5}",
    );
    let server = tokio::spawn(async move {
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied_status(&patch);
        assert_eq!(s.phase, Some(Phase::Failed));
        assert_eq!(condition(&s, "Completed"), ("True", "InvalidSpec"));
        let msg = s
            .condition("Completed")
            .and_then(|c| c.message.clone())
            .unwrap_or_default();
        assert!(
            msg.contains("spec.target.address.port") && msg.contains("spec.intervalSeconds"),
            "{msg}"
        );
        assert_eq!(s.runs, None, "an invalid spec never ran");
        patch.applied();
        expect_event(&mut api, "ProbeFailed").await;
        api.done().await;
    });
    let action = reconcile(Arc::new(p), ctx.clone())
        .await
        .expect("reconcile");
    assert_eq!(action, Action::await_change(), "only a spec change helps");
    server.await.expect("verifier");
}

#[tokio::test]
async fn a_missing_source_pod_fails_with_its_reason_and_starts_no_pod() {
    let (ctx, mut api) = test_context();
    let server = tokio::spawn(async move {
        api.expect("GET", "/api/v1/namespaces/default/pods/curl1")
            .await
            .not_found();
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied_status(&patch);
        assert_eq!(condition(&s, "Ready"), ("False", "SourcePodNotFound"));
        patch.applied();
        expect_event(&mut api, "ProbeFailed").await;
        api.done().await;
    });
    reconcile(Arc::new(address_probe()), ctx)
        .await
        .expect("reconcile");
    server.await.expect("verifier");
}

#[tokio::test]
async fn a_periodic_probe_is_requeued_at_its_interval_after_a_run_and_waits_out_the_rest() {
    let (ctx, mut api) = test_context();
    let mut p = address_probe();
    p.spec.interval_seconds = Some(300);
    let p_running = with_status(
        p.clone(),
        json!({"phase": "Running", "observedGeneration": 1, "startTime": jiff::Timestamp::now().to_string()}),
    );
    let done = existing_source_pod(succeeded());
    let server = tokio::spawn(async move {
        expect_list_agents(&mut api, vec![done]).await;
        let mut report = reports()[0].clone();
        report
            .hops
            .retain(|h| h.kind != netdiag_model::HopKind::Connect);
        report.hops.push(netdiag_model::Hop::new(
            "node-a",
            netdiag_model::HopKind::Connect,
            "10.96.0.10:53",
            netdiag_model::Verdict::Ok,
            "answered",
        ));
        let log = format!("{}\n", serde_json::to_string(&report).expect("json"));
        api.expect("GET", &format!("{AGENTS}/netdiag-{UID}-r1-source/log"))
            .await
            .text(&log);
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied_status(&patch);
        assert_eq!(condition(&s, "Ready"), ("True", "Connected"));
        assert_eq!(s.runs, Some(1));
        patch.applied();
        expect_event(&mut api, "Completed").await;
        api.expect("DELETE", &format!("{AGENTS}/netdiag-{UID}-r1-source"))
            .await
            .ok(&json!({}));
        api.done().await;
    });
    let action = reconcile(Arc::new(p_running), ctx.clone())
        .await
        .expect("reconcile");
    assert_eq!(action, Action::requeue(Duration::from_secs(300)));
    server.await.expect("verifier");

    // 100 s after it finished: nothing to do for 200 s more, and no request at all.
    let (ctx, api) = test_context();
    let finished_at = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(100);
    let p_done = with_status(
        p,
        json!({"phase": "Succeeded", "observedGeneration": 1, "runs": 1,
        "completionTime": netdiag_controller::netprobe::status::rfc3339(finished_at)}),
    );
    let action = reconcile(Arc::new(p_done), ctx).await.expect("reconcile");
    // Action hides its duration; its Debug form is `Action { requeue_after: Some(199.99..s) }`.
    let debug = format!("{action:?}");
    let secs: f64 = debug
        .split("Some(")
        .nth(1)
        .and_then(|r| r.split('s').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a requeue: {debug}"));
    assert!(
        (195.0..=201.0).contains(&secs),
        "requeued in about 200 s: {debug}"
    );
    api.done().await;
}

#[tokio::test]
async fn a_finished_one_shot_probe_past_its_ttl_is_deleted() {
    let (ctx, mut api) = test_context();
    let mut p = address_probe();
    p.spec.ttl_seconds_after_finished = Some(60);
    let p = with_status(
        p,
        json!({"phase": "Succeeded", "observedGeneration": 1, "runs": 1, "completionTime": "2026-01-01T00:00:00Z"}),
    );
    let server = tokio::spawn(async move {
        let d = api
            .expect(
                "DELETE",
                "/apis/netdiag.dev/v1alpha1/namespaces/default/netprobes/p",
            )
            .await;
        d.ok(&json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}));
        api.done().await;
    });
    assert_eq!(
        reconcile(Arc::new(p), ctx).await.expect("reconcile"),
        Action::await_change()
    );
    server.await.expect("verifier");
}

#[tokio::test]
async fn a_generation_bump_deletes_the_old_runs_pod_and_starts_fresh() {
    let (ctx, mut api) = test_context();
    let old = existing_source_pod(json!({"phase": "Running"}));
    let mut p = with_status(
        address_probe(),
        json!({"phase": "Running", "observedGeneration": 1, "startTime": "2026-01-01T00:00:00Z"}),
    );
    p.metadata.generation = Some(2);
    let server = tokio::spawn(async move {
        api.expect("GET", "/api/v1/namespaces/default/pods/curl1")
            .await
            .ok(&to_json(&pod("default", "curl1")));
        expect_list_agents(&mut api, vec![old]).await;
        api.expect("DELETE", &format!("{AGENTS}/netdiag-{UID}-r1-source"))
            .await
            .ok(&json!({}));
        let post = api.expect("POST", AGENTS).await;
        assert_eq!(
            post.body["metadata"]["labels"]["netdiag.dev/generation"],
            "2"
        );
        post.echo();
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied_status(&patch);
        assert_eq!(s.observed_generation, Some(2));
        assert_eq!(s.phase, Some(Phase::Running));
        patch.applied();
        expect_event(&mut api, "Started").await;
        api.done().await;
    });
    reconcile(Arc::new(p), ctx).await.expect("reconcile");
    server.await.expect("verifier");
}
