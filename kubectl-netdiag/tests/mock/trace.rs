//! Builders and answers for `trace` flows: argument parsing, a progress recorder, fast wait
//! settings, the pre-flight objects (source pod, Service, EndpointSlices) and the create.

use std::time::Duration;

use clap::Parser as _;
use http::{Method, StatusCode};
use kubectl_netdiag::cli::{Cli, Command, TraceArgs};
use kubectl_netdiag::progress::Progress;
use kubectl_netdiag::wait::WaitConfig;
use netdiag_crds::NetProbe;
use serde_json::{Value, json};

use super::{MockHandle, body_json, expect, reply};

pub fn args(argv: &[&str]) -> TraceArgs {
    let mut full = vec!["kubectl-netdiag", "trace"];
    full.extend_from_slice(argv);
    match Cli::try_parse_from(full) {
        Ok(Cli {
            command: Command::Trace(a),
            ..
        }) => a,
        Ok(other) => panic!("not a trace: {other:?}"),
        Err(e) => panic!("{e}"),
    }
}

/// Records what a trace tells the user while it waits.
#[derive(Default)]
pub struct Recorder {
    pub updates: usize,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

impl Progress for Recorder {
    fn update(&mut self, _: &NetProbe, _: Duration) {
        self.updates += 1;
    }
    fn warn(&mut self, m: &str) {
        self.warnings.push(m.to_string());
    }
    fn note(&mut self, m: &str) {
        self.notes.push(m.to_string());
    }
    fn finish(&mut self) {}
}

/// `trace pod/curl svc/echo-service:http` with the [`fast`] wait, against the mock.
pub async fn trace_curl_to_echo(
    ctx: &kubectl_netdiag::client::Ctx,
    rec: &mut Recorder,
) -> Result<kubectl_netdiag::trace::TraceRun, kubectl_netdiag::error::Error> {
    kubectl_netdiag::trace::run(
        ctx,
        &args(&["pod/curl", "svc/echo-service:http"]),
        fast(),
        rec,
    )
    .await
}

pub fn fast() -> WaitConfig {
    WaitConfig {
        deadline: Duration::from_millis(600),
        pending_warning: Duration::from_millis(150),
        tick: Duration::from_millis(50),
    }
}

pub fn pod(name: &str, phase: &str, ready: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "curl"},
                     "creationTimestamp": "2026-11-23T09:00:00Z"},
        "spec": {"containers": [{"name": "c", "image": "curl"}]},
        "status": {"phase": phase, "podIP": "10.244.1.2",
                   "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}})
}

pub fn service() -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "echo-service", "namespace": "default"},
        "spec": {"clusterIP": "10.96.45.10", "type": "ClusterIP",
                 "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}})
}

pub fn slices(ready: &[bool]) -> Value {
    let endpoints: Vec<Value> = ready
        .iter()
        .enumerate()
        .map(|(i, r)| json!({"addresses": [format!("10.244.2.{}", 7 + i)], "conditions": {"ready": r}}))
        .collect();
    json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSliceList", "metadata": {},
        "items": [{"metadata": {"name": "echo-service-abc", "namespace": "default"},
                   "addressType": "IPv4", "endpoints": endpoints,
                   "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]})
}

pub const PROBES: &str = "/apis/netdiag.dev/v1alpha1/namespaces/default/netprobes";

/// Answer the pre-flight reads of `pod/curl svc/echo-service:http`.
pub async fn preflight_ok(h: &mut MockHandle) {
    let (_, send) = expect(h, Method::GET, "/api/v1/namespaces/default/pods/curl").await;
    reply(send, StatusCode::OK, &pod("curl", "Running", true));
    let (_, send) = expect(
        h,
        Method::GET,
        "/api/v1/namespaces/default/services/echo-service",
    )
    .await;
    reply(send, StatusCode::OK, &service());
    let (req, send) = expect(
        h,
        Method::GET,
        "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
    )
    .await;
    assert!(
        req.uri()
            .query()
            .unwrap_or_default()
            .contains("kubernetes.io%2Fservice-name%3Decho-service"),
        "{}",
        req.uri()
    );
    reply(send, StatusCode::OK, &slices(&[true, true, false]));
}

/// Answer the create with a named object, and return it.
pub async fn create_ok(h: &mut MockHandle) -> Value {
    let (req, send) = expect(h, Method::POST, PROBES).await;
    let mut probe = body_json(req).await;
    assert_eq!(probe["metadata"]["generateName"], "curl-to-echo-service-");
    assert_eq!(probe["spec"]["target"]["service"]["port"], "http");
    probe["metadata"]["name"] = json!("curl-to-echo-service-abcde");
    probe["metadata"]["resourceVersion"] = json!("1");
    reply(send, StatusCode::CREATED, &probe);
    probe
}

pub fn fixture_status(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    v["status"].clone()
}
