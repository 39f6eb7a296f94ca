//! Tenancy at the API level: a bare address is admitted without object rights, so when its
//! agent's report walks it back to another namespace's Service, the status the controller writes
//! names "a Service in another namespace" and none of its endpoints.

mod common;

use std::sync::Arc;

use common::context::test_context;
use common::flow::*;
use netdiag_controller::netprobe::reconcile;
use netdiag_crds::Phase;
use netdiag_model::report::{HopDetail, RuleEndpoint, ServiceRulesDetail};
use netdiag_model::{Endpoint, Hop, HopKind, NodeReport, Verdict};
use serde_json::json;

/// What the agent saw: kube-dns's rules for the address, and DNAT to its pod.
fn report() -> NodeReport {
    let rules = Hop::new(
        "node-a",
        HopKind::ServiceRules,
        "10.96.0.10:53/udp",
        Verdict::Ok,
        "kube-system/kube-dns:dns -> 1 endpoint: 10.244.2.4:53 (100%)",
    )
    .with_details(HopDetail::ServiceRules(ServiceRulesDetail {
        mode: "iptables".into(),
        service_address: "10.96.0.10:53/udp".into(),
        service: Some("kube-system/kube-dns:dns".into()),
        endpoints: vec![RuleEndpoint {
            ip: [10, 244, 2, 4].into(),
            port: 53,
            probability: 1.0,
            chain: "KUBE-SEP-IT2ZTR26TO4XFPTO".into(),
        }],
        ..Default::default()
    }));
    let connect = Hop::new(
        "node-a",
        HopKind::Connect,
        "10.96.0.10:53/udp",
        Verdict::Ok,
        "answered from 10.96.0.10:53/udp",
    );
    NodeReport {
        node: "node-a".into(),
        hops: vec![rules, connect],
        chosen_endpoint: Some(Endpoint {
            ip: [10, 244, 2, 4].into(),
            port: 53,
        }),
        summary: "ok".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_address_probe_shows_no_name_or_endpoint_of_another_namespace() {
    let (ctx, mut api) = test_context();
    let p = address_probe().with_status(json!({"phase": "Running", "observedGeneration": 1, "startTime": jiff::Timestamp::now().to_string(),
               "nodes": [{"name": "node-a", "agentPod": format!("netdiag-{UID}-r1-source"), "phase": "Running"}]}));
    let server = tokio::spawn(async move {
        expect_list_agents(&mut api, vec![address_source_pod(succeeded())]).await;
        api.expect("GET", &format!("{AGENTS}/netdiag-{UID}-r1-source/log"))
            .await
            .text(&format!(
                "starting trace\n{}\n",
                serde_json::to_string(&report()).expect("json")
            ));
        let patch = api.expect("PATCH", STATUS).await;
        let s = applied_status(&patch);
        assert_eq!(s.phase, Some(Phase::Succeeded));
        let written = serde_json::to_string(&s).expect("json");
        for secret in ["kube-dns", "10.244.2.4", "KUBE-SEP-"] {
            assert!(
                !written.contains(secret),
                "{secret} in the status: {written}"
            );
        }
        assert!(
            written.contains("a Service in another namespace"),
            "{written}"
        );
        patch.applied();
        while let Some(seen) = api.next().await {
            match (seen.method.as_str(), seen.path.as_str()) {
                ("POST", path) if path.contains("events") => seen.echo(),
                ("DELETE", _) => seen.success(),
                other => panic!("unexpected request {other:?}"),
            }
        }
    });
    reconcile(Arc::new(p), ctx).await.expect("reconcile");
    server.await.expect("verifier");
}
