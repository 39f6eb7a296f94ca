//! `trace`'s pre-flight checks against testkit's mock API server: what is refused before any
//! NetProbe exists (no ready endpoints, a source pod not running) and how a workload source picks
//! its pod. The flows after the create are in api.rs.

mod common;

use common::ctx;
use common::trace::*;

use kubectl_netdiag::error::Error;
use netdiag_testkit::api::prelude::*;
use netdiag_testkit::api::scenario::answer_get;
use serde_json::json;

#[tokio::test]
async fn no_ready_endpoints_is_answered_before_any_probe_exists() {
    let (ctx, mut api) = ctx();
    let server = tokio::spawn(async move {
        preflight_with(&mut api, &[slice(&[false, false])]).await;
        api.done().await;
    });
    let err = trace_error(&ctx, &["pod/curl", "svc/echo-service"], server).await;
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains("Service default/echo-service has no ready endpoints"),
        "{msg}"
    );
    assert!(
        msg.contains("2 endpoint(s) exist but are not ready"),
        "{msg}"
    );
}

/// The plugin and the controller count endpoints alike (netdiag_kube): ready IPv6 endpoints or
/// terminating ones would pass a pre-check the controller then fails, so neither passes it.
#[tokio::test]
async fn ipv6_only_or_terminating_endpoints_are_no_ready_endpoints_as_for_the_controller() {
    let v6 = slice(&[true]).ipv6();
    let terminating = slice(&[true]).terminating();
    for list in [v6, terminating] {
        let (ctx, mut api) = ctx();
        let server = tokio::spawn(async move {
            preflight_with(&mut api, &[list]).await;
            api.done().await;
        });
        let err = trace_error(&ctx, &["pod/curl", "svc/echo-service"], server).await;
        let msg = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("has no ready endpoints"), "{msg}");
    }
}

#[tokio::test]
async fn a_source_pod_that_is_not_running_is_refused() {
    let (ctx, mut api) = ctx();
    let server = tokio::spawn(async move {
        answer_get(&mut api, &pod("curl", "Pending", false)).await;
        api.done().await;
    });
    let err = trace_error(&ctx, &["pod/curl", "svc/echo-service"], server).await;
    assert!(
        matches!(&err, Some(Error::SourceNotRunning { state, .. }) if state == "Pending"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_deployment_source_picks_a_ready_pod_and_says_which() {
    let (ctx, mut api) = ctx();
    let server = tokio::spawn(async move {
        api.expect("GET", "/apis/apps/v1/namespaces/default/deployments/curl")
            .await
            .ok(&json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "curl", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "curl"}},
                     "template": {"metadata": {"labels": {"app": "curl"}}, "spec": {"containers": [{"name": "c"}]}}}}));
        api.expect("GET", "/api/v1/namespaces/default/pods")
            .await
            .assert_query("labelSelector=app%3Dcurl")
            .ok_list(&[
                pod("curl-a", "Running", false),
                pod("curl-b", "Running", true),
                pod("curl-c", "Pending", false),
            ]);
        // Stop here: the target is a pod that does not exist.
        api.expect("GET", "/api/v1/namespaces/default/pods/web")
            .await
            .status(404, "NotFound", "pods \"web\" not found");
        api.done().await;
    });
    let mut rec = Recorder::default();
    let err = trace(&ctx, &["deploy/curl", "pod/web:8080"], &mut rec)
        .await
        .err();
    server.await.unwrap_or_else(|e| panic!("mock server: {e}"));
    assert_eq!(
        rec.notes,
        vec!["Tracing from pod curl-b of deploy/curl (1 of 3 pods ready)".to_string()]
    );
    assert!(
        matches!(&err, Some(Error::NotFound { kind: "pod", name, .. }) if name == "web"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_node_source_must_name_a_node_that_exists() {
    // Whether node sources are allowed is the controller's to say; the plugin checks the node.
    let (ctx, mut api) = ctx();
    let server = tokio::spawn(async move {
        api.expect("GET", "/api/v1/nodes/node-a").await.status(
            404,
            "NotFound",
            "nodes \"node-a\" not found",
        );
        api.done().await;
    });

    let err = trace_error(&ctx, &["node/node-a", "svc/echo-service"], server).await;
    assert!(
        matches!(&err, Some(Error::NodeNotFound(n)) if n == "node-a"),
        "{err:?}"
    );
    assert_eq!(err.map(|e| e.exit_code()), Some(2));
}
