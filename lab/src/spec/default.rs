//! The default lab: the seeds' cluster shape.

use std::net::Ipv4Addr;

use netdiag_model::Protocol;

use super::*;

impl Default for LabSpec {
    /// The seeds' lab: a curl pod and an echo Service with three endpoints over two nodes, with
    /// kube-dns on node-b and nodelocaldns on both nodes.
    fn default() -> Self {
        let ip = |s: &str| -> Ipv4Addr { s.parse().unwrap_or(Ipv4Addr::UNSPECIFIED) };
        let net = |s: &str| -> Ipv4Net {
            s.parse().unwrap_or(Ipv4Net {
                addr: Ipv4Addr::UNSPECIFIED,
                prefix: 32,
            })
        };
        let pod = |name: &str, ns: &str, node: &str, addr: &str, tcp: Vec<u16>| PodSpec {
            name: name.into(),
            namespace: ns.into(),
            node: node.into(),
            ip: ip(addr),
            tcp,
            udp: vec![],
        };
        let port = |name: &str, port: u16, protocol: Protocol, target: u16, np: Option<u16>| {
            ServicePortSpec {
                name: Some(name.into()),
                port,
                protocol,
                target_port: target,
                node_port: np,
            }
        };
        LabSpec {
            cluster_cidr: net("10.244.0.0/16"),
            service_cidr: net("10.96.0.0/12"),
            node_network: net("172.18.0.0/16"),
            nodes: vec![
                NodeSpec {
                    name: "node-a".into(),
                    pod_cidr: net("10.244.1.0/24"),
                    ip: ip("172.18.0.2"),
                },
                NodeSpec {
                    name: "node-b".into(),
                    pod_cidr: net("10.244.2.0/24"),
                    ip: ip("172.18.0.3"),
                },
            ],
            pods: vec![
                pod("curl", "default", "node-a", "10.244.1.2", vec![]),
                pod("echo-1", "default", "node-a", "10.244.1.3", vec![8080]),
                pod("echo-2", "default", "node-b", "10.244.2.2", vec![8080]),
                pod("echo-3", "default", "node-b", "10.244.2.3", vec![8080]),
                pod("coredns", "kube-system", "node-b", "10.244.2.4", vec![]),
            ],
            services: vec![
                ServiceSpec {
                    namespace: "default".into(),
                    name: "echo-service".into(),
                    cluster_ip: ip("10.96.45.10"),
                    ports: vec![port("http", 80, Protocol::TCP, 8080, Some(30080))],
                    endpoints: vec!["echo-1".into(), "echo-2".into(), "echo-3".into()],
                    external_traffic_policy: TrafficPolicy::Cluster,
                },
                ServiceSpec {
                    namespace: "kube-system".into(),
                    name: "kube-dns".into(),
                    cluster_ip: ip("10.96.0.10"),
                    ports: vec![
                        port("dns", 53, Protocol::UDP, 53, None),
                        port("dns-tcp", 53, Protocol::TCP, 53, None),
                    ],
                    endpoints: vec!["coredns".into()],
                    external_traffic_policy: TrafficPolicy::Cluster,
                },
            ],
            dns: DnsSpec {
                pod: "coredns".into(),
                cluster_ip: ip("10.96.0.10"),
                node_local: ip("169.254.25.10"),
                domain: "cluster.local".into(),
            },
            proxy_mode: ProxyMode::Iptables,
            hairpin: true,
            cni: Cni::default(),
        }
    }
}
