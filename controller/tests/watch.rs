//! The controller's watch against the mock API server: one NetProbe that does not decode stops
//! nothing (the others are reconciled, it is marked InvalidSpec), and a watch that keeps
//! failing is logged, counted and makes `/readyz` fail.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::context::test_context;
use netdiag_controller::runtime::health::WatchHealth;
use netdiag_controller::runtime::http::{self, State};
use netdiag_controller::runtime::runner;
use netdiag_crds::{NetProbeStatus, Phase};
use netdiag_testkit::api::Seen;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

const PROBES: &str = "/apis/netdiag.dev/v1alpha1/netprobes";
/// The NodeInspection controller runs beside the NetProbe one.
const INSPECTIONS: &str = "/apis/netdiag.dev/v1alpha1/nodeinspections";
const AGENTS: &str = "/api/v1/namespaces/netdiag-system/pods";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/default/events";

fn netprobe(name: &str, uid: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "netdiag.dev/v1alpha1",
        "kind": "NetProbe",
        "metadata": {"name": name, "namespace": "default", "uid": uid, "generation": 1, "resourceVersion": "7"},
        "spec": spec,
    })
}

fn status_of(seen: &Seen) -> NetProbeStatus {
    serde_json::from_value(seen.body["status"].clone()).expect("a NetProbeStatus")
}

fn completed_reason(s: &NetProbeStatus) -> String {
    s.condition("Completed")
        .and_then(|c| c.reason.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_probe_that_does_not_decode_is_marked_invalid_and_the_good_one_is_still_reconciled() {
    let (ctx, mut api) = test_context();
    let bad = netprobe(
        "bad",
        "uid-bad",
        json!({"source": {"pod": "curl1"}, "target": {"service": {"name": "echo"}}, "intervalSeconds": 2_147_483_648_i64}),
    );
    let good = netprobe(
        "good",
        "uid-good",
        json!({"source": {"pod": "curl1"}, "target": {"service": {"name": "echo"}}}),
    );
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        let (mut bad_status, mut good_status) = (None, None);
        while bad_status.is_none() || good_status.is_none() {
            let seen = api.next().await.expect("the controller stopped asking");
            let watching = seen.query.contains("watch=true");
            match (seen.method.as_str(), seen.path.as_str()) {
                // Watches stay open with nothing to say.
                ("GET", PROBES | AGENTS | INSPECTIONS) if watching => held.push(seen),
                ("GET", INSPECTIONS) => seen.ok_list::<Value>(&[]),
                ("GET", PROBES) => seen.ok_list(&[bad.clone(), good.clone()]),
                ("GET", AGENTS) => seen.ok_list::<Value>(&[]),
                // The good probe is resolved: its source pod is missing.
                ("GET", "/api/v1/namespaces/default/pods/curl1") => seen.not_found(),
                ("PATCH", "/apis/netdiag.dev/v1alpha1/namespaces/default/netprobes/bad/status") => {
                    bad_status = Some(status_of(&seen));
                    seen.applied();
                }
                (
                    "PATCH",
                    "/apis/netdiag.dev/v1alpha1/namespaces/default/netprobes/good/status",
                ) => {
                    good_status = Some(status_of(&seen));
                    seen.applied();
                }
                ("POST", EVENTS) => seen.echo(),
                (m, p) => panic!("unexpected request {m} {p}?{}", seen.query),
            }
        }
        drop(held);
        (bad_status, good_status)
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let controller = tokio::spawn(runner::control(ctx, Arc::default(), stop_rx));
    let (bad_status, good_status) = server.await.expect("the mock API server");
    let _ = stop_tx.send(true);
    tokio::time::timeout(Duration::from_secs(5), controller)
        .await
        .expect("the controller stops within 5 s")
        .expect("the controller task");

    let bad = bad_status.expect("the bad probe's status");
    assert_eq!(bad.phase, Some(Phase::Failed));
    assert_eq!(completed_reason(&bad), "InvalidSpec");
    let message = bad
        .condition("Completed")
        .and_then(|c| c.message.clone())
        .unwrap_or_default();
    assert!(
        message.contains("spec.intervalSeconds") && message.contains("2147483648"),
        "{message}"
    );
    assert_eq!(bad.observed_generation, Some(1));
    let good = good_status.expect("the good probe's status");
    assert_eq!(completed_reason(&good), "SourcePodNotFound");
}

async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    out
}

#[tokio::test]
async fn a_netprobe_list_that_keeps_failing_is_counted_and_fails_readyz() {
    let (ctx, mut api) = test_context();
    let mut registry = Registry::default();
    let metrics = ctx.metrics.clone().register(&mut registry);
    drop(metrics);
    let health = Arc::new(WatchHealth::new(Duration::ZERO));
    let state = Arc::new(State {
        registry,
        ready: true.into(),
        health: health.clone(),
    });
    let listener = http::bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = {
        let rx = stop_rx.clone();
        async move {
            let _ = rx.clone().wait_for(|v| *v).await;
        }
    };
    let server = tokio::spawn(http::serve(listener, state, stopped));
    assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 200"));

    let mock = tokio::spawn(async move {
        let mut held = Vec::new();
        let mut failures = 0;
        while let Some(seen) = api.next().await {
            let watching = seen.query.contains("watch=true");
            match (seen.method.as_str(), seen.path.as_str()) {
                ("GET", AGENTS | INSPECTIONS) if watching => held.push(seen),
                ("GET", AGENTS) => seen.ok_list::<Value>(&[]),
                ("GET", INSPECTIONS) => seen.ok_list::<Value>(&[]),
                ("GET", PROBES) => {
                    failures += 1;
                    seen.status(500, "InternalError", "etcdserver: request timed out");
                }
                (m, p) => panic!("unexpected request {m} {p}"),
            }
            if failures >= 3 {
                break;
            }
        }
        (api, held)
    });
    let controller = tokio::spawn(runner::control(ctx, health, stop_rx));
    let (_api, _held) = tokio::time::timeout(Duration::from_secs(20), mock)
        .await
        .expect("three list attempts within 20 s")
        .expect("the mock API server");

    let readyz = get(addr, "/readyz").await;
    assert!(readyz.starts_with("HTTP/1.1 503"), "{readyz}");
    assert!(
        readyz.contains("netprobes") && readyz.contains("etcdserver: request timed out"),
        "{readyz}"
    );
    let metrics = get(addr, "/metrics").await;
    let count = metrics
        .lines()
        .find_map(|l| l.strip_prefix("netdiag_watch_errors_total{resource=\"netprobes\"} "))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .unwrap_or(0);
    assert!(count >= 2, "{metrics}");

    let _ = stop_tx.send(true);
    tokio::time::timeout(Duration::from_secs(5), controller)
        .await
        .expect("the controller stops within 5 s")
        .expect("the controller task");
    let _ = server.await;
}
