//! Collect and clean-up decisions (pure): what an agent pod's state means, the report in its
//! log, and which agent pods are garbage.

use k8s_openapi::api::core::v1::Pod;
use netdiag_controller::agents::collect::{PodOutcome, parse_report, pod_outcome, stuck_reason};
use netdiag_controller::agents::gc::{LiveProbe, belongs_to_run, is_garbage};
use serde_json::{Value, json};

fn agent_pod(status: Value, labels: Value) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "netdiag-u-r1-source", "namespace": "netdiag-system", "labels": labels},
        "spec": {"containers": [{"name": "agent"}]},
        "status": status,
    }))
    .expect("pod")
}

fn with_status(status: Value) -> Pod {
    agent_pod(status, json!({}))
}

fn waiting(reason: &str, message: &str) -> Value {
    json!({"phase": "Pending", "containerStatuses": [{"name": "agent", "ready": false, "restartCount": 0, "image": "i", "imageID": "",
        "state": {"waiting": {"reason": reason, "message": message}}}]})
}

#[test]
fn a_pod_waiting_on_its_image_says_so_with_the_kubelets_message() {
    let o = pod_outcome(&with_status(waiting(
        "ImagePullBackOff",
        "Back-off pulling image \"ghcr.io/netdiag/netdiag:0.1.0\"",
    )));
    let PodOutcome::InProgress {
        phase: "Pending",
        why: Some((reason, msg)),
    } = &o
    else {
        panic!("{o:?}")
    };
    assert_eq!(*reason, "ImagePullBackOff");
    assert!(msg.contains("Back-off pulling image"), "{msg}");
    let (reason, msg) = stuck_reason("netdiag-u-r1-source", &o, 30);
    assert_eq!(reason, "ImagePullBackOff");
    assert!(
        msg.starts_with("agent pod netdiag-u-r1-source: ImagePullBackOff: Back-off"),
        "{msg}"
    );
}

#[test]
fn unknown_waiting_reasons_keep_a_bounded_category() {
    let o = pod_outcome(&with_status(waiting("SomethingNew", "details")));
    assert!(
        matches!(
            o,
            PodOutcome::InProgress {
                why: Some(("AgentPodWaiting", _)),
                ..
            }
        ),
        "{o:?}"
    );
    let (reason, msg) = stuck_reason(
        "p",
        &pod_outcome(&with_status(json!({"phase": "Running"}))),
        30,
    );
    assert_eq!(reason, "Timeout");
    assert!(
        msg.contains("still Running after the probe's timeout of 30s"),
        "{msg}"
    );
}

#[test]
fn failed_pods_name_oom_kills_deadlines_and_exit_codes() {
    let oom = json!({"phase": "Failed", "containerStatuses": [{"name": "agent", "ready": false, "restartCount": 0, "image": "i", "imageID": "",
        "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]});
    assert_eq!(
        pod_outcome(&with_status(oom)),
        PodOutcome::Failed {
            reason: "OOMKilled",
            message: "agent exited with code 137".into()
        }
    );
    let deadline = json!({"phase": "Failed", "reason": "DeadlineExceeded", "message": "Pod was active on the node longer than the specified deadline"});
    assert!(matches!(
        pod_outcome(&with_status(deadline)),
        PodOutcome::Failed {
            reason: "DeadlineExceeded",
            ..
        }
    ));
    let error = json!({"phase": "Failed", "containerStatuses": [{"name": "agent", "ready": false, "restartCount": 0, "image": "i", "imageID": "",
        "state": {"terminated": {"exitCode": 2, "reason": "Error", "message": "trace\nnetdiag-agent: no network namespace holds 10.244.1.2\n"}}}]});
    assert_eq!(
        pod_outcome(&with_status(error)),
        PodOutcome::Failed {
            reason: "AgentFailed",
            message:
                "agent exited with code 2: netdiag-agent: no network namespace holds 10.244.1.2"
                    .into()
        }
    );
    assert_eq!(
        pod_outcome(&with_status(json!({"phase": "Succeeded"}))),
        PodOutcome::Succeeded
    );
}

#[test]
fn the_report_is_the_last_json_line_even_with_stderr_after_it() {
    let report =
        r#"{"node":"node-a","agentVersion":"0.1.0","hops":[],"summary":"ok","durationMs":1.0}"#;
    let log = format!("INFO starting\n{{not the report\n{report}\nWARN closing sockets\n\n");
    let r = parse_report("p", &log).expect("report");
    assert_eq!(r.node, "node-a");
    let e = parse_report("p", "error: permission denied\n").expect_err("no report");
    assert_eq!(e.reason(), "AgentNoReport");
    assert!(e.to_string().contains("permission denied"), "{e}");
    let e = parse_report("p", "{\"node\": 3}\n").expect_err("bad report");
    assert_eq!(e.reason(), "AgentReportInvalid");
}

fn labelled(uid: &str, generation: &str, run: &str) -> Pod {
    agent_pod(
        json!({"phase": "Running"}),
        json!({"netdiag.dev/probe": uid, "netdiag.dev/generation": generation, "netdiag.dev/run": run}),
    )
}

#[test]
fn garbage_is_a_pod_whose_probe_is_gone_replaced_outdated_or_already_read() {
    let live = |running| LiveProbe {
        uid: "u".into(),
        generation: 2,
        runs: 3,
        running,
    };
    assert_eq!(
        is_garbage(&labelled("u", "2", "4"), None),
        Some("NetProbeGone")
    );
    assert_eq!(
        is_garbage(&labelled("other", "2", "4"), Some(&live(true))),
        Some("NetProbeReplaced")
    );
    assert_eq!(
        is_garbage(&labelled("u", "1", "4"), Some(&live(true))),
        Some("OldGeneration")
    );
    assert_eq!(
        is_garbage(&labelled("u", "2", "3"), Some(&live(false))),
        Some("RunFinished")
    );
    assert_eq!(
        is_garbage(&labelled("u", "2", "4"), Some(&live(true))),
        None,
        "the run under way"
    );
    // Created just before the cache saw the status move to Running: not garbage.
    assert_eq!(
        is_garbage(&labelled("u", "2", "4"), Some(&live(false))),
        None
    );
    assert_eq!(
        is_garbage(&labelled("u", "3", "4"), Some(&live(false))),
        None,
        "a newer generation than the cache knows"
    );
    assert!(belongs_to_run(&labelled("u", "2", "4"), 2, 4));
    assert!(!belongs_to_run(&labelled("u", "2", "3"), 2, 4));
}

#[test]
fn an_agent_pod_maps_back_to_its_netprobe_across_namespaces() {
    let mut pod = labelled("u", "1", "1");
    assert_eq!(
        netdiag_controller::runtime::runner::probe_of(&pod),
        None,
        "no annotations: not ours"
    );
    pod.metadata.annotations = Some(
        [
            ("netdiag.dev/probe-namespace", "shop"),
            ("netdiag.dev/probe-name", "cart-check"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    );
    let r = netdiag_controller::runtime::runner::probe_of(&pod).expect("maps");
    assert_eq!(
        (r.name.as_str(), r.namespace.as_deref()),
        ("cart-check", Some("shop"))
    );
}
