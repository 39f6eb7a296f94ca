//! kube-proxy's rules for one lab node: the `iptables-restore` input (iptables mode) or the
//! `nft -f` script (nftables mode) the lab loads into the node's namespace, as kube-proxy would
//! program it, from the shared generator ([`crate::generate`]). The lab produces rules through
//! [`kube_proxy_rules`] and [`kube_proxy_nft`] only.

use std::net::Ipv4Addr;

use crate::generate::{GenConfig, GenPort, GenService, render_nft, render_restore};

use super::spec::{LabSpec, TrafficPolicy};

/// What kube-proxy on `node` is told: every Service with its endpoints' IPs, and which of those
/// endpoints are local to the node.
pub fn gen_input(spec: &LabSpec, node: &str) -> (Vec<GenService>, GenConfig) {
    let services = spec
        .services
        .iter()
        .map(|s| {
            let endpoints: Vec<Ipv4Addr> = s
                .endpoints
                .iter()
                .filter_map(|p| spec.pod(p).map(|p| p.ip))
                .collect();
            GenService {
                namespace: s.namespace.clone(),
                name: s.name.clone(),
                cluster_ip: s.cluster_ip,
                ports: s
                    .ports
                    .iter()
                    .map(|p| GenPort {
                        name: p.name.clone(),
                        port: p.port,
                        protocol: p.protocol,
                        target_port: p.target_port,
                        node_port: p.node_port,
                        endpoints: endpoints.clone(),
                    })
                    .collect(),
                affinity_seconds: None,
                external_traffic_local: s.external_traffic_policy == TrafficPolicy::Local,
                internal_traffic_local: false,
                external_ips: Vec::new(),
                load_balancer_ips: Vec::new(),
                load_balancer_source_ranges: Vec::new(),
            }
        })
        .collect();
    let cfg = GenConfig {
        cluster_cidr: spec.cluster_cidr.to_string(),
        node_ips: spec.node(node).map(|n| vec![n.ip]).unwrap_or_default(),
        local_endpoint_ips: spec.pods_on(node).map(|p| p.ip).collect(),
        comments: true,
        service_cidr: spec.service_cidr.to_string(),
    };
    (services, cfg)
}

/// The `iptables-restore` input for `node`: `*filter ... COMMIT *nat ... COMMIT`.
pub fn kube_proxy_rules(spec: &LabSpec, node: &str) -> String {
    let (services, cfg) = gen_input(spec, node);
    render_restore(&services, &cfg)
}

/// The `nft -f` script for `node`: `table ip kube-proxy` as kube-proxy in nftables mode leaves it.
pub fn kube_proxy_nft(spec: &LabSpec, node: &str) -> String {
    let (services, cfg) = gen_input(spec, node);
    render_nft(&services, &cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_a_is_told_its_own_endpoints_and_its_node_ip() {
        let spec = LabSpec::default();
        let (services, cfg) = gen_input(&spec, "node-a");
        assert_eq!(cfg.node_ips, vec![Ipv4Addr::new(172, 18, 0, 2)]);
        assert_eq!(
            cfg.local_endpoint_ips,
            vec![Ipv4Addr::new(10, 244, 1, 2), Ipv4Addr::new(10, 244, 1, 3)]
        );
        assert_eq!(cfg.cluster_cidr, "10.244.0.0/16");
        let echo = &services[0];
        assert_eq!(echo.ports[0].endpoints.len(), 3);
        assert_eq!(echo.ports[0].node_port, Some(30080));
        let dns = &services[1];
        assert_eq!(dns.ports.len(), 2);
        assert_eq!(dns.ports[0].endpoints, vec![Ipv4Addr::new(10, 244, 2, 4)]);
    }

    #[test]
    fn rules_dnat_the_echo_vip_to_three_endpoints_with_upstream_chain_names() {
        let rules = kube_proxy_rules(&LabSpec::default(), "node-a");
        assert!(rules.starts_with("*filter\n") && rules.ends_with("COMMIT\n"));
        assert!(rules.contains("-d 10.96.45.10/32 -p tcp"), "{rules}");
        assert!(rules.contains("--to-destination 10.244.2.3:8080"));
        assert_eq!(
            rules.matches("-j DNAT --to-destination 10.244.").count(),
            3 + 2
        );
        assert!(rules.contains("--dport 30080"));
        // upstream's hash for "kube-system/kube-dns:dns" + "udp" (reference/dataplane.md)
        assert!(rules.contains("KUBE-SVC-TCOU7JCQXEZGVUNU"), "{rules}");
        assert!(rules.contains("-d 10.96.0.10/32 -p udp"));
    }

    #[test]
    fn the_nft_script_dispatches_both_vips_and_the_node_port_on_the_node_ip() {
        let s = kube_proxy_nft(&LabSpec::default(), "node-b");
        assert!(
            s.contains("add element ip kube-proxy nodeport-ips { 172.18.0.3 }\n"),
            "{s}"
        );
        assert!(s.contains("ip daddr { 10.96.0.0/12 } drop"), "{s}");
        for key in [
            "10.96.45.10 . tcp . 80",
            "10.96.0.10 . udp . 53",
            "10.96.0.10 . tcp . 53",
        ] {
            assert!(
                s.contains(&format!("service-ips {{ {key} : goto service-")),
                "{key}"
            );
        }
        assert!(
            s.contains("service-nodeports { tcp . 30080 : goto external-"),
            "{s}"
        );
        assert!(s.contains("numgen random mod 3 vmap"), "{s}");
        assert!(
            s.contains("ip saddr != 10.244.0.0/16 jump mark-for-masquerade"),
            "{s}"
        );
        assert!(
            s.contains("meta l4proto tcp dnat to 10.244.2.3:8080"),
            "{s}"
        );
    }
}
