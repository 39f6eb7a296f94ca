//! The NodeInspection reconcile against the mock API server, end to end: create the agent pod,
//! collect its report, join it to the node's Pods, write the status, delete the pod; a service
//! inspection on every node compared with the EndpointSlices; ttlSecondsAfterFinished.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::flow::{AGENTS, agent, list, succeeded};
use common::verifier::{ApiServerVerifier, Seen, test_context};
use kube::runtime::controller::Action;
use netdiag_controller::inspection::reconcile;
use netdiag_crds::inspection::NodeInspectionStatus;
use netdiag_crds::{NodeInspection, Phase};
use netdiag_model::inspect::{
    Finding, FindingKind, InspectReport, Listener, NetnsIdentity, NodeFacts, PodEth0, PodNamespace,
    ProxyFacts, ServiceRules,
};
use serde_json::{Value, json};

const UID: &str = "9f8e7d6c-1111-4222-8333-444455556666";
const STATUS: &str = "/apis/netdiag.dev/v1alpha1/nodeinspections/w1/status";

fn inspection(spec: Value, status: Option<Value>) -> NodeInspection {
    let mut obj = json!({
        "apiVersion": "netdiag.dev/v1alpha1", "kind": "NodeInspection",
        "metadata": {"name": "w1", "uid": UID, "generation": 1},
        "spec": spec,
    });
    if let Some(s) = status {
        obj["status"] = s;
    }
    serde_json::from_value(obj).expect("a NodeInspection")
}

fn node(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
}

/// The agent's report on `node`: curl's namespace, a leaked one, kubelet's socket, and
/// echo-service's rules programming `endpoints`.
fn report(node: &str, endpoints: &[&str]) -> InspectReport {
    let ns = |path: &str, ip: &str| PodNamespace {
        netns: NetnsIdentity {
            path: path.into(),
            ..Default::default()
        },
        eth0: Some(PodEth0 {
            name: "eth0".into(),
            addresses: vec![format!("{ip}/24")],
            ..Default::default()
        }),
        ..Default::default()
    };
    InspectReport {
        node: node.into(),
        facts: NodeFacts {
            proxy: ProxyFacts {
                mode: "iptables (nf_tables)".into(),
                ..Default::default()
            },
            listeners: vec![Listener {
                protocol: "TCP".into(),
                address: "0.0.0.0".into(),
                port: 9100,
                pod: None,
            }],
            services: vec![ServiceRules {
                address: "10.96.45.10:80/tcp".into(),
                endpoints: endpoints.iter().map(|s| s.to_string()).collect(),
                notes: vec![],
            }],
            ..Default::default()
        },
        namespaces: vec![
            ns("/var/run/netns/cni-1", "10.244.1.2"),
            ns("/var/run/netns/cni-2", "10.244.1.9"),
        ],
        findings: vec![Finding::new(FindingKind::LeakedNamespace {
            netns: "cni-2".into(),
        })],
        notes: vec![],
    }
}

fn log_of(r: &InspectReport) -> String {
    format!("inspecting\n{}\n", serde_json::to_string(r).expect("json"))
}

fn applied(seen: &Seen) -> NodeInspectionStatus {
    assert!(
        seen.query.contains("fieldManager=netdiag-controller") && seen.query.contains("force=true"),
        "{}",
        seen.query
    );
    assert_eq!(seen.body["kind"], "NodeInspection");
    serde_json::from_value(seen.body["status"].clone()).expect("a NodeInspectionStatus")
}

fn condition<'a>(s: &'a NodeInspectionStatus, t: &str) -> (&'a str, &'a str) {
    let c = s
        .conditions
        .iter()
        .find(|c| c.type_ == t)
        .expect("condition");
    (c.status.as_str(), c.reason.as_deref().unwrap_or(""))
}

fn answer_status(seen: Seen, spec: Value) {
    let status = seen.body["status"].clone();
    seen.ok(
        &json!({"apiVersion": "netdiag.dev/v1alpha1", "kind": "NodeInspection",
                    "metadata": {"name": "w1", "uid": UID}, "spec": spec, "status": status}),
    );
}

async fn expect_agents(api: &mut ApiServerVerifier, pods: Vec<Value>) {
    let seen = api.expect("GET", AGENTS).await;
    assert!(
        seen.query.contains("netdiag.dev%2Finspection%3D9f8e7d6c")
            && seen.query.contains("netdiag.dev%2Fgeneration%3D1"),
        "{}",
        seen.query
    );
    seen.ok(&list(pods));
}

/// A Pod of `ns/name` on worker-1 at `ip` (hostNetwork with `port` declared).
fn pod(ns: &str, name: &str, ip: &str, host_port: Option<i32>) -> Value {
    let mut spec = json!({"nodeName": "worker-1", "containers": [{"name": "c"}]});
    if let Some(p) = host_port {
        spec["hostNetwork"] = json!(true);
        spec["containers"][0]["ports"] = json!([{"containerPort": p}]);
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": ns, "name": name},
           "spec": spec, "status": {"phase": "Running", "podIP": ip}})
}

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
            .ok(&node("worker-1"));
        expect_agents(&mut api, vec![]).await;
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
            .ok(&node("worker-1"));
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

fn echo_service() -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
           "metadata": {"namespace": "default", "name": "echo"},
           "spec": {"clusterIP": "10.96.45.10", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}})
}

fn echo_slices() -> Value {
    list(vec![
        json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"namespace": "default", "name": "echo-a", "labels": {"kubernetes.io/service-name": "echo"}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [{"addresses": ["10.244.1.3"], "conditions": {"ready": true}},
                      {"addresses": ["10.244.2.2"], "conditions": {"ready": true}}]}),
    ])
}

#[tokio::test]
async fn a_service_inspection_lists_the_nodes_whose_rules_disagree_with_the_endpointslices() {
    let spec = json!({"service": {"namespace": "default", "name": "echo"}});
    let resolve = |mut api: ApiServerVerifier| async move {
        api.expect("GET", "/api/v1/namespaces/default/services/echo")
            .await
            .ok(&echo_service());
        api.expect(
            "GET",
            "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
        )
        .await
        .ok(&echo_slices());
        api.expect("GET", "/api/v1/nodes")
            .await
            .ok(&list(vec![node("worker-2"), node("worker-1")]));
        api
    };
    // 1. One pod per node, each asked for echo's ClusterIP rules.
    let (ctx, api) = test_context();
    let s2 = spec.clone();
    let server = tokio::spawn(async move {
        let mut api = resolve(api).await;
        expect_agents(&mut api, vec![]).await;
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
        let mut api = resolve(api).await;
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
