//! API-level tests of a watched run: a pod target on another node than the source's. The
//! endpoint's agent pod is created first, with a readiness probe that says its trace is armed;
//! the source pod only once that pod is ready, with the same planned source port.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::context::test_context;
use common::flow::*;
use common::pod;
use kube::runtime::controller::Action;
use netdiag_controller::netprobe::reconcile;
use netdiag_crds::Phase;
use netdiag_testkit::api::MockServer;
use serde_json::{Value, json};

/// Probe `p`: curl1 (node-a) to pod echo-b's port 5678 (node-b).
fn pod_probe() -> NetProbe {
    NetProbe::test("p").pod_target("echo-b", 5678)
}

/// The resolve reads of a pod target: source pod, target pod, the two nodes.
async fn expect_resolve_pod(api: &mut MockServer) {
    answer_get(api, &pod("default", "curl1")).await;
    answer_get(api, &pod("default", "echo-b")).await;
    netdiag_testkit::api::scenario::answer_nodes(api, &["node-a", "node-b"]).await;
}

fn ready() -> Value {
    json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]})
}

#[tokio::test]
async fn the_watcher_is_created_first_and_the_source_once_it_is_ready() {
    let (ctx, mut api) = test_context();

    // 1. Fresh: only the endpoint's pod, with its armed file and readiness probe.
    let server = tokio::spawn(async move {
        expect_resolve_pod(&mut api).await;
        expect_list_agents(&mut api, vec![]).await;
        expect_count_agents(&mut api, vec![]).await;
        let (posted, plan) = expect_create_agent(&mut api, "node-b", "endpoint").await;
        assert!(plan.watch_ms.is_some(), "{plan:?}");
        let port = plan.source_port.expect("a planned source port");
        let c = &posted["spec"]["containers"][0];
        let args: Vec<&str> = (c["args"].as_array().expect("args").iter())
            .filter_map(Value::as_str)
            .collect();
        assert!(
            args.windows(2)
                .any(|w| w == ["--armed-file", "/run/netdiag/watch/armed"]),
            "{args:?}"
        );
        assert_eq!(
            c["readinessProbe"]["exec"]["command"],
            json!([
                "netdiag-agent",
                "armed",
                "--file",
                "/run/netdiag/watch/armed"
            ])
        );
        assert_eq!(c["readinessProbe"]["periodSeconds"], 1);
        assert_eq!(posted["metadata"]["labels"]["netdiag.dev/watch"], "true");
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied_status(&patch);
        assert_eq!(s.phase, Some(Phase::Running));
        let nodes: Vec<&str> = s.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(nodes, ["node-b"], "no source pod yet");
        patch.applied();
        expect_event(&mut api, "Started").await;
        api.done().await;
        (posted, port, s)
    });
    let action = reconcile(Arc::new(pod_probe()), ctx.clone())
        .await
        .expect("reconcile 1");
    assert_eq!(action, Action::requeue(Duration::from_secs(1)));
    let (watcher, port, running) = server.await.expect("verifier 1");
    let start = running.start_time.clone().expect("start");
    let status = json!({"phase": "Running", "observedGeneration": 1, "startTime": start,
        "nodes": [{"name": "node-b", "agentPod": format!("netdiag-{UID}-r1-endpoint"), "phase": "Pending"}]});

    // 2. The watcher runs but is not armed yet: nothing is created.
    let (ctx2, mut api) = test_context();
    let arming = agent(&watcher, &start, json!({"phase": "Running"}));
    let server = tokio::spawn(async move {
        // Nothing resolved or planned while the source waits, no POST: only the watcher's
        // phase is written.
        expect_list_agents(&mut api, vec![arming]).await;
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied_status(&patch);
        let nodes: Vec<(&str, Option<&str>)> = (s.nodes.iter())
            .map(|n| (n.name.as_str(), n.phase.as_deref()))
            .collect();
        assert_eq!(nodes, [("node-b", Some("Running"))]);
        patch.applied();
        api.done().await;
    });
    let p = pod_probe().with_status(status.clone());
    let action = reconcile(Arc::new(p), ctx2).await.expect("reconcile 2");
    assert_eq!(action, Action::requeue(Duration::from_secs(1)));
    server.await.expect("verifier 2");

    // 3. Ready (armed): the source pod, with the watcher's port.
    let (ctx3, mut api) = test_context();
    let armed = agent(&watcher, &start, ready());
    let server = tokio::spawn(async move {
        expect_list_agents(&mut api, vec![armed.clone()]).await;
        expect_resolve_pod(&mut api).await;
        expect_list_agents(&mut api, vec![armed.clone()]).await;
        expect_count_agents(&mut api, vec![armed]).await;
        let (_, plan) = expect_create_agent(&mut api, "node-a", "source").await;
        assert_eq!(
            plan.source_port,
            Some(port),
            "the port the watcher armed for"
        );
        assert_eq!(plan.watch_ms, None);
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied_status(&patch);
        let nodes: Vec<&str> = s.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(nodes, ["node-a", "node-b"]);
        patch.applied();
        api.done().await;
    });
    let p = pod_probe().with_status(status);
    let action = reconcile(Arc::new(p), ctx3).await.expect("reconcile 3");
    assert_eq!(action, Action::requeue(Duration::from_secs(5)));
    server.await.expect("verifier 3");
}
