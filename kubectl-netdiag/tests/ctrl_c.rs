//! Ctrl-C during `trace`, as a real SIGINT to this process against the mock API server: before
//! the create nothing is made; after it the probe is deleted, and the error says so and exits
//! 130. Its own test binary: a signal reaches every test of the process.

#![cfg(unix)]

mod common;

use common::ctx;
use common::trace::*;

use kubectl_netdiag::error::Error;
use kubectl_netdiag::interrupt::Interruption;

fn sigint() {
    nix::sys::signal::raise(nix::sys::signal::Signal::SIGINT).unwrap();
}

/// The trace's error, once the mock `server` (which sends the SIGINT) has finished.
async fn interrupted_trace(
    ctx: &kubectl_netdiag::client::Ctx,
    server: tokio::task::JoinHandle<()>,
    rec: &mut Recorder,
) -> Error {
    let err = trace_curl_to_echo(ctx, rec).await.map(|_| ()).unwrap_err();
    server.await.unwrap();
    err
}

/// One test, so the two SIGINTs cannot meet each other's trace.
#[tokio::test]
async fn ctrl_c_deletes_the_probe_and_exits_130_or_creates_nothing() {
    // While the probe runs: the wait is cut short, the probe deleted.
    let (ctx, mut api) = ctx();
    let server = tokio::spawn(async move {
        preflight_ok(&mut api).await;
        let _probe = create_ok(&mut api).await;
        // The wait's first request: the user gives up here. It is never answered.
        let _pending = api.expect("GET", PROBES).await;
        sigint();
        api.expect("DELETE", &format!("{PROBES}/curl-to-echo-service-abcde"))
            .await
            .success();
        api.done().await;
    });
    let mut rec = Recorder::default();
    let err = interrupted_trace(&ctx, server, &mut rec).await;
    assert!(
        matches!(&err, Error::Interrupted(Interruption::Deleted { name, .. }) if name == "curl-to-echo-service-abcde"),
        "{err}"
    );
    assert_eq!(err.exit_code(), 130);
    assert!(
        err.to_string().starts_with("interrupted; probe deleted"),
        "{err}"
    );
    assert!(rec.warnings.is_empty(), "{:?}", rec.warnings);

    // While the source is looked up: nothing is created.
    let (ctx, mut api) = common::ctx();
    let server = tokio::spawn(async move {
        let _pending = api
            .expect("GET", "/api/v1/namespaces/default/pods/curl")
            .await;
        sigint();
        api.done().await;
    });

    let err = interrupted_trace(&ctx, server, &mut rec).await;
    assert!(
        matches!(err, Error::Interrupted(Interruption::BeforeCreate)),
        "{err}"
    );
    assert_eq!(err.exit_code(), 130);
}
