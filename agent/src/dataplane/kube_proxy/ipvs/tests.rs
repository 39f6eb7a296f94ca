use netdiag_model::{Endpoint, Reason, Verdict};

use super::*;
use crate::dataplane::kube_proxy::judge;
use crate::kernel::ipvs::testing::{KernelIpvs, kube_service, masq};
use crate::kernel::rtnl::{LinkKind, OperState};

fn target(ip: &str, port: u16, protocol: Protocol) -> PlanTarget {
    PlanTarget {
        ip: ip.parse().expect("test address"),
        port,
        protocol,
    }
}

fn ep(ip: &str, port: u16) -> Endpoint {
    Endpoint {
        ip: ip.parse().expect("test address"),
        port,
    }
}

/// The data-plane reference's `ipvsadm -Ln` (section 3), as the kernel's bytes.
fn reference() -> KernelIpvs {
    KernelIpvs::new(vec![
        (
            kube_service(Proto::Tcp, "10.0.0.1", 443, Some(10800)),
            vec![masq("192.168.0.1", 6443, 1, 1, 0)],
        ),
        (
            kube_service(Proto::Udp, "10.0.0.10", 53, None),
            vec![masq("172.17.0.2", 53, 1, 0, 0)],
        ),
    ])
}

fn read(k: &mut KernelIpvs, t: &PlanTarget) -> ServiceProgram {
    read_program(k, t, VipBinding::OnKubeIpvs0).expect("the fake kernel answers")
}

#[test]
fn the_reference_services_become_programs_in_ipvsadms_words() {
    let mut k = reference();
    let api = read(&mut k, &target("10.0.0.1", 443, Protocol::TCP));
    assert_eq!(api.mode, ProxyMode::Ipvs);
    assert_eq!(api.lookup, Lookup::Matched);
    assert_eq!(api.address, "10.0.0.1:443/tcp");
    assert_eq!(api.chains, ["TCP 10.0.0.1:443 rr persistent 10800"]);
    assert_eq!(api.affinity_seconds, Some(10800));
    assert_eq!(api.endpoints.len(), 1);
    let e = &api.endpoints[0];
    assert_eq!(
        (e.ip.to_string().as_str(), e.port, e.probability),
        ("192.168.0.1", 6443, 1.0)
    );
    assert_eq!(
        e.chain,
        "real server 192.168.0.1:6443 Masq weight 1 (1 active, 0 inactive)"
    );
    assert!(api.notes.is_empty(), "{:?}", api.notes);

    let dns = read(&mut k, &target("10.0.0.10", 53, Protocol::UDP));
    assert_eq!(dns.chains, ["UDP 10.0.0.10:53 rr"]);
    assert_eq!(dns.affinity_seconds, None);
    assert_eq!(dns.endpoints[0].ip.to_string(), "172.17.0.2");

    let hop = judge::judge("node-a", &dns, &[ep("172.17.0.2", 53)]);
    assert_eq!(hop.verdict, Verdict::Ok, "{}", hop.detail);
    assert!(
        hop.detail.contains("172.17.0.2:53 (100%)"),
        "{}",
        hop.detail
    );
    let hop = judge::judge("node-a", &api, &[ep("192.168.0.1", 6443)]);
    assert!(
        hop.detail.contains("ClientIP affinity 10800s"),
        "{}",
        hop.detail
    );
}

fn three_weights(scheduler: &str) -> KernelIpvs {
    let mut svc = kube_service(Proto::Tcp, "10.96.5.5", 80, None);
    svc.scheduler = scheduler.into();
    KernelIpvs::new(vec![(
        svc,
        vec![
            masq("10.244.1.5", 8080, 0, 0, 4),
            masq("10.244.1.6", 8080, 1, 2, 0),
            masq("10.244.2.7", 8080, 3, 6, 1),
        ],
    )])
}

#[test]
fn shares_follow_the_scheduler_and_a_draining_server_gets_none() {
    let t = target("10.96.5.5", 80, Protocol::TCP);
    let rr = read(&mut three_weights("rr"), &t);
    let shares: Vec<(String, f64)> = rr
        .endpoints
        .iter()
        .map(|e| (e.ip.to_string(), e.probability))
        .collect();
    // rr ignores weights except 0: the two serving real servers alternate.
    assert_eq!(
        shares,
        [
            ("10.244.1.6".to_string(), 0.5),
            ("10.244.2.7".to_string(), 0.5)
        ]
    );
    assert_eq!(rr.notes.len(), 1, "{:?}", rr.notes);
    assert!(
        rr.notes[0].contains("10.244.1.5:8080 has weight 0: draining"),
        "{}",
        rr.notes[0]
    );
    assert!(rr.notes[0].contains("share 0"), "{}", rr.notes[0]);

    let wrr = read(&mut three_weights("wrr"), &t);
    let shares: Vec<f64> = wrr.endpoints.iter().map(|e| e.probability).collect();
    assert_eq!(shares, [0.25, 0.75]);

    let wlc = read(&mut three_weights("wlc"), &t);
    assert_eq!(
        wlc.endpoints
            .iter()
            .map(|e| e.probability)
            .collect::<Vec<_>>(),
        [0.25, 0.75]
    );
    assert!(
        wlc.notes
            .iter()
            .any(|n| n.contains("scheduler wlc picks by connections")),
        "{:?}",
        wlc.notes
    );
}

#[test]
fn a_draining_server_is_neither_stale_nor_serving_to_the_judge() {
    let t = target("10.96.5.5", 80, Protocol::TCP);
    let p = read(&mut three_weights("rr"), &t);
    // The terminating endpoint is gone from the EndpointSlice: that is no stale endpoint.
    let hop = judge::judge(
        "node-a",
        &p,
        &[ep("10.244.1.6", 8080), ep("10.244.2.7", 8080)],
    );
    assert_eq!(hop.verdict, Verdict::Ok, "{}", hop.detail);
    // Still ready in the API but at weight 0 in IPVS: it gets no traffic, which is a fault.
    let ready = [
        ep("10.244.1.5", 8080),
        ep("10.244.1.6", 8080),
        ep("10.244.2.7", 8080),
    ];
    let hop = judge::judge("node-a", &p, &ready);
    assert_eq!(hop.reason, Some(Reason::MissingEndpoint), "{}", hop.detail);
    assert!(hop.detail.contains("10.244.1.5:8080"), "{}", hop.detail);
}

#[test]
fn the_judge_finds_stale_missing_and_no_endpoints_in_ipvs_programs() {
    let mut k = reference();
    let dns = read(&mut k, &target("10.0.0.10", 53, Protocol::UDP));
    // IPVS still sends to 172.17.0.2, the API now lists 172.17.0.3.
    let hop = judge::judge("node-a", &dns, &[ep("172.17.0.3", 53)]);
    assert_eq!(hop.verdict, Verdict::Fail);
    assert_eq!(hop.reason, Some(Reason::StaleEndpoint), "{}", hop.detail);
    // The API has a second ready endpoint IPVS does not balance to.
    let hop = judge::judge(
        "node-a",
        &dns,
        &[ep("172.17.0.2", 53), ep("172.17.0.4", 53)],
    );
    assert_eq!(hop.reason, Some(Reason::MissingEndpoint), "{}", hop.detail);

    // A virtual service with no real servers: the judge says no endpoints, naming it.
    let mut empty = KernelIpvs::new(vec![(
        kube_service(Proto::Tcp, "10.96.9.9", 8443, None),
        vec![],
    )]);
    let p = read(&mut empty, &target("10.96.9.9", 8443, Protocol::TCP));
    assert_eq!((p.lookup, p.endpoints.len()), (Lookup::Matched, 0));
    let hop = judge::judge("node-a", &p, &[ep("10.244.3.3", 8443)]);
    assert_eq!(hop.reason, Some(Reason::NoEndpoints), "{}", hop.detail);
    assert!(
        hop.detail
            .contains("TCP 10.96.9.9:8443 rr leads to no endpoint"),
        "{}",
        hop.detail
    );
}

#[test]
fn no_virtual_service_is_no_rule_and_no_ipvs_state_is_no_proxy_state() {
    let mut k = reference();
    let p = read(&mut k, &target("10.0.0.1", 80, Protocol::TCP));
    assert_eq!(p.lookup, Lookup::NoRule);
    assert!(
        p.notes[0].contains("IPVS holds 2 virtual services but none for TCP 10.0.0.1:80"),
        "{:?}",
        p.notes
    );
    let hop = judge::judge("node-a", &p, &[ep("10.244.0.5", 80)]);
    assert_eq!(hop.reason, Some(Reason::NoServiceRule), "{}", hop.detail);

    let p = read(
        &mut KernelIpvs::new(vec![]),
        &target("10.0.0.1", 443, Protocol::TCP),
    );
    assert_eq!(p.lookup, Lookup::NoProxyState);
    let hop = judge::judge("node-a", &p, &[ep("192.168.0.1", 6443)]);
    assert_eq!(hop.reason, Some(Reason::NoServiceRule));
    assert!(
        hop.detail.contains("IPVS has no virtual services"),
        "{}",
        hop.detail
    );

    let p = not_loaded(&target("10.0.0.1", 443, Protocol::TCP));
    assert_eq!((p.mode, p.lookup), (ProxyMode::Ipvs, Lookup::NoProxyState));
    assert!(
        p.notes[0].contains("ip_vs module is not loaded"),
        "{:?}",
        p.notes
    );
}

#[test]
fn other_forwarding_methods_are_noted() {
    let mut d = masq("10.244.1.6", 8080, 1, 0, 0);
    d.forward = Forward::Route;
    let mut k = KernelIpvs::new(vec![(
        kube_service(Proto::Tcp, "10.96.5.5", 80, None),
        vec![d],
    )]);
    let p = read(&mut k, &target("10.96.5.5", 80, Protocol::TCP));
    assert_eq!(
        p.endpoints[0].chain,
        "real server 10.244.1.6:8080 Route weight 1 (0 active, 0 inactive)"
    );
    assert!(
        p.notes
            .iter()
            .any(|n| n.contains("forwarded by Route, not Masq")),
        "{:?}",
        p.notes
    );
}

fn link(index: u32, name: &str) -> Link {
    Link {
        index,
        name: name.into(),
        kind: Some(LinkKind::from_kernel("dummy")),
        mac: None,
        mtu: 1500,
        oper_state: OperState::Unknown,
        admin_up: false,
        link: None,
        link_netnsid: None,
        master: None,
        hairpin: None,
        promiscuity: 0,
        tunnel: None,
    }
}

#[test]
fn the_vip_must_be_an_address_of_kube_ipvs0() {
    let links = [link(1, "lo"), link(5, KUBE_IPVS0)];
    let addr = |ifindex, ip: &str| Address {
        ifindex,
        ip: ip.parse().expect("ip"),
        prefix_len: 32,
    };
    let addrs = [
        addr(1, "127.0.0.1"),
        addr(5, "10.0.0.1"),
        addr(1, "10.0.0.10"),
    ];
    let at = |ip: &str| vip_binding(&links, &addrs, ip.parse().expect("ip"));
    assert_eq!(at("10.0.0.1"), VipBinding::OnKubeIpvs0);
    // On another device is not on kube-ipvs0.
    assert_eq!(at("10.0.0.10"), VipBinding::NotOnKubeIpvs0);
    assert_eq!(
        vip_binding(&links[..1], &addrs, "10.0.0.1".parse().expect("ip")),
        VipBinding::NoKubeIpvs0
    );
    assert_eq!(at("fd00::1"), VipBinding::Unknown);

    let t = target("10.0.0.10", 53, Protocol::UDP);
    let p = read_program(&mut reference(), &t, VipBinding::NotOnKubeIpvs0).expect("answers");
    assert!(
        p.not_local
            .as_deref()
            .is_some_and(|n| n.contains("10.0.0.10 is not an address of kube-ipvs0")),
        "{:?}",
        p.not_local
    );
    // The node never hands such packets to IPVS: a Fail that says why, whatever the rules say.
    let expected = [Endpoint {
        ip: [172, 17, 0, 2].into(),
        port: 53,
    }];
    let hop = crate::dataplane::kube_proxy::judge::judge("node-a", &p, &expected);
    assert_eq!(
        hop.reason,
        Some(netdiag_model::Reason::VipNotLocal),
        "{}",
        hop.detail
    );
    assert!(
        hop.detail
            .contains("balances 10.0.0.10:53/udp in IPVS, but"),
        "{}",
        hop.detail
    );
    let p = read_program(&mut reference(), &t, VipBinding::NoKubeIpvs0).expect("answers");
    assert!(
        p.not_local
            .as_deref()
            .is_some_and(|n| n.contains("no kube-ipvs0 device")),
        "{:?}",
        p.not_local
    );
    let p = read_program(&mut reference(), &t, VipBinding::OnKubeIpvs0).expect("answers");
    assert_eq!(p.not_local, None);
}

#[test]
fn a_target_ipvs_cannot_be_asked_about_is_a_clear_error() {
    let err = key_of(&target("10.0.0.1", 80, Protocol::Unknown)).expect_err("bad protocol");
    assert!(err.to_string().contains("not protocol unknown"), "{err}");
}

#[test]
fn on_this_kernel_the_real_reader_answers_without_error() {
    // Real: the socket, rtnetlink and the family lookup in this namespace. Without ip_vs the
    // answer is "no IPVS state"; with it, a key no Service uses is no rule or no state.
    let p = super::read(&target("127.0.0.1", 9, Protocol::TCP), &[]).expect("reads");
    assert_eq!(p.mode, ProxyMode::Ipvs);
    assert_ne!(p.lookup, Lookup::Matched);
    if !std::path::Path::new("/sys/module/ip_vs").exists() {
        assert_eq!(p.lookup, Lookup::NoProxyState);
        assert!(
            p.notes[0].contains("ip_vs module is not loaded"),
            "{:?}",
            p.notes
        );
    }
}

#[test]
fn an_address_in_none_of_kube_proxys_ipsets_is_noted() {
    let none = [("KUBE-CLUSTER-IP", Some(false)), ("KUBE-EXTERNAL-IP", None)];
    let note = ipset_note("10.0.0.10:53/udp", &none).expect("a note");
    assert!(
        note.starts_with("10.0.0.10:53/udp is in none of kube-proxy's ipsets (KUBE-CLUSTER-IP)"),
        "{note}"
    );
    assert_eq!(ipset_note("a", &[("KUBE-CLUSTER-IP", Some(true))]), None);
    assert_eq!(
        ipset_note("a", &[("KUBE-CLUSTER-IP", None)]),
        None,
        "no ipsets: nothing to say"
    );
}

#[test]
fn the_cluster_ip_masquerade_rule_of_ipvs_mode_is_recognised() {
    use crate::dataplane::netfilter::iptables::save::parse_listing;
    let listing = "-N KUBE-SERVICES\n-A KUBE-SERVICES ! -s 10.244.0.0/16 -m comment --comment \"Kubernetes service cluster ip + port for masquerade purpose\" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ\n-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT\n";
    let rules = parse_listing(listing).rules;
    assert!(masquerades_cluster_ips(&rules));
    assert!(!masquerades_cluster_ips(&rules[1..]));
}
