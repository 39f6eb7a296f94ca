//! What the NodeInspection reconcile tests share: the objects the mock API server answers with
//! and the requests it expects.
#![allow(dead_code)] // each test binary uses a different part

use netdiag_crds::NodeInspection;
use netdiag_crds::inspection::NodeInspectionStatus;
use netdiag_model::inspect::{
    Finding, FindingKind, InspectReport, Listener, NetnsIdentity, NodeFacts, PodEth0, PodNamespace,
    ProxyFacts, ServiceRules,
};
use serde_json::{Value, json};

use netdiag_testkit::api::prelude::*;
use netdiag_testkit::api::{MockServer, Seen};

use super::flow::AGENTS;

pub const UID: &str = "9f8e7d6c-1111-4222-8333-444455556666";
pub const STATUS: &str = "/apis/netdiag.dev/v1alpha1/nodeinspections/w1/status";

pub fn inspection(spec: Value, status: Option<Value>) -> NodeInspection {
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

/// The agent's report on `node`: curl's namespace, a leaked one, kubelet's socket, and
/// echo-service's rules programming `endpoints`.
pub fn report(node: &str, endpoints: &[&str]) -> InspectReport {
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

pub fn log_of(r: &InspectReport) -> String {
    format!("inspecting\n{}\n", serde_json::to_string(r).expect("json"))
}

pub fn applied(seen: &Seen) -> NodeInspectionStatus {
    assert!(
        seen.query.contains("fieldManager=netdiag-controller") && seen.query.contains("force=true"),
        "{}",
        seen.query
    );
    assert_eq!(seen.body["kind"], "NodeInspection");
    serde_json::from_value(seen.body["status"].clone()).expect("a NodeInspectionStatus")
}

pub fn condition<'a>(s: &'a NodeInspectionStatus, t: &str) -> (&'a str, &'a str) {
    let c = s
        .conditions
        .iter()
        .find(|c| c.type_ == t)
        .expect("condition");
    (c.status.as_str(), c.reason.as_deref().unwrap_or(""))
}

pub fn answer_status(seen: Seen, spec: Value) {
    let status = seen.body["status"].clone();
    seen.ok(
        &json!({"apiVersion": "netdiag.dev/v1alpha1", "kind": "NodeInspection",
                    "metadata": {"name": "w1", "uid": UID}, "spec": spec, "status": status}),
    );
}

pub async fn expect_agents(api: &mut MockServer, pods: Vec<Value>) {
    api.expect("GET", AGENTS)
        .await
        .assert_query("netdiag.dev%2Finspection%3D9f8e7d6c")
        .assert_query("netdiag.dev%2Fgeneration%3D1")
        .ok_list(&pods);
}

/// A Pod of `ns/name` on worker-1 at `ip` (hostNetwork with `port` declared).
pub fn pod(ns: &str, name: &str, ip: &str, host_port: Option<i32>) -> Value {
    let mut spec = json!({"nodeName": "worker-1", "containers": [{"name": "c"}]});
    if let Some(p) = host_port {
        spec["hostNetwork"] = json!(true);
        spec["containers"][0]["ports"] = json!([{"containerPort": p}]);
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": ns, "name": name},
           "spec": spec, "status": {"phase": "Running", "podIP": ip}})
}

pub fn echo_service() -> Service {
    Service::test("echo", "10.96.45.10").port("http", 80, 8080)
}

pub fn echo_slices() -> Vec<EndpointSlice> {
    vec![
        EndpointSlice::test("echo-a", "echo")
            .port("http", 8080)
            .endpoint("10.244.1.3")
            .endpoint("10.244.2.2"),
    ]
}
