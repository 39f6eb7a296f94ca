//! `kubectl netdiag inspect` against the mock API server: create the NodeInspection, poll it
//! until the controller finishes it, delete it, render it; a failed one is an error.

mod common;

use std::time::Duration;

use common::ctx;
use kubectl_netdiag::inspect::{self, InspectTarget};
use netdiag_render::{InspectFormat, Width};
use netdiag_testkit::api::MockServer;
use netdiag_testkit::api::scenario::answer_create;
use serde_json::{Value, json};

const INSPECTIONS: &str = "/apis/netdiag.dev/v1alpha1/nodeinspections";

fn with_status(mut object: Value, status: Value) -> Value {
    object["status"] = status;
    object
}

/// Answer the create with the object, named as generateName would.
async fn created(api: &mut MockServer, name: &str) -> Value {
    let body = answer_create(api, INSPECTIONS, name).await;
    assert!(
        body["metadata"]["generateName"]
            .as_str()
            .is_some_and(|g| g.starts_with("inspect-"))
    );
    body
}

/// The next request is `method` on inspection `name`: answer it with `body`.
async fn answer(api: &mut MockServer, method: &str, name: &str, body: &Value) {
    api.expect(method, &format!("{INSPECTIONS}/{name}"))
        .await
        .ok(body);
}

/// [`run`] with a deadline no test reaches and a quick poll.
async fn run_quickly(
    ctx: &kubectl_netdiag::client::Ctx,
    target: &InspectTarget,
) -> Result<netdiag_crds::NodeInspection, kubectl_netdiag::error::Error> {
    run(
        ctx,
        target,
        Duration::from_secs(5),
        Duration::from_millis(10),
    )
    .await
}

/// `inspect::run` without `--keep`, as the command runs it.
async fn run(
    ctx: &kubectl_netdiag::client::Ctx,
    target: &InspectTarget,
    timeout: Duration,
    poll: Duration,
) -> Result<netdiag_crds::NodeInspection, kubectl_netdiag::error::Error> {
    inspect::run(ctx, target, timeout, poll, false).await
}

fn node_report() -> Value {
    json!({"node": "worker-1",
           "facts": {"proxy": {"mode": "iptables (nf_tables)", "how": "x"}, "conntrack": {},
                     "cni": {"name": "flannel", "evidence": ["flannel.1 (vxlan)"]}, "listeners": []},
           "namespaces": [{"netns": {"path": "/var/run/netns/cni-1", "name": "cni-1", "dev": 4, "inode": 9},
                           "processes": [{"pid": 2677, "comm": "pause", "startTicks": 1}],
                           "eth0": {"name": "eth0", "ifindex": 2, "peerIfindex": 7, "addresses": ["10.244.1.2/24"],
                                    "mac": "", "mtu": 1450, "up": true},
                           "hostVeth": {"name": "veth1a2b", "ifindex": 7, "mac": "", "mtu": 1450, "up": true, "operState": "up"},
                           "attachment": {"type": "bridge", "name": "cni0"},
                           "pod": {"namespace": "default", "name": "curl"}}],
           "findings": [{"kind": "leakedNamespace", "netns": "cni-9", "message": "network namespace cni-9 has no process left"}]})
}

#[tokio::test]
async fn inspect_node_creates_polls_until_done_deletes_and_renders_the_table() {
    let (ctx, mut api) = ctx();
    let server = tokio::spawn(async move {
        let object = created(&mut api, "inspect-node-x1").await;
        assert_eq!(object["spec"]["node"], "worker-1");
        answer(
            &mut api,
            "GET",
            "inspect-node-x1",
            &with_status(object.clone(), json!({"phase": "Running"})),
        )
        .await;
        let done = with_status(
            object,
            json!({"phase": "Succeeded", "findings": 1, "reports": [node_report()]}),
        );
        answer(&mut api, "GET", "inspect-node-x1", &done).await;
        answer(&mut api, "DELETE", "inspect-node-x1", &done).await;
        api.done().await;
    });
    let target = InspectTarget::Node("worker-1".into());
    let i = run_quickly(&ctx, &target)
        .await
        .unwrap_or_else(|e| panic!("inspect failed: {e}"));
    server.await.unwrap_or_else(|e| panic!("mock server: {e}"));
    assert_eq!(inspect::exit_code(&i), 1, "a finding");
    let table =
        inspect::render(&i, InspectFormat::Table, false, Width::Unlimited).expect("renders");
    assert!(
        table.contains("CNI:          flannel (flannel.1 (vxlan))"),
        "{table}"
    );
    let row = table
        .lines()
        .find(|l| l.starts_with("default/curl"))
        .expect("curl's row");
    assert!(
        row.contains("2677 pause") && row.contains("eth0@if7") && row.contains("veth1a2b (7)"),
        "{row}"
    );
    assert!(
        table.contains("✗ network namespace cni-9 has no process left"),
        "{table}"
    );
    let json = inspect::render(&i, InspectFormat::Json, false, Width::Unlimited).expect("json");
    let back: Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(back["kind"], "NodeInspection");
}

#[tokio::test]
async fn inspect_svc_renders_the_nodes_that_disagree() {
    let (ctx, mut api) = ctx();
    let server = tokio::spawn(async move {
        let object = created(&mut api, "inspect-svc-x2").await;
        assert_eq!(
            object["spec"]["service"],
            json!({"namespace": "default", "name": "echo"})
        );
        let done = with_status(
            object,
            json!({"phase": "Succeeded", "findings": 1,
            "target": "svc/default/echo", "summary": "svc/default/echo: 1 of 2 node(s) disagree with its EndpointSlices: worker-2",
            "serviceNodes": [
                {"node": "worker-1", "mode": "iptables", "programmed": [{"port": "80/TCP", "endpoints": ["10.244.1.3:8080"]}], "agrees": true},
                {"node": "worker-2", "mode": "iptables", "programmed": [{"port": "80/TCP", "endpoints": []}],
                 "missing": ["10.244.1.3:8080 (80/TCP)"], "agrees": false}]}),
        );
        answer(&mut api, "GET", "inspect-svc-x2", &done).await;
        answer(&mut api, "DELETE", "inspect-svc-x2", &done).await;
        api.done().await;
    });
    let target = InspectTarget::Service {
        namespace: None,
        name: "echo".into(),
    };
    let i = run_quickly(&ctx, &target)
        .await
        .unwrap_or_else(|e| panic!("inspect failed: {e}"));
    server.await.unwrap_or_else(|e| panic!("mock server: {e}"));
    let table =
        inspect::render(&i, InspectFormat::Table, false, Width::Unlimited).expect("renders");
    let w2 = table
        .lines()
        .find(|l| l.starts_with("worker-2"))
        .expect("worker-2's row");
    assert!(
        w2.contains("NO") && w2.contains("10.244.1.3:8080 (80/TCP)"),
        "{table}"
    );
    assert!(table.trim_end().ends_with("worker-2"), "{table}");
    assert_eq!(inspect::exit_code(&i), 1);
}

#[tokio::test]
async fn a_failed_inspection_is_an_error_with_its_reason_and_is_still_deleted() {
    let (ctx, mut api) = ctx();
    let server = tokio::spawn(async move {
        let object = created(&mut api, "inspect-node-x3").await;
        let failed = with_status(
            object,
            json!({"phase": "Failed",
            "summary": "no node named gone: `kubectl get nodes` lists them"}),
        );
        answer(&mut api, "GET", "inspect-node-x3", &failed).await;
        answer(&mut api, "DELETE", "inspect-node-x3", &failed).await;
        api.done().await;
    });
    let target = InspectTarget::Node("gone".into());
    let e = run_quickly(&ctx, &target)
        .await
        .expect_err("a failed inspection");
    server.await.unwrap_or_else(|e| panic!("mock server: {e}"));
    assert!(e.to_string().contains("no node named gone"), "{e}");
    assert_eq!(e.exit_code(), 2);
}

#[tokio::test]
async fn an_inspection_nobody_picks_up_times_out_naming_the_controller() {
    let (ctx, mut api) = ctx();
    let server = tokio::spawn(async move {
        let object = created(&mut api, "inspect-node-x4").await;
        loop {
            let Some(seen) = api.next_within(Duration::from_secs(2)).await else {
                break;
            };
            let delete = seen.method == "DELETE";
            seen.ok(&object);
            if delete {
                break;
            }
        }
    });
    let target = InspectTarget::Node("worker-1".into());
    let e = run(
        &ctx,
        &target,
        Duration::from_millis(100),
        Duration::from_millis(20),
    )
    .await
    .expect_err("a timeout");
    server.await.unwrap_or_else(|e| panic!("mock server: {e}"));
    assert!(e.to_string().contains("never picked it up"), "{e}");
}
