//! The generator against the reference sample, and generate -> parse -> walk round trips.

use std::net::Ipv4Addr;

use netdiag_agent::dataplane::kube_proxy::BlockCause;
use netdiag_agent::dataplane::kube_proxy::iptables::walk::{Entry, ServiceWalk, walk};
use netdiag_agent::dataplane::kube_proxy::judge::judge;
use netdiag_agent::dataplane::netfilter::iptables::save::parse_save;
use netdiag_lab::generate::{GenConfig, GenPort, GenService, render_restore};
use netdiag_model::Reason;
use netdiag_model::{Endpoint, PlanTarget, Protocol, Verdict};

const SAMPLE: &str =
    include_str!("../../agent/tests/fixtures/kubeproxy/sample-nat-dataplane-md.txt");

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// The two Services of the sample in reference/dataplane.md.
fn sample_services() -> Vec<GenService> {
    let echo = GenService::new("default", "echo-service", ip("10.96.45.10")).port(GenPort::new(
        Some("http"),
        80,
        Protocol::TCP,
        8080,
        vec![ip("10.244.1.5"), ip("10.244.2.7"), ip("10.244.2.8")],
    ));
    let mut web_port = GenPort::new(
        Some("http"),
        80,
        Protocol::TCP,
        8080,
        vec![ip("10.244.1.9")],
    );
    web_port.node_port = Some(30080);
    let web = GenService::new("default", "web", ip("10.96.120.15")).port(web_port);
    vec![echo, web]
}

pub fn generated_nat_lines(text: &str) -> Vec<String> {
    let nat = text.split("*nat").nth(1).unwrap_or_default();
    nat.lines().map(str::to_string).collect()
}

#[test]
fn every_rule_and_chain_of_the_reference_sample_is_generated_verbatim() {
    let text = render_restore(&sample_services(), &GenConfig::new("10.244.0.0/16"));
    let nat = generated_nat_lines(&text);
    let missing: Vec<&str> = SAMPLE
        .lines()
        .filter(|l| l.starts_with("-A ") || l.starts_with(':'))
        // web's own SEP chains in the sample come from endpoints it does not list.
        .filter(|l| {
            !l.contains("KUBE-SEP-2Z4PPZBSTLK4A5ZT") && !l.contains("KUBE-SEP-YYQCU4TCGTAHGAPQ")
        })
        .filter(|l| !nat.iter().any(|g| g == l))
        .collect();
    assert!(
        missing.is_empty(),
        "not generated:\n{}\n--- generated:\n{text}",
        missing.join("\n")
    );
}

fn walk_text(text: &str, t: &PlanTarget, entry: Entry) -> ServiceWalk {
    let mut dump = parse_save(text);
    let Ok(w) = walk(&mut dump, t, entry);
    w
}

fn target(ip: &str, port: u16, protocol: Protocol) -> PlanTarget {
    PlanTarget {
        ip: ip.parse().expect("test address"),
        port,
        protocol,
    }
}

fn expected(port: &GenPort) -> Vec<Endpoint> {
    port.endpoints
        .iter()
        .map(|i| Endpoint {
            ip: *i,
            port: port.target_port,
        })
        .collect()
}

#[test]
fn generate_parse_walk_returns_the_same_endpoints_and_equal_shares() {
    for n in [1usize, 2, 3, 5, 7] {
        for comments in [true, false] {
            let eps: Vec<Ipv4Addr> = (0..n)
                .map(|i| Ipv4Addr::new(10, 244, 3, 10 + i as u8))
                .collect();
            let port = GenPort::new(None, 53, Protocol::UDP, 5353, eps);
            let svc = GenService::new("kube-system", "dns", ip("10.96.0.10")).port(port.clone());
            let cfg = GenConfig {
                comments,
                ..GenConfig::new("10.244.0.0/16")
            };
            let text = render_restore(&[svc], &cfg);
            let w = walk_text(
                &text,
                &target("10.96.0.10", 53, Protocol::UDP),
                Entry::ServiceIp,
            );
            let got: Vec<Endpoint> = w
                .endpoints
                .iter()
                .map(|e| Endpoint {
                    ip: e.ip,
                    port: e.port,
                })
                .collect();
            assert_eq!(got, expected(&port), "n={n} comments={comments}");
            for e in &w.endpoints {
                assert!(
                    (e.share - 1.0 / n as f64).abs() < 1e-6,
                    "n={n}: share {}",
                    e.share
                );
            }
            let total: f64 = w.endpoints.iter().map(|e| e.share).sum();
            assert!((total - 1.0).abs() < 1e-12);
            assert_eq!(
                w.service.as_deref(),
                Some("kube-system/dns"),
                "from the cluster IP comment"
            );
            assert!(w.masquerade);
            assert!(w.notes.is_empty(), "{:?}", w.notes);
            assert_eq!(
                judge("n", &w.program(), &expected(&port)).verdict,
                Verdict::Ok
            );
            // Large-cluster mode drops the per-endpoint comments only.
            assert_eq!(text.contains("kube-system/dns -> "), comments);
        }
    }
}

#[test]
fn affinity_rules_are_generated_and_read_back() {
    let port = GenPort::new(
        Some("http"),
        80,
        Protocol::TCP,
        8080,
        vec![ip("10.244.1.5"), ip("10.244.2.7")],
    );
    let mut svc = GenService::new("default", "sticky", ip("10.96.7.7")).port(port.clone());
    svc.affinity_seconds = Some(10800);
    let text = render_restore(&[svc], &GenConfig::new("10.244.0.0/16"));
    assert!(text.contains("-m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-"));
    assert!(text.contains("-m recent --set --name KUBE-SEP-"));
    let w = walk_text(
        &text,
        &target("10.96.7.7", 80, Protocol::TCP),
        Entry::ServiceIp,
    );
    assert_eq!(w.affinity_seconds, Some(10800));
    assert_eq!(w.endpoints.len(), 2);
    assert_eq!(
        judge("n", &w.program(), &expected(&port)).verdict,
        Verdict::Ok
    );
}

#[test]
fn internal_traffic_local_uses_svl_with_local_endpoints_only() {
    let port = GenPort::new(
        Some("http"),
        80,
        Protocol::TCP,
        8080,
        vec![ip("10.244.1.5"), ip("10.244.2.7")],
    );
    let mut svc = GenService::new("default", "loc", ip("10.96.8.8")).port(port.clone());
    svc.internal_traffic_local = true;
    let cfg = GenConfig {
        local_endpoint_ips: vec![ip("10.244.2.7")],
        ..GenConfig::new("10.244.0.0/16")
    };
    let text = render_restore(std::slice::from_ref(&svc), &cfg);
    let w = walk_text(
        &text,
        &target("10.96.8.8", 80, Protocol::TCP),
        Entry::ServiceIp,
    );
    assert!(w.chains[1].starts_with("KUBE-SVL-"), "{:?}", w.chains);
    assert!(w.local_only);
    assert_eq!(w.endpoints.len(), 1);
    assert_eq!(w.endpoints[0].ip.to_string(), "10.244.2.7");
    let hop = judge("n", &w.program(), &expected(&port));
    assert_eq!(hop.verdict, Verdict::Ok, "{}", hop.detail);

    // No endpoint on this node: the filter table drops it.
    let cfg = GenConfig::new("10.244.0.0/16");
    let text = render_restore(&[svc], &cfg);
    let w = walk_text(
        &text,
        &target("10.96.8.8", 80, Protocol::TCP),
        Entry::ServiceIp,
    );
    assert!(w.entry.is_none());
    assert_eq!(
        w.blocked.as_ref().map(|b| b.cause),
        Some(BlockCause::NoLocalEndpoints)
    );
    let hop = judge("n", &w.program(), &expected(&port));
    assert_eq!(hop.reason, Some(Reason::NoLocalEndpoints));
    assert!(
        hop.detail.contains("internalTrafficPolicy Local") && hop.detail.contains("n runs none"),
        "{}",
        hop.detail
    );
}

#[test]
fn a_service_without_endpoints_gets_a_filter_reject_and_no_nat_chains() {
    let mut port = GenPort::new(Some("http"), 80, Protocol::TCP, 8080, vec![]);
    port.node_port = Some(30999);
    let svc = GenService::new("default", "empty", ip("10.96.9.9")).port(port);
    let text = render_restore(&[svc], &GenConfig::new("10.244.0.0/16"));
    assert!(!text.contains("KUBE-SVC-"), "{text}");
    let w = walk_text(
        &text,
        &target("10.96.9.9", 80, Protocol::TCP),
        Entry::ServiceIp,
    );
    assert_eq!(
        w.blocked.as_ref().map(|b| b.cause),
        Some(BlockCause::NoEndpoints)
    );
    let hop = judge("node-a", &w.program(), &[]);
    assert_eq!(hop.reason.clone(), Some(Reason::NoEndpoints));
    assert!(
        hop.detail.contains("default/empty:http has no endpoints"),
        "{}",
        hop.detail
    );
    let w = walk_text(
        &text,
        &target("192.168.1.2", 30999, Protocol::TCP),
        Entry::NodePort,
    );
    assert_eq!(
        w.blocked.as_ref().map(|b| (b.chain.as_str(), b.cause)),
        Some(("KUBE-EXTERNAL-SERVICES", BlockCause::NoEndpoints))
    );
}

#[test]
fn external_traffic_local_node_port_walks_ext_to_svl() {
    let mut port = GenPort::new(
        Some("http"),
        80,
        Protocol::TCP,
        8080,
        vec![ip("10.244.1.5"), ip("10.244.2.7"), ip("10.244.2.8")],
    );
    port.node_port = Some(30081);
    let mut svc = GenService::new("default", "edge", ip("10.96.10.10")).port(port.clone());
    svc.external_traffic_local = true;
    let cfg = GenConfig {
        local_endpoint_ips: vec![ip("10.244.2.7"), ip("10.244.2.8")],
        ..GenConfig::new("10.244.0.0/16")
    };
    let text = render_restore(&[svc], &cfg);
    let w = walk_text(
        &text,
        &target("192.168.1.2", 30081, Protocol::TCP),
        Entry::NodePort,
    );
    assert_eq!(w.chains[0], "KUBE-NODEPORTS");
    assert!(w.chains[1].starts_with("KUBE-EXT-"));
    assert!(w.chains[2].starts_with("KUBE-SVL-"), "{:?}", w.chains);
    let got: Vec<String> = w.endpoints.iter().map(|e| e.ip.to_string()).collect();
    assert_eq!(got, ["10.244.2.7", "10.244.2.8"]);
    assert!(
        !w.masquerade,
        "client IPs are kept under externalTrafficPolicy=Local"
    );
    assert!(
        w.notes.iter().any(|n| n.contains("KUBE-SVC-")),
        "{:?}",
        w.notes
    );
    // The ClusterIP still balances over all three.
    let w = walk_text(
        &text,
        &target("10.96.10.10", 80, Protocol::TCP),
        Entry::ServiceIp,
    );
    assert_eq!(w.endpoints.len(), 3);
    assert_eq!(
        judge("n", &w.program(), &expected(&port)).verdict,
        Verdict::Ok
    );
}

#[test]
fn a_missing_endpoint_is_named() {
    let port = GenPort::new(
        Some("http"),
        80,
        Protocol::TCP,
        8080,
        vec![ip("10.244.1.5"), ip("10.244.2.7")],
    );
    let svc = GenService::new("default", "echo", ip("10.96.45.10")).port(port.clone());
    let text = render_restore(&[svc], &GenConfig::new("10.244.0.0/16"));
    let w = walk_text(
        &text,
        &target("10.96.45.10", 80, Protocol::TCP),
        Entry::ServiceIp,
    );
    let mut want = expected(&port);
    want.push(Endpoint {
        ip: [10, 244, 3, 3].into(),
        port: 8080,
    });
    let hop = judge("node-a", &w.program(), &want);
    assert_eq!(hop.reason.clone(), Some(Reason::MissingEndpoint));
    assert!(hop.detail.contains("10.244.3.3:8080"), "{}", hop.detail);
}
