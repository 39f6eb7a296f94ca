//! The objects kube-proxy's `setupNFTables` creates whatever the Services: the table, its base
//! chains with their hooks and priorities, the dispatch maps, the no-endpoint and firewall
//! checks, masquerading. Text and comments as in `baseRules` of `proxier_test.go`.

use super::super::GenConfig;
use super::{MASQ_MARK, Script, TABLE};

const ADDR_PROTO_PORT: &str = "ipv4_addr . inet_proto . inet_service : verdict";
const PROTO_PORT: &str = "inet_proto . inet_service : verdict";

/// The base chains: filter checks before DNAT (-110) and after it (0), NAT at DNAT/SNAT.
const BASE_CHAINS: [(&str, &str); 8] = [
    (
        "filter-prerouting-pre-dnat",
        "type filter hook prerouting priority -110",
    ),
    (
        "filter-output-pre-dnat",
        "type filter hook output priority -110",
    ),
    ("filter-forward", "type filter hook forward priority 0"),
    ("filter-input", "type filter hook input priority 0"),
    ("filter-output", "type filter hook output priority 0"),
    ("nat-output", "type nat hook output priority -100"),
    ("nat-postrouting", "type nat hook postrouting priority 100"),
    ("nat-prerouting", "type nat hook prerouting priority -100"),
];

pub(super) fn base_rules(s: &mut Script, cfg: &GenConfig) {
    s.declare(
        &format!("table {TABLE}"),
        Some("comment \"rules for kube-proxy\""),
    );
    s.declare(
        &format!("set {TABLE} cluster-ips"),
        Some("type ipv4_addr ; comment \"Active ClusterIPs\""),
    );
    // kube-proxy's --nodeport-addresses default ("primary") is the node IPs: a set of them.
    // With no node IP it matches every local address (kube-proxy deletes the set then).
    let node_port_set = !cfg.node_ips.is_empty();
    if node_port_set {
        s.declare(
            &format!("set {TABLE} nodeport-ips"),
            Some("type ipv4_addr ; comment \"IPs that accept NodePort traffic\""),
        );
    }
    for (name, key, comment) in [
        (
            "firewall-ips",
            ADDR_PROTO_PORT,
            "destinations that are subject to LoadBalancerSourceRanges",
        ),
        (
            "no-endpoint-nodeports",
            PROTO_PORT,
            "vmap to drop or reject packets to service nodeports with no endpoints",
        ),
        (
            "no-endpoint-services",
            ADDR_PROTO_PORT,
            "vmap to drop or reject packets to services with no endpoints",
        ),
        (
            "service-ips",
            ADDR_PROTO_PORT,
            "ClusterIP, ExternalIP and LoadBalancer IP traffic",
        ),
        ("service-nodeports", PROTO_PORT, "NodePort traffic"),
    ] {
        s.declare(
            &format!("map {TABLE} {name}"),
            Some(&format!("type {key} ; comment \"{comment}\"")),
        );
    }
    for (name, props) in BASE_CHAINS {
        s.declare(&format!("chain {TABLE} {name}"), Some(props));
    }
    for name in [
        "cluster-ips-check",
        "firewall-check",
        "mark-for-masquerade",
        "masquerading",
        "nodeport-endpoints-check",
        "services",
        "service-endpoints-check",
    ] {
        s.chain(name);
    }
    s.declare(
        &format!("chain {TABLE} reject-chain"),
        Some("comment \"helper for @no-endpoint-services / @no-endpoint-nodeports\""),
    );

    s.rule(
        "cluster-ips-check",
        format_args!(
            "ip daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\""
        ),
    );
    if !cfg.service_cidr.is_empty() {
        s.rule(
            "cluster-ips-check",
            format_args!(
                "ip daddr {{ {} }} drop comment \"Drop traffic to unallocated ClusterIPs\"",
                cfg.service_cidr
            ),
        );
    }
    // kube-proxy's nftablesJumpChains, in its order.
    let new = "ct state new";
    for (from, to) in [
        ("filter-input", "nodeport-endpoints-check"),
        ("filter-input", "service-endpoints-check"),
        ("filter-forward", "service-endpoints-check"),
        ("filter-output", "service-endpoints-check"),
        ("filter-prerouting-pre-dnat", "firewall-check"),
        ("filter-output-pre-dnat", "firewall-check"),
    ] {
        s.rule(from, format_args!("{new} jump {to}"));
    }
    s.rule("nat-output", format_args!("jump services"));
    s.rule("nat-prerouting", format_args!("jump services"));
    s.rule("nat-postrouting", format_args!("jump masquerading"));
    s.rule(
        "filter-forward",
        format_args!("{new} jump cluster-ips-check"),
    );
    s.rule(
        "filter-output",
        format_args!("{new} jump cluster-ips-check"),
    );

    s.rule(
        "mark-for-masquerade",
        format_args!("mark set mark or {MASQ_MARK}"),
    );
    s.rule(
        "masquerading",
        format_args!("mark and {MASQ_MARK} == 0 return"),
    );
    s.rule(
        "masquerading",
        format_args!("mark set mark xor {MASQ_MARK}"),
    );
    s.rule("masquerading", format_args!("masquerade fully-random"));

    for ip in &cfg.node_ips {
        s.element("nodeport-ips", &ip.to_string());
    }
    s.rule("reject-chain", format_args!("reject"));
    s.rule(
        "service-endpoints-check",
        format_args!("ip daddr . meta l4proto . th dport vmap @no-endpoint-services"),
    );
    let (np_match, np_services) = if node_port_set {
        ("ip daddr @nodeport-ips", "ip daddr @nodeport-ips")
    } else {
        (
            "ip daddr != 127.0.0.0/8",
            "fib daddr type local ip daddr != 127.0.0.0/8",
        )
    };
    s.rule(
        "nodeport-endpoints-check",
        format_args!("{np_match} meta l4proto . th dport vmap @no-endpoint-nodeports"),
    );
    s.rule(
        "firewall-check",
        format_args!("ip daddr . meta l4proto . th dport vmap @firewall-ips"),
    );
    s.rule(
        "services",
        format_args!("ip daddr . meta l4proto . th dport vmap @service-ips"),
    );
    s.rule(
        "services",
        format_args!("{np_services} meta l4proto . th dport vmap @service-nodeports"),
    );
}
