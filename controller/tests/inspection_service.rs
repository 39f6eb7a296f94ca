//! A service NodeInspection against the mock API server: one agent pod per node (as far as the
//! limits on agent pods admit), each node's rules compared with the EndpointSlices.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::context::{test_context, test_context_with};
use common::flow::{AGENTS, agent, expect_count_agents, succeeded};
use common::inspection::*;
use kube::runtime::controller::Action;
use netdiag_controller::inspection::reconcile;
use netdiag_controller::netprobe::admission::Limits;
use netdiag_crds::Phase;
use netdiag_testkit::api::MockServer;
use netdiag_testkit::api::prelude::*;
use netdiag_testkit::api::scenario::answer_service;
use serde_json::{Value, json};

/// The Service, its EndpointSlices and the nodes, answered: what a service inspection reads.
async fn expect_resolve_echo(mut api: MockServer) -> MockServer {
    answer_service(&mut api, &echo_service(), &echo_slices()).await;
    api.expect("GET", "/api/v1/nodes")
        .await
        .ok_list(&[Node::test("worker-2"), Node::test("worker-1")]);
    api
}

#[tokio::test]
async fn a_service_inspection_lists_the_nodes_whose_rules_disagree_with_the_endpointslices() {
    let spec = json!({"service": {"namespace": "default", "name": "echo"}});
    // 1. One pod per node, each asked for echo's ClusterIP rules.
    let (ctx, api) = test_context();
    let s2 = spec.clone();
    let server = tokio::spawn(async move {
        let mut api = expect_resolve_echo(api).await;
        expect_agents(&mut api, vec![]).await;
        expect_count_agents(&mut api, vec![]).await;
        let mut posted = Vec::new();
        for want in ["worker-1", "worker-2"] {
            let create = api.expect("POST", AGENTS).await;
            assert_eq!(create.body["spec"]["nodeName"], want);
            let args: Vec<String> =
                serde_json::from_value(create.body["spec"]["containers"][0]["args"].clone())
                    .expect("args");
            assert!(
                args.ends_with(&["--service".into(), "10.96.45.10:80/tcp".into()]),
                "{args:?}"
            );
            posted.push(create.body.clone());
            create.echo();
        }
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied(&patch);
        assert_eq!(s.target.as_deref(), Some("svc/default/echo"));
        answer_status(patch, s2);
        (posted, s)
    });
    reconcile(Arc::new(inspection(spec.clone(), None)), ctx)
        .await
        .expect("reconcile 1");
    let (posted, running) = server.await.expect("verifier 1");

    // 2. worker-2's kube-proxy is stuck: it still sends to a deleted pod and lacks 10.244.2.2.
    let (ctx, api) = test_context();
    let started = inspection(
        spec.clone(),
        Some(serde_json::to_value(&running).expect("json")),
    );
    let start = running.start_time.clone().expect("start");
    let server = tokio::spawn(async move {
        let mut api = expect_resolve_echo(api).await;
        let done: Vec<Value> = posted
            .iter()
            .map(|p| agent(p, &start, succeeded()))
            .collect();
        expect_agents(&mut api, done).await;
        let logs = [
            report("worker-1", &["10.244.1.3:8080", "10.244.2.2:8080"]),
            report("worker-2", &["10.244.1.3:8080", "10.244.9.9:8080"]),
        ];
        for (p, r) in posted.iter().zip(&logs) {
            let name = p["metadata"]["name"].as_str().expect("name");
            api.expect("GET", &format!("{AGENTS}/{name}/log"))
                .await
                .text(&log_of(r));
        }
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied(&patch);
        answer_status(patch, spec);
        for p in &posted {
            let name = p["metadata"]["name"].as_str().expect("name");
            api.expect("DELETE", &format!("{AGENTS}/{name}"))
                .await
                .echo();
        }
        api.done().await;
        s
    });
    reconcile(Arc::new(started), ctx)
        .await
        .expect("reconcile 2");
    let s = server.await.expect("verifier 2");
    assert_eq!(s.phase, Some(Phase::Succeeded));
    assert_eq!(s.findings, Some(1));
    let w1 = &s.service_nodes[0];
    assert!(w1.agrees, "{w1:?}");
    let w2 = &s.service_nodes[1];
    assert_eq!((w2.node.as_str(), w2.agrees), ("worker-2", false));
    assert_eq!(w2.missing, ["10.244.2.2:8080 (80/TCP)"]);
    assert_eq!(w2.stale, ["10.244.9.9:8080 (80/TCP)"]);
    assert!(
        s.summary
            .as_deref()
            .is_some_and(|m| m.contains("1 of 2 node(s) disagree") && m.ends_with("worker-2")),
        "{:?}",
        s.summary
    );
    assert!(s.reports.is_empty(), "a service inspection shows no pods");
}

#[tokio::test]
async fn a_service_inspection_creates_only_the_pods_the_agent_pod_limit_admits() {
    let limits = Limits {
        max_agent_pods: 1,
        ..Limits::default()
    };
    let (ctx, api) = test_context_with(limits);
    let spec = json!({"service": {"namespace": "default", "name": "echo"}});
    let s2 = spec.clone();
    let server = tokio::spawn(async move {
        let mut api = expect_resolve_echo(api).await;
        expect_agents(&mut api, vec![]).await;
        expect_count_agents(&mut api, vec![]).await;
        let create = api.expect("POST", AGENTS).await;
        assert_eq!(create.body["spec"]["nodeName"], "worker-1");
        create.echo();
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied(&patch);
        answer_status(patch, s2);
        api.done().await;
        s
    });
    let action = reconcile(Arc::new(inspection(spec, None)), ctx)
        .await
        .expect("reconcile");
    // Retried when agent pods may have finished (the limits' POD_RETRY).
    assert_eq!(action, Action::requeue(Duration::from_secs(10)));
    let s = server.await.expect("verifier");
    assert_eq!(s.phase, Some(Phase::Running));
    assert_eq!(s.nodes[0].phase.as_deref(), Some("Pending"));
    assert_eq!(s.nodes[1].phase.as_deref(), Some("Queued"));
    assert!(
        s.nodes[1]
            .message
            .as_deref()
            .is_some_and(|m| m.contains("--max-agent-pods=1")),
        "{:?}",
        s.nodes[1]
    );
}
