//! Builders and answers for `trace` flows: argument parsing, a progress recorder, fast wait
//! settings, the pre-flight objects (source pod, Service, EndpointSlices) and the create.

use std::time::Duration;

use clap::Parser as _;
use kubectl_netdiag::cli::{Cli, Command, TraceArgs};
use kubectl_netdiag::progress::Progress;
use kubectl_netdiag::wait::WaitConfig;
use netdiag_testkit::api::MockServer;
use netdiag_testkit::api::prelude::*;
use netdiag_testkit::api::scenario::{answer_create, answer_get, answer_service};
use serde_json::Value;

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

/// `trace ARGV` with the [`fast`] wait, against the mock.
pub async fn trace(
    ctx: &kubectl_netdiag::client::Ctx,
    argv: &[&str],
    rec: &mut Recorder,
) -> Result<kubectl_netdiag::trace::TraceRun, kubectl_netdiag::error::Error> {
    kubectl_netdiag::trace::run(ctx, &args(argv), fast(), rec).await
}

/// `trace ARGV` with a throwaway recorder against the mock that `server` plays: the trace's
/// error (`None` if it succeeded), once `server` has seen every request it expects.
pub async fn trace_error(
    ctx: &kubectl_netdiag::client::Ctx,
    argv: &[&str],
    server: tokio::task::JoinHandle<()>,
) -> Option<kubectl_netdiag::error::Error> {
    let err = trace(ctx, argv, &mut Recorder::default()).await.err();
    server.await.unwrap_or_else(|e| panic!("mock server: {e}"));
    err
}

/// `trace pod/curl svc/echo-service:http` with the [`fast`] wait, against the mock.
pub async fn trace_curl_to_echo(
    ctx: &kubectl_netdiag::client::Ctx,
    rec: &mut Recorder,
) -> Result<kubectl_netdiag::trace::TraceRun, kubectl_netdiag::error::Error> {
    trace(ctx, &["pod/curl", "svc/echo-service:http"], rec).await
}

pub fn fast() -> WaitConfig {
    WaitConfig {
        deadline: Duration::from_millis(600),
        pending_warning: Duration::from_millis(150),
        tick: Duration::from_millis(50),
    }
}

/// Pod `name` of the curl Deployment, at 10.244.1.2, in `phase` and `ready` or not.
pub fn pod(name: &str, phase: &str, ready: bool) -> Pod {
    Pod::test(name)
        .label("app", "curl")
        .created("2026-11-23T09:00:00Z")
        .ip("10.244.1.2")
        .phase(phase)
        .ready(ready)
}

/// Service echo-service: port `http` 80 to the pods' 8080.
pub fn service() -> Service {
    Service::test("echo-service", "10.96.45.10").port("http", 80, 8080)
}

/// echo-service's one slice: endpoints 10.244.2.7, .8, ... ready or not as `ready` says.
pub fn slice(ready: &[bool]) -> EndpointSlice {
    let mut slice = EndpointSlice::test("echo-service-abc", "echo-service").port("http", 8080);
    for (i, &r) in ready.iter().enumerate() {
        let ip = format!("10.244.2.{}", 7 + i);
        slice = if r {
            slice.endpoint(&ip)
        } else {
            slice.not_ready(&ip)
        };
    }
    slice
}

pub const PROBES: &str = "/apis/netdiag.dev/v1alpha1/namespaces/default/netprobes";

/// Answer the pre-flight reads of `pod/curl svc/echo-service:http`: a ready source pod, the
/// Service and a slice with two ready endpoints of three.
pub async fn preflight_ok(api: &mut MockServer) {
    preflight_with(api, &[slice(&[true, true, false])]).await;
}

/// The pre-flight reads of `pod/curl svc/echo-service`, answered with these slices.
pub async fn preflight_with(api: &mut MockServer, slices: &[EndpointSlice]) {
    answer_get(api, &pod("curl", "Running", true)).await;
    answer_service(api, &service(), slices).await;
}

/// Answer the create with a named object, and return it.
pub async fn create_ok(api: &mut MockServer) -> Value {
    let probe = answer_create(api, PROBES, "curl-to-echo-service-abcde").await;
    assert_eq!(probe["metadata"]["generateName"], "curl-to-echo-service-");
    assert_eq!(probe["spec"]["target"]["service"]["port"], "http");
    probe
}

pub fn fixture_status(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    v["status"].clone()
}
