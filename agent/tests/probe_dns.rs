//! The Dns probe against a real DNS server (dnsmasq, never forwarding upstream) in a pod
//! namespace of a mini data plane, asked from another pod. Needs root.

mod probe_common;

use std::net::Ipv4Addr;
use std::time::Duration;

use netdiag_agent::path::dns::{DnsTarget, query_all, servers_from};
use netdiag_model::Reason;
use netdiag_model::report::ResolvConf;
use netdiag_model::{DnsServer, HopKind, Verdict};
use probe_common::{Lab, root_or_skip};

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 244, 1, 2);
const NO_DNS: Ipv4Addr = Ipv4Addr::new(10, 244, 1, 3);
const DNS: Ipv4Addr = Ipv4Addr::new(10, 244, 1, 4);
const NAME: &str = "echo.default.svc.cluster.local";
const VIP: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 50);
const NODELOCAL: &str = "169.254.25.10";

/// Client pod 0, an empty pod 1, dnsmasq in pod 2 answering NAME with VIP and `missing...`
/// with NXDOMAIN. The node drops anything to the nodelocaldns address, so it stays silent.
fn dns_lab() -> (Lab, std::path::PathBuf) {
    let mut lab = Lab::new(&[CLIENT, NO_DNS, DNS]);
    let client = lab.pod(0);
    lab.dnsmasq(
        2,
        DNS,
        &[
            &format!("/{NAME}/{VIP}"),
            "/missing.default.svc.cluster.local/",
        ],
    );
    lab.node.exec(&[
        "ip",
        "route",
        "add",
        "blackhole",
        &format!("{NODELOCAL}/32"),
    ]);
    (lab, client)
}

fn kube_dns() -> DnsServer {
    DnsServer {
        address: std::net::SocketAddrV4::new(DNS, 53),
        role: "kube-dns".into(),
    }
}

#[test]
fn the_cluster_dns_answers_the_service_ip() {
    if !root_or_skip("the_cluster_dns_answers_the_service_ip") {
        return;
    }
    let (_lab, client) = dns_lab();
    let servers = servers_from(None, &[kube_dns()]);
    let out = query_all(
        "node-a",
        &client,
        NAME,
        &servers,
        Some(VIP),
        Duration::from_secs(2),
    );
    assert_eq!(out.hop.kind, HopKind::Dns);
    assert_eq!(out.hop.verdict, Verdict::Ok, "{}", out.hop.detail);
    assert_eq!(out.results.len(), 1);
    let r = &out.results[0];
    assert_eq!(r.server, "10.244.1.4:53");
    assert_eq!(r.server_role, "kube-dns");
    assert_eq!(r.rcode, "NOERROR");
    assert_eq!(r.answers, vec![VIP.to_string()]);
    assert!(r.latency_ms.is_some());

    // The same answer is wrong for a Service with another ClusterIP.
    let other = Ipv4Addr::new(10, 96, 0, 99);
    let out = query_all(
        "node-a",
        &client,
        NAME,
        &servers,
        Some(other),
        Duration::from_secs(2),
    );
    assert_eq!(
        out.hop.reason.clone(),
        Some(Reason::DnsWrongAnswer),
        "{}",
        out.hop.detail
    );
    assert!(out.hop.detail.starts_with(&format!(
        "{NAME} resolves to 10.96.0.50, not the Service's ClusterIP 10.96.0.99"
    )));
}

#[test]
fn an_unknown_name_is_nxdomain_naming_the_server() {
    if !root_or_skip("an_unknown_name_is_nxdomain_naming_the_server") {
        return;
    }
    let (_lab, client) = dns_lab();
    let servers = servers_from(None, &[kube_dns()]);
    let name = "missing.default.svc.cluster.local";
    let out = query_all(
        "node-a",
        &client,
        name,
        &servers,
        None,
        Duration::from_secs(2),
    );
    assert_eq!(out.hop.verdict, Verdict::Fail);
    assert_eq!(
        out.hop.reason.clone(),
        Some(Reason::DnsNxdomain),
        "{}",
        out.hop.detail
    );
    assert!(
        out.hop.detail.starts_with("kube-dns at 10.244.1.4 says"),
        "{}",
        out.hop.detail
    );
    assert_eq!(out.results[0].rcode, "NXDOMAIN");
}

#[test]
fn a_silent_nodelocaldns_is_named_while_kube_dns_answers() {
    if !root_or_skip("a_silent_nodelocaldns_is_named_while_kube_dns_answers") {
        return;
    }
    let (_lab, client) = dns_lab();
    let resolv = ResolvConf {
        nameservers: vec![NODELOCAL.into()],
        search: vec![],
        options: vec!["ndots:5".into()],
    };
    let servers = servers_from(Some(&resolv), &[kube_dns()]);
    assert_eq!(
        servers,
        vec![
            DnsTarget {
                addr: format!("{NODELOCAL}:53").parse().unwrap(),
                role: "nodelocaldns".into()
            },
            DnsTarget {
                addr: format!("{DNS}:53").parse().unwrap(),
                role: "kube-dns".into()
            },
        ]
    );
    let out = query_all(
        "node-a",
        &client,
        NAME,
        &servers,
        Some(VIP),
        Duration::from_millis(300),
    );
    assert_eq!(out.hop.verdict, Verdict::Fail);
    assert_eq!(out.hop.reason.clone(), Some(Reason::DnsServerSilent));
    assert_eq!(
        out.hop.detail,
        "nodelocaldns at 169.254.25.10 does not answer; kube-dns at 10.244.1.4 does"
    );
    assert_eq!(out.results[0].rcode, "TIMEOUT");
    assert_eq!(out.results[0].verdict, Verdict::Fail);
    assert_eq!(out.results[1].verdict, Verdict::Ok);
}

#[test]
fn no_server_answering_is_a_dns_timeout() {
    if !root_or_skip("no_server_answering_is_a_dns_timeout") {
        return;
    }
    let (_lab, client) = dns_lab();
    let servers = servers_from(
        None,
        &[
            DnsServer {
                address: std::net::SocketAddrV4::new(NODELOCAL.parse().expect("address"), 53),
                role: "nodelocaldns".into(),
            },
            // A pod with nothing on port 53 answers with ICMP port unreachable.
            DnsServer {
                address: std::net::SocketAddrV4::new(NO_DNS, 53),
                role: "kube-dns".into(),
            },
        ],
    );
    let out = query_all(
        "node-a",
        &client,
        NAME,
        &servers,
        None,
        Duration::from_millis(300),
    );
    assert_eq!(
        out.hop.reason.clone(),
        Some(Reason::DnsTimeout),
        "{}",
        out.hop.detail
    );
    assert_eq!(out.results[0].rcode, "TIMEOUT");
    assert_eq!(out.results[1].rcode, "UNREACHABLE");
    assert!(
        out.results[1]
            .message
            .as_deref()
            .is_some_and(|m| m.contains("nothing listens on its port")),
        "{:?}",
        out.results[1].message
    );
}

#[test]
fn an_answer_too_large_for_udp_is_read_over_tcp() {
    if !root_or_skip("an_answer_too_large_for_udp_is_read_over_tcp") {
        return;
    }
    let mut lab = Lab::new(&[CLIENT, NO_DNS, DNS]);
    let client = lab.pod(0);
    // 300 A records: some 5 KB, far over what dnsmasq sends over UDP without EDNS, so it
    // sets TC and the whole answer only comes over TCP.
    let records: Vec<String> = (0..300)
        .map(|i| {
            format!(
                "--host-record=big.example.test,10.200.{}.{}",
                i / 250,
                i % 250 + 1
            )
        })
        .collect();
    let records: Vec<&str> = records.iter().map(String::as_str).collect();
    lab.dnsmasq(2, DNS, &records);
    let servers = servers_from(None, &[kube_dns()]);
    let out = query_all(
        "node-a",
        &client,
        "big.example.test",
        &servers,
        None,
        Duration::from_secs(3),
    );
    assert_eq!(out.hop.verdict, Verdict::Ok, "{}", out.hop.detail);
    assert_eq!(out.results[0].rcode, "NOERROR");
    assert_eq!(
        out.results[0].answers.len(),
        300,
        "every record, read over TCP"
    );
}
