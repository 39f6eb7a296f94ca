//! The Dns hop's verdicts, from replies built by hand.

use super::*;
use netdiag_model::Reason;

const NAME: &str = "echo-service.default.svc.cluster.local";
const VIP: Ipv4Addr = Ipv4Addr::new(10, 96, 45, 10);
const T: Duration = Duration::from_secs(2);

fn target(addr: &str, role: &str) -> DnsTarget {
    DnsTarget {
        addr: addr.parse().unwrap(),
        role: role.into(),
    }
}
fn nodelocal() -> DnsTarget {
    target("169.254.25.10:53", "nodelocaldns")
}
fn kube_dns() -> DnsTarget {
    target("10.96.0.10:53", "kube-dns")
}
fn answer(rcode: &str, ips: &[Ipv4Addr]) -> Reply {
    Reply::Answer {
        rcode: rcode.into(),
        ips: ips.to_vec(),
        texts: ips.iter().map(|i| i.to_string()).collect(),
        latency: Duration::from_micros(800),
    }
}
fn ask(target: DnsTarget, reply: Reply) -> Asked {
    Asked { target, reply }
}

#[test]
fn every_server_with_the_expected_ip_is_ok() {
    let asked = [
        ask(nodelocal(), answer("NOERROR", &[VIP])),
        ask(kube_dns(), answer("NOERROR", &[VIP])),
    ];
    let (hop, results) = judge("node-a", NAME, Some(VIP), &asked, T);
    assert_eq!(hop.verdict, Verdict::Ok, "{}", hop.detail);
    assert_eq!(hop.kind, HopKind::Dns);
    assert_eq!(hop.name, NAME);
    assert_eq!(hop.reason, None);
    assert!(
        hop.detail
            .starts_with(&format!("{NAME} resolves to 10.96.45.10 at every server")),
        "{}",
        hop.detail
    );
    assert!(
        hop.detail
            .contains("nodelocaldns at 169.254.25.10 in 0.80 ms"),
        "{}",
        hop.detail
    );
    assert_eq!(results.len(), 2);
    assert!(
        results
            .iter()
            .all(|r| r.verdict == Verdict::Ok && r.rcode == "NOERROR")
    );
    assert_eq!(results[1].server, "10.96.0.10:53");
    assert_eq!(results[1].server_role, "kube-dns");
    assert_eq!(results[1].answers, vec!["10.96.45.10"]);
    assert_eq!(results[1].latency_ms, Some(0.8));
}

#[test]
fn a_silent_nodelocaldns_is_named_next_to_the_kube_dns_that_answers() {
    let asked = [
        ask(nodelocal(), Reply::Timeout),
        ask(kube_dns(), answer("NOERROR", &[VIP])),
    ];
    let (hop, results) = judge("n", NAME, Some(VIP), &asked, T);
    assert_eq!(hop.verdict, Verdict::Fail);
    assert_eq!(hop.reason.clone(), Some(Reason::DnsServerSilent));
    assert_eq!(
        hop.detail,
        "nodelocaldns at 169.254.25.10 does not answer; kube-dns at 10.96.0.10 does"
    );
    assert_eq!(results[0].verdict, Verdict::Fail);
    assert_eq!(results[0].rcode, "TIMEOUT");
    assert_eq!(results[0].latency_ms, None);
    assert_eq!(results[1].verdict, Verdict::Ok);
}

#[test]
fn all_silent_is_a_timeout() {
    let asked = [
        ask(nodelocal(), Reply::Timeout),
        ask(kube_dns(), Reply::Unreachable("connection refused".into())),
    ];
    let (hop, results) = judge("n", NAME, None, &asked, T);
    assert_eq!(hop.reason.clone(), Some(Reason::DnsTimeout));
    assert!(
        hop.detail.contains("does not answer within 2s"),
        "{}",
        hop.detail
    );
    assert!(
        hop.detail
            .contains("kube-dns at 10.96.0.10 is unreachable: connection refused")
    );
    assert_eq!(results[1].rcode, "UNREACHABLE");
}

#[test]
fn nxdomain_and_servfail_name_the_server() {
    let (hop, results) = judge(
        "n",
        NAME,
        None,
        &[ask(kube_dns(), answer("NXDOMAIN", &[]))],
        T,
    );
    assert_eq!(hop.reason.clone(), Some(Reason::DnsNxdomain));
    assert_eq!(
        hop.detail,
        format!("kube-dns at 10.96.0.10 says {NAME} does not exist (NXDOMAIN)")
    );
    assert_eq!(results[0].verdict, Verdict::Fail);
    let (hop, _) = judge(
        "n",
        NAME,
        None,
        &[ask(nodelocal(), answer("SERVFAIL", &[]))],
        T,
    );
    assert_eq!(hop.reason.clone(), Some(Reason::DnsServfail));
    assert!(
        hop.detail
            .starts_with("nodelocaldns at 169.254.25.10 fails to resolve")
    );
}

#[test]
fn a_different_answer_than_the_cluster_ip_is_wrong() {
    let asked = [ask(
        kube_dns(),
        answer("NOERROR", &[Ipv4Addr::new(10, 96, 1, 1)]),
    )];
    let (hop, results) = judge("n", NAME, Some(VIP), &asked, T);
    assert_eq!(hop.reason.clone(), Some(Reason::DnsWrongAnswer));
    assert!(
        hop.detail.starts_with(&format!(
            "{NAME} resolves to 10.96.1.1, not the Service's ClusterIP 10.96.45.10"
        )),
        "{}",
        hop.detail
    );
    assert_eq!(results[0].verdict, Verdict::Fail);
}

#[test]
fn each_result_keeps_its_own_verdict_when_servers_disagree() {
    let asked = [
        ask(nodelocal(), answer("NOERROR", &[VIP])),
        ask(kube_dns(), answer("NXDOMAIN", &[])),
    ];
    let (hop, results) = judge("n", NAME, Some(VIP), &asked, T);
    assert_eq!(hop.verdict, Verdict::Fail);
    assert_eq!(hop.reason.clone(), Some(Reason::DnsNxdomain));
    assert_eq!(results[0].verdict, Verdict::Ok);
    assert_eq!(results[1].verdict, Verdict::Fail);
}

#[test]
fn a_silent_server_and_a_wrong_answer_are_both_told() {
    let asked = [
        ask(nodelocal(), Reply::Timeout),
        ask(kube_dns(), answer("NXDOMAIN", &[])),
    ];
    let (hop, _) = judge("n", NAME, None, &asked, T);
    assert_eq!(hop.reason.clone(), Some(Reason::DnsServerSilent));
    assert!(
        hop.detail
            .contains("does not answer; kube-dns at 10.96.0.10 does; kube-dns"),
        "{}",
        hop.detail
    );
    assert!(hop.detail.contains("NXDOMAIN"));
}

#[test]
fn no_server_at_all_fails() {
    let (hop, results) = judge("n", NAME, None, &[], T);
    assert_eq!(hop.reason.clone(), Some(Reason::DnsNoServer));
    assert!(results.is_empty());
}

#[test]
fn noerror_without_an_address_fails() {
    let (hop, _) = judge(
        "n",
        NAME,
        None,
        &[ask(kube_dns(), answer("NOERROR", &[]))],
        T,
    );
    assert_eq!(hop.reason.clone(), Some(Reason::DnsNoAddress));
}

#[test]
fn a_server_on_another_port_shows_it() {
    assert_eq!(
        who(&target("10.96.0.10:5353", "kube-dns")),
        "kube-dns at 10.96.0.10:5353"
    );
}
