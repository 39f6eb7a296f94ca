use super::*;

fn services(n: usize) -> Option<IptablesFacts> {
    Some(IptablesFacts {
        services_rules: Some(n),
        ..Default::default()
    })
}

fn links(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[test]
fn kube_proxys_answer_wins_and_names_what_other_modes_left() {
    let facts = Facts {
        proxy_mode: Some("nftables".into()),
        nft_table: true,
        iptables_nft: services(12),
        ..Default::default()
    };
    let d = decide(&facts);
    assert_eq!(d.mode, ProxyMode::Nftables);
    assert_eq!(
        d.how,
        "kube-proxy's /proxyMode on 127.0.0.1:10249 answered nftables"
    );
    assert_eq!(
        d.leftovers,
        ["KUBE-SERVICES in the nf_tables nat table (12 rules) from iptables mode"]
    );
}

#[test]
fn fingerprints_decide_without_an_answer() {
    let nft = Facts {
        nft_table: true,
        ..Default::default()
    };
    assert_eq!(decide(&nft).mode, ProxyMode::Nftables);
    assert_eq!(decide(&nft).how, "table ip kube-proxy exists");

    let ipvs = Facts {
        iptables_nft: Some(IptablesFacts {
            services_rules: Some(3),
            ipset_match: true,
            kubelet_hint: true,
        }),
        links: links(&["kube-ipvs0"]),
        ..Default::default()
    };
    assert_eq!(decide(&ipvs).mode, ProxyMode::Ipvs);
    // kube-ipvs0 without IPVS-shaped rules is what IPVS mode left on an iptables node.
    let stale_ipvs = Facts {
        iptables_nft: services(3),
        links: links(&["kube-ipvs0"]),
        ..Default::default()
    };
    let d = decide(&stale_ipvs);
    assert_eq!(d.mode, ProxyMode::Iptables(Some(IptablesBackend::NfTables)));
    assert_eq!(d.leftovers, ["the kube-ipvs0 link from IPVS mode"]);

    let kube_router = Facts {
        links: links(&["kube-dummy-if"]),
        ..Default::default()
    };
    assert_eq!(decide(&kube_router).mode, ProxyMode::Ipvs);
}

#[test]
fn an_empty_nftables_table_beside_iptables_rules_is_a_leftover() {
    let facts = Facts {
        nft_table: true,
        nft_services: Some(0),
        iptables_nft: services(40),
        ..Default::default()
    };
    let d = decide(&facts);
    assert_eq!(d.mode, ProxyMode::Iptables(Some(IptablesBackend::NfTables)));
    assert_eq!(
        d.leftovers,
        ["an empty table ip kube-proxy from nftables mode"]
    );
}

#[test]
fn nodes_without_kube_proxy_name_what_replaces_it() {
    let cilium = Facts {
        links: links(&["cilium_host", "cilium_net"]),
        ..Default::default()
    };
    assert_eq!(
        decide(&cilium).mode,
        ProxyMode::Replaced(Replacement::Cilium)
    );
    let calico = Facts {
        calico_bpf: true,
        ..Default::default()
    };
    assert_eq!(
        decide(&calico).mode,
        ProxyMode::Replaced(Replacement::CalicoEbpf)
    );
    assert_eq!(
        decide(&Facts::default()).mode,
        ProxyMode::Replaced(Replacement::Unknown)
    );
    // Cilium beside a kube-proxy that still runs: kube-proxy's rules are read.
    let both = Facts {
        iptables_nft: services(5),
        links: links(&["cilium_host"]),
        ..Default::default()
    };
    assert_eq!(
        decide(&both).mode,
        ProxyMode::Iptables(Some(IptablesBackend::NfTables))
    );
}

#[test]
fn two_iptables_backends_are_chosen_like_kubelet_and_iptables_wrappers() {
    let hinted_legacy = Facts {
        iptables_nft: services(400),
        iptables_legacy: Some(IptablesFacts {
            services_rules: Some(3),
            kubelet_hint: true,
            ..Default::default()
        }),
        ..Default::default()
    };
    let d = decide(&hinted_legacy);
    assert_eq!(d.mode, ProxyMode::Iptables(Some(IptablesBackend::Legacy)));
    assert_eq!(
        d.how,
        "the nat table has kube-proxy's KUBE-SERVICES chain; iptables-nft and iptables-legacy both hold KUBE-SERVICES; read legacy, because kubelet's KUBE-IPTABLES-HINT/KUBE-KUBELET-CANARY chains are there"
    );
    let counted = Facts {
        iptables_nft: services(4),
        iptables_legacy: services(90),
        ..Default::default()
    };
    let d = decide(&counted);
    assert_eq!(d.mode, ProxyMode::Iptables(Some(IptablesBackend::Legacy)));
    assert!(
        d.how.ends_with("(4 in nf_tables, 90 in legacy)"),
        "{}",
        d.how
    );
    let tie = Facts {
        iptables_nft: services(7),
        iptables_legacy: services(7),
        ..Default::default()
    };
    assert_eq!(
        decide(&tie).mode,
        ProxyMode::Iptables(Some(IptablesBackend::NfTables))
    );
}

#[test]
fn an_answer_netdiag_cannot_read_falls_back_to_fingerprints() {
    let facts = Facts {
        proxy_mode: Some("kernelspace".into()),
        iptables_nft: services(2),
        ..Default::default()
    };
    let d = decide(&facts);
    assert_eq!(d.mode, ProxyMode::Iptables(Some(IptablesBackend::NfTables)));
    assert!(d.how.contains("answered \"kernelspace\""), "{}", d.how);
}
