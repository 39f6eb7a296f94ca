//! API-level tests of the limits on agent pods and runs (issue 15, item 7): a probe whose
//! source node is full is queued with a `Queued` condition naming the limit, creates nothing,
//! and starts once the other probe's pod has finished; a namespace over its run rate waits.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::context::test_context_with;
use common::flow::*;
use common::pod;
use kube::runtime::controller::Action;
use netdiag_controller::netprobe::admission::Limits;
use netdiag_controller::netprobe::reconcile;
use netdiag_crds::{NetProbe, Phase};
use netdiag_testkit::api::MockServer;
use netdiag_testkit::api::prelude::NetProbeTestExt;
use serde_json::{Value, json};

const Q_UID: &str = "9f8e7d6c-2222-4333-8444-555566667777";
const Q_STATUS: &str = "/apis/netdiag.dev/v1alpha1/namespaces/default/netprobes/q/status";

/// A second probe from the same source pod (so on the same node), with its own UID.
fn second_probe() -> NetProbe {
    NetProbe::test("q")
        .address_target("10.96.0.10", 53, netdiag_crds::Protocol::UDP)
        .with_uid(Q_UID)
}

/// The first probe's agent pod on node-a, in `phase`.
fn others_pod(phase: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": format!("netdiag-{UID}-r1-source"), "namespace": "netdiag-system",
                        "labels": {"netdiag.dev/probe": UID, "app.kubernetes.io/component": "agent",
                                   "app.kubernetes.io/managed-by": "netdiag-controller"}},
           "spec": {"nodeName": "node-a", "containers": [{"name": "agent", "image": "x"}]},
           "status": {"phase": phase}})
}

async fn expect_source_and_own_pods(api: &mut MockServer, uid: &str) {
    answer_get(api, &pod("default", "curl1")).await;
    expect_list_agents_of(api, uid, vec![]).await;
}

#[tokio::test]
async fn a_probe_on_a_full_node_is_queued_and_runs_after_the_first_finishes() {
    let limits = Limits {
        max_agent_pods_per_node: 1,
        ..Limits::default()
    };
    let (ctx, mut api) = test_context_with(limits);

    // 1. node-a runs the first probe's agent: the second one is queued and creates nothing.
    let server = tokio::spawn(async move {
        expect_source_and_own_pods(&mut api, Q_UID).await;
        expect_count_agents(&mut api, vec![others_pod("Running")]).await;
        let patch = api.expect("PATCH", Q_STATUS).await;
        let s = applied_status(&patch);
        assert_eq!(s.phase, Some(Phase::Pending));
        assert_eq!(condition(&s, "Queued"), ("True", "NodeAgentPodLimit"));
        assert_eq!(condition(&s, "Reconciling"), ("True", "NodeAgentPodLimit"));
        assert_eq!(condition(&s, "Completed"), ("False", "NodeAgentPodLimit"));
        let msg = s
            .condition("Queued")
            .and_then(|c| c.message.clone())
            .unwrap_or_default();
        assert_eq!(
            msg,
            "node node-a already runs 1 agent pods (--max-agent-pods-per-node=1): queued, retrying in 10s"
        );
        assert!(s.nodes.is_empty() && s.start_time.is_none());
        patch.applied();
        // No ConfigMap, no pod, no event: step 2's first request would meet them.
        (api, s)
    });
    let action = reconcile(Arc::new(second_probe()), ctx.clone())
        .await
        .expect("reconcile 1");
    assert_eq!(action, Action::requeue(Duration::from_secs(10)));
    let (mut api, queued) = server.await.expect("verifier 1");

    // 2. The first probe's agent has finished: the queued run starts, and the condition goes.
    let q = second_probe().with_status(to_json(&queued));
    let server = tokio::spawn(async move {
        expect_source_and_own_pods(&mut api, Q_UID).await;
        expect_count_agents(&mut api, vec![others_pod("Succeeded")]).await;
        let cm = api.expect("POST", PLANS).await;
        assert_eq!(
            cm.body["metadata"]["name"],
            format!("netdiag-{Q_UID}-r1-source")
        );
        cm.echo();
        let post = api.expect("POST", AGENTS).await;
        assert_eq!(post.body["spec"]["nodeName"], "node-a");
        post.echo();
        let patch = api.expect("PATCH", Q_STATUS).await;
        let s = applied_status(&patch);
        assert_eq!(s.phase, Some(Phase::Running));
        assert!(s.condition("Queued").is_none(), "no longer queued");
        assert_eq!(condition(&s, "Reconciling"), ("True", "RunInProgress"));
        patch.applied();
        expect_event(&mut api, "Started").await;
        api.done().await;
    });
    let action = reconcile(Arc::new(q), ctx).await.expect("reconcile 2");
    assert_eq!(action, Action::requeue(Duration::from_secs(5)));
    server.await.expect("verifier 2");
}

#[tokio::test]
async fn a_namespace_over_its_run_rate_waits_for_the_minute_to_move_on() {
    let limits = Limits {
        max_runs_per_namespace_per_minute: 1,
        ..Limits::default()
    };
    let (ctx, mut api) = test_context_with(limits);
    let p = address_probe();
    let server = tokio::spawn(async move {
        // The first run of the minute starts...
        expect_source_and_own_pods(&mut api, UID).await;
        expect_count_agents(&mut api, vec![]).await;
        api.expect("POST", PLANS).await.echo();
        api.expect("POST", AGENTS).await.echo();
        api.expect("PATCH", STATUS).await.applied();
        expect_event(&mut api, "Started").await;
        // ...the second one in the namespace waits, though every node is free.
        expect_source_and_own_pods(&mut api, Q_UID).await;
        expect_count_agents(&mut api, vec![]).await;
        let patch = api.expect("PATCH", Q_STATUS).await;
        let s = applied_status(&patch);
        assert_eq!(condition(&s, "Queued"), ("True", "RunRateLimit"));
        let msg = s
            .condition("Queued")
            .and_then(|c| c.message.clone())
            .unwrap_or_default();
        assert!(
            msg == "namespace default started 1 runs in the last minute (--max-runs-per-namespace-per-minute=1): queued, retrying in 60s",
            "{msg}"
        );
        patch.applied();
        api.done().await;
    });
    reconcile(Arc::new(p), ctx.clone()).await.expect("first");
    let action = reconcile(Arc::new(second_probe()), ctx)
        .await
        .expect("second");
    server.await.expect("verifier");
    // Requeued for when the first run leaves the minute: about 60 s.
    let debug = format!("{action:?}");
    assert!(
        debug.contains("Some(59.") || debug.contains("Some(60s)"),
        "{debug}"
    );
}

#[tokio::test]
async fn an_endpoint_run_still_queued_at_the_deadline_leaves_the_source_nodes_answer() {
    let limits = Limits {
        max_agent_pods_per_node: 1,
        ..Limits::default()
    };
    let (ctx, mut api) = test_context_with(limits);
    let p = echo_probe();
    let source = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("netdiag-{UID}-r1-source"), "namespace": "netdiag-system",
                     "creationTimestamp": "2026-01-01T00:00:00Z",
                     "labels": {"netdiag.dev/probe": UID, "netdiag.dev/role": "source",
                                "netdiag.dev/generation": "1", "netdiag.dev/run": "1"}},
        "spec": {"nodeName": "node-a", "containers": [{"name": "agent", "image": "x"}]},
        "status": succeeded()});
    let mut on_b = others_pod("Running");
    on_b["spec"]["nodeName"] = json!("node-b");
    // Started long ago: the run is past its deadline.
    let p = p.with_status(
        json!({"phase": "Running", "observedGeneration": 1, "startTime": "2026-01-01T00:00:00Z"}),
    );
    let server = tokio::spawn(async move {
        expect_list_agents(&mut api, vec![source]).await;
        api.expect("GET", &format!("{AGENTS}/netdiag-{UID}-r1-source/log"))
            .await
            .text(&report_log(0));
        expect_resolve_echo(&mut api).await;
        // DNAT chose 10.244.2.7 on node-b, whose one place is taken.
        expect_count_agents(&mut api, vec![on_b]).await;
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied_status(&patch);
        assert_eq!(
            s.phase,
            Some(Phase::Succeeded),
            "answered from node-a alone"
        );
        let b = s
            .nodes
            .iter()
            .find(|n| n.name == "node-b")
            .expect("node-b is listed");
        assert_eq!(b.phase.as_deref(), Some("Queued"));
        assert!(
            b.message
                .as_deref()
                .is_some_and(|m| m.contains("--max-agent-pods-per-node=1")),
            "{b:?}"
        );
        patch.applied();
        // Events, then the source node run's clean-up; no endpoint pod was ever made.
        loop {
            let next = api.next().await.expect("a request");
            if next.method == "DELETE" {
                assert_eq!(next.path, format!("{AGENTS}/netdiag-{UID}-r1-source"));
                next.ok(&json!({}));
                break;
            }
            assert_eq!((next.method.as_str(), next.path.as_str()), ("POST", EVENTS));
            next.echo();
        }
        api.expect("DELETE", &format!("{PLANS}/netdiag-{UID}-r1-source"))
            .await
            .ok(&json!({}));
        api.done().await;
    });
    reconcile(Arc::new(p), ctx).await.expect("reconcile");
    server.await.expect("verifier");
}
