//! The default lab is healthy from every pod: every pod to every Service port and to every port
//! of every other pod, with DNS from each (kube-dns's own pod included), in both proxy modes.
//! A trace that finds a failure on a healthy lab is a wrong answer, the worst kind.

use netdiag_crds::shorthand::{parse_source, parse_target};
use netdiag_e2e::*;
use netdiag_lab::resolve::served_ports;
use netdiag_lab::{LabSpec, ProxyMode, TraceRequest};
use netdiag_model::Verdict;
use netdiag_testkit::netns::workspace_tools;

/// Every `--to` a learner could aim from `from` at in the lab: each Service port by name, and
/// each port each other pod serves.
fn targets(spec: &LabSpec, from: &str) -> Vec<String> {
    let mut out = Vec::new();
    for s in &spec.services {
        for p in &s.ports {
            let port = p.name.clone().unwrap_or_else(|| p.port.to_string());
            out.push(format!("svc/{}/{}:{port}", s.namespace, s.name));
        }
    }
    for pod in spec.pods.iter().filter(|p| p.name != from) {
        let (tcp, udp) = served_ports(spec, pod);
        for port in tcp {
            out.push(format!("pod/{}/{}:{port}", pod.namespace, pod.name));
        }
        for port in udp {
            out.push(format!("{}:{port}/udp", pod.ip));
        }
    }
    out
}

fn every_pod_reaches_everything(mode: ProxyMode) {
    let lab = lab_in("pairs", mode);
    let tools = workspace_tools();
    let mut wrong = Vec::new();
    let mut traced = 0;
    for from in &lab.spec().pods {
        for to in targets(lab.spec(), &from.name) {
            let request = TraceRequest {
                from: parse_source(&from.name).expect("source"),
                to: parse_target(&to).expect("target"),
                checks: vec![],
                dns_name: None,
            };
            let t = netdiag_lab::trace_with(&lab, &request, &tools)
                .unwrap_or_else(|e| panic!("{} -> {to}: {e}", from.name));
            traced += 1;
            let failed = t.path.hops.iter().any(|h| h.verdict == Verdict::Fail);
            if failed || t.path.first_failure.is_some() || t.path.reachable != Some(true) {
                wrong.push(format!(
                    "{} -> {to}: {}\n{}",
                    from.name,
                    t.path.summary,
                    describe(&t.path.hops)
                ));
            }
        }
    }
    assert!(traced >= 30, "only {traced} pairs traced");
    assert!(
        wrong.is_empty(),
        "{} of {traced} traces on a healthy lab ({mode}) found a failure:\n\n{}",
        wrong.len(),
        wrong.join("\n\n")
    );
}

#[test]
fn every_pod_reaches_every_service_and_pod_in_iptables_mode() {
    every_pod_reaches_everything(ProxyMode::Iptables);
}

#[test]
fn every_pod_reaches_every_service_and_pod_in_nftables_mode() {
    every_pod_reaches_everything(ProxyMode::Nftables);
}
