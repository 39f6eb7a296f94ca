//! The walker and the verdict on fixed dumps: the sample of reference/dataplane.md (golden) and
//! small hand-written shapes for each failure.

use netdiag_agent::dataplane::kube_proxy::BlockCause;
use netdiag_agent::dataplane::kube_proxy::iptables::walk::{Entry, walk};
use netdiag_agent::dataplane::kube_proxy::judge::judge;
use netdiag_agent::dataplane::netfilter::iptables::{IptablesBackend, save::parse_save};
use netdiag_model::Reason;
use netdiag_model::report::HopDetail;
use netdiag_model::{Endpoint, PlanTarget, Protocol, Verdict};

const SAMPLE: &str = include_str!("fixtures/kubeproxy/sample-nat-dataplane-md.txt");

fn target(ip: &str, port: u16, protocol: Protocol) -> PlanTarget {
    PlanTarget {
        ip: ip.parse().expect("test address"),
        port,
        protocol,
    }
}

fn ep(s: &str) -> Endpoint {
    let (ip, port) = s.rsplit_once(':').unwrap();
    Endpoint {
        ip: ip.parse().expect("test address"),
        port: port.parse().unwrap(),
    }
}

#[test]
fn the_sample_dump_walks_to_its_one_complete_endpoint_chain() {
    let mut dump = parse_save(SAMPLE);
    let t = target("10.96.45.10", 80, Protocol::TCP);
    let Ok(w) = walk(&mut dump, &t, Entry::ServiceIp);
    assert_eq!(w.address, "10.96.45.10:80/tcp");
    assert_eq!(w.service.as_deref(), Some("default/echo-service:http"));
    assert!(w.masquerade, "the SVC chain marks ! -s 10.244.0.0/16");
    assert_eq!(w.affinity_seconds, None);
    assert_eq!(
        w.chains,
        [
            "KUBE-SERVICES",
            "KUBE-SVC-UA67LJTCCZTJVDOY",
            "KUBE-SEP-ENF7U6ALUPQ4ZWLO"
        ]
    );
    // Only ENF7U6ALUPQ4ZWLO's rules are in the sample; the other two SEP chains are declared
    // empty, so they are reported, not invented.
    assert_eq!(w.endpoints.len(), 1);
    assert_eq!(
        (w.endpoints[0].ip.to_string().as_str(), w.endpoints[0].port),
        ("10.244.1.5", 8080)
    );
    assert!((w.endpoints[0].share - 0.33333333349).abs() < 1e-9);
    assert!(
        w.notes
            .iter()
            .any(|n| n.contains("KUBE-SEP-IWB3D5UPK4OBM6H5"))
    );
    assert!(
        w.notes
            .iter()
            .any(|n| n.contains("KUBE-SEP-FGEVZX4UQ5JYP2SM"))
    );

    let expected = [
        ep("10.244.1.5:8080"),
        ep("10.244.2.7:8080"),
        ep("10.244.2.8:8080"),
    ];
    let hop = judge("node-a", &w.program(), &expected);
    assert_eq!(hop.verdict, Verdict::Fail);
    assert_eq!(hop.reason.clone(), Some(Reason::MissingEndpoint));
    assert!(
        hop.detail.contains("10.244.2.7:8080, 10.244.2.8:8080"),
        "{}",
        hop.detail
    );
}

#[test]
fn fifty_thousand_missing_endpoints_make_one_short_line() {
    let mut dump = parse_save(SAMPLE);
    let t = target("10.96.45.10", 80, Protocol::TCP);
    let Ok(w) = walk(&mut dump, &t, Entry::ServiceIp);
    let mut expected = vec![ep("10.244.1.5:8080")];
    expected.extend((0..50_000u32).map(|i| {
        ep(&format!(
            "10.{}.{}.{}:8080",
            200 + i / 65536,
            (i / 256) % 256,
            i % 256
        ))
    }));
    let hop = judge("node-a", &w.program(), &expected);
    assert_eq!(hop.reason.clone(), Some(Reason::MissingEndpoint));
    assert!(hop.detail.len() < 1000, "{} bytes", hop.detail.len());
    assert!(
        hop.detail.contains("10.200.0.9:8080 and 49990 more"),
        "{}",
        hop.detail
    );
    assert!(hop.detail.contains("of 50001 endpoints"), "{}", hop.detail);
}

#[test]
fn the_sample_dump_has_no_rule_for_an_unknown_vip() {
    let mut dump = parse_save(SAMPLE);
    let t = target("10.96.45.10", 443, Protocol::TCP);
    let Ok(w) = walk(&mut dump, &t, Entry::ServiceIp);
    assert!(w.entry.is_none());
    assert!(w.has_services_chain);
    let hop = judge(
        "node-a",
        &w.program(),
        &[
            ep("10.244.1.5:8080"),
            ep("10.244.2.7:8080"),
            ep("10.244.2.8:8080"),
        ],
    );
    assert_eq!(hop.reason.clone(), Some(Reason::NoServiceRule));
    assert_eq!(
        hop.detail,
        "kube-proxy on node-a has no rule for 10.96.45.10:443/tcp; the Service has 3 ready endpoints"
    );
    let hop = judge("node-a", &w.program(), &[]);
    assert_eq!(hop.reason.clone(), Some(Reason::NoServiceRule));
    assert_eq!(
        hop.detail,
        "kube-proxy on node-a has no rule for 10.96.45.10:443/tcp: nothing matches it in KUBE-SERVICES"
    );
    // UDP on the same port is another service.
    let Ok(w) = walk(
        &mut dump,
        &target("10.96.45.10", 80, Protocol::UDP),
        Entry::ServiceIp,
    );
    assert!(w.entry.is_none());
}

#[test]
fn the_sample_node_port_enters_through_kube_nodeports_and_kube_ext() {
    let mut dump = parse_save(SAMPLE);
    let t = target("172.18.0.2", 30080, Protocol::TCP);
    let Ok(w) = walk(&mut dump, &t, Entry::NodePort);
    assert_eq!(w.service.as_deref(), Some("default/web:http"));
    assert_eq!(
        w.chains,
        [
            "KUBE-NODEPORTS",
            "KUBE-EXT-CDGGSHYLG3RE2FKL",
            "KUBE-SVC-CDGGSHYLG3RE2FKL"
        ]
    );
    assert!(w.masquerade);
    // web's SVC chain was omitted from the sample: no endpoint, and the verdict says so.
    assert!(w.endpoints.is_empty());
    let hop = judge("node-a", &w.program(), &[]);
    assert_eq!(hop.reason.clone(), Some(Reason::NoEndpoints));
}

const SMALL: &str = r#"# Generated by iptables-save v1.8.7 (legacy) on Mon Nov 23 10:00:00 2026
*filter
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
-A KUBE-SERVICES -d 10.96.0.50/32 -p tcp -m comment --comment "prod/api:http has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
-A KUBE-SERVICES -d 10.96.0.51/32 -p tcp -m comment --comment "prod/local:http has no local endpoints" -m tcp --dport 80 -j DROP
COMMIT
*nat
:KUBE-SERVICES - [0:0]
:KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]
:KUBE-SEP-1 - [0:0]
:KUBE-SEP-2 - [0:0]
-A KUBE-SERVICES -d 10.96.0.60/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-AAAAAAAAAAAAAAAA
-A KUBE-SVC-AAAAAAAAAAAAAAAA -m recent --rcheck --seconds 600 --reap --name KUBE-SEP-1 --mask 255.255.255.255 --rsource -j KUBE-SEP-1
-A KUBE-SVC-AAAAAAAAAAAAAAAA -m recent --rcheck --seconds 600 --reap --name KUBE-SEP-2 --mask 255.255.255.255 --rsource -j KUBE-SEP-2
-A KUBE-SVC-AAAAAAAAAAAAAAAA -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-1
-A KUBE-SVC-AAAAAAAAAAAAAAAA -j KUBE-SEP-2
-A KUBE-SEP-1 -s 10.244.1.5/32 -j KUBE-MARK-MASQ
-A KUBE-SEP-1 -p tcp -m recent --set --name KUBE-SEP-1 --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.244.1.5:8080
-A KUBE-SEP-2 -s 10.244.9.9/32 -j KUBE-MARK-MASQ
-A KUBE-SEP-2 -p tcp -m recent --set --name KUBE-SEP-2 --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.244.9.9:8080
COMMIT
"#;

#[test]
fn a_filter_reject_is_no_endpoints_with_the_comment_as_cause() {
    let mut dump = parse_save(SMALL);
    assert_eq!(dump.backend, Some(IptablesBackend::Legacy));
    let Ok(w) = walk(
        &mut dump,
        &target("10.96.0.50", 80, Protocol::TCP),
        Entry::ServiceIp,
    );
    let b = w.blocked.as_ref().unwrap();
    assert_eq!(b.cause, BlockCause::NoEndpoints);
    assert_eq!(w.service.as_deref(), Some("prod/api:http"));
    let hop = judge("node-a", &w.program(), &[]);
    assert_eq!(hop.verdict, Verdict::Fail);
    assert_eq!(hop.reason.clone(), Some(Reason::NoEndpoints));
    assert!(
        hop.detail.contains("prod/api:http has no endpoints"),
        "{}",
        hop.detail
    );
    let Some(HopDetail::ServiceRules(d)) = &hop.details else {
        panic!("no detail")
    };
    assert!(d.rejected_by.as_deref().unwrap().contains("REJECT"));

    let Ok(w) = walk(
        &mut dump,
        &target("10.96.0.51", 80, Protocol::TCP),
        Entry::ServiceIp,
    );
    assert_eq!(w.blocked.unwrap().cause, BlockCause::NoLocalEndpoints);
}

#[test]
fn affinity_and_comment_less_rules_walk_by_jumps_alone() {
    let mut dump = parse_save(SMALL);
    let Ok(w) = walk(
        &mut dump,
        &target("10.96.0.60", 80, Protocol::TCP),
        Entry::ServiceIp,
    );
    assert_eq!(w.affinity_seconds, Some(600));
    assert_eq!(w.service, None);
    let got: Vec<(String, f64)> = w
        .endpoints
        .iter()
        .map(|e| (format!("{}:{}", e.ip, e.port), e.share))
        .collect();
    assert_eq!(
        got,
        [
            ("10.244.1.5:8080".to_string(), 0.5),
            ("10.244.9.9:8080".to_string(), 0.5)
        ]
    );

    let ok = judge(
        "node-a",
        &w.program(),
        &[ep("10.244.1.5:8080"), ep("10.244.9.9:8080")],
    );
    assert_eq!(ok.verdict, Verdict::Ok, "{}", ok.detail);
    assert!(ok.detail.contains("10.244.1.5:8080 (50%)"), "{}", ok.detail);
    assert!(ok.detail.contains("affinity 600s"), "{}", ok.detail);

    let stale = judge("node-a", &w.program(), &[ep("10.244.1.5:8080")]);
    assert_eq!(stale.reason.clone(), Some(Reason::StaleEndpoint));
    assert_eq!(
        stale.detail,
        "kube-proxy on node-a still DNATs 10.96.0.60:80/tcp to 10.244.9.9:8080, which is not a ready endpoint of the Service"
    );
}

#[test]
fn shares_through_a_nested_chain_add_up_to_one() {
    // Half the traffic goes through a nested chain to SEP-1, the rest straight to SEP-2: the
    // nested chain's endpoints get only the part that reaches it.
    let dump = "*nat
:KUBE-SERVICES - [0:0]
:KUBE-SVC-OUTER - [0:0]
:KUBE-SVC-INNER - [0:0]
:KUBE-SEP-1 - [0:0]
:KUBE-SEP-2 - [0:0]
-A KUBE-SERVICES -d 10.96.0.70/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-OUTER
-A KUBE-SVC-OUTER -m statistic --mode random --probability 0.50000000000 -j KUBE-SVC-INNER
-A KUBE-SVC-OUTER -j KUBE-SEP-2
-A KUBE-SVC-INNER -j KUBE-SEP-1
-A KUBE-SEP-1 -p tcp -m tcp -j DNAT --to-destination 10.244.1.5:8080
-A KUBE-SEP-2 -p tcp -m tcp -j DNAT --to-destination 10.244.1.6:8080
COMMIT
";
    let mut dump = parse_save(dump);
    let Ok(w) = walk(
        &mut dump,
        &target("10.96.0.70", 80, Protocol::TCP),
        Entry::ServiceIp,
    );
    let shares: Vec<(String, f64)> = w
        .endpoints
        .iter()
        .map(|e| (e.ip.to_string(), e.share))
        .collect();
    assert_eq!(
        shares,
        [
            ("10.244.1.5".to_string(), 0.5),
            ("10.244.1.6".to_string(), 0.5)
        ]
    );
    let total: f64 = w.endpoints.iter().map(|e| e.share).sum();
    assert!((total - 1.0).abs() < 1e-9, "{total}");
}
