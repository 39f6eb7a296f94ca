//! API-level tests of the reconciler: each states every request it makes (method, path, body
//! essentials) against a tower-test mock API server, which also fails when an expected request
//! never comes.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::context::test_context;
use common::flow::*;
use kube::runtime::controller::Action;
use netdiag_controller::netprobe::reconcile;
use netdiag_crds::Phase;

#[tokio::test]
async fn a_fresh_probe_runs_the_source_then_the_chosen_endpoints_node_then_reports_and_cleans_up() {
    let (ctx, mut api) = test_context();
    let p = echo_probe();

    // 1. Fresh: resolve, no agent pod yet, create the source pod, mark Running.
    let server = tokio::spawn(async move {
        expect_fresh_echo_reads(&mut api).await;
        let (posted, plan) = expect_create_agent(&mut api, "node-a", "source").await;
        assert_eq!(
            plan.target.as_ref().map(|t| t.ip.to_string()),
            Some("10.96.0.50".to_string())
        );
        assert_eq!(
            plan.source_ip.map(|v| v.to_string()).as_deref(),
            Some("10.244.1.2")
        );
        assert_eq!(plan.expected_endpoints.len(), 2);
        // The source's and the endpoints' nodes, for the overlay's VTEP check.
        let nodes: Vec<(&str, String, &[String])> = (plan.nodes.iter())
            .map(|n| {
                (
                    n.name.as_str(),
                    n.address.to_string(),
                    n.pod_cidrs.as_slice(),
                )
            })
            .collect();
        assert_eq!(
            nodes,
            [
                (
                    "node-a",
                    "172.18.0.2".into(),
                    &["10.244.1.0/24".to_string()][..]
                ),
                (
                    "node-b",
                    "172.18.0.3".into(),
                    &["10.244.2.0/24".to_string()][..]
                ),
            ]
        );
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
    let p2 = p.clone().with_status(to_json(&running));
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
        expect_count_agents(&mut api, vec![src_done2]).await;
        let (posted, plan) = expect_create_agent(&mut api, "node-b", "endpoint").await;
        assert_eq!(
            plan.endpoint.as_ref().map(|e| e.to_string()).as_deref(),
            Some("10.244.2.7:5678"),
            "DNAT's choice"
        );
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
    let p3 = p.with_status(to_json(&running2));
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
        expect_delete_agent(&mut api, &format!("netdiag-{UID}-r1-source")).await;
        expect_delete_agent(&mut api, &format!("netdiag-{UID}-r1-endpoint")).await;
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
