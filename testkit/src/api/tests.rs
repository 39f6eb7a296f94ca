//! The mock server through a real kube client: what it answers is what kube reads.

use kube::Api;
use serde_json::json;

use super::objects::prelude::*;
use super::scenario::{answer_get, answer_service};

#[tokio::test]
async fn a_read_is_answered_with_the_built_object_and_a_status_becomes_an_error_response() {
    let (client, mut api) = super::client();
    let server = tokio::spawn(async move {
        let pod = Pod::test("curl").ip("10.244.1.2").on_node("node-a");
        answer_get(&mut api, &pod).await;
        api.expect("GET", "/api/v1/namespaces/default/pods/web")
            .await
            .status(403, "Forbidden", "pods \"web\" is forbidden");
        api.done().await;
    });
    let pods: Api<Pod> = Api::default_namespaced(client);
    let pod = pods.get("curl").await.expect("the pod");
    let status = pod.status.expect("status");
    assert_eq!(status.pod_ip.as_deref(), Some("10.244.1.2"));
    assert_eq!(
        pod.spec.and_then(|s| s.node_name).as_deref(),
        Some("node-a")
    );
    match pods.get("web").await {
        Err(kube::Error::Api(e)) => {
            assert_eq!((e.code, e.reason.as_str()), (403, "Forbidden"));
            assert_eq!(e.message, "pods \"web\" is forbidden");
        }
        other => panic!("a 403, not {other:?}"),
    }
    server.await.expect("the mock server");
}

#[tokio::test]
async fn a_service_lookup_reads_the_service_then_its_slices_by_label() {
    let (client, mut api) = super::client();
    let svc = Service::test("echo", "10.96.0.50").port("http", 80, 8080);
    let slice = EndpointSlice::test("echo-a", "echo")
        .port("http", 8080)
        .endpoint("10.244.2.7")
        .on_node("node-b")
        .not_ready("10.244.2.8")
        .terminating();
    let server = tokio::spawn(async move {
        answer_service(&mut api, &svc, &[slice]).await;
        api.done().await;
    });
    let services: Api<Service> = Api::default_namespaced(client.clone());
    let ip = services
        .get("echo")
        .await
        .expect("svc")
        .spec
        .and_then(|s| s.cluster_ip);
    assert_eq!(ip.as_deref(), Some("10.96.0.50"));
    let slices: Api<EndpointSlice> = Api::default_namespaced(client);
    let lp = kube::api::ListParams::default().labels("kubernetes.io/service-name=echo");
    let got = slices.list(&lp).await.expect("slices");
    let eps = &got.items[0].endpoints;
    assert_eq!(eps[0].node_name.as_deref(), Some("node-b"));
    let c = eps[1].conditions.clone().expect("conditions");
    assert_eq!((c.ready, c.terminating), (Some(false), Some(true)));
    server.await.expect("the mock server");
}

#[tokio::test]
#[should_panic(expected = "expected GET /api/v1/nodes/a, got GET /api/v1/nodes/b")]
async fn a_request_other_than_the_expected_one_fails() {
    let (client, mut api) = super::client();
    let nodes: Api<Node> = Api::all(client);
    let ask = tokio::spawn(async move { nodes.get("b").await.map(|_| ()) });
    let _ = api.expect("GET", "/api/v1/nodes/a").await;
    drop(ask);
}

#[test]
fn numbered_nodes_are_kinds() {
    let b = serde_json::to_value(Node::numbered("node-b")).expect("json");
    assert_eq!(
        b["spec"],
        json!({"podCIDR": "10.244.2.0/24", "podCIDRs": ["10.244.2.0/24"]})
    );
    assert_eq!(
        b["status"]["addresses"],
        json!([{"type": "InternalIP", "address": "172.18.0.3"}])
    );
}
