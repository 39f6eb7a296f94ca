use std::net::Ipv4Addr;

use netdiag_model::Protocol;

use super::super::{GenConfig, GenPort, GenService};
use super::*;

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn web(endpoints: &[&str]) -> GenService {
    let mut port = GenPort::new(
        Some("http"),
        80,
        Protocol::TCP,
        8080,
        endpoints.iter().map(|e| ip(e)).collect(),
    );
    port.node_port = Some(30080);
    GenService::new("default", "web", ip("10.96.0.20")).port(port)
}

fn lines(script: &str) -> Vec<&str> {
    script.lines().collect()
}

#[test]
fn base_without_node_ips_matches_every_local_address_for_node_ports() {
    let s = render_nft(&[], &GenConfig::new("10.244.0.0/16"));
    assert!(!s.contains("nodeport-ips"), "{s}");
    assert!(s.contains(
        "add rule ip kube-proxy services fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports\n"
    ));
    assert!(!s.contains("Drop traffic to unallocated ClusterIPs"));
}

#[test]
fn external_traffic_policy_local_goes_to_a_local_chain_of_the_local_endpoints() {
    let mut svc = web(&["10.244.1.5", "10.244.2.7"]);
    svc.external_traffic_local = true;
    let cfg = GenConfig {
        local_endpoint_ips: vec![ip("10.244.2.7")],
        node_ips: vec![ip("172.18.0.3")],
        ..GenConfig::new("10.244.0.0/16")
    };
    let s = render_nft(&[svc], &cfg);
    let l = lines(&s);
    let local = l
        .iter()
        .find(|x| x.starts_with("add chain ip kube-proxy local-"))
        .expect("a local- chain")
        .trim_start_matches("add chain ip kube-proxy ")
        .to_string();
    assert!(local.ends_with("-default/web/tcp/http"), "{local}");
    // one arm: the local endpoint only
    let lb = l
        .iter()
        .find(|x| x.starts_with(&format!("add rule ip kube-proxy {local} numgen")))
        .expect("local balancing rule");
    assert!(
        lb.contains("numgen random mod 1 vmap { 0 : goto endpoint-"),
        "{lb}"
    );
    assert!(lb.contains("__10.244.2.7/8080 }"), "{lb}");
    // the external chain ends by going to it; the cluster chain still serves the ClusterIP
    let ext = local.replacen("local-", "external-", 1);
    assert!(
        s.contains(&format!("add rule ip kube-proxy {ext} goto {local}\n")),
        "{s}"
    );
    assert!(s.contains("mod 2 vmap"), "{s}");
    assert!(
        !s.contains("add element ip kube-proxy no-endpoint-nodeports"),
        "{s}"
    );
}

#[test]
fn internal_traffic_policy_local_without_local_endpoints_drops_the_cluster_ip() {
    let mut svc = web(&["10.244.1.5"]);
    svc.ports[0].node_port = None;
    svc.internal_traffic_local = true;
    let s = render_nft(&[svc], &GenConfig::new("10.244.0.0/16"));
    assert!(
        s.contains(
            "add element ip kube-proxy no-endpoint-services { 10.96.0.20 . tcp . 80 comment \"default/web:http\" : drop }\n"
        ),
        "{s}"
    );
    // no chain at all for the Service: nothing can serve it here
    assert!(!s.contains("-default/web/"), "{s}");
}

#[test]
fn a_service_with_no_endpoints_is_rejected_on_its_node_port_too() {
    let s = render_nft(&[web(&[])], &GenConfig::new("10.244.0.0/16"));
    assert!(s.contains(
        "add element ip kube-proxy no-endpoint-nodeports { tcp . 30080 comment \"default/web:http\" : goto reject-chain }\n"
    ));
    assert!(
        !s.contains("add element ip kube-proxy service-nodeports"),
        "{s}"
    );
}

#[test]
fn a_multi_port_service_has_its_cluster_ip_once_and_an_unnamed_port_an_empty_part() {
    let mut svc = GenService::new("kube-system", "dns", ip("10.96.0.10"));
    for proto in [Protocol::UDP, Protocol::TCP] {
        svc = svc.port(GenPort::new(None, 53, proto, 53, vec![ip("10.244.2.4")]));
    }
    let s = render_nft(&[svc], &GenConfig::new("10.244.0.0/16"));
    assert_eq!(s.matches("cluster-ips { 10.96.0.10 }").count(), 1);
    assert!(s.contains("-kube-system/dns/udp/ : goto") || s.contains("-kube-system/dns/udp/\n"));
    assert!(s.contains("meta l4proto udp dnat to 10.244.2.4:53"));
    assert!(
        s.contains("comment") && !s.contains("kube-system/dns:"),
        "{s}"
    );
}

#[test]
fn declarations_first_moves_only_declarations_and_drops_comments() {
    let text = "# c\nadd rule ip t c1 goto c2\n\nadd chain ip t c2\nadd element ip t s { 1 }\n";
    assert_eq!(
        declarations_first(text),
        "add chain ip t c2\nadd rule ip t c1 goto c2\nadd element ip t s { 1 }\n"
    );
}
