//! kube-proxy-shaped rules in `iptables-restore` format, for the lab and the benchmarks: what
//! kube-proxy in iptables mode would program for a set of Services, written in the canonical
//! form `iptables-save` prints back (options reordered, `/32`, quoted comments, 11-decimal
//! probabilities), so loading and dumping gives the same rules.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use netdiag_crds::Protocol;

use super::names::{endpoint_chain, port_proto_hash, probability, service_port_name};
use super::tokenize::quote;

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
    pub comments: bool,
}

impl GenConfig {
    /// A node with `cluster_cidr`, comments on, no local endpoints.
    pub fn new(cluster_cidr: impl Into<String>) -> Self {
        GenConfig {
            cluster_cidr: cluster_cidr.into(),
            node_ips: Vec::new(),
            local_endpoint_ips: Vec::new(),
            comments: true,
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
struct Table {
    chains: Vec<String>,
    rules: String,
}

impl Table {
    fn chain(&mut self, name: &str) {
        self.chains.push(name.to_string());
    }
    fn rule(&mut self, chain: &str, args: std::fmt::Arguments<'_>) {
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
fn comment(on: bool, text: &str) -> String {
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
            service_port(&mut nat, &mut filter, &mut nodeports, svc, port, cfg);
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

/// All chains and rules for one service port, following kube-proxy's `syncProxyRules`.
fn service_port(
    nat: &mut Table,
    filter: &mut Table,
    nodeports: &mut String,
    svc: &GenService,
    port: &GenPort,
    cfg: &GenConfig,
) {
    let spn = service_port_name(&svc.namespace, &svc.name, port.name.as_deref());
    let proto = port.protocol.as_lower();
    let hash = port_proto_hash(&spn, proto);
    let (svc_chain, svl_chain, ext_chain) = (
        format!("KUBE-SVC-{hash}"),
        format!("KUBE-SVL-{hash}"),
        format!("KUBE-EXT-{hash}"),
    );
    let all = &port.endpoints;
    let local: Vec<Ipv4Addr> = all
        .iter()
        .copied()
        .filter(|ip| cfg.local_endpoint_ips.contains(ip))
        .collect();
    let external = port.node_port.is_some();
    let ext_local = external && svc.external_traffic_local;
    let uses_cluster = !svc.internal_traffic_local || external;
    let uses_local = svc.internal_traffic_local || ext_local;
    let has_endpoints = !all.is_empty();
    let cluster_chain = (uses_cluster && has_endpoints).then_some(svc_chain.as_str());
    let local_chain = (uses_local && !local.is_empty()).then_some(svl_chain.as_str());
    let internal_chain = if svc.internal_traffic_local {
        local_chain
    } else {
        cluster_chain
    };
    let external_chain = if ext_local {
        local_chain
    } else {
        cluster_chain
    };

    let vip = svc.cluster_ip;
    let match_vip = format!("-d {vip}/32 -p {proto} ");
    let dport = format!("-m {proto} --dport {}", port.port);
    let no_endpoints = format!("{spn} has no endpoints");
    let no_local = format!("{spn} has no local endpoints");
    let reject = "REJECT --reject-with icmp-port-unreachable";

    // ClusterIP: KUBE-SERVICES jump, or the filter REJECT/DROP.
    let cluster_ip_comment = comment(true, &format!("{spn} cluster IP"));
    match internal_chain {
        Some(chain) => {
            if !cfg.cluster_cidr.is_empty() {
                nat.rule(
                    chain,
                    format_args!(
                        "! -s {} {match_vip}{cluster_ip_comment}{dport} -j KUBE-MARK-MASQ",
                        cfg.cluster_cidr
                    ),
                );
            }
            nat.rule(
                "KUBE-SERVICES",
                format_args!("{match_vip}{cluster_ip_comment}{dport} -j {chain}"),
            );
        }
        None => {
            let (why, target) = if has_endpoints {
                (&no_local, "DROP")
            } else {
                (&no_endpoints, reject)
            };
            filter.rule(
                "KUBE-SERVICES",
                format_args!("{match_vip}{}{dport} -j {target}", comment(true, why)),
            );
        }
    }

    // NodePort: KUBE-NODEPORTS -> KUBE-EXT, and the filter rule when nothing can serve it.
    if let Some(np) = port.node_port {
        let np_match = format!("-p {proto} ");
        let np_dport = format!("-m {proto} --dport {np}");
        if has_endpoints {
            nat.chain(&ext_chain);
            let _ = writeln!(
                nodeports,
                "-A KUBE-NODEPORTS {np_match}{}{np_dport} -j {ext_chain}",
                comment(true, &spn)
            );
            if ext_local {
                if !cfg.cluster_cidr.is_empty() {
                    let c = comment(
                        true,
                        &format!("pod traffic for {spn} external destinations"),
                    );
                    nat.rule(
                        &ext_chain,
                        format_args!("-s {} {c}-j {svc_chain}", cfg.cluster_cidr),
                    );
                }
                let c = comment(
                    true,
                    &format!("masquerade LOCAL traffic for {spn} external destinations"),
                );
                nat.rule(
                    &ext_chain,
                    format_args!("{c}-m addrtype --src-type LOCAL -j KUBE-MARK-MASQ"),
                );
                let c = comment(
                    true,
                    &format!("route LOCAL traffic for {spn} external destinations"),
                );
                nat.rule(
                    &ext_chain,
                    format_args!("{c}-m addrtype --src-type LOCAL -j {svc_chain}"),
                );
            } else {
                let c = comment(
                    true,
                    &format!("masquerade traffic for {spn} external destinations"),
                );
                nat.rule(&ext_chain, format_args!("{c}-j KUBE-MARK-MASQ"));
            }
            if let Some(chain) = external_chain {
                nat.rule(&ext_chain, format_args!("-j {chain}"));
            }
        }
        if external_chain.is_none() {
            let (why, target) = if has_endpoints {
                (&no_local, "DROP")
            } else {
                (&no_endpoints, reject)
            };
            filter.rule(
                "KUBE-EXTERNAL-SERVICES",
                format_args!(
                    "{np_match}{}-m addrtype --dst-type LOCAL {np_dport} -j {target}",
                    comment(true, why)
                ),
            );
        }
    }

    // Load balancing: SVC over all endpoints, SVL over the local ones; then the SEP chains.
    let mut seps: Vec<Ipv4Addr> = Vec::new();
    for (chain, eps) in [
        (cluster_chain, all.as_slice()),
        (local_chain, local.as_slice()),
    ] {
        let Some(chain) = chain else { continue };
        nat.chain(chain);
        lb_rules(
            nat,
            chain,
            &spn,
            proto,
            port.target_port,
            eps,
            svc.affinity_seconds,
            cfg.comments,
        );
        for ip in eps {
            if !seps.contains(ip) {
                seps.push(*ip);
            }
        }
    }
    let sep_comment = comment(cfg.comments, &spn);
    for ip in seps {
        let dest = format!("{ip}:{}", port.target_port);
        let sep = endpoint_chain(&spn, proto, &dest);
        nat.chain(&sep);
        nat.rule(
            &sep,
            format_args!("-s {ip}/32 {sep_comment}-j KUBE-MARK-MASQ"),
        );
        let recent = match svc.affinity_seconds {
            Some(_) => format!("-m recent --set --name {sep} --mask 255.255.255.255 --rsource "),
            None => String::new(),
        };
        nat.rule(
            &sep,
            format_args!(
                "-p {proto} {sep_comment}{recent}-m {proto} -j DNAT --to-destination {dest}"
            ),
        );
    }
}

/// Affinity checks, then `--probability 1/(n-i)` jumps, the last one unconditional.
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename the arguments
fn lb_rules(
    nat: &mut Table,
    chain: &str,
    spn: &str,
    proto: &str,
    target_port: u16,
    eps: &[Ipv4Addr],
    affinity: Option<u32>,
    comments: bool,
) {
    let sep_of = |ip: &Ipv4Addr| {
        let dest = format!("{ip}:{target_port}");
        (
            endpoint_chain(spn, proto, &dest),
            comment(comments, &format!("{spn} -> {dest}")),
        )
    };
    if let Some(seconds) = affinity {
        for ip in eps {
            let (sep, c) = sep_of(ip);
            nat.rule(
                chain,
                format_args!(
                    "{c}-m recent --rcheck --seconds {seconds} --reap --name {sep} --mask 255.255.255.255 --rsource -j {sep}"
                ),
            );
        }
    }
    let n = eps.len();
    for (i, ip) in eps.iter().enumerate() {
        let (sep, c) = sep_of(ip);
        if i + 1 < n {
            let p = probability(i, n);
            nat.rule(
                chain,
                format_args!("{c}-m statistic --mode random --probability {p} -j {sep}"),
            );
        } else {
            nat.rule(chain, format_args!("{c}-j {sep}"));
        }
    }
}
