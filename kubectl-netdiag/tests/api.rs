//! API flows of `trace` against a tower-test mock API server: each scenario answers the
//! requests the plugin must make, in order, and fails when an unexpected one arrives.

mod mock;

use std::time::Duration;

use mock::trace::*;
use mock::*;

use http::{Method, StatusCode};
use kubectl_netdiag::error::Error;
use kubectl_netdiag::probe::Outcome;
use kubectl_netdiag::{output, trace};
use serde_json::json;

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
    let run = trace_curl_to_echo(&ctx, &mut rec).await;
    let run = run.unwrap_or_else(|e| panic!("trace failed: {e}"));
    server.await.unwrap_or_else(|e| panic!("mock server: {e}"));
    assert_eq!(run.outcome, Outcome::Reachable);
    assert_eq!(run.outcome.exit_code(), 0);
    assert!(rec.updates >= 2, "progress saw {} updates", rec.updates);
    assert!(rec.warnings.is_empty(), "{:?}", rec.warnings);
    let text = output::render_probe(&run.probe, kubectl_netdiag::cli::TraceFormat::Table, false)
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
    let err = trace_curl_to_echo(&ctx, &mut Recorder::default())
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
    let err = trace_curl_to_echo(&ctx, &mut Recorder::default())
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
    let err = trace_curl_to_echo(&ctx, &mut rec).await.err();
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
