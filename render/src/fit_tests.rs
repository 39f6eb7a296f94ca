//! Terminal width: every line of the table fits at 100 and 200 columns, VERDICT comes before the
//! long DETAIL, and piped output keeps full lines.

use super::*;
use netdiag_model::merge::first_failure;
use netdiag_model::report::{DnsResult, Evidence, TracedRule};

/// The README's lab trace (real hop texts, 231 to 400 characters a row unwrapped), with its last
/// hop failing, a DNS section and a dropped packet's rules.
fn long_path() -> MergedPath {
    let hop = |node: &str, kind, name: &str, detail: &str| {
        Hop::new(node, kind, name, Verdict::Ok, detail)
    };
    let mut hops = vec![
        hop(
            "node-a",
            HopKind::PodInterface,
            "eth0",
            "eth0@if4 10.244.1.2/24 mtu 1500 gw 10.244.1.1 (no neighbour entry yet) in /var/run/netns/nd-readme-curl",
        ),
        hop(
            "node-a",
            HopKind::NodeSettings,
            "sysctl",
            "net.ipv4.ip_forward=1, net.bridge.bridge-nf-call-iptables=1, net.ipv4.conf.cni0.rp_filter=0 (all=0, cni0=0), net.ipv4.conf.eth0.rp_filter=0 (all=0, eth0=0)",
        ),
        hop(
            "node-a",
            HopKind::ServiceRules,
            "10.96.45.10:80/tcp",
            "default/echo-service:http -> 3 endpoints: 10.244.1.3:8080 (33%), 10.244.2.2:8080 (33%), 10.244.2.3:8080 (33%)",
        ),
        hop(
            "node-a",
            HopKind::Dns,
            "echo-service.default.svc.cluster.local",
            "echo-service.default.svc.cluster.local resolves to 10.96.45.10 at every server (nodelocaldns at 169.254.25.10 in 1.02 ms, kube-dns at 10.96.0.10 in 0.87 ms)",
        ),
        hop(
            "node-b",
            HopKind::Listener,
            "10.244.2.3:8080",
            "nothing listens on 10.244.2.3:8080 in /var/run/netns/nd-readme-echo-3: the pod's server is down, or it listens on another port or address (see ss -ltn in the pod)",
        ),
    ];
    hops[4].verdict = Verdict::Fail;
    hops[4].reason = Some(netdiag_model::Reason::NothingListening);
    let first_failure = first_failure(&hops);
    MergedPath {
        progress: Progress::Done,
        reachable: Some(false),
        first_failure,
        hops,
        dns: vec![DnsResult {
            server: "169.254.25.10:53".into(),
            server_role: "nodelocaldns".into(),
            name: "echo-service.default.svc.cluster.local".into(),
            rcode: "NOERROR".into(),
            answers: vec!["10.96.45.10".into()],
            latency_ms: Some(1.02),
            verdict: Verdict::Ok,
            message: Some("answered from the node-local cache, which forwards the cluster domain to kube-dns at 10.96.0.10".into()),
        }],
        evidence: vec![Evidence {
            node: "node-b".into(),
            rule_trace: vec![TracedRule {
                packet: 7,
                family: "ip".into(),
                table: "filter".into(),
                chain: "FORWARD".into(),
                handle: Some(12),
                rule: Some("-A FORWARD -d 10.244.2.0/24 -p tcp -m tcp --dport 8080 -m comment --comment \"netdiag lab fault: firewall-drop\" -j DROP".into()),
                verdict: "drop".into(),
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn render_at(width: Width, wide: bool) -> String {
    table(
        &long_path(),
        &RenderOptions {
            wide,
            color: false,
            width,
        },
    )
}

#[test]
fn every_line_fits_at_100_and_200_columns() {
    for columns in [100u16, 200] {
        for wide in [false, true] {
            let out = render_at(Width::Columns(columns), wide);
            for line in out.lines() {
                assert!(
                    line.chars().count() <= usize::from(columns),
                    "{columns} columns, wide {wide}: {} wide:\n{line}\n\n{out}",
                    line.chars().count()
                );
            }
            // Wrapped, not cut: every word of the long detail is still there.
            let words: String = out.split_whitespace().collect();
            assert!(words.contains("(seess-ltninthepod)"), "{out}");
            assert!(words.contains("firewall-drop\"-jDROP"), "{out}");
        }
    }
}

#[test]
fn the_verdict_comes_before_the_detail_and_stays_on_the_hops_first_line() {
    let out = render_at(Width::Columns(100), false);
    let header = out.lines().next().unwrap_or_default();
    let (verdict, detail) = (header.find("VERDICT"), header.find("DETAIL"));
    assert!(verdict.is_some() && verdict < detail, "{header}");
    let listener = out
        .lines()
        .find(|l| l.contains("Listener"))
        .unwrap_or_default();
    assert!(listener.contains(&format!("Fail {FAILURE_MARK}")), "{out}");
    // The detail wrapped inside its column: continuation lines start where DETAIL starts.
    let column = detail.unwrap_or_default();
    let continued = out
        .lines()
        .skip_while(|l| !l.contains("Listener"))
        .nth(1)
        .unwrap_or_default();
    assert_eq!(
        continued.len() - continued.trim_start().len(),
        column,
        "{out}"
    );
}

#[test]
fn piped_output_keeps_full_lines() {
    let out = render_at(Width::Unlimited, false);
    let listener = out
        .lines()
        .find(|l| l.contains("Listener"))
        .unwrap_or_default();
    assert!(listener.ends_with("(see ss -ltn in the pod)"), "{out}");
    assert!(out.lines().any(|l| l.chars().count() > 200), "{out}");
}
