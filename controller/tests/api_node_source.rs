//! API-level tests of node sources (`spec.source.node`): refused before any read unless the
//! controller's `--node-source-namespaces` allows the probe's namespace; where allowed, the
//! Node is read, the plan starts from its InternalIP, and the source agent lands on it.

mod common;

use std::sync::Arc;

use common::context::{test_context, test_context_with_node_sources};
use common::flow::*;
use common::probe;
use netdiag_controller::netprobe::node_source::NodeSourcePolicy;
use netdiag_crds::{NetProbe, Phase};
use netdiag_testkit::api::MockServer;
use netdiag_testkit::api::scenario::answer_nodes;

fn node_probe() -> NetProbe {
    probe(
        "default",
        "p",
        "{source: {node: node-b}, target: {address: {ip: 10.96.0.10, port: 53, protocol: UDP}}}",
    )
}

/// The refusal: one status apply and its Event, nothing read, no agent pod.
async fn expect_refused(
    ctx: Arc<netdiag_controller::netprobe::Context>,
    mut api: MockServer,
    scope: &'static str,
) {
    let server = tokio::spawn(async move {
        let s = expect_failed_and_nothing_else(&mut api).await;
        assert_eq!(s.phase, Some(Phase::Failed));
        assert_eq!(condition(&s, "Completed"), ("True", "NodeSourceNotAllowed"));
        assert_eq!(condition(&s, "Ready"), ("False", "NodeSourceNotAllowed"));
        assert_eq!(s.runs, None, "a refused probe never ran");
        let msg = completed_message(&s);
        for part in [
            "node/node-b",
            "--node-source-namespaces",
            "node's identity",
            scope,
        ] {
            assert!(msg.contains(part), "{part:?} missing: {msg}");
        }
    });
    reconcile_verified(node_probe(), ctx, server).await;
}

#[tokio::test]
async fn a_node_source_is_refused_when_the_flag_is_empty() {
    let (ctx, api) = test_context();
    expect_refused(ctx, api, "off everywhere (the default)").await;
}

#[tokio::test]
async fn a_node_source_is_refused_in_a_namespace_the_flag_does_not_list() {
    let policy = NodeSourcePolicy::parse("netops").expect("policy");
    let (ctx, api) = test_context_with_node_sources(policy);
    expect_refused(ctx, api, "lists netops").await;
}

/// Where allowed: the Node read, the source agent pinned to it with a plan from its address.
async fn expect_runs_on_the_node(policy: &str) {
    let (ctx, mut api) =
        test_context_with_node_sources(NodeSourcePolicy::parse(policy).expect("policy"));
    let server = tokio::spawn(async move {
        answer_nodes(&mut api, &["node-b"]).await;
        expect_list_agents(&mut api, vec![]).await;
        expect_count_agents(&mut api, vec![]).await;
        let (posted, plan) = expect_create_agent(&mut api, "node-b", "source").await;
        assert_eq!(posted["spec"]["nodeName"], "node-b");
        assert!(plan.source_is_node, "{plan:?}");
        assert_eq!(
            plan.source_ip.map(|v| v.to_string()).as_deref(),
            Some("172.18.0.3")
        );
        assert_eq!(
            plan.target.as_ref().map(|t| t.ip.to_string()),
            Some("10.96.0.10".to_string())
        );
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied_status(&patch);
        assert_eq!(s.phase, Some(Phase::Running));
        assert_eq!(s.nodes[0].name, "node-b");
        patch.applied();
        expect_event(&mut api, "Started").await;
        api.done().await;
    });
    reconcile_verified(node_probe(), ctx, server).await;
}

#[tokio::test]
async fn a_node_source_runs_on_that_node_in_a_listed_namespace() {
    expect_runs_on_the_node("netops,default").await;
}

#[tokio::test]
async fn a_node_source_runs_on_that_node_with_star() {
    expect_runs_on_the_node("*").await;
}

#[tokio::test]
async fn a_missing_source_node_fails_with_its_reason_and_starts_no_pod() {
    let (ctx, mut api) = test_context_with_node_sources(NodeSourcePolicy::Everywhere);
    let server = tokio::spawn(async move {
        api.expect("GET", "/api/v1/nodes/node-b").await.not_found();
        let s = expect_failed_and_nothing_else(&mut api).await;
        assert_eq!(condition(&s, "Ready"), ("False", "SourceNodeNotFound"));
    });
    reconcile_verified(node_probe(), ctx, server).await;
}
