//! A healthy lab: pod -> Service with three endpoints over two nodes. Every hop must be Ok, the
//! conntrack hop must name a real endpoint, and DNS through nodelocaldns must answer the
//! Service's ClusterIP.

use netdiag_e2e::*;
use netdiag_lab::ProxyMode;
use netdiag_model::report::HopDetail;
use netdiag_model::{HopKind, NodeReport, Verdict};

const ECHO_VIP: &str = "10.96.45.10";

fn echo_endpoints(lab: &Fixture) -> Vec<String> {
    ["echo-1", "echo-2", "echo-3"]
        .iter()
        .map(|p| format!("{}:8080", lab.spec().pod(p).expect("echo pod").ip))
        .collect()
}

#[test]
fn every_hop_of_a_healthy_path_is_ok_and_conntrack_names_a_real_endpoint() {
    healthy_path(ProxyMode::Iptables);
}

#[test]
fn a_healthy_path_in_kube_proxys_nftables_mode_is_as_healthy() {
    healthy_path(ProxyMode::Nftables);
}

fn healthy_path(mode: ProxyMode) {
    let lab = lab_in("ok", mode);
    let t = trace_echo(&lab);
    let hops = &t.path.hops;
    assert!(
        hops.iter()
            .all(|h| matches!(h.verdict, Verdict::Ok | Verdict::Info)),
        "a healthy path has only Ok/Info hops:\n{}",
        describe(hops)
    );
    assert_eq!(t.path.first_failure, None);
    assert_eq!(t.path.reachable, Some(true));
    for kind in [
        HopKind::PodInterface,
        HopKind::HostVeth,
        HopKind::Bridge,
        HopKind::NodeSettings,
        HopKind::Dns,
        HopKind::ServiceRules,
        HopKind::Conntrack,
        HopKind::Route,
        HopKind::Listener,
        HopKind::Connect,
    ] {
        assert!(
            hops.iter().any(|h| h.kind == kind),
            "no {kind} hop:\n{}",
            describe(hops)
        );
    }

    let rules = hop(hops, "node-a", HopKind::ServiceRules);
    let Some(HopDetail::ServiceRules(d)) = &rules.details else {
        panic!("ServiceRules without details")
    };
    // Detected, not assumed: nothing answers on :10249 in the lab, so by fingerprint.
    assert_eq!(d.mode, mode.as_str());
    let how = d.detected_by.as_deref().unwrap_or_default();
    let fingerprint = match mode {
        ProxyMode::Iptables => "KUBE-SERVICES chain",
        ProxyMode::Nftables => "table ip kube-proxy exists",
    };
    assert!(how.contains(fingerprint), "{how}");
    let mut programmed: Vec<String> = d
        .endpoints
        .iter()
        .map(|e| format!("{}:{}", e.ip, e.port))
        .collect();
    programmed.sort();
    assert_eq!(programmed, echo_endpoints(&lab));
    for e in &d.endpoints {
        assert!(
            (e.probability - 1.0 / 3.0).abs() < 0.01,
            "each endpoint gets a third: {e:?}"
        );
    }

    let chosen = t
        .path
        .chosen_endpoint
        .as_ref()
        .expect("conntrack names the endpoint DNAT chose");
    assert!(
        echo_endpoints(&lab).contains(&chosen.to_string()),
        "{chosen} is not an echo endpoint"
    );
    let ct = hop(hops, "node-a", HopKind::Conntrack);
    assert!(
        ct.detail.contains(&chosen.ip.to_string()),
        "the conntrack hop names {chosen}: {}",
        ct.detail
    );
}

#[test]
fn a_trace_that_lands_on_the_other_node_routes_via_that_node_and_finds_the_listener_there() {
    let lab = default_lab("rt");
    let node_b = lab.spec().node("node-b").expect("node-b").clone();
    let t = trace_until(&lab, 40, |t| {
        t.path
            .chosen_endpoint
            .as_ref()
            .is_some_and(|e| e.ip.to_string().starts_with("10.244.2."))
    });
    let hops = &t.path.hops;
    let route = hop(hops, "node-a", HopKind::Route);
    assert_eq!(route.verdict, Verdict::Ok, "{}", describe(hops));
    assert!(
        route.detail.contains(&format!("via {}", node_b.ip)),
        "route via node-b: {}",
        route.detail
    );
    assert_eq!(
        hop(hops, "node-b", HopKind::Listener).verdict,
        Verdict::Ok,
        "{}",
        describe(hops)
    );
    assert_eq!(
        hop(hops, "node-b", HopKind::Route).verdict,
        Verdict::Ok,
        "{}",
        describe(hops)
    );
    let order: Vec<&str> = hops.iter().map(|h| h.node.as_str()).collect();
    let last_a = order
        .iter()
        .rposition(|n| *n == "node-a")
        .expect("node-a hops");
    let first_b = order
        .iter()
        .position(|n| *n == "node-b")
        .expect("node-b hops");
    assert!(
        first_b < last_a,
        "the endpoint node's hops sit before the final Connect:\n{}",
        describe(hops)
    );
    assert_eq!(hops.last().map(|h| &h.kind), Some(&HopKind::Connect));
}

/// A pod calling a Service it backs: when DNAT picks the pod itself, the bridge must send the
/// packet back out the port it came in on, which the lab's hairpin ports allow (one try in
/// three picks echo-2 itself, so 30 tries miss it with odds of about 1 in 190,000).
#[test]
fn a_pod_reaches_its_own_service_every_time_through_its_hairpin_port() {
    let lab = default_lab("self");
    let echo2 = lab.spec().pod("echo-2").expect("echo-2").ip.to_string();
    let mut reached_itself = 0;
    for i in 0..30 {
        let t = trace_echo_from(&lab, "echo-2");
        assert!(
            t.path.first_failure.is_none() && t.path.reachable == Some(true),
            "trace {i} from echo-2 failed:\n{}",
            describe(&t.path.hops)
        );
        if t.path
            .chosen_endpoint
            .as_ref()
            .is_some_and(|e| e.ip.to_string() == echo2)
        {
            reached_itself += 1;
        }
    }
    assert!(
        reached_itself > 0,
        "DNAT never picked echo-2 itself in 30 traces: the hairpin path was not exercised"
    );
}

#[test]
fn dns_through_nodelocaldns_answers_the_service_cluster_ip() {
    let lab = default_lab("dns");
    let t = trace_echo(&lab);
    let dns = &t.path.dns;
    let local = dns
        .iter()
        .find(|r| r.server_role == "nodelocaldns")
        .unwrap_or_else(|| panic!("no nodelocaldns answer in {dns:?}"));
    assert!(local.server.starts_with("169.254.25.10"), "{local:?}");
    assert_eq!(local.rcode, "NOERROR");
    assert_eq!(local.answers, vec![ECHO_VIP.to_string()]);
    let kube_dns = dns
        .iter()
        .find(|r| r.server_role == "kube-dns")
        .expect("kube-dns asked too");
    assert_eq!(kube_dns.answers, vec![ECHO_VIP.to_string()]);
    assert_eq!(
        hop(&t.path.hops, "node-a", HopKind::Dns).verdict,
        Verdict::Ok
    );
}

/// `netdiag-agent trace --from curl --to TO [--expect-endpoint E]... -o json` on node-a.
fn agent_report(lab: &Fixture, to: &str, expect: &[String]) -> NodeReport {
    let curl = lab.spec().pod("curl").expect("curl").ip.to_string();
    let mut argv = vec![
        binary("netdiag-agent").display().to_string(),
        "trace".into(),
        "--from".into(),
        curl,
        "--to".into(),
        to.to_string(),
        "--node-name".into(),
        "node-a".into(),
        "-o".into(),
        "json".into(),
    ];
    for e in expect {
        argv.push("--expect-endpoint".into());
        argv.push(e.clone());
    }
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = lab.exec("node-a", &argv);
    let last = out.lines().last().expect("output");
    serde_json::from_str(last).expect("the last line is a NodeReport")
}

#[test]
fn the_agent_binary_prints_a_node_report_as_one_json_line() {
    let lab = default_lab("json");
    let report = agent_report(&lab, &format!("{ECHO_VIP}:80/tcp"), &echo_endpoints(&lab));
    assert_eq!(report.node, "node-a");
    assert_eq!(report.first_failure, None, "{}", describe(&report.hops));
    let kinds: Vec<HopKind> = report.hops.iter().map(|h| h.kind.clone()).collect();
    for kind in [
        HopKind::PodInterface,
        HopKind::HostVeth,
        HopKind::Bridge,
        HopKind::ServiceRules,
        HopKind::Connect,
        HopKind::Conntrack,
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    assert!(report.chosen_endpoint.is_some());
    assert!(report.summary.contains("reachable"), "{}", report.summary);
}

/// An address target (what the controller sends for `target.address`): nothing is expected, so
/// a ClusterIP is walked through kube-proxy and a pod IP is traced as a plain address.
#[test]
fn a_bare_address_is_walked_as_a_service_when_kube_proxy_has_rules_for_it() {
    let lab = default_lab("bare");
    let vip = agent_report(&lab, &format!("{ECHO_VIP}:80/tcp"), &[]);
    assert_eq!(vip.first_failure, None, "{}", describe(&vip.hops));
    let rules = hop(&vip.hops, "node-a", HopKind::ServiceRules);
    assert_eq!(rules.verdict, Verdict::Ok, "{}", rules.detail);
    let chosen = vip
        .chosen_endpoint
        .expect("DNAT chose an endpoint")
        .to_string();
    assert!(echo_endpoints(&lab).contains(&chosen), "{chosen}");

    let pod = echo_endpoints(&lab)
        .into_iter()
        .next()
        .expect("an echo endpoint");
    let direct = agent_report(&lab, &format!("{pod}/tcp"), &[]);
    assert_eq!(direct.first_failure, None, "{}", describe(&direct.hops));
    let rules = hop(&direct.hops, "node-a", HopKind::ServiceRules);
    assert_eq!(rules.verdict, Verdict::Info);
    assert!(
        rules.detail.contains("traced as a plain pod address"),
        "{}",
        rules.detail
    );
    assert_eq!(
        hop(&direct.hops, "node-a", HopKind::Connect).verdict,
        Verdict::Ok
    );
}
