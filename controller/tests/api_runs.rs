//! API-level tests of the reconciler after its first run: adoption after a restart, runs under
//! way, pods that never start, invalid specs, missing sources, reruns, TTLs and generations. Each
//! states every request it makes against a tower-test mock API server (see api.rs).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::context::test_context;
use common::flow::*;
use common::{pod, probe, reports};
use kube::runtime::controller::Action;
use netdiag_controller::netprobe::reconcile;
use netdiag_crds::Phase;
use serde_json::json;

#[tokio::test]
async fn a_restarted_controller_adopts_the_agent_pod_it_finds_and_creates_none() {
    let (ctx, mut api) = test_context();
    let running = json!({"phase": "Running"});
    let existing = address_source_pod(running);
    let server = tokio::spawn(async move {
        // The status write of the first run was lost: the controller starts over, finds the pod.
        answer_get(&mut api, &pod("default", "curl1")).await;
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
    reconcile_verified(address_probe(), ctx, server).await;
}

#[tokio::test]
async fn a_run_under_way_with_its_pod_running_only_looks() {
    let (ctx, mut api) = test_context();
    let existing = address_source_pod(json!({"phase": "Running"}));
    let now = jiff::Timestamp::now().to_string();
    let p = address_probe().with_status(json!({"phase": "Running", "observedGeneration": 1, "startTime": now,
               "nodes": [{"name": "node-a", "agentPod": format!("netdiag-{UID}-r1-source"), "phase": "Running"}]}));
    let server = tokio::spawn(async move {
        expect_list_agents(&mut api, vec![existing]).await;
        api.done().await;
    });
    let action = reconcile_verified(p, ctx, server).await;
    assert_eq!(action, Action::requeue(Duration::from_secs(5)));
}

#[tokio::test]
async fn an_agent_pod_pending_past_the_timeout_fails_the_probe_with_the_pods_reason_and_is_deleted()
{
    let (ctx, mut api) = test_context();
    let pending = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": "0/3 nodes are available: 1 node(s) had untolerated taint"}]});
    let existing = address_source_pod(pending);
    let p = address_probe().with_status(
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
        let msg = completed_message(&s);
        assert!(msg.contains("untolerated taint"), "{msg}");
        assert_eq!(s.runs, Some(1));
        patch.applied();
        expect_event(&mut api, "ProbeFailed").await;
        expect_delete_agent(&mut api, &format!("netdiag-{UID}-r1-source")).await;
        api.done().await;
    });
    let action = reconcile_verified(p, ctx, server).await;
    assert_eq!(action, Action::await_change());
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
        let s = expect_failed_and_nothing_else(&mut api).await;
        assert_eq!(s.phase, Some(Phase::Failed));
        assert_eq!(condition(&s, "Completed"), ("True", "InvalidSpec"));
        let msg = completed_message(&s);
        assert!(
            msg.contains("spec.target.address.port") && msg.contains("spec.intervalSeconds"),
            "{msg}"
        );
        assert_eq!(s.runs, None, "an invalid spec never ran");
    });
    let action = reconcile_verified(p, ctx, server).await;
    assert_eq!(action, Action::await_change(), "only a spec change helps");
}

#[tokio::test]
async fn a_missing_source_pod_fails_with_its_reason_and_starts_no_pod() {
    let (ctx, mut api) = test_context();
    let server = tokio::spawn(async move {
        api.expect("GET", "/api/v1/namespaces/default/pods/curl1")
            .await
            .not_found();
        let s = expect_failed_and_nothing_else(&mut api).await;
        assert_eq!(condition(&s, "Ready"), ("False", "SourcePodNotFound"));
    });
    reconcile_verified(address_probe(), ctx, server).await;
}

#[tokio::test]
async fn a_periodic_probe_is_requeued_at_its_interval_after_a_run_and_waits_out_the_rest() {
    let (ctx, mut api) = test_context();
    let mut p = address_probe();
    p.spec.interval_seconds = Some(300);
    let p_running = p.clone().with_status(json!({"phase": "Running", "observedGeneration": 1, "startTime": jiff::Timestamp::now().to_string()}));
    let done = address_source_pod(succeeded());
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
        expect_delete_agent(&mut api, &format!("netdiag-{UID}-r1-source")).await;
        api.done().await;
    });
    let action = reconcile_verified(p_running, ctx, server).await;
    assert_eq!(action, Action::requeue(Duration::from_secs(300)));

    // 100 s after it finished: nothing to do for 200 s more, and no request at all.
    let (ctx, mut api) = test_context();
    let finished_at = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(100);
    let p_done = p.with_status(
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
    let p = p.with_status(json!({"phase": "Succeeded", "observedGeneration": 1, "runs": 1, "completionTime": "2026-01-01T00:00:00Z"}));
    let server = tokio::spawn(async move {
        let d = api
            .expect(
                "DELETE",
                "/apis/netdiag.dev/v1alpha1/namespaces/default/netprobes/p",
            )
            .await;
        d.success();
        api.done().await;
    });
    let action = reconcile_verified(p, ctx, server).await;
    assert_eq!(action, Action::await_change());
}

#[tokio::test]
async fn a_generation_bump_deletes_the_old_runs_pod_and_starts_fresh() {
    let (ctx, mut api) = test_context();
    let old = address_source_pod(json!({"phase": "Running"}));
    let mut p = address_probe().with_status(
        json!({"phase": "Running", "observedGeneration": 1, "startTime": "2026-01-01T00:00:00Z"}),
    );
    p.metadata.generation = Some(2);
    let server = tokio::spawn(async move {
        answer_get(&mut api, &pod("default", "curl1")).await;
        expect_list_agents(&mut api, vec![old]).await;
        expect_delete_agent(&mut api, &format!("netdiag-{UID}-r1-source")).await;
        expect_count_agents(&mut api, vec![]).await;
        let cm = api.expect("POST", PLANS).await;
        assert_eq!(cm.body["metadata"]["labels"]["netdiag.dev/generation"], "2");
        cm.echo();
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
    reconcile_verified(p, ctx, server).await;
}
