//! kube-proxy-shaped rules in `iptables-restore` format, for the lab and the benchmarks: what
//! kube-proxy in iptables mode would program for a set of Services, written in the canonical
//! form `iptables-save` prints back (options reordered, `/32`, quoted comments, 11-decimal
//! probabilities), so loading and dumping gives the same rules.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use netdiag_model::Protocol;

use netdiag_agent::dataplane::netfilter::iptables::tokenize::quote;

pub mod names;
pub mod nft;
mod service;

pub use nft::render_nft;

use crate::cidr::Ipv4Net;

/// The node the rules are for.
#[derive(Clone, Debug, PartialEq)]
pub struct GenConfig {
    /// kube-proxy's `--cluster-cidr`: off-cluster traffic to a ClusterIP is masqueraded.
    /// Empty: no local detector, no masquerade rule (as kube-proxy without a CIDR).
    pub cluster_cidr: String,
    /// The node's addresses (not needed by the rules themselves; NodePorts match LOCAL).
    pub node_ips: Vec<Ipv4Addr>,
    /// Endpoints that live on this node: the KUBE-SVL (Local policy) chains use only these.
    pub local_endpoint_ips: Vec<Ipv4Addr>,
    /// Per-endpoint comments; `false` is kube-proxy's large-cluster mode (> 1000 endpoints).
    /// (iptables only: the nftables proxier has no such mode.)
    pub comments: bool,
    /// The Service CIDR(s), comma-separated as kube-proxy holds them: in nftables mode,
    /// traffic to an unallocated ClusterIP in it is dropped. Empty: no such rule.
    pub service_cidr: String,
}

impl GenConfig {
    /// A node with `cluster_cidr`, comments on, no local endpoints.
    pub fn new(cluster_cidr: impl Into<String>) -> Self {
        GenConfig {
            cluster_cidr: cluster_cidr.into(),
            node_ips: Vec::new(),
            local_endpoint_ips: Vec::new(),
            comments: true,
            service_cidr: String::new(),
        }
    }
}

/// One Service as kube-proxy sees it: ClusterIP, ports, ready endpoints, policies.
#[derive(Clone, Debug, PartialEq)]
pub struct GenService {
    pub namespace: String,
    pub name: String,
    pub cluster_ip: Ipv4Addr,
    pub ports: Vec<GenPort>,
    /// ClientIP session affinity timeout.
    pub affinity_seconds: Option<u32>,
    /// externalTrafficPolicy=Local (only meaningful with a NodePort).
    pub external_traffic_local: bool,
    /// internalTrafficPolicy=Local.
    pub internal_traffic_local: bool,
    /// `spec.externalIPs` (nftables only, so far).
    pub external_ips: Vec<Ipv4Addr>,
    /// `status.loadBalancer.ingress[].ip` (nftables only, so far).
    pub load_balancer_ips: Vec<Ipv4Addr>,
    /// `spec.loadBalancerSourceRanges`: with load-balancer IPs, a `firewall-` chain.
    pub load_balancer_source_ranges: Vec<Ipv4Net>,
}

impl GenService {
    /// A ClusterIP Service with no ports yet, cluster policies, no affinity.
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        cluster_ip: Ipv4Addr,
    ) -> Self {
        GenService {
            namespace: namespace.into(),
            name: name.into(),
            cluster_ip,
            ports: Vec::new(),
            affinity_seconds: None,
            external_traffic_local: false,
            internal_traffic_local: false,
            external_ips: Vec::new(),
            load_balancer_ips: Vec::new(),
            load_balancer_source_ranges: Vec::new(),
        }
    }

    /// Add a port.
    pub fn port(mut self, port: GenPort) -> Self {
        self.ports.push(port);
        self
    }
}

/// One Service port with its ready endpoints (all on `target_port`).
#[derive(Clone, Debug, PartialEq)]
pub struct GenPort {
    pub name: Option<String>,
    pub port: u16,
    pub protocol: Protocol,
    pub target_port: u16,
    pub node_port: Option<u16>,
    pub endpoints: Vec<Ipv4Addr>,
}

impl GenPort {
    /// A port `port/protocol` -> `target_port` on `endpoints`.
    pub fn new(
        name: Option<&str>,
        port: u16,
        protocol: Protocol,
        target_port: u16,
        endpoints: Vec<Ipv4Addr>,
    ) -> Self {
        GenPort {
            name: name.map(str::to_string),
            port,
            protocol,
            target_port,
            node_port: None,
            endpoints,
        }
    }
}

const NODEPORTS_COMMENT: &str =
    "kubernetes service nodeports; NOTE: this must be the last rule in this chain";

/// Text being built per table: declarations and rules.
#[derive(Default)]
pub(super) struct Table {
    pub(super) chains: Vec<String>,
    pub(super) rules: String,
}

impl Table {
    pub(super) fn chain(&mut self, name: &str) {
        self.chains.push(name.to_string());
    }
    pub(super) fn rule(&mut self, chain: &str, args: std::fmt::Arguments<'_>) {
        // Writing to a String cannot fail.
        let _ = writeln!(self.rules, "-A {chain} {args}");
    }
    fn render(mut self, name: &str, out: &mut String) {
        self.chains.sort();
        self.chains.dedup();
        let _ = writeln!(out, "*{name}");
        for c in &self.chains {
            let _ = writeln!(out, ":{c} - [0:0]");
        }
        out.push_str(&self.rules);
        out.push_str("COMMIT\n");
    }
}

/// `-m comment --comment X ` (with the trailing space), or nothing.
pub(super) fn comment(on: bool, text: &str) -> String {
    if on {
        format!("-m comment --comment {} ", quote(text))
    } else {
        String::new()
    }
}

/// The `iptables-restore` input for `services` on the node `cfg` describes: `*filter ...
/// COMMIT` then `*nat ... COMMIT`, like kube-proxy's own sync plus its base-chain jumps.
pub fn render_restore(services: &[GenService], cfg: &GenConfig) -> String {
    let mut nat = Table::default();
    let mut filter = Table::default();
    base_rules(&mut nat, &mut filter);
    let mut nodeports = String::new();
    for svc in services {
        for port in &svc.ports {
            service::service_port(&mut nat, &mut filter, &mut nodeports, svc, port, cfg);
        }
    }
    // The NodePort jump must be the last rule of KUBE-SERVICES.
    nat.rule(
        "KUBE-SERVICES",
        format_args!(
            "{}-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS",
            comment(true, NODEPORTS_COMMENT)
        ),
    );
    nat.rules.push_str(&nodeports);
    let mut out = String::with_capacity(nat.rules.len() + filter.rules.len() + 4096);
    filter.render("filter", &mut out);
    nat.render("nat", &mut out);
    out
}

fn base_rules(nat: &mut Table, filter: &mut Table) {
    for c in [
        "KUBE-SERVICES",
        "KUBE-NODEPORTS",
        "KUBE-POSTROUTING",
        "KUBE-MARK-MASQ",
    ] {
        nat.chain(c);
    }
    let portals = comment(true, "kubernetes service portals");
    nat.rule("PREROUTING", format_args!("{portals}-j KUBE-SERVICES"));
    nat.rule("OUTPUT", format_args!("{portals}-j KUBE-SERVICES"));
    nat.rule(
        "POSTROUTING",
        format_args!(
            "{}-j KUBE-POSTROUTING",
            comment(true, "kubernetes postrouting rules")
        ),
    );
    nat.rule(
        "KUBE-MARK-MASQ",
        format_args!("-j MARK --set-xmark 0x4000/0x4000"),
    );
    nat.rule(
        "KUBE-POSTROUTING",
        format_args!("-m mark ! --mark 0x4000/0x4000 -j RETURN"),
    );
    nat.rule(
        "KUBE-POSTROUTING",
        format_args!("-j MARK --set-xmark 0x4000/0x0"),
    );
    nat.rule(
        "KUBE-POSTROUTING",
        format_args!(
            "{}-j MASQUERADE --random-fully",
            comment(true, "kubernetes service traffic requiring SNAT")
        ),
    );

    for c in [
        "KUBE-SERVICES",
        "KUBE-EXTERNAL-SERVICES",
        "KUBE-FORWARD",
        "KUBE-NODEPORTS",
        "KUBE-PROXY-FIREWALL",
    ] {
        filter.chain(c);
    }
    let new = "-m conntrack --ctstate NEW";
    let fw = comment(true, "kubernetes load balancer firewall");
    let ext = comment(true, "kubernetes externally-visible service portals");
    filter.rule("INPUT", format_args!("{new} {fw}-j KUBE-PROXY-FIREWALL"));
    filter.rule(
        "INPUT",
        format_args!(
            "{}-j KUBE-NODEPORTS",
            comment(true, "kubernetes health check service ports")
        ),
    );
    filter.rule(
        "INPUT",
        format_args!("{new} {ext}-j KUBE-EXTERNAL-SERVICES"),
    );
    filter.rule("FORWARD", format_args!("{new} {fw}-j KUBE-PROXY-FIREWALL"));
    filter.rule(
        "FORWARD",
        format_args!(
            "{}-j KUBE-FORWARD",
            comment(true, "kubernetes forwarding rules")
        ),
    );
    filter.rule("FORWARD", format_args!("{new} {portals}-j KUBE-SERVICES"));
    filter.rule(
        "FORWARD",
        format_args!("{new} {ext}-j KUBE-EXTERNAL-SERVICES"),
    );
    filter.rule("OUTPUT", format_args!("{new} {fw}-j KUBE-PROXY-FIREWALL"));
    filter.rule("OUTPUT", format_args!("{new} {portals}-j KUBE-SERVICES"));
    filter.rule(
        "KUBE-FORWARD",
        format_args!("-m conntrack --ctstate INVALID -j DROP"),
    );
    filter.rule(
        "KUBE-FORWARD",
        format_args!(
            "{}-m mark --mark 0x4000/0x4000 -j ACCEPT",
            comment(true, "kubernetes forwarding rules")
        ),
    );
    filter.rule(
        "KUBE-FORWARD",
        format_args!(
            "{}-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            comment(true, "kubernetes forwarding conntrack rule")
        ),
    );
}
