//! API flows of `trace` against a tower-test mock API server: each scenario answers the
//! requests the plugin must make, in order, and fails when an unexpected one arrives.

mod mock;

use std::time::Duration;

use mock::*;

use clap::Parser as _;
use http::{Method, StatusCode};
use kubectl_netdiag::cli::{Cli, Command, TraceArgs};
use kubectl_netdiag::error::Error;
use kubectl_netdiag::probe::Outcome;
use kubectl_netdiag::progress::Progress;
use kubectl_netdiag::wait::WaitConfig;
use kubectl_netdiag::{output, trace};
use netdiag_crds::NetProbe;
use serde_json::{Value, json};

fn args(argv: &[&str]) -> TraceArgs {
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
struct Recorder {
    updates: usize,
    warnings: Vec<String>,
    notes: Vec<String>,
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

fn fast() -> WaitConfig {
    WaitConfig {
        deadline: Duration::from_millis(600),
        pending_warning: Duration::from_millis(150),
        tick: Duration::from_millis(50),
    }
}

fn pod(name: &str, phase: &str, ready: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "curl"},
                     "creationTimestamp": "2026-11-23T09:00:00Z"},
        "spec": {"containers": [{"name": "c", "image": "curl"}]},
        "status": {"phase": phase, "podIP": "10.244.1.2",
                   "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}})
}

fn service() -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "echo-service", "namespace": "default"},
        "spec": {"clusterIP": "10.96.45.10", "type": "ClusterIP",
                 "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}})
}

fn slices(ready: &[bool]) -> Value {
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

const PROBES: &str = "/apis/netdiag.dev/v1alpha1/namespaces/default/netprobes";

/// Answer the pre-flight reads of `pod/curl svc/echo-service:http`.
async fn preflight_ok(h: &mut MockHandle) {
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
async fn create_ok(h: &mut MockHandle) -> Value {
    let (req, send) = expect(h, Method::POST, PROBES).await;
    let mut probe = body_json(req).await;
    assert_eq!(probe["metadata"]["generateName"], "curl-to-echo-service-");
    assert_eq!(probe["spec"]["target"]["service"]["port"], "http");
    probe["metadata"]["name"] = json!("curl-to-echo-service-abcde");
    probe["metadata"]["resourceVersion"] = json!("1");
    reply(send, StatusCode::CREATED, &probe);
    probe
}

fn fixture_status(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    v["status"].clone()
}

#[tokio::test]
async fn trace_creates_watches_until_succeeded_renders_and_deletes() {
    let (ctx, mut h) = ctx();
    let server = tokio::spawn(async move {
        preflight_ok(&mut h).await;
        let mut probe = create_ok(&mut h).await;
        let (req, send) = expect(&mut h, Method::GET, PROBES).await;
        let q = req.uri().query().unwrap_or_default().to_string();
        assert!(
            q.contains("watch=true") && q.contains("metadata.name%3Dcurl-to-echo-service-abcde"),
            "{q}"
        );
        assert!(q.contains("resourceVersion=1"), "{q}");
        let mut events = String::new();
        probe["status"] = json!({"phase": "Running", "observedGeneration": 1,
            "nodes": [{"name": "node-a", "phase": "Running"}, {"name": "node-b", "phase": "Pending"}]});
        probe["metadata"]["resourceVersion"] = json!("2");
        events += &format!("{}\n", json!({"type": "MODIFIED", "object": probe}));
        probe["status"] = fixture_status("healthy");
        probe["metadata"]["resourceVersion"] = json!("3");
        events += &format!("{}\n", json!({"type": "MODIFIED", "object": probe}));
        reply_raw(send, events);
        let (_, send) = expect(
            &mut h,
            Method::DELETE,
            &format!("{PROBES}/curl-to-echo-service-abcde"),
        )
        .await;
        reply(send, StatusCode::OK, &probe);
    });
    let mut rec = Recorder::default();
    let run = trace::run(
        &ctx,
        &args(&["pod/curl", "svc/echo-service:http"]),
        fast(),
        &mut rec,
    )
    .await;
    let run = run.unwrap_or_else(|e| panic!("trace failed: {e}"));
    server.await.unwrap_or_else(|e| panic!("mock server: {e}"));
    assert_eq!(run.outcome, Outcome::Reachable);
    assert_eq!(run.outcome.exit_code(), 0);
    assert!(rec.updates >= 2, "progress saw {} updates", rec.updates);
    assert!(rec.warnings.is_empty(), "{:?}", rec.warnings);
    let text = output::render_probe(&run.probe, kubectl_netdiag::cli::TraceOutput::Table, false)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        text.contains("RESULT: reachable via 10.244.2.7:8080 (iptables, 3 endpoints)"),
        "{text}"
    );
}

#[tokio::test]
async fn a_failure_on_the_path_is_exit_1_and_keep_skips_the_delete() {
    let (ctx, mut h) = ctx();
    let server = tokio::spawn(async move {
        preflight_ok(&mut h).await;
        let mut probe = create_ok(&mut h).await;
        let (_, send) = expect(&mut h, Method::GET, PROBES).await;
        probe["status"] = fixture_status("failing");
        reply_raw(
            send,
            format!("{}\n", json!({"type": "MODIFIED", "object": probe})),
        );
        // --keep: no DELETE may follow.
        let next = tokio::time::timeout(Duration::from_millis(300), h.next_request()).await;
        if let Ok(Some((req, _))) = next {
            panic!(
                "unexpected request with --keep: {} {}",
                req.method(),
                req.uri()
            );
        }
    });
    let mut rec = Recorder::default();
    let run = trace::run(
        &ctx,
        &args(&["pod/curl", "svc/echo-service:http", "--keep"]),
        fast(),
        &mut rec,
    )
    .await
    .unwrap_or_else(|e| panic!("trace failed: {e}"));
    server.await.unwrap_or_else(|e| panic!("mock server: {e}"));
    assert_eq!(run.outcome, Outcome::FailureFound);
    assert_eq!(run.outcome.exit_code(), 1);
}

#[tokio::test]
async fn crd_missing_says_to_install() {
    let (ctx, mut h) = ctx();
    let server = tokio::spawn(async move {
        preflight_ok(&mut h).await;
        let (_, send) = expect(&mut h, Method::POST, PROBES).await;
        reply(
            send,
            StatusCode::NOT_FOUND,
            &status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        );
    });
    let err = trace::run(
        &ctx,
        &args(&["pod/curl", "svc/echo-service:http"]),
        fast(),
        &mut Recorder::default(),
    )
    .await
    .err();
    server.await.unwrap_or_else(|e| panic!("mock server: {e}"));
    let err = err.unwrap_or_else(|| panic!("a trace without the CRD must fail"));
    assert!(matches!(err, Error::CrdMissing), "{err:?}");
    assert!(err.to_string().contains("kubectl netdiag install"), "{err}");
    assert_eq!(err.exit_code(), 2);
}

#[tokio::test]
async fn forbidden_names_the_verb_and_resource() {
    let (ctx, mut h) = ctx();
    let server = tokio::spawn(async move {
        let (_, send) = expect(&mut h, Method::GET, "/api/v1/namespaces/default/pods/curl").await;
        reply(
            send,
            StatusCode::FORBIDDEN,
            &status(
                403,
                "Forbidden",
                "pods \"curl\" is forbidden: User \"alice\" cannot get resource \"pods\" in API group \"\" in the namespace \"default\"",
            ),
        );
    });
    let err = trace::run(
        &ctx,
        &args(&["pod/curl", "svc/echo-service"]),
        fast(),
        &mut Recorder::default(),
    )
    .await
    .err();
    server.await.unwrap_or_else(|e| panic!("mock server: {e}"));
    let err = err.unwrap_or_else(|| panic!("a forbidden read must fail"));
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            Error::Forbidden {
                verb: "get",
                resource: "pods",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        msg.contains("may not get pods in namespace \"default\""),
        "{msg}"
    );
    assert!(
        msg.contains("kubectl auth can-i get pods -n default"),
        "{msg}"
    );
}

#[tokio::test]
async fn forbidden_create_of_netprobes_is_reported_as_such() {
    let (ctx, mut h) = ctx();
    let server = tokio::spawn(async move {
        preflight_ok(&mut h).await;
        let (_, send) = expect(&mut h, Method::POST, PROBES).await;
        reply(
            send,
            StatusCode::FORBIDDEN,
            &status(403, "Forbidden", "netprobes.netdiag.dev is forbidden"),
        );
    });
    let err = trace::run(
        &ctx,
        &args(&["pod/curl", "svc/echo-service:http"]),
        fast(),
        &mut Recorder::default(),
    )
    .await
    .err();
    server.await.unwrap_or_else(|e| panic!("mock server: {e}"));
    assert!(
        matches!(
            err,
            Some(Error::Forbidden {
                verb: "create",
                resource: "netprobes",
                ..
            })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_probe_stuck_pending_names_the_controller_and_is_deleted() {
    let (ctx, mut h) = ctx();
    let server = tokio::spawn(async move {
        preflight_ok(&mut h).await;
        create_ok(&mut h).await;
        // The controller never writes a status: every watch ends with no event, until the
        // plugin gives up and deletes the probe.
        let mut watches = 0;
        loop {
            let next = tokio::time::timeout(Duration::from_secs(5), h.next_request()).await;
            let Ok(Some((req, send))) = next else {
                panic!("the plugin stopped without deleting the probe");
            };
            if req.method() == Method::DELETE {
                assert!(
                    req.uri().path().ends_with("/curl-to-echo-service-abcde"),
                    "{}",
                    req.uri()
                );
                reply(
                    send,
                    StatusCode::OK,
                    &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
                );
                break;
            }
            assert_eq!(req.method(), Method::GET, "{}", req.uri());
            watches += 1;
            reply_raw(send, String::new());
        }
        assert!(watches >= 1);
    });
    let mut rec = Recorder::default();
    let err = trace::run(
        &ctx,
        &args(&["pod/curl", "svc/echo-service:http"]),
        fast(),
        &mut rec,
    )
    .await
    .err();
    server.await.unwrap_or_else(|e| panic!("mock server: {e}"));
    let err = err.unwrap_or_else(|| panic!("a probe nobody fulfils must time out"));
    assert!(matches!(err, Error::ControllerNotRunning { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("-n netdiag-system get deployment netdiag-controller"),
        "{msg}"
    );
    assert_eq!(rec.warnings.len(), 1, "{:?}", rec.warnings);
    assert!(
        rec.warnings[0].contains("still Pending"),
        "{:?}",
        rec.warnings
    );
}

#[tokio::test]
async fn no_ready_endpoints_is_answered_before_any_probe_exists() {
    let (ctx, mut h) = ctx();
    let server = tokio::spawn(async move {
        let (_, send) = expect(&mut h, Method::GET, "/api/v1/namespaces/default/pods/curl").await;
        reply(send, StatusCode::OK, &pod("curl", "Running", true));
        let (_, send) = expect(
            &mut h,
            Method::GET,
            "/api/v1/namespaces/default/services/echo-service",
        )
        .await;
        reply(send, StatusCode::OK, &service());
        let (_, send) = expect(
            &mut h,
            Method::GET,
            "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
        )
        .await;
        reply(send, StatusCode::OK, &slices(&[false, false]));
        expect_no_more(&mut h).await;
    });
    let err = trace::run(
        &ctx,
        &args(&["pod/curl", "svc/echo-service"]),
        fast(),
        &mut Recorder::default(),
    )
    .await
    .err();
    server.await.unwrap_or_else(|e| panic!("mock server: {e}"));
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
    let mut v6 = slices(&[true]);
    v6["items"][0]["addressType"] = json!("IPv6");
    let mut terminating = slices(&[true]);
    terminating["items"][0]["endpoints"][0]["conditions"]["terminating"] = json!(true);
    for list in [v6, terminating] {
        let (ctx, mut h) = ctx();
        let server = tokio::spawn(async move {
            let (_, send) =
                expect(&mut h, Method::GET, "/api/v1/namespaces/default/pods/curl").await;
            reply(send, StatusCode::OK, &pod("curl", "Running", true));
            let svc = "/api/v1/namespaces/default/services/echo-service";
            let (_, send) = expect(&mut h, Method::GET, svc).await;
            reply(send, StatusCode::OK, &service());
            let sl = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices";
            let (_, send) = expect(&mut h, Method::GET, sl).await;
            reply(send, StatusCode::OK, &list);
            expect_no_more(&mut h).await;
        });
        let argv = args(&["pod/curl", "svc/echo-service"]);
        let err = trace::run(&ctx, &argv, fast(), &mut Recorder::default())
            .await
            .err();
        server.await.unwrap_or_else(|e| panic!("mock server: {e}"));
        let msg = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("has no ready endpoints"), "{msg}");
    }
}

#[tokio::test]
async fn a_source_pod_that_is_not_running_is_refused() {
    let (ctx, mut h) = ctx();
    let server = tokio::spawn(async move {
        let (_, send) = expect(&mut h, Method::GET, "/api/v1/namespaces/default/pods/curl").await;
        reply(send, StatusCode::OK, &pod("curl", "Pending", false));
        expect_no_more(&mut h).await;
    });
    let err = trace::run(
        &ctx,
        &args(&["pod/curl", "svc/echo-service"]),
        fast(),
        &mut Recorder::default(),
    )
    .await
    .err();
    server.await.unwrap_or_else(|e| panic!("mock server: {e}"));
    assert!(
        matches!(&err, Some(Error::SourceNotRunning { state, .. }) if state == "Pending"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_deployment_source_picks_a_ready_pod_and_says_which() {
    let (ctx, mut h) = ctx();
    let server = tokio::spawn(async move {
        let (_, send) = expect(
            &mut h,
            Method::GET,
            "/apis/apps/v1/namespaces/default/deployments/curl",
        )
        .await;
        reply(
            send,
            StatusCode::OK,
            &json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "curl", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "curl"}},
                     "template": {"metadata": {"labels": {"app": "curl"}}, "spec": {"containers": [{"name": "c"}]}}}}),
        );
        let (req, send) = expect(&mut h, Method::GET, "/api/v1/namespaces/default/pods").await;
        assert!(
            req.uri()
                .query()
                .unwrap_or_default()
                .contains("labelSelector=app%3Dcurl"),
            "{}",
            req.uri()
        );
        reply(
            send,
            StatusCode::OK,
            &json!({"apiVersion": "v1", "kind": "PodList", "metadata": {},
            "items": [pod("curl-a", "Running", false), pod("curl-b", "Running", true), pod("curl-c", "Pending", false)]}),
        );
        // Stop here: the target is a pod that does not exist.
        let (_, send) = expect(&mut h, Method::GET, "/api/v1/namespaces/default/pods/web").await;
        reply(
            send,
            StatusCode::NOT_FOUND,
            &status(404, "NotFound", "pods \"web\" not found"),
        );
    });
    let mut rec = Recorder::default();
    let err = trace::run(
        &ctx,
        &args(&["deploy/curl", "pod/web:8080"]),
        fast(),
        &mut rec,
    )
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
