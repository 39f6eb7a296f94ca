//! Pure steps with YAML fixtures: validate, resolve (object -> facts), plan, merge and status.

mod common;

use common::{pod, probe, reports, service, slices};
use jiff::Timestamp;
use netdiag_controller::netprobe::plan::{self, NoEndpointRun};
use netdiag_controller::netprobe::resolve::{
    self, ReadyEndpoint, ResolveError, Resolved, ResolvedTarget, kube_dns_from, pod_target_from,
    service_from, source_from_pod,
};
use netdiag_controller::netprobe::schedule::{self, Next};
use netdiag_controller::netprobe::spec::ValidSpec;
use netdiag_controller::netprobe::status::{self, Failure, StatusInput};
use netdiag_controller::runtime::events;
use netdiag_crds::{NetProbeStatus, Phase, PortRef, Protocol};
use netdiag_model::merge::merge;
use netdiag_model::{HopKind, PlanRole, Reason};

fn valid(yaml: &str) -> ValidSpec {
    ValidSpec::new(&probe("default", "p", yaml).spec).expect("valid spec")
}

fn resolved_service(spec: &ValidSpec, ns: &str, name: &str, port: Option<PortRef>) -> Resolved {
    let svc = service(ns, name);
    Resolved {
        source: source_from_pod("default", "curl1", Some(&pod("default", "curl1")))
            .expect("source"),
        target: ResolvedTarget::Service(
            service_from(ns, name, Some(&svc), &slices(ns, name), port.as_ref()).expect("service"),
        ),
        dns_name: resolve::dns_name_for(spec, "default", "cluster.local"),
        dns_servers: kube_dns_from(Some(&service("kube-system", "kube-dns")))
            .into_iter()
            .collect(),
    }
}

#[test]
fn an_invalid_spec_never_becomes_a_valid_spec() {
    let p = probe(
        "default",
        "p",
        "{source: {pod: curl1}, target: {address: {ip: 10.96.0.300, port: 70000}}}",
    );
    let err = ValidSpec::new(&p.spec).expect_err("invalid");
    let fields: Vec<_> = err.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        ["spec.target.address.ip", "spec.target.address.port"]
    );
}

#[test]
fn a_running_source_pod_gives_its_ip_node_and_readiness() {
    let s = source_from_pod("default", "curl1", Some(&pod("default", "curl1"))).expect("source");
    assert_eq!(
        (s.ip.as_str(), s.node.as_str(), s.ready),
        ("10.244.1.2", "node-a", true)
    );
}

#[test]
fn a_source_pod_not_running_is_terminal_with_its_phase() {
    let e = source_from_pod(
        "default",
        "curl-pending",
        Some(&pod("default", "curl-pending")),
    )
    .expect_err("pending");
    assert_eq!(e.reason(), "SourcePodNotRunning");
    assert!(e.is_terminal());
    assert!(e.to_string().contains("is Pending, not Running"), "{e}");
    let missing = source_from_pod("default", "ghost", None).expect_err("missing");
    assert_eq!(missing.reason(), "SourcePodNotFound");
}

#[test]
fn a_named_service_port_resolves_to_the_slice_port_of_ready_endpoints_only() {
    let svc = service("default", "echo");
    let r = service_from(
        "default",
        "echo",
        Some(&svc),
        &slices("default", "echo"),
        Some(&PortRef::Name("http".into())),
    )
    .expect("resolves");
    assert_eq!(
        (r.cluster_ip.as_str(), r.port, r.port_name.as_str()),
        ("10.96.0.50", 80, "http")
    );
    assert_eq!(
        r.endpoints,
        vec![
            ReadyEndpoint {
                ip: "10.244.1.5".into(),
                port: 5678,
                node: Some("node-a".into())
            },
            ReadyEndpoint {
                ip: "10.244.2.7".into(),
                port: 5678,
                node: Some("node-b".into())
            },
        ],
        "the not-ready 10.244.2.9 is left out and targetPort 'http' is 5678"
    );
    let by_number = service_from(
        "default",
        "echo",
        Some(&svc),
        &slices("default", "echo"),
        Some(&PortRef::Number(9090)),
    )
    .expect("by number");
    assert_eq!(by_number.endpoints[0].port, 9090);
}

#[test]
fn a_terminating_endpoint_is_not_traced_even_when_its_slice_says_ready() {
    // During a rollout a terminating pod can stay `ready: true` (publishNotReadyAddresses):
    // the plugin and the controller share netdiag_kube's rule that it is not a ready endpoint.
    let svc = service("default", "echo");
    let mut sl = slices("default", "echo");
    for s in &mut sl {
        for e in &mut s.endpoints {
            let c = e.conditions.get_or_insert_with(Default::default);
            c.ready = Some(true);
            c.terminating = Some(true);
        }
    }
    let e = service_from(
        "default",
        "echo",
        Some(&svc),
        &sl,
        Some(&PortRef::Name("http".into())),
    )
    .expect_err("no ready endpoint");
    assert_eq!(e.reason(), "NoReadyEndpoints");
}

#[test]
fn unknown_and_ambiguous_ports_headless_and_endpointless_services_are_terminal() {
    let echo = service("default", "echo");
    let sl = slices("default", "echo");
    let e = service_from(
        "default",
        "echo",
        Some(&echo),
        &sl,
        Some(&PortRef::Name("grpc".into())),
    )
    .expect_err("grpc");
    assert_eq!(e.reason(), "UnknownPortName");
    assert!(e.to_string().contains("http (80), metrics (9090)"), "{e}");
    let e = service_from("default", "echo", Some(&echo), &sl, None).expect_err("two ports");
    assert_eq!(e.reason(), "AmbiguousPort");
    let e = service_from(
        "default",
        "headless",
        Some(&service("default", "headless")),
        &[],
        None,
    )
    .expect_err("headless");
    assert_eq!(e.reason(), "HeadlessService");
    let e = service_from(
        "default",
        "broken",
        Some(&service("default", "broken")),
        &slices("default", "broken"),
        None,
    )
    .expect_err("no ready endpoints");
    assert_eq!(e.reason(), "NoReadyEndpoints");
    assert_eq!(e.reachable(), Some(false));
    let e = service_from("default", "nope", None, &[], None).expect_err("missing");
    assert!(matches!(e, ResolveError::ServiceNotFound { .. }));
}

#[test]
fn a_pod_target_resolves_named_container_ports_with_their_protocol() {
    let p = pod("default", "echo-b");
    let r = pod_target_from("default", "echo-b", Some(&p), &PortRef::Name("dns".into()))
        .expect("dns port");
    assert_eq!(
        (r.ip.as_str(), r.node.as_str(), r.port, r.protocol),
        ("10.244.2.7", "node-b", 53, Protocol::UDP)
    );
    let e = pod_target_from("default", "echo-b", Some(&p), &PortRef::Name("grpc".into()))
        .expect_err("no grpc");
    assert_eq!(e.reason(), "UnknownContainerPort");
}

#[test]
fn a_service_with_several_endpoints_plans_the_source_run_and_waits_for_dnat_to_pick() {
    let spec = valid("{source: {pod: curl1}, target: {service: {name: echo, port: http}}}");
    let r = resolved_service(&spec, "default", "echo", Some(PortRef::Name("http".into())));
    let plans = plan::initial_plans(&spec, &r);
    assert_eq!(plans.len(), 1);
    let src = &plans[0];
    assert_eq!((src.node.as_str(), src.role), ("node-a", PlanRole::Source));
    assert!(src.plan.target_is_service);
    assert_eq!(
        src.plan.target.as_ref().map(|t| t.to_string()).as_deref(),
        Some("10.96.0.50:80/tcp")
    );
    assert_eq!(src.plan.expected_endpoints.len(), 2);
    assert_eq!(
        src.plan.dns_name.as_deref(),
        Some("echo.default.svc.cluster.local")
    );
    assert_eq!(src.plan.dns_servers[0].address, "10.96.0.10");
    assert!(plan::needs_endpoint_step(&r));

    // Cross-node: DNAT picked the endpoint on node-b.
    let step = plan::endpoint_step(&spec, &r, &reports()[0]).expect("endpoint run");
    assert_eq!(
        (step.node.as_str(), step.role),
        ("node-b", PlanRole::Endpoint)
    );
    let ep = step.plan.endpoint.as_ref().expect("endpoint");
    assert_eq!((ep.ip.as_str(), ep.port), ("10.244.2.7", 5678));

    // Same node: DNAT picked the endpoint next to the source.
    let mut same = reports()[0].clone();
    same.chosen_endpoint = Some(netdiag_model::Endpoint {
        ip: "10.244.1.5".into(),
        port: 5678,
    });
    assert_eq!(
        plan::endpoint_step(&spec, &r, &same)
            .expect("same node")
            .node,
        "node-a"
    );

    let mut none = reports()[0].clone();
    none.chosen_endpoint = None;
    assert_eq!(
        plan::endpoint_step(&spec, &r, &none),
        Err(NoEndpointRun::NoChosenEndpoint)
    );
}

#[test]
fn a_service_with_one_ready_endpoint_plans_both_runs_at_once() {
    let spec = valid("{source: {pod: curl1}, target: {service: {name: single}}}");
    let r = resolved_service(&spec, "default", "single", None);
    let plans = plan::initial_plans(&spec, &r);
    let roles: Vec<_> = plans.iter().map(|p| (p.node.as_str(), p.role)).collect();
    assert_eq!(
        roles,
        [("node-a", PlanRole::Source), ("node-b", PlanRole::Endpoint)]
    );
    assert!(!plan::needs_endpoint_step(&r));
    assert_eq!(
        plan::endpoint_step(&spec, &r, &reports()[0]),
        Err(NoEndpointRun::AlreadyPlanned)
    );
}

#[test]
fn a_cross_namespace_target_plans_only_that_services_own_endpoints() {
    let spec = valid(
        "{source: {pod: curl1}, target: {service: {name: cart, namespace: shop, port: web}}}",
    );
    let r = resolved_service(&spec, "shop", "cart", Some(PortRef::Name("web".into())));
    let plans = plan::initial_plans(&spec, &r);
    let src = &plans[0].plan;
    let eps: Vec<String> = src
        .expected_endpoints
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        eps,
        ["10.244.1.9:8080"],
        "nothing of default/echo leaks into a shop/cart probe"
    );
    assert_eq!(src.dns_name.as_deref(), Some("cart.shop.svc.cluster.local"));
    // One endpoint, on the source's node: both runs on node-a.
    assert_eq!(
        plans.iter().map(|p| p.node.as_str()).collect::<Vec<_>>(),
        ["node-a", "node-a"]
    );
}

#[test]
fn a_pod_target_checks_the_pod_on_its_own_node() {
    let spec = valid("{source: {pod: curl1}, target: {pod: {name: echo-b, port: 5678}}}");
    let r = Resolved {
        source: source_from_pod("default", "curl1", Some(&pod("default", "curl1")))
            .expect("source"),
        target: ResolvedTarget::Pod(
            pod_target_from(
                "default",
                "echo-b",
                Some(&pod("default", "echo-b")),
                &PortRef::Number(5678),
            )
            .expect("pod"),
        ),
        dns_name: None,
        dns_servers: vec![],
    };
    let plans = plan::initial_plans(&spec, &r);
    assert_eq!(plans.len(), 2);
    assert!(!plans[0].plan.target_is_service);
    assert_eq!(plans[1].node, "node-b");
    assert_eq!(
        plans[1]
            .plan
            .endpoint
            .as_ref()
            .map(|e| e.to_string())
            .as_deref(),
        Some("10.244.2.7:5678")
    );
}

#[test]
fn an_address_target_is_walked_through_kube_proxy_with_nothing_expected() {
    let spec = valid(
        "{source: {pod: curl1}, target: {address: {ip: 10.96.45.10, port: 80, protocol: TCP}}}",
    );
    let r = Resolved {
        source: source_from_pod("default", "curl1", Some(&pod("default", "curl1")))
            .expect("source"),
        target: ResolvedTarget::Address {
            ip: "10.96.45.10".into(),
            port: 80,
            protocol: Protocol::TCP,
        },
        dns_name: None,
        dns_servers: vec![],
    };
    let plans = plan::initial_plans(&spec, &r);
    assert_eq!(plans.len(), 1, "no endpoint node is known for an address");
    let src = &plans[0].plan;
    assert!(src.target_is_service);
    assert!(src.expected_endpoints.is_empty());
    assert_eq!(
        src.target.as_ref().map(ToString::to_string).as_deref(),
        Some("10.96.45.10:80/tcp")
    );
    assert!(!plan::needs_endpoint_step(&r));
}

#[test]
fn step_timeouts_fit_in_the_probe_timeout() {
    assert_eq!(
        plan::step_timeout_ms(&valid(
            "{source: {pod: a}, target: {dns: {name: x}}, timeoutSeconds: 2}"
        )),
        500
    );
    assert_eq!(
        plan::step_timeout_ms(&valid("{source: {pod: a}, target: {dns: {name: x}}}")),
        2000
    );
}

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
