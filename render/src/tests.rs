use super::*;
use netdiag_model::merge::{connect_outcome, first_failure};
use netdiag_model::report::{
    ConnectDetail, ConntrackDetail, DnsResult, Endpoint, RuleEndpoint, ServiceRulesDetail,
};

fn rules_hop() -> Hop {
    Hop::new(
        "node-a",
        HopKind::ServiceRules,
        "10.96.0.50:80/tcp",
        Verdict::Ok,
        "2 endpoints",
    )
    .with_details(HopDetail::ServiceRules(ServiceRulesDetail {
        mode: "iptables".into(),
        service_address: "10.96.0.50:80/tcp".into(),
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
    }))
}

fn healthy() -> MergedPath {
    let mut p = MergedPath {
        progress: Progress::Done,
        hops: vec![
            Hop::new(
                "node-a",
                HopKind::PodInterface,
                "eth0",
                Verdict::Ok,
                "10.244.1.2/24",
            ),
            rules_hop(),
            Hop::new(
                "node-a",
                HopKind::Conntrack,
                "tcp",
                Verdict::Ok,
                "DNAT to 10.244.2.7:8080",
            )
            .with_details(HopDetail::Conntrack(ConntrackDetail {
                chosen_endpoint: Some(Endpoint {
                    ip: [10, 244, 2, 7].into(),
                    port: 8080,
                }),
                ..Default::default()
            })),
            Hop::new(
                "node-a",
                HopKind::Connect,
                "10.96.0.50:80",
                Verdict::Ok,
                "connected in 0.3 ms",
            )
            .with_details(HopDetail::Connect(ConnectDetail {
                protocol: "tcp".into(),
                target: std::net::SocketAddrV4::new([10, 96, 0, 50].into(), 80),
                ok: true,
                latency_ms: Some(0.3),
                error: None,
                local: None,
            })),
        ],
        ..Default::default()
    };
    p.reachable = connect_outcome(&p.hops);
    p
}

fn failing() -> MergedPath {
    let mut s = healthy();
    s.hops.insert(
        3,
        Hop::new(
            "node-b",
            HopKind::Listener,
            "10.244.2.7:8080",
            Verdict::Fail,
            "nothing listens on 10.244.2.7:8080",
        )
        .with_reason(netdiag_model::Reason::NothingListening),
    );
    s.hops[4].verdict = Verdict::Fail;
    s.first_failure = first_failure(&s.hops);
    s.reachable = Some(false);
    s
}

const PLAIN: RenderOptions = RenderOptions {
    wide: false,
    color: false,
    width: Width::Unlimited,
};

#[test]
fn healthy_table_has_kubectl_headers_and_a_reachable_result() {
    let out = table(&healthy(), &PLAIN);
    let first = out.lines().next().unwrap_or_default();
    assert!(first.starts_with("NODE   "), "{out}");
    for h in ["HOP", "NAME", "DETAIL", "VERDICT"] {
        assert!(first.contains(h), "{out}");
    }
    assert!(!out.contains(FAILURE_MARK), "{out}");
    assert!(
        out.ends_with("RESULT: reachable via 10.244.2.7:8080 (iptables, 2 endpoints)\n"),
        "{out}"
    );
    assert!(!out.contains('\x1b'), "colour without asking: {out}");
    assert!(out.lines().all(|l| l == l.trim_end()), "trailing blanks");
}

#[test]
fn failing_table_marks_the_first_failure_and_explains_it_once() {
    let out = table(&failing(), &PLAIN);
    let marked: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("node-") && l.contains(FAILURE_MARK))
        .collect();
    assert_eq!(marked.len(), 1, "{out}");
    assert!(marked[0].contains("Listener"), "{out}");
    assert!(
        out.contains(
            "✗ First failure at Listener on node-b: nothing listens on 10.244.2.7:8080 (NothingListening)."
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "RESULT: unreachable — nothing listens on 10.244.2.7:8080 (Listener on node-b)"
        ),
        "{out}"
    );
}

#[test]
fn wide_adds_reason_and_endpoint_shares() {
    let out = table(
        &failing(),
        &RenderOptions {
            wide: true,
            ..PLAIN
        },
    );
    assert!(out.lines().next().unwrap_or_default().contains("REASON"));
    assert!(
        out.contains("endpoints 10.244.1.5:8080 50%, 10.244.2.7:8080 50%"),
        "{out}"
    );
    assert!(out.contains("NothingListening"), "{out}");
}

#[test]
fn colour_only_when_asked() {
    let opts = RenderOptions {
        color: true,
        ..PLAIN
    };
    let out = table(&failing(), &opts);
    assert!(out.contains("\x1b[1;31mRESULT: unreachable"), "{out:?}");
    assert!(out.contains('\x1b'), "{out:?}");
}

#[test]
fn dns_section_lists_each_server() {
    let mut s = healthy();
    s.dns.push(DnsResult {
        server: "10.96.0.10:53".into(),
        server_role: "kube-dns".into(),
        name: "echo.default.svc.cluster.local".into(),
        rcode: "SERVFAIL".into(),
        answers: vec![],
        latency_ms: Some(2.04),
        verdict: Verdict::Fail,
        message: Some("upstream failed".into()),
    });
    let out = table(&s, &PLAIN);
    let dns = out.split("\nDNS\n").nth(1).unwrap_or_default();
    assert!(dns.starts_with("SERVER"), "{out}");
    assert!(
        dns.lines()
            .any(|l| l.contains("kube-dns") && l.contains("SERVFAIL") && l.contains("2.0 ms")),
        "{out}"
    );
}

#[test]
fn unfinished_probe_has_no_verdict() {
    let s = MergedPath {
        progress: Progress::Running,
        ..Default::default()
    };
    assert_eq!(result_line(&s).0, "RESULT: Running, no verdict yet");
}

#[test]
fn a_failed_run_without_hops_says_none_will_come_and_why_it_failed() {
    let why = "source node/node-a is not allowed in namespace default";
    let failed = MergedPath {
        progress: Progress::Failed(Some(why.into())),
        ..Default::default()
    };
    let out = table(&failed, &RenderOptions::default());
    assert!(
        out.starts_with("No hops: the run ended before any hop was checked.\n"),
        "{out}"
    );
    assert!(
        out.ends_with(&format!("RESULT: probe failed — {why}\n")),
        "{out}"
    );
    let running = MergedPath {
        progress: Progress::Running,
        ..Default::default()
    };
    let out = table(&running, &RenderOptions::default());
    assert!(out.starts_with("No hops recorded yet.\n"), "{out}");
}

#[test]
fn dot_highlights_the_failing_hop_and_the_edge_into_it() {
    let g = dot(&failing(), "default/curl", "svc/echo:80");
    assert!(
        g.starts_with("digraph netdiag {\n") && g.ends_with("}\n"),
        "{g}"
    );
    assert_eq!(g.matches('{').count(), g.matches('}').count(), "{g}");
    // hop3 is the Listener: bold red node and a bold red edge into it.
    let node = g
        .lines()
        .find(|l| l.trim_start().starts_with("hop3 ["))
        .unwrap_or_default();
    assert!(
        node.contains("penwidth=3") && node.contains("#d62728"),
        "{g}"
    );
    let edge = g
        .lines()
        .find(|l| l.contains("-> hop3 ["))
        .unwrap_or_default();
    assert!(edge.contains("#d62728") && edge.contains("bold"), "{g}");
    assert!(g.contains("connect failed"), "{g}");
    let healthy = dot(&healthy(), "default/curl", "svc/echo:80");
    assert!(!healthy.contains("penwidth=3"), "{healthy}");
}

#[test]
fn dot_reads_top_to_bottom_under_a_title_and_marks_the_failure_without_colour() {
    let g = dot(&failing(), "default/curl", "svc/echo:80");
    assert!(g.contains("rankdir=TB;"), "{g}");
    let title = g
        .lines()
        .find(|l| l.trim_start().starts_with("label=") && l.starts_with("  label"))
        .unwrap_or_default();
    assert!(
        title.contains("default/curl -> svc/echo:80\\nRESULT: unreachable"),
        "{g}"
    );
    let node = g
        .lines()
        .find(|l| l.trim_start().starts_with("hop3 ["))
        .unwrap_or_default();
    // Shape and words, for a reader who cannot tell red from green (or prints in grey).
    assert!(node.contains("shape=octagon"), "{node}");
    assert!(node.contains("✗ FAIL: endpoint"), "{node}");
    assert!(node.contains("reason: NothingListening"), "{node}");
    let ok = g
        .lines()
        .find(|l| l.trim_start().starts_with("hop0 ["))
        .unwrap_or_default();
    assert!(ok.contains("pod (Ok)") && !ok.contains("octagon"), "{ok}");
}

#[test]
fn dot_labels_are_wrapped() {
    let mut s = failing();
    s.hops[0].detail = "eth0@if4 10.244.1.2/24 mtu 1500 gw 10.244.1.1 (no neighbour entry yet) in /var/run/netns/nd-readme-curl".into();
    let g = dot(&s, "a", "b");
    let node = g
        .lines()
        .find(|l| l.trim_start().starts_with("hop0 ["))
        .unwrap_or_default();
    let label = node.split('"').nth(1).unwrap_or_default();
    assert!(
        label.split("\\n").all(|l| l.chars().count() <= 36),
        "{label}"
    );
}

#[test]
fn dot_escapes_quotes() {
    let mut s = healthy();
    s.hops[0].detail = "say \"hi\"".into();
    assert!(dot(&s, "a", "b").contains("say \\\"hi\\\""));
}

#[test]
fn percentages_read_naturally() {
    assert_eq!(facts::percent(0.5), "50%");
    assert_eq!(facts::percent(1.0 / 3.0), "33.3%");
    assert_eq!(facts::percent(1.0), "100%");
}

#[test]
fn a_bridge_hops_facts_name_the_port_and_its_hairpin_mode() {
    use netdiag_model::report::{BridgeDetail, HopDetail};
    let d = HopDetail::Bridge(BridgeDetail {
        name: Some("cni0".into()),
        oper_state: Some("up".into()),
        port: Some("veth1234".into()),
        hairpin: Some(false),
        promiscuity: Some(0),
        ..Default::default()
    });
    assert_eq!(facts::facts(&d), "cni0  up  port veth1234 hairpin off");
    let d = HopDetail::Bridge(BridgeDetail {
        name: Some("cni0".into()),
        port: Some("veth1234".into()),
        hairpin: Some(true),
        promiscuity: Some(1),
        ..Default::default()
    });
    assert_eq!(
        facts::facts(&d),
        "cni0  port veth1234 hairpin on  promiscuity 1"
    );
}

/// A Tunnel failure on node-b: the plain table adds node-b's CNI right under the failure, the
/// failing hop's data plane; a Listener failure adds nothing. Wide shows every node's.
#[test]
fn the_plain_table_adds_the_failing_nodes_cni_under_a_tunnel_failure() {
    use netdiag_model::inspect::{CniFingerprint, CniVariant};
    use netdiag_model::report::TraceNodeFacts;
    let facts = |node: &str| TraceNodeFacts {
        node: node.into(),
        cni: Some(CniFingerprint {
            name: "flannel".into(),
            variant: Some(CniVariant::Vxlan),
            evidence: vec!["flannel.1 (vxlan VNI 1, port 8472)".into()],
        }),
        proxy_mode: None,
    };
    let mut s = failing();
    s.node_facts = vec![facts("node-a"), facts("node-b")];
    let plain = table(&s, &PLAIN);
    assert!(!plain.contains("NODE node-"), "a Listener failure: {plain}");
    let wide = table(
        &s,
        &RenderOptions {
            wide: true,
            ..PLAIN
        },
    );
    assert_eq!(wide.matches("NODE node-").count(), 2, "{wide}");
    s.hops[3] = Hop::new(
        "node-b",
        HopKind::Tunnel,
        "flannel.1",
        Verdict::Fail,
        "no FDB entry",
    )
    .with_reason(netdiag_model::Reason::ConnectTimeout);
    s.first_failure = first_failure(&s.hops);
    let plain = table(&s, &PLAIN);
    let after = plain.split("✗ First failure at Tunnel on node-b").nth(1);
    let lines: Vec<&str> = after.unwrap_or_default().lines().collect();
    assert_eq!(
        lines.get(2).copied(),
        Some("NODE node-b  CNI flannel (vxlan)  evidence: flannel.1 (vxlan VNI 1, port 8472)"),
        "{plain}"
    );
    assert_eq!(plain.matches("NODE node-").count(), 1, "{plain}");
}
