//! The NodeInspection reconcile of a node against the mock API server, end to end: create the
//! agent pod, collect its report, join it to the node's Pods, write the status, delete the pod;
//! a node that does not exist; ttlSecondsAfterFinished.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::context::test_context;
use common::flow::{AGENTS, agent, expect_count_agents, list, succeeded};
use common::inspection::*;
use kube::runtime::controller::Action;
use netdiag_controller::inspection::reconcile;
use netdiag_crds::Phase;
use netdiag_testkit::api::prelude::{Node, NodeTestExt};
use serde_json::json;

#[tokio::test]
async fn a_node_inspection_runs_its_agent_joins_the_nodes_pods_reports_and_cleans_up() {
    let (ctx, mut api) = test_context();
    let spec = json!({"node": "worker-1"});
    let fresh = inspection(spec.clone(), None);

    // 1. Fresh: the node exists, no agent pod yet: create it, mark Running.
    let s2 = spec.clone();
    let server = tokio::spawn(async move {
        api.expect("GET", "/api/v1/nodes/worker-1")
            .await
            .ok(&Node::test("worker-1"));
        expect_agents(&mut api, vec![]).await;
        expect_count_agents(&mut api, vec![]).await;
        let create = api.expect("POST", AGENTS).await;
        let posted = create.body.clone();
        assert_eq!(posted["spec"]["nodeName"], "worker-1");
        assert_eq!(posted["spec"]["hostNetwork"], true);
        assert_eq!(posted["spec"]["automountServiceAccountToken"], false);
        assert_eq!(
            posted["metadata"]["ownerReferences"][0]["kind"],
            "NodeInspection"
        );
        assert_eq!(posted["spec"]["containers"][0]["args"][0], "inspect");
        create.echo();
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied(&patch);
        assert_eq!(s.phase, Some(Phase::Running));
        assert_eq!(condition(&s, "Reconciling").0, "True");
        assert_eq!(
            s.nodes[0].agent_pod.as_deref(),
            posted["metadata"]["name"].as_str()
        );
        answer_status(patch, s2);
        api.done().await;
        (posted, s)
    });
    let action = reconcile(Arc::new(fresh), ctx.clone())
        .await
        .expect("reconcile 1");
    assert_eq!(action, Action::requeue(Duration::from_secs(2)));
    let (posted, running) = server.await.expect("verifier 1");

    // 2. The agent succeeded: read its report, join the node's Pods, finish, delete the pod.
    let (ctx, mut api) = test_context();
    let started = inspection(
        spec.clone(),
        Some(serde_json::to_value(&running).expect("json")),
    );
    let pod_name = posted["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_string();
    let done = agent(
        &posted,
        running.start_time.as_deref().expect("start"),
        succeeded(),
    );
    let server = tokio::spawn(async move {
        api.expect("GET", "/api/v1/nodes/worker-1")
            .await
            .ok(&Node::test("worker-1"));
        expect_agents(&mut api, vec![done]).await;
        api.expect("GET", &format!("{AGENTS}/{pod_name}/log"))
            .await
            .text(&log_of(&report("worker-1", &[])));
        let pods = api.expect("GET", "/api/v1/pods").await;
        assert!(
            pods.query
                .contains("fieldSelector=spec.nodeName%3Dworker-1"),
            "{}",
            pods.query
        );
        pods.ok(&list(vec![
            pod("default", "curl", "10.244.1.2", None),
            pod("monitoring", "node-exporter", "172.18.0.2", Some(9100)),
        ]));
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied(&patch);
        answer_status(patch, spec);
        api.expect("DELETE", &format!("{AGENTS}/{pod_name}"))
            .await
            .echo();
        api.done().await;
        s
    });
    let action = reconcile(Arc::new(started), ctx)
        .await
        .expect("reconcile 2");
    assert_eq!(action, Action::await_change());
    let s = server.await.expect("verifier 2");
    assert_eq!(s.phase, Some(Phase::Succeeded));
    assert_eq!(condition(&s, "Ready"), ("True", "Inspected"));
    assert_eq!(condition(&s, "Reconciling").0, "False");
    assert_eq!(s.findings, Some(1));
    let r = &s.reports[0];
    let curl = r.namespaces[0].pod.as_ref().expect("curl joined by IP");
    assert_eq!(
        (curl.namespace.as_str(), curl.name.as_str()),
        ("default", "curl")
    );
    assert_eq!(r.namespaces[1].pod, None, "the leaked namespace has no Pod");
    let exporter = r.facts.listeners[0].pod.as_ref().expect("host-network Pod");
    assert_eq!(exporter.name, "node-exporter");
    assert!(
        s.summary
            .as_deref()
            .is_some_and(|m| m.contains("2 pod network namespaces, 1 mapped")),
        "{:?}",
        s.summary
    );
}

#[tokio::test]
async fn a_missing_node_fails_the_inspection_without_an_agent() {
    let (ctx, mut api) = test_context();
    let spec = json!({"node": "gone"});
    let server = tokio::spawn(async move {
        api.expect("GET", "/api/v1/nodes/gone").await.not_found();
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied(&patch);
        answer_status(patch, json!({"node": "gone"}));
        api.done().await;
        s
    });
    let action = reconcile(Arc::new(inspection(spec, None)), ctx)
        .await
        .expect("reconcile");
    assert_eq!(action, Action::await_change());
    let s = server.await.expect("verifier");
    assert_eq!(s.phase, Some(Phase::Failed));
    assert_eq!(condition(&s, "Completed"), ("True", "NodeNotFound"));
    assert!(s.summary.is_some_and(|m| m.contains("kubectl get nodes")));
}

#[tokio::test]
async fn a_finished_inspection_is_deleted_once_its_ttl_has_passed() {
    let (ctx, mut api) = test_context();
    let spec = json!({"node": "worker-1", "ttlSecondsAfterFinished": 60});
    let status = json!({"phase": "Succeeded", "observedGeneration": 1,
                        "completionTime": "2020-01-01T00:00:00Z"});
    let server = tokio::spawn(async move {
        api.expect("DELETE", "/apis/netdiag.dev/v1alpha1/nodeinspections/w1")
            .await
            .ok(
                &json!({"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Success"}),
            );
        api.done().await;
    });
    let action = reconcile(Arc::new(inspection(spec, Some(status))), ctx)
        .await
        .expect("reconcile");
    assert_eq!(action, Action::await_change());
    server.await.expect("verifier");
}
