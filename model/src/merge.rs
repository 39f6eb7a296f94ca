//! Merge node reports into one ordered path with a first failure and a summary.
//!
//! Pure: the agent (for its own single report), the lab and the controller all call this, so a
//! path reads the same wherever it was assembled.

pub use crate::path::{MergedPath, Progress};
use crate::reason::Reason;
use crate::report::{
    DnsResult, Endpoint, FirstFailure, Hop, HopDetail, HopKind, NodeReport, Verdict,
};

/// Where a hop sits along the path: its kind's place, except that another node's route (the
/// endpoint node's, reached over the source node's overlay) comes after the source's Tunnel
/// hop, as the packet goes.
fn path_position<'a>((report, hop): &(usize, &'a Hop)) -> (&'a HopKind, bool) {
    if *report > 0 && hop.kind == HopKind::Route {
        return (&HopKind::Tunnel, true);
    }
    (&hop.kind, false)
}

/// Merge reports, the source node's first, into one path.
///
/// Hops are ordered by their position along a path (the order of [`HopKind`]); hops of the same
/// kind keep report order, so the source node's Route comes before the endpoint node's. The
/// Connect hop, the end-to-end symptom, comes last: a broken hop on the way is the cause, the
/// failed connect its consequence.
pub fn merge(reports: &[NodeReport], source: &str, target: &str) -> MergedPath {
    let mut hops: Vec<(usize, &Hop)> = reports
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.hops.iter().map(move |h| (i, h)))
        .collect();
    // A stable sort: hops of one kind keep report order.
    hops.sort_by(|a, b| path_position(a).cmp(&path_position(b)));
    // Two runs on one node (the source run and the endpoint run, when DNAT picked a pod on
    // the source's own node) can check the same route and listener: say it once.
    let mut unique: Vec<Hop> = Vec::with_capacity(hops.len());
    for (_, h) in hops {
        if !unique.contains(h) {
            unique.push(h.clone());
        }
    }
    let hops = unique;
    let dns: Vec<DnsResult> = reports.iter().flat_map(|r| r.dns.iter().cloned()).collect();
    let first_failure = first_failure(&hops);
    let reachable = connect_outcome(&hops);
    let chosen_endpoint = reports.iter().find_map(|r| r.chosen_endpoint);
    let summary = summarize(
        &hops,
        first_failure.as_ref(),
        reachable,
        chosen_endpoint.as_ref(),
        source,
        target,
    );
    let evidence = reports.iter().filter_map(|r| r.evidence.clone()).collect();
    let node_facts =
        crate::report::collect_node_facts(reports.iter().filter_map(|r| r.node_facts.as_ref()));
    MergedPath {
        target: Some(target.to_string()),
        progress: Progress::Done,
        hops,
        dns,
        first_failure,
        reachable,
        chosen_endpoint,
        summary,
        evidence,
        node_facts,
    }
}

/// Whether the path's connect got through: the last Connect hop's verdict, if one ran.
pub fn connect_outcome(hops: &[Hop]) -> Option<bool> {
    hops.iter()
        .rev()
        .find(|h| h.kind == HopKind::Connect)
        .map(|h| h.verdict != Verdict::Fail)
}

/// ` (iptables, 3 endpoints)`: how the Service was balanced, from the ServiceRules hop.
pub fn rules_summary(hops: &[Hop]) -> Option<String> {
    hops.iter().find_map(|h| match &h.details {
        Some(HopDetail::ServiceRules(d)) if !d.endpoints.is_empty() => {
            let n = d.endpoints.len();
            let plural = if n == 1 { "" } else { "s" };
            Some(format!(" ({}, {n} endpoint{plural})", d.mode))
        }
        _ => None,
    })
}

/// The first hop on the path whose verdict is Fail.
pub fn first_failure(hops: &[Hop]) -> Option<FirstFailure> {
    hops.iter()
        .find(|h| h.verdict == Verdict::Fail)
        .map(|h| FirstFailure {
            hop: h.kind.clone(),
            node: h.node.clone(),
            reason: h.reason.clone().unwrap_or_else(|| Reason::failed(&h.kind)),
            message: h.detail.clone(),
        })
}

fn summarize(
    hops: &[Hop],
    failure: Option<&FirstFailure>,
    reachable: Option<bool>,
    chosen: Option<&Endpoint>,
    source: &str,
    target: &str,
) -> String {
    let via = chosen.map(|e| format!(" via {e}")).unwrap_or_default();
    let rules = rules_summary(hops).unwrap_or_default();
    match (reachable, failure) {
        (Some(true), None) => format!("{source} -> {target} reachable{via}{rules}"),
        (None, None) => format!("{source} -> {target}: no failure found"),
        (Some(true), Some(f)) => format!(
            "{source} -> {target} reachable{via}{rules}, but {} on {} failed: {}",
            f.hop, f.node, f.message
        ),
        (_, Some(f)) => format!(
            "{source} -> {target} unreachable: {} ({} on {})",
            f.message, f.hop, f.node
        ),
        (Some(false), None) => format!("{source} -> {target} unreachable, and no hop explains why"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ConnectDetail, RuleEndpoint, ServiceRulesDetail};

    fn report(node: &str, hops: Vec<Hop>) -> NodeReport {
        NodeReport {
            node: node.into(),
            hops,
            summary: String::new(),
            ..Default::default()
        }
    }

    #[test]
    fn node_facts_are_kept_once_per_node_the_source_first() {
        use crate::inspect::{CniFingerprint, CniVariant};
        let facts = |node: &str, name: &str| crate::report::TraceNodeFacts {
            node: node.into(),
            cni: Some(CniFingerprint {
                name: name.into(),
                variant: Some(CniVariant::Vxlan),
                evidence: vec!["flannel.1 (vxlan)".into()],
            }),
            proxy_mode: None,
        };
        let with = |node: &str, f| NodeReport {
            node_facts: Some(f),
            ..report(node, vec![])
        };
        let reports = [
            with("node-a", facts("node-a", "flannel")),
            with("node-b", facts("node-b", "flannel")),
            // a second run on the source's node (DNAT picked a local pod)
            with("node-a", facts("node-a", "other")),
            report("node-c", vec![]),
        ];
        let path = merge(&reports, "a", "b");
        let seen: Vec<(&str, &str)> = (path.node_facts.iter())
            .map(|f| {
                (
                    f.node.as_str(),
                    f.cni.as_ref().map_or("", |c| c.name.as_str()),
                )
            })
            .collect();
        assert_eq!(seen, [("node-a", "flannel"), ("node-b", "flannel")]);
        assert_eq!(path.node_facts[0].line(), "node-a: CNI flannel vxlan");
    }

    #[test]
    fn a_hop_two_runs_on_one_node_both_checked_is_said_once() {
        let route = Hop::new(
            "node-a",
            HopKind::Route,
            "10.244.1.3",
            Verdict::Ok,
            "local bridge cni0",
        );
        let listener = Hop::new(
            "node-a",
            HopKind::Listener,
            "10.244.1.3:8080",
            Verdict::Ok,
            "0.0.0.0:8080 listens",
        );
        let src = report("node-a", vec![route.clone(), listener.clone()]);
        // the endpoint run on the same node: the same route, and a listener seen differently
        let other_listener = Hop::new(
            "node-a",
            HopKind::Listener,
            "10.244.1.3:8080",
            Verdict::Fail,
            "nothing listens",
        );
        let ep = report("node-a", vec![route.clone(), other_listener.clone()]);
        let path = merge(&[src, ep], "default/curl", "svc/echo:80");
        assert_eq!(path.hops, vec![route, listener, other_listener]);
    }

    #[test]
    fn endpoint_node_hops_follow_source_node_hops_and_connect_comes_last() {
        let src = report(
            "node-a",
            vec![
                Hop::new(
                    "node-a",
                    HopKind::PodInterface,
                    "eth0",
                    Verdict::Ok,
                    "10.244.1.2/24",
                ),
                Hop::new(
                    "node-a",
                    HopKind::Connect,
                    "10.96.0.50:80",
                    Verdict::Fail,
                    "connection refused",
                )
                .with_reason(Reason::ConnectionRefused),
                Hop::new(
                    "node-a",
                    HopKind::Route,
                    "10.244.2.7",
                    Verdict::Ok,
                    "via 172.18.0.3",
                ),
            ],
        );
        let dst = report(
            "node-b",
            vec![
                Hop::new(
                    "node-b",
                    HopKind::Listener,
                    "10.244.2.7:8080",
                    Verdict::Fail,
                    "nothing listens on 10.244.2.7:8080",
                )
                .with_reason(Reason::NothingListening),
                Hop::new(
                    "node-b",
                    HopKind::Route,
                    "10.244.2.7",
                    Verdict::Ok,
                    "dev cni0",
                ),
            ],
        );
        let path = merge(&[src, dst], "default/curl", "svc/echo:80");
        let order: Vec<(&str, HopKind)> = path
            .hops
            .iter()
            .map(|h| (h.node.as_str(), h.kind.clone()))
            .collect();
        assert_eq!(
            order,
            vec![
                ("node-a", HopKind::PodInterface),
                ("node-a", HopKind::Route),
                ("node-b", HopKind::Route),
                ("node-b", HopKind::Listener),
                ("node-a", HopKind::Connect),
            ]
        );
        let failure = path.first_failure.expect("a failure");
        assert_eq!(failure.hop, HopKind::Listener);
        assert_eq!(failure.node, "node-b");
        assert_eq!(failure.reason, Reason::NothingListening);
        assert_eq!(path.reachable, Some(false));
        assert!(
            path.summary.contains("nothing listens on 10.244.2.7:8080"),
            "{}",
            path.summary
        );
    }

    #[test]
    fn healthy_summary_names_the_endpoint_and_the_rules() {
        let rules = Hop::new(
            "a",
            HopKind::ServiceRules,
            "10.96.0.50:80/tcp",
            Verdict::Ok,
            "3 endpoints",
        )
        .with_details(HopDetail::ServiceRules(ServiceRulesDetail {
            mode: "iptables".into(),
            endpoints: vec![
                RuleEndpoint {
                    ip: [10, 244, 1, 5].into(),
                    port: 8080,
                    probability: 0.5,
                    chain: "KUBE-SEP-A".into(),
                },
                RuleEndpoint {
                    ip: [10, 244, 2, 7].into(),
                    port: 8080,
                    probability: 0.5,
                    chain: "KUBE-SEP-B".into(),
                },
            ],
            ..Default::default()
        }));
        let connect = Hop::new(
            "a",
            HopKind::Connect,
            "10.96.0.50:80",
            Verdict::Ok,
            "connected in 0.2 ms",
        )
        .with_details(HopDetail::Connect(ConnectDetail {
            protocol: "tcp".into(),
            target: std::net::SocketAddrV4::new([10, 96, 0, 50].into(), 80),
            ok: true,
            latency_ms: Some(0.2),
            error: None,
            local: None,
        }));
        let mut r = report("a", vec![connect, rules]);
        r.chosen_endpoint = Some(Endpoint {
            ip: [10, 244, 2, 7].into(),
            port: 8080,
        });
        let path = merge(&[r], "default/curl", "svc/echo:80");
        assert_eq!(path.first_failure, None);
        assert_eq!(path.reachable, Some(true));
        assert_eq!(
            path.summary,
            "default/curl -> svc/echo:80 reachable via 10.244.2.7:8080 (iptables, 2 endpoints)"
        );
    }

    #[test]
    fn a_failure_without_a_reason_gets_one_named_after_its_kind() {
        let r = report(
            "a",
            vec![Hop::new(
                "a",
                HopKind::Bridge,
                "cni0",
                Verdict::Fail,
                "bridge cni0 is down",
            )],
        );
        let path = merge(&[r], "s", "t");
        assert_eq!(
            path.first_failure.map(|f| f.reason),
            Some(Reason::BridgeFailed)
        );
        assert_eq!(path.reachable, None);
    }
}
