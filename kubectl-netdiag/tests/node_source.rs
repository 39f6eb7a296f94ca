//! `trace node/NAME ...` against testkit's mock API server: the controller's refusal of a node
//! source (off unless its `--node-source-namespaces` lists the namespace) reaches the user as a
//! probe that could not run, saying why and what to do.

mod common;

use common::ctx;
use common::trace::*;

use kubectl_netdiag::cli::TraceFormat;
use kubectl_netdiag::output;
use kubectl_netdiag::probe::Outcome;
use netdiag_testkit::api::prelude::*;
use netdiag_testkit::api::scenario::{answer_create, answer_get, answer_service};
use serde_json::{Value, json};

const REFUSAL: &str = "source node/node-a is not allowed in namespace default: node sources are off everywhere (the default). A connect from a node's host network carries the node's identity (it reaches the kubelet, cloud metadata and the other nodes), so the controller runs node sources only for the namespaces its --node-source-namespaces flag (NETDIAG_NODE_SOURCE_NAMESPACES) lists, none by default; to allow them here, a cluster administrator adds default to it (then RBAC on who may create NetProbes in default decides who gains node identity), or trace from a pod instead";

/// The status the controller writes when it refuses a node source (`status::failed` with
/// `Failure::refused`): Failed, no run, every condition with reason `NodeSourceNotAllowed`.
fn refused_status() -> Value {
    let condition = |type_: &str, status: &str| {
        json!({"type": type_, "status": status, "reason": "NodeSourceNotAllowed",
               "message": REFUSAL, "lastTransitionTime": "2026-11-23T10:00:01Z",
               "observedGeneration": 1})
    };
    json!({"phase": "Failed", "observedGeneration": 1,
           "summary": format!("NodeSourceNotAllowed: {REFUSAL}"),
           "conditions": [condition("Completed", "True"), condition("Reachable", "Unknown"),
                          condition("Ready", "False"), condition("Reconciling", "False")]})
}

#[tokio::test]
async fn a_refused_node_source_is_a_probe_that_could_not_run_saying_which_flag_allows_it() {
    let (ctx, mut api) = ctx();
    let server = tokio::spawn(async move {
        answer_get(&mut api, &Node::numbered("node-a")).await;
        let slice = slice(&[true]);
        answer_service(&mut api, &service(), &[slice]).await;
        let mut probe = answer_create(&mut api, PROBES, "node-a-to-echo-service-abcde").await;
        assert_eq!(probe["spec"]["source"], json!({"node": "node-a"}));
        probe["status"] = refused_status();
        let watch = api.expect("GET", PROBES).await;
        watch.watch_events([("MODIFIED", &probe)]);
        api.expect("DELETE", &format!("{PROBES}/node-a-to-echo-service-abcde"))
            .await
            .success();
        api.done().await;
    });
    let mut rec = Recorder::default();
    let run = trace(&ctx, &["node/node-a", "svc/echo-service:http"], &mut rec).await;
    server.await.unwrap_or_else(|e| panic!("mock server: {e}"));
    let run = run.unwrap_or_else(|e| panic!("the trace itself must succeed: {e}"));
    let Outcome::ProbeFailed(message) = &run.outcome else {
        panic!(
            "a refusal is a probe that could not run, not {:?}",
            run.outcome
        );
    };
    assert_eq!(run.outcome.exit_code(), 2);
    assert_eq!(message, REFUSAL);
    for part in [
        "--node-source-namespaces",
        "NETDIAG_NODE_SOURCE_NAMESPACES",
        "adds default to it",
        "or trace from a pod instead",
    ] {
        assert!(
            message.contains(part),
            "what to do next: {part:?} in {message}"
        );
    }
    let text = output::render_probe(&run.probe, TraceFormat::Table, false)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        text,
        format!(
            "TRACE: node/node-a -> svc/echo-service:http\n\n\
             No hops: the run ended before any hop was checked.\n\n\
             RESULT: probe failed — {REFUSAL}\n"
        )
    );
    // The table said it; a data format leaves it to stderr, once.
    assert_eq!(
        output::probe_failed_note(&run.outcome, TraceFormat::Table, true),
        None
    );
    assert_eq!(
        output::probe_failed_note(&run.outcome, TraceFormat::Json, true),
        Some(format!("the probe could not run: {REFUSAL}"))
    );
}

/// `trace --help` says SOURCE may be a node, that the controller keeps node sources off unless
/// a flag lists the namespace and why, with an example.
#[test]
fn trace_help_explains_node_sources_and_shows_one() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-netdiag"))
        .args(["trace", "--help"])
        .env("KUBECONFIG", "/nonexistent")
        .output()
        .unwrap_or_else(|e| panic!("cannot run the plugin: {e}"));
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for part in [
        "rs/NAME or node/NAME",
        "node/NAME                the node's host network",
        "Off by default on the controller",
        "node's identity",
        "--node-source-namespaces",
        "NETDIAG_NODE_SOURCE_NAMESPACES",
        "NodeSourceNotAllowed",
        "kubectl netdiag trace node/worker-1 svc/echo -n netops",
    ] {
        assert!(
            help.contains(part),
            "{part:?} missing from trace --help:\n{help}"
        );
    }
}
