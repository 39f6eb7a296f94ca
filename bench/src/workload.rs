//! The synthetic cluster: N Services x M endpoints, fed to the shared kube-proxy rule generator
//! (`netdiag_lab::generate`), never a second generator.
//!
//! The mix covers the rule shapes kube-proxy writes: named and unnamed ports, TCP and UDP, a second
//! port on some Services, ClientIP affinity, NodePorts, externalTrafficPolicy=Local and
//! internalTrafficPolicy=Local. It is a pure function of (N, M), so every run loads the same rules.
//!
//! Also compiled into the agent's criterion bench (`agent/benches/parse_walk.rs`, via `#[path]`),
//! so the crate-local items it uses stay limited to the agent's and crds' public APIs.

use std::net::Ipv4Addr;

use netdiag_lab::generate::{GenConfig, GenPort, GenService, render_nft};
use netdiag_model::{Endpoint, PlanTarget, Protocol};

/// Endpoints live in 10.244.0.0/16 (the cluster CIDR), 250 per /24: this many fit.
const MAX_ENDPOINTS: usize = 250 * 256;
/// The node-local pod range: endpoints here count as local to the bench's node.
const LOCAL_OCTET: u8 = 0;
const TARGET_PORT: u16 = 8080;

/// The workload does not fit the address plan.
#[derive(Debug, thiserror::Error)]
#[error(
    "{} Services x {} endpoints do not fit the bench's address plan (at most {MAX_ENDPOINTS} endpoints in 10.244.0.0/16)",
    .0.services,
    .0.endpoints
)]
pub struct TooLarge(pub Workload);

/// N Services x M endpoints.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    pub services: usize,
    pub endpoints: usize,
}

fn endpoint_ip(k: usize) -> Ipv4Addr {
    // Host parts .2-.251, so no address looks like a network or gateway address.
    let third = (k / 250) as u8;
    let fourth = (k % 250) as u8 + 2;
    Ipv4Addr::new(10, 244, third, fourth)
}

fn cluster_ip(i: usize) -> Ipv4Addr {
    // 10.96.0.0/12, skipping .0.0-.0.9 like kubeadm's reserved first addresses.
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 96, 0, 10)) + i as u32)
}

impl Workload {
    /// The Services, in the generator's input shape.
    pub fn services(self) -> Result<Vec<GenService>, TooLarge> {
        let total = self.services.saturating_mul(self.endpoints.max(1));
        if total > MAX_ENDPOINTS || self.services > (1 << 20) {
            return Err(TooLarge(self));
        }
        let mut next_node_port: u16 = 30000;
        let mut out = Vec::with_capacity(self.services);
        for i in 0..self.services {
            let endpoints: Vec<Ipv4Addr> = (0..self.endpoints)
                .map(|j| endpoint_ip(i * self.endpoints + j))
                .collect();
            let protocol = if i % 11 == 5 {
                Protocol::UDP
            } else {
                Protocol::TCP
            };
            // NodePorts are unique per node and limited to 30000-32767: hand them out until gone.
            let node_port = (i % 5 == 1 && next_node_port <= 32767).then(|| {
                next_node_port += 1;
                next_node_port - 1
            });
            let mut ports = vec![GenPort {
                name: (i % 2 == 0).then(|| "http".to_string()),
                port: if protocol == Protocol::UDP { 53 } else { 80 },
                protocol,
                target_port: TARGET_PORT,
                node_port,
                endpoints: endpoints.clone(),
            }];
            if i % 20 == 10 {
                // A second port requires every port to be named (API validation).
                ports.push(GenPort {
                    name: Some("metrics".into()),
                    port: 9090,
                    protocol: Protocol::TCP,
                    target_port: 9090,
                    node_port: None,
                    endpoints,
                });
            }
            out.push(GenService {
                namespace: format!("bench-{}", i % 50),
                name: format!("svc-{i}"),
                cluster_ip: cluster_ip(i),
                ports,
                affinity_seconds: (i % 7 == 1).then_some(10800),
                external_traffic_local: node_port.is_some() && i % 3 == 0,
                internal_traffic_local: i % 50 == 25,
                external_ips: Vec::new(),
                load_balancer_ips: Vec::new(),
                load_balancer_source_ranges: Vec::new(),
            });
        }
        Ok(out)
    }

    /// The `nft -f` script of this workload: `table ip kube-proxy` as kube-proxy in nftables
    /// mode leaves it for these Services on the bench's node, from the same generator input as
    /// the iptables rules (`render_restore(&services, &w.config(&services))`).
    pub fn nft_script(self) -> Result<String, TooLarge> {
        let services = self.services()?;
        Ok(render_nft(&services, &self.config(&services)))
    }

    /// The node the rules are for: its pods are the endpoints in 10.244.0.0/24.
    pub fn config(self, services: &[GenService]) -> GenConfig {
        let local_endpoint_ips = services
            .iter()
            .flat_map(|s| s.ports.iter().flat_map(|p| p.endpoints.iter()))
            .filter(|ip| ip.octets()[2] == LOCAL_OCTET)
            .copied()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        GenConfig {
            cluster_cidr: "10.244.0.0/16".into(),
            node_ips: vec![Ipv4Addr::new(172, 31, 0, 2)],
            local_endpoint_ips,
            // Comments on, as in the 24.5 MB dump of reference/dataplane.md: the larger text.
            comments: true,
            service_cidr: "10.96.0.0/12".into(),
        }
    }

    /// The VIP the lookup benchmarks walk: the last plain TCP ClusterIP Service (last in
    /// KUBE-SERVICES, so a linear scan pays for the whole chain), with its expected endpoints.
    pub fn target(services: &[GenService]) -> Option<(PlanTarget, Vec<Endpoint>)> {
        let s = services.iter().rev().find(|s| {
            s.ports.len() == 1
                && s.ports[0].protocol == Protocol::TCP
                && !s.internal_traffic_local
                && !s.ports[0].endpoints.is_empty()
        })?;
        let p = &s.ports[0];
        let target = PlanTarget {
            ip: s.cluster_ip,
            port: p.port,
            protocol: p.protocol,
        };
        let expected = p
            .endpoints
            .iter()
            .map(|ip| Endpoint {
                ip: *ip,
                port: p.target_port,
            })
            .collect();
        Some((target, expected))
    }
}
