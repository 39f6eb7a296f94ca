//! kube-proxy's rules for one lab node: the `iptables-restore` input the lab loads into the node's
//! namespace, as kube-proxy in iptables mode would program it.
//!
//! The lab produces rules through [`kube_proxy_rules`] only. Until the shared generator
//! (`crate::kubeproxy::generate`) lands, a small stand-in below renders the same shape
//! (KUBE-SERVICES -> KUBE-SVC-<hash> -> KUBE-SEP-<hash> -> DNAT, with upstream's chain hashes).

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use data_encoding::BASE32;
use netdiag_crds::Protocol;
use sha2::{Digest, Sha256};

use super::spec::LabSpec;

/// The generator's input, field for field (`GenService`/`GenPort`/`GenConfig` of
/// `crate::kubeproxy::generate`), so switching to it changes only type paths.
#[derive(Clone, Debug, PartialEq)]
pub struct LabGenConfig {
    pub cluster_cidr: String,
    pub node_ips: Vec<Ipv4Addr>,
    pub local_endpoint_ips: Vec<Ipv4Addr>,
    pub comments: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LabGenService {
    pub namespace: String,
    pub name: String,
    pub cluster_ip: Ipv4Addr,
    pub ports: Vec<LabGenPort>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LabGenPort {
    pub name: Option<String>,
    pub port: u16,
    pub protocol: Protocol,
    pub target_port: u16,
    pub node_port: Option<u16>,
    pub endpoints: Vec<Ipv4Addr>,
}

/// What kube-proxy on `node` is told: every Service with its endpoints' IPs, and which of those
/// endpoints are local to the node.
pub fn gen_input(spec: &LabSpec, node: &str) -> (Vec<LabGenService>, LabGenConfig) {
    let services = spec
        .services
        .iter()
        .map(|s| {
            let endpoints: Vec<Ipv4Addr> = s
                .endpoints
                .iter()
                .filter_map(|p| spec.pod(p).map(|p| p.ip))
                .collect();
            LabGenService {
                namespace: s.namespace.clone(),
                name: s.name.clone(),
                cluster_ip: s.cluster_ip,
                ports: s
                    .ports
                    .iter()
                    .map(|p| LabGenPort {
                        name: p.name.clone(),
                        port: p.port,
                        protocol: p.protocol,
                        target_port: p.target_port,
                        node_port: p.node_port,
                        endpoints: endpoints.clone(),
                    })
                    .collect(),
            }
        })
        .collect();
    let cfg = LabGenConfig {
        cluster_cidr: spec.cluster_cidr.to_string(),
        node_ips: spec.node(node).map(|n| vec![n.ip]).unwrap_or_default(),
        local_endpoint_ips: spec.pods_on(node).map(|p| p.ip).collect(),
        comments: true,
    };
    (services, cfg)
}

/// The `iptables-restore` input for `node`: `*filter ... COMMIT *nat ... COMMIT`.
pub fn kube_proxy_rules(spec: &LabSpec, node: &str) -> String {
    let (services, cfg) = gen_input(spec, node);
    render_stand_in(&services, &cfg)
}

fn hash16(input: &str) -> String {
    let digest = Sha256::digest(input.as_bytes());
    BASE32.encode(&digest)[..16].to_string()
}

fn port_name(svc: &LabGenService, port: &LabGenPort) -> String {
    match &port.name {
        Some(n) => format!("{}/{}:{n}", svc.namespace, svc.name),
        None => format!("{}/{}", svc.namespace, svc.name),
    }
}

/// A stand-in for the shared generator: ClusterIP and NodePort rules in kube-proxy's shape.
fn render_stand_in(services: &[LabGenService], cfg: &LabGenConfig) -> String {
    let mut chains = vec![
        "KUBE-SERVICES".to_string(),
        "KUBE-NODEPORTS".into(),
        "KUBE-POSTROUTING".into(),
        "KUBE-MARK-MASQ".into(),
    ];
    let mut rules = vec![
        r#"-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES"#.to_string(),
        r#"-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES"#.into(),
        r#"-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING"#.into(),
        "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000".into(),
        "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN".into(),
        "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0".into(),
        r#"-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully"#.into(),
    ];
    let mut last = Vec::new();
    for svc in services {
        for port in &svc.ports {
            let spn = port_name(svc, port);
            let proto = port.protocol.as_lower();
            let svc_chain = format!("KUBE-SVC-{}", hash16(&format!("{spn}{proto}")));
            if port.endpoints.is_empty() {
                continue;
            }
            chains.push(svc_chain.clone());
            let (ip, p) = (svc.cluster_ip, port.port);
            rules.push(format!(
                r#"-A KUBE-SERVICES -d {ip}/32 -p {proto} -m comment --comment "{spn} cluster IP" -m {proto} --dport {p} -j {svc_chain}"#
            ));
            rules.push(format!(
                r#"-A {svc_chain} ! -s {} -d {ip}/32 -p {proto} -m comment --comment "{spn} cluster IP" -m {proto} --dport {p} -j KUBE-MARK-MASQ"#,
                cfg.cluster_cidr
            ));
            if let Some(np) = port.node_port {
                let ext = format!("KUBE-EXT-{}", hash16(&format!("{spn}{proto}")));
                chains.push(ext.clone());
                rules.push(format!(
                    r#"-A KUBE-NODEPORTS -p {proto} -m comment --comment "{spn}" -m {proto} --dport {np} -j {ext}"#
                ));
                rules.push(format!(
                    r#"-A {ext} -m comment --comment "masquerade traffic for {spn} external destinations" -j KUBE-MARK-MASQ"#
                ));
                rules.push(format!("-A {ext} -j {svc_chain}"));
            }
            let n = port.endpoints.len();
            for (i, ep) in port.endpoints.iter().enumerate() {
                let tp = port.target_port;
                let sep = format!("KUBE-SEP-{}", hash16(&format!("{spn}{proto}{ep}:{tp}")));
                chains.push(sep.clone());
                let stat = if i + 1 < n {
                    format!(
                        " -m statistic --mode random --probability {:.11}",
                        1.0 / (n - i) as f64
                    )
                } else {
                    String::new()
                };
                rules.push(format!(
                    r#"-A {svc_chain} -m comment --comment "{spn} -> {ep}:{tp}"{stat} -j {sep}"#
                ));
                rules.push(format!(
                    r#"-A {sep} -s {ep}/32 -m comment --comment "{spn}" -j KUBE-MARK-MASQ"#
                ));
                rules.push(format!(
                    r#"-A {sep} -p {proto} -m comment --comment "{spn}" -m {proto} -j DNAT --to-destination {ep}:{tp}"#
                ));
            }
        }
    }
    last.push(r#"-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS"#.to_string());
    let mut out = String::from(
        "*filter\n:KUBE-FORWARD - [0:0]\n\
-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD\n\
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP\n\
-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark 0x4000/0x4000 -j ACCEPT\n\
COMMIT\n*nat\n",
    );
    for c in &chains {
        let _ = writeln!(out, ":{c} - [0:0]");
    }
    for r in rules.iter().chain(&last) {
        let _ = writeln!(out, "{r}");
    }
    out.push_str("COMMIT\n");
    out
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
        assert!(rules.contains("--probability 0.33333333333"));
        assert!(rules.contains("--dport 30080"));
        // upstream's hash for "kube-system/kube-dns:dns" + "udp" (reference/dataplane.md)
        assert!(rules.contains("KUBE-SVC-TCOU7JCQXEZGVUNU"), "{rules}");
        assert!(rules.contains("-d 10.96.0.10/32 -p udp"));
    }
}
