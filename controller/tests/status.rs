//! Pure steps after the agents ran, with YAML fixtures: merge, status (conditions, reruns,
//! generations), events and the schedule.

mod common;

use common::{probe, reports};
use jiff::Timestamp;
use netdiag_controller::netprobe::schedule::{self, Next};
use netdiag_controller::netprobe::status::{self, Failure, StatusInput};
use netdiag_controller::runtime::events;
use netdiag_crds::{NetProbeStatus, Phase};
use netdiag_model::merge::merge;
use netdiag_model::{HopKind, Reason};

fn input(previous: &NetProbeStatus, now: &str) -> StatusInput<'static> {
    StatusInput {
        previous: Box::leak(Box::new(previous.clone())),
        generation: 1,
        target: "svc/echo:http".into(),
        now: now.parse().expect("time"),
    }
}

#[test]
fn merging_two_reports_names_the_endpoint_nodes_listener_as_first_failure() {
    let path = merge(&reports(), "default/curl1", "svc/echo:http");
    let f = path.first_failure.clone().expect("failure");
    assert_eq!(
        (f.hop, f.node.as_str(), f.reason),
        (HopKind::Listener, "node-b", Reason::NothingListening)
    );
    let running = status::running(
        &input(&NetProbeStatus::default(), "2026-01-01T00:00:00Z"),
        "2026-01-01T00:00:00Z".parse().expect("t"),
        vec![],
    );
    let done = status::completed(
        &input(&running, "2026-01-01T00:00:03Z"),
        &path,
        vec![],
        Some("2026-01-01T00:00:00Z".parse().expect("t")),
    );
    assert_eq!(done.phase, Some(Phase::Succeeded));
    assert_eq!(done.runs, Some(1));
    assert_eq!(
        done.first_failure.as_ref().map(|f| &f.hop),
        Some(&HopKind::Listener)
    );
    let reachable = done.condition("Reachable").expect("Reachable");
    assert_eq!(
        (reachable.status.as_str(), reachable.reason.as_deref()),
        ("False", Some("NothingListening"))
    );
    assert_eq!(
        done.condition("Ready").map(|c| c.status.as_str()),
        Some("False")
    );
    assert_eq!(
        done.condition("Reconciling").map(|c| c.status.as_str()),
        Some("False")
    );
    assert_eq!(
        done.condition("Completed").map(|c| c.status.as_str()),
        Some("True")
    );
    assert_eq!(done.start_time.as_deref(), Some("2026-01-01T00:00:00Z"));
    assert_eq!(
        done.completion_time.as_deref(),
        Some("2026-01-01T00:00:03Z")
    );
    assert_eq!(done.observed_generation, Some(1));
    // Completed flipped False -> True at completion; Reconciling True -> False too.
    assert_eq!(
        reachable.last_transition_time.as_deref(),
        Some("2026-01-01T00:00:03Z")
    );
}

#[test]
fn a_rerun_keeps_the_last_answer_and_a_new_generation_starts_clean() {
    let path = merge(&reports(), "default/curl1", "svc/echo:http");
    let done = status::completed(
        &input(&NetProbeStatus::default(), "2026-01-01T00:00:03Z"),
        &path,
        vec![],
        None,
    );
    let rerun = status::running(
        &input(&done, "2026-01-01T00:05:03Z"),
        "2026-01-01T00:05:03Z".parse().expect("t"),
        vec![],
    );
    assert_eq!(rerun.phase, Some(Phase::Running));
    assert_eq!(
        rerun.condition("Reconciling").map(|c| c.status.as_str()),
        Some("True")
    );
    assert_eq!(
        rerun.condition("Reachable").map(|c| c.status.as_str()),
        Some("False"),
        "latest answer kept"
    );
    assert_eq!(rerun.hops, done.hops);
    let mut gen2 = input(&done, "2026-01-01T00:05:03Z");
    gen2.generation = 2;
    let fresh = status::running(&gen2, "2026-01-01T00:05:03Z".parse().expect("t"), vec![]);
    assert!(fresh.hops.is_empty());
    assert_eq!(
        fresh.condition("Reachable").map(|c| c.status.as_str()),
        Some("Unknown")
    );
    assert_eq!(
        fresh.condition("Ready").map(|c| c.status.as_str()),
        Some("False")
    );
}

#[test]
fn a_healthy_path_is_ready_and_a_terminal_failure_is_not() {
    let mut healthy = reports()[0].clone();
    healthy.hops.retain(|h| h.kind != HopKind::Connect);
    healthy.hops.push(netdiag_model::Hop::new(
        "node-a",
        HopKind::Connect,
        "10.96.0.50:80",
        netdiag_model::Verdict::Ok,
        "connected",
    ));
    let path = merge(&[healthy], "default/curl1", "svc/echo:http");
    let done = status::completed(
        &input(&NetProbeStatus::default(), "2026-01-01T00:00:03Z"),
        &path,
        vec![],
        None,
    );
    assert_eq!(
        done.condition("Ready")
            .map(|c| (c.status.as_str(), c.reason.as_deref())),
        Some(("True", Some("Connected")))
    );

    let failure = Failure {
        reason: "NoReadyEndpoints",
        message: "none ready".into(),
        reachable: Some(false),
        counts_as_run: true,
    };
    let failed = status::failed(
        &input(&done, "2026-01-01T00:10:00Z"),
        &failure,
        vec![],
        None,
    );
    assert_eq!(failed.phase, Some(Phase::Failed));
    assert_eq!(failed.runs, Some(2));
    assert!(failed.hops.is_empty());
    assert_eq!(
        failed.condition("Reachable").map(|c| c.status.as_str()),
        Some("False")
    );
    assert_eq!(
        failed.condition("Ready").map(|c| c.reason.as_deref()),
        Some(Some("NoReadyEndpoints"))
    );
}

#[test]
fn events_fire_on_start_on_a_new_failure_and_on_a_changed_answer_only() {
    let path = merge(&reports(), "default/curl1", "svc/echo:http");
    let empty = NetProbeStatus::default();
    let running = status::running(
        &input(&empty, "2026-01-01T00:00:00Z"),
        "2026-01-01T00:00:00Z".parse().expect("t"),
        vec![],
    );
    let reasons =
        |evs: Vec<events::ProbeEvent>| evs.into_iter().map(|e| e.reason).collect::<Vec<_>>();
    assert_eq!(reasons(events::transition(&empty, &running)), ["Started"]);
    let done = status::completed(
        &input(&running, "2026-01-01T00:00:03Z"),
        &path,
        vec![],
        None,
    );
    assert_eq!(
        reasons(events::transition(&running, &done)),
        ["FailureFound", "Completed"]
    );
    // A periodic re-run with the same answer: no event at all.
    let rerun = status::running(
        &input(&done, "2026-01-01T00:05:00Z"),
        "2026-01-01T00:05:00Z".parse().expect("t"),
        vec![],
    );
    assert!(events::transition(&done, &rerun).is_empty());
    let again = status::completed(&input(&rerun, "2026-01-01T00:05:03Z"), &path, vec![], None);
    assert!(
        events::transition(&rerun, &again).is_empty(),
        "same answer, no event"
    );
    // Nothing changed at all (a no-op reconcile).
    assert!(events::transition(&again, &again).is_empty());
}

#[test]
fn the_schedule_reruns_periodic_probes_and_expires_one_shot_ones() {
    let now: Timestamp = "2026-01-01T00:01:00Z".parse().expect("t");
    let periodic = probe(
        "default",
        "p",
        "{source: {pod: a}, target: {dns: {name: x}}, intervalSeconds: 300}",
    );
    let finished = NetProbeStatus {
        phase: Some(Phase::Succeeded),
        observed_generation: Some(1),
        completion_time: Some("2026-01-01T00:00:00Z".into()),
        ..Default::default()
    };
    assert_eq!(
        schedule::next(&periodic.spec, &finished, 1, now),
        Next::Wait(Some(std::time::Duration::from_secs(240)))
    );
    assert_eq!(
        schedule::next(&periodic.spec, &finished, 2, now),
        Next::Start,
        "a generation bump starts a run"
    );
    let later: Timestamp = "2026-01-01T00:05:00Z".parse().expect("t");
    assert_eq!(
        schedule::next(&periodic.spec, &finished, 1, later),
        Next::Start
    );
    let ttl = probe(
        "default",
        "p",
        "{source: {pod: a}, target: {dns: {name: x}}, ttlSecondsAfterFinished: 30}",
    );
    assert_eq!(schedule::next(&ttl.spec, &finished, 1, now), Next::Expire);
    let once = probe(
        "default",
        "p",
        "{source: {pod: a}, target: {dns: {name: x}}}",
    );
    assert_eq!(
        schedule::next(&once.spec, &finished, 1, now),
        Next::Wait(None)
    );
    let running = NetProbeStatus {
        phase: Some(Phase::Running),
        observed_generation: Some(1),
        start_time: Some("2026-01-01T00:00:30Z".into()),
        ..Default::default()
    };
    assert_eq!(
        schedule::next(&once.spec, &running, 1, now),
        Next::Continue {
            start: "2026-01-01T00:00:30Z".parse().expect("t")
        }
    );
}
