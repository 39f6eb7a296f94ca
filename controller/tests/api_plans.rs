//! API-level tests of the plan ConfigMaps (issue 15, item 6): a ConfigMap an earlier attempt
//! left is replaced before the pod is made, and a Service too large for one fails the run
//! before anything is created. The common flow (create with the pod, delete with it) is in
//! api.rs and api_runs.rs.

mod common;

use common::context::test_context;
use common::flow::*;
use netdiag_crds::Phase;
use serde_json::json;

#[tokio::test]
async fn a_plan_config_map_left_by_an_earlier_attempt_is_replaced_before_the_pod_is_made() {
    let (ctx, mut api) = test_context();
    let server = tokio::spawn(async move {
        expect_fresh_echo_reads(&mut api).await;
        let name = format!("netdiag-{UID}-r1-source");
        let post = api.expect("POST", PLANS).await;
        let body = post.body.clone();
        post.already_exists();
        let put = api.expect("PUT", &format!("{PLANS}/{name}")).await;
        assert_eq!(put.body, body, "the plan made now replaces the old one");
        put.echo();
        let pod = api.expect("POST", AGENTS).await;
        assert_eq!(pod.body["metadata"]["name"], name);
        pod.echo();
        let patch = api.expect("PATCH", STATUS).await;
        assert_eq!(applied_status(&patch).phase, Some(Phase::Running));
        patch.applied();
        expect_event(&mut api, "Started").await;
        api.done().await;
    });
    reconcile_verified(echo_probe(), ctx, server).await;
}

#[tokio::test]
async fn a_service_too_large_for_a_config_map_fails_the_run_and_creates_nothing() {
    let (ctx, mut api) = test_context();
    // 80,000 ready endpoints in slices of 100: about 1.3 MB of plan.
    let slices: Vec<serde_json::Value> = (0..800)
        .map(|s| {
            let eps: Vec<_> = (0..100)
                .map(|i| {
                    json!({"addresses": [format!("10.{}.{}.{i}", 100 + s / 250, s % 250)],
                           "nodeName": "node-b", "conditions": {"ready": true}})
                })
                .collect();
            json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                   "metadata": {"name": format!("echo-{s}"), "namespace": "default",
                                "labels": {"kubernetes.io/service-name": "echo"}},
                   "addressType": "IPv4", "ports": [{"name": "http", "port": 5678}],
                   "endpoints": eps})
        })
        .collect();
    let server = tokio::spawn(async move {
        expect_resolve_echo_with(&mut api, slices).await;
        expect_list_agents(&mut api, vec![]).await;
        let s = expect_failed_and_nothing_else(&mut api).await;
        assert_eq!(s.phase, Some(Phase::Failed));
        assert_eq!(condition(&s, "Completed"), ("True", "PlanTooLarge"));
        let msg = completed_message(&s);
        assert!(msg.contains("80000 expected endpoints"), "{msg}");
    });
    reconcile_verified(echo_probe(), ctx, server).await;
}
