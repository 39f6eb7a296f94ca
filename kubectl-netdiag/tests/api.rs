//! API flows of `trace` against testkit's mock API server: each scenario answers the requests
//! the plugin must make, in order, and fails when an unexpected one arrives.

mod common;

use common::ctx;
use common::trace::*;

use kubectl_netdiag::error::Error;
use kubectl_netdiag::output;
use kubectl_netdiag::probe::Outcome;
use serde_json::json;

#[tokio::test]
async fn trace_creates_watches_until_succeeded_renders_and_deletes() {
    let (ctx, mut api) = ctx();
    let server = tokio::spawn(async move {
        preflight_ok(&mut api).await;
        let mut probe = create_ok(&mut api).await;
        let watch = api.expect("GET", PROBES).await;
        let q = watch.query.clone();
        assert!(
            q.contains("watch=true") && q.contains("metadata.name%3Dcurl-to-echo-service-abcde"),
            "{q}"
        );
        assert!(q.contains("resourceVersion=1"), "{q}");
        probe["status"] = json!({"phase": "Running", "observedGeneration": 1,
            "nodes": [{"name": "node-a", "phase": "Running"}, {"name": "node-b", "phase": "Pending"}]});
        probe["metadata"]["resourceVersion"] = json!("2");
        let running = probe.clone();
        probe["status"] = fixture_status("healthy");
        probe["metadata"]["resourceVersion"] = json!("3");
        watch.watch_events([("MODIFIED", &running), ("MODIFIED", &probe)]);
        api.expect("DELETE", &format!("{PROBES}/curl-to-echo-service-abcde"))
            .await
            .ok(&probe);
        api.done().await;
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
    let (ctx, mut api) = ctx();
    let server = tokio::spawn(async move {
        preflight_ok(&mut api).await;
        let mut probe = create_ok(&mut api).await;
        let watch = api.expect("GET", PROBES).await;
        probe["status"] = fixture_status("failing");
        watch.watch_events([("MODIFIED", &probe)]);
        // --keep: no DELETE may follow.
        api.done().await;
    });
    let mut rec = Recorder::default();
    let run = trace(
        &ctx,
        &["pod/curl", "svc/echo-service:http", "--keep"],
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
    let (ctx, mut api) = ctx();
    let server = tokio::spawn(async move {
        preflight_ok(&mut api).await;
        api.expect("POST", PROBES).await.status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
        api.done().await;
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
    let (ctx, mut api) = ctx();
    let server = tokio::spawn(async move {
        api.expect("GET", "/api/v1/namespaces/default/pods/curl")
            .await
            .status(
                403,
                "Forbidden",
                "pods \"curl\" is forbidden: User \"alice\" cannot get resource \"pods\" in API group \"\" in the namespace \"default\"",
            );
        api.done().await;
    });
    let err = trace_error(&ctx, &["pod/curl", "svc/echo-service"], server).await;
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
    let (ctx, mut api) = ctx();
    let server = tokio::spawn(async move {
        preflight_ok(&mut api).await;
        api.expect("POST", PROBES).await.status(
            403,
            "Forbidden",
            "netprobes.netdiag.dev is forbidden",
        );

        api.done().await;
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
    let (ctx, mut api) = ctx();
    let server = tokio::spawn(async move {
        preflight_ok(&mut api).await;
        create_ok(&mut api).await;
        // The controller never writes a status: every watch ends with no event, until the
        // plugin gives up and deletes the probe.
        let mut watches = 0;
        loop {
            let Some(seen) = api.next().await else {
                panic!("the plugin stopped without deleting the probe");
            };
            if seen.method == "DELETE" {
                assert_eq!(seen.path, format!("{PROBES}/curl-to-echo-service-abcde"));
                seen.success();
                break;
            }
            assert_eq!(seen.method, "GET", "{}", seen.path);
            watches += 1;
            seen.watch_events([]);
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
