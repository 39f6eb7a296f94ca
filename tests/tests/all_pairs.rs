//! The default lab is healthy from every pod: every pod to every Service port and to every port
//! of every other pod, with DNS from each (kube-dns's own pod included), in both proxy modes and
//! every lab CNI. A trace that finds a failure on a healthy lab is a wrong answer, the worst
//! kind; so is an MTU finding on a path whose MTUs fit. Over VXLAN, every trace that crosses to
//! the other node shows the Tunnel hop with its VNI and the remote VTEP of the endpoint's node.

use netdiag_crds::shorthand::{parse_source, parse_target};
use netdiag_e2e::*;
use netdiag_lab::resolve::served_ports;
use netdiag_lab::spec::Cni;
use netdiag_lab::{LabSpec, ProxyMode, TraceRequest};
use netdiag_model::report::HopDetail;
use netdiag_model::{HopKind, Reason, Verdict};
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

fn every_pod_reaches_everything(mode: ProxyMode, cni: Cni) {
    let lab = lab_with("pairs", mode, cni);
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
            let failed = t.path.hops.iter().any(|h| {
                h.verdict == Verdict::Fail
                    || matches!(
                        h.reason,
                        Some(Reason::OverlayMtuMismatch | Reason::PathMtuBlackhole)
                    )
            });
            let tunnel_wrong = cni == Cni::Vxlan && !tunnel_shown(lab.spec(), &t.path);
            if failed
                || tunnel_wrong
                || !cni_reported(cni, &t.path)
                || t.path.first_failure.is_some()
                || t.path.reachable != Some(true)
            {
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

/// Every node the trace ran on reports the lab's CNI, as the agent's fingerprint reads it:
/// `bridge`, `calico routed`, `flannel vxlan`.
fn cni_reported(cni: Cni, path: &netdiag_model::MergedPath) -> bool {
    let want = match cni {
        Cni::Bridge => "bridge",
        Cni::Routed => "calico routed",
        Cni::Vxlan => "flannel vxlan",
    };
    !path.node_facts.is_empty()
        && (path.node_facts.iter()).all(|f| f.cni.as_ref().is_some_and(|c| c.label() == want))
}

/// Over VXLAN: a path that reached a pod on another node shows flannel.1's Tunnel hop, VNI 1,
/// port 8472, and the VTEP of the endpoint's node; a path that stayed on its node shows none.
fn tunnel_shown(spec: &LabSpec, path: &netdiag_model::MergedPath) -> bool {
    let Some(chosen) = path.chosen_endpoint.as_ref() else {
        return false;
    };
    let pod_node = |ip: &str| {
        (spec.pods.iter())
            .find(|p| p.ip.to_string() == ip)
            .map(|p| p.node.clone())
    };
    let source = path.hops.first().map(|h| h.node.clone());
    let endpoint_node = pod_node(&chosen.ip.to_string());
    let tunnel = path.hops.iter().find(|h| h.kind == HopKind::Tunnel);
    if endpoint_node == source {
        return tunnel.is_none();
    }
    let Some(node) = endpoint_node.and_then(|n| spec.node(&n)) else {
        return false;
    };
    matches!(
        tunnel.and_then(|h| h.details.as_ref()),
        Some(HopDetail::Tunnel(d))
            if d.vni == Some(1)
                && d.port == Some(8472)
                && d.remote.map(|v| v.to_string()).as_deref() == Some(node.ip.to_string().as_str())
                && d.remote_node.as_deref() == Some(node.name.as_str())
    )
}

#[test]
fn every_pod_reaches_every_service_and_pod_in_iptables_mode() {
    every_pod_reaches_everything(ProxyMode::Iptables, Cni::Bridge);
}

#[test]
fn every_pod_reaches_every_service_and_pod_in_nftables_mode() {
    every_pod_reaches_everything(ProxyMode::Nftables, Cni::Bridge);
}

#[test]
fn every_pod_reaches_every_service_and_pod_over_flannels_vxlan() {
    every_pod_reaches_everything(ProxyMode::Iptables, Cni::Vxlan);
}

#[test]
fn every_pod_reaches_every_service_and_pod_over_vxlan_in_nftables_mode() {
    every_pod_reaches_everything(ProxyMode::Nftables, Cni::Vxlan);
}

#[test]
fn every_pod_reaches_every_service_and_pod_over_calicos_routed_network() {
    every_pod_reaches_everything(ProxyMode::Iptables, Cni::Routed);
}
