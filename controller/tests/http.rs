//! /metrics, /healthz and /readyz, and the metrics' static label sets.

use std::sync::atomic::Ordering;

use http::{Method, StatusCode};
use http_body_util::BodyExt;
use netdiag_controller::runtime::http::{State, respond};
use netdiag_controller::runtime::metrics::Metrics;
use prometheus_client::registry::Registry;

async fn body(r: http::Response<http_body_util::Full<hyper::body::Bytes>>) -> (StatusCode, String) {
    let code = r.status();
    let bytes = r.into_body().collect().await.expect("body").to_bytes();
    (code, String::from_utf8(bytes.to_vec()).expect("utf-8"))
}

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let mut registry = Registry::default();
    let metrics = Metrics::default().register(&mut registry);
    metrics.run_finished("reachable");
    metrics.failure("PathFailure", "Listener");
    metrics.agent_pod_ran("source", 1.5);
    metrics.reconcile_error("CreatePod");
    drop(metrics.reconcile_timer());
    let state = State {
        registry,
        ready: false.into(),
        health: Default::default(),
    };

    assert_eq!(
        body(respond(&state, &Method::GET, "/healthz")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        body(respond(&state, &Method::GET, "/readyz")).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    state.ready.store(true, Ordering::Relaxed);
    assert_eq!(
        body(respond(&state, &Method::GET, "/readyz")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        body(respond(&state, &Method::POST, "/metrics")).await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        body(respond(&state, &Method::GET, "/nope")).await.0,
        StatusCode::NOT_FOUND
    );

    let (code, text) = body(respond(&state, &Method::GET, "/metrics")).await;
    assert_eq!(code, StatusCode::OK);
    for line in [
        "netdiag_probe_runs_total{result=\"reachable\"} 1",
        "netdiag_probe_failures_total{reason=\"PathFailure\",hop=\"Listener\"} 1",
        "netdiag_reconcile_errors_total{error=\"CreatePod\"} 1",
        "netdiag_agent_pod_run_seconds_count{role=\"source\"} 1",
        "netdiag_reconcile_duration_seconds_count 1",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}
