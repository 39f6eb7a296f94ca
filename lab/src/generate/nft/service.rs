//! One service port in nftables mode: its `service-`, `local-`, `external-`, `firewall-` and
//! `endpoint-` chains, `affinity-` sets, and its elements in the dispatch and no-endpoint maps,
//! following `syncProxyRules` and `writeServiceToEndpointRules` in kube-proxy's nftables proxier.

use std::net::Ipv4Addr;

use super::super::names::service_port_name;
use super::super::{GenConfig, GenPort, GenService};
use super::Script;
use super::names::{endpoint_base, service_base};

const MASQ: &str = "jump mark-for-masquerade";

/// What kube-proxy decides for a service port before it writes anything.
struct Plan {
    cluster_chain: Option<String>,
    local_chain: Option<String>,
    external_chain: Option<String>,
    /// Where ClusterIP traffic goes, or the verdict of `no-endpoint-services` for it.
    internal: Result<String, &'static str>,
    /// Whether external traffic has endpoints; else this verdict for it.
    external_verdict: Option<&'static str>,
    /// The endpoints some chain jumps to (kube-proxy's `allLocallyReachableEndpoints`).
    reachable: Vec<Ipv4Addr>,
    local: Vec<Ipv4Addr>,
}

fn plan(svc: &GenService, port: &GenPort, cfg: &GenConfig, base: &str) -> Plan {
    let all = &port.endpoints;
    let local: Vec<Ipv4Addr> = all
        .iter()
        .copied()
        .filter(|ip| cfg.local_endpoint_ips.contains(ip))
        .collect();
    let externally_accessible = port.node_port.is_some()
        || !svc.external_ips.is_empty()
        || !svc.load_balancer_ips.is_empty();
    let ext_local = svc.external_traffic_local && externally_accessible;
    let int_local = svc.internal_traffic_local;
    // Even with externalTrafficPolicy=Local the cluster chain serves short-circuited traffic.
    let uses_cluster = !int_local || externally_accessible;
    let uses_local = int_local || ext_local;
    let has_endpoints = !all.is_empty();

    let cluster_chain = (uses_cluster && has_endpoints).then(|| format!("service-{base}"));
    let local_chain = (uses_local && !local.is_empty()).then(|| format!("local-{base}"));
    let has_internal = if int_local {
        !local.is_empty()
    } else {
        has_endpoints
    };
    let has_external = if ext_local {
        !local.is_empty()
    } else {
        has_endpoints
    };
    let internal_chain = if int_local {
        format!("local-{base}")
    } else {
        format!("service-{base}")
    };
    let (internal, external_verdict) = if !has_endpoints {
        (Err("goto reject-chain"), Some("goto reject-chain"))
    } else {
        (
            if has_internal {
                Ok(internal_chain)
            } else {
                Err("drop")
            },
            (!has_external).then_some("drop"),
        )
    };
    let reachable = if uses_cluster {
        all.clone()
    } else {
        local.clone()
    };
    Plan {
        cluster_chain,
        local_chain,
        external_chain: (has_endpoints && externally_accessible)
            .then(|| format!("external-{base}")),
        internal,
        external_verdict,
        reachable,
        local,
    }
}

/// All chains, sets, rules and elements of one service port.
pub(super) fn service_port(s: &mut Script, svc: &GenService, port: &GenPort, cfg: &GenConfig) {
    let proto = port.protocol.as_lower();
    let port_name = port.name.as_deref().unwrap_or("");
    let spn = service_port_name(&svc.namespace, &svc.name, port.name.as_deref());
    let base = service_base(&svc.namespace, &svc.name, proto, port_name);
    let ep_base = |ip: &Ipv4Addr| {
        endpoint_base(
            &svc.namespace,
            &svc.name,
            proto,
            port_name,
            &ip.to_string(),
            port.target_port,
        )
    };
    let p = plan(svc, port, cfg, &base);
    let affinity = svc.affinity_seconds;

    for ip in &p.reachable {
        s.chain(&format!("endpoint-{}", ep_base(ip)));
    }
    for chain in [&p.cluster_chain, &p.local_chain, &p.external_chain]
        .into_iter()
        .flatten()
    {
        s.chain(chain);
    }

    // Dispatch: the ClusterIP, external IPs, load-balancer IPs and the NodePort.
    let vip = svc.cluster_ip;
    let key = |ip: &Ipv4Addr| format!("{ip} . {proto} . {}", port.port);
    let no_endpoints = |s: &mut Script, map: &str, key: String, verdict: &str| {
        s.element(map, &format!("{key} comment \"{spn}\" : {verdict}"));
    };
    s.element("cluster-ips", &vip.to_string());
    match &p.internal {
        Ok(chain) => s.element("service-ips", &format!("{} : goto {chain}", key(&vip))),
        Err(verdict) => no_endpoints(s, "no-endpoint-services", key(&vip), verdict),
    }
    for ip in &svc.external_ips {
        if let Some(ext) = &p.external_chain {
            s.element("service-ips", &format!("{} : goto {ext}", key(ip)));
        }
        if let Some(verdict) = p.external_verdict {
            no_endpoints(s, "no-endpoint-services", key(ip), verdict);
        }
    }
    let firewall = (!svc.load_balancer_ips.is_empty()
        && !svc.load_balancer_source_ranges.is_empty())
    .then(|| format!("firewall-{base}"));
    if let Some(fw) = &firewall {
        s.chain(fw);
    }
    for ip in &svc.load_balancer_ips {
        if let Some(ext) = &p.external_chain {
            s.element("service-ips", &format!("{} : goto {ext}", key(ip)));
        }
        if let Some(fw) = &firewall {
            s.element("firewall-ips", &format!("{} : goto {fw}", key(ip)));
        }
    }
    if let Some(verdict) = p.external_verdict {
        for ip in &svc.load_balancer_ips {
            no_endpoints(s, "no-endpoint-services", key(ip), verdict);
        }
    }
    if let Some(np) = port.node_port {
        if let Some(ext) = &p.external_chain {
            s.element("service-nodeports", &format!("{proto} . {np} : goto {ext}"));
        }
        if let Some(verdict) = p.external_verdict {
            no_endpoints(
                s,
                "no-endpoint-nodeports",
                format!("{proto} . {np}"),
                verdict,
            );
        }
    }

    // Off-cluster traffic to the ClusterIP is masqueraded (kube-proxy's local detector).
    if let (Ok(chain), false) = (&p.internal, cfg.cluster_cidr.is_empty()) {
        s.rule(
            chain,
            format_args!("ip daddr {vip} ip saddr != {} {MASQ}", cfg.cluster_cidr),
        );
    }
    if let Some(ext) = &p.external_chain {
        external_rules(s, svc, &p, ext, cfg);
    }
    if let Some(fw) = &firewall {
        firewall_rule(s, svc, fw, cfg);
    }
    if let Some(seconds) = affinity {
        for ip in &p.reachable {
            s.declare(
                &format!("set {} affinity-{}", super::TABLE, ep_base(ip)),
                Some(&format!(
                    "type ipv4_addr ; flags dynamic,timeout ; timeout {seconds}s"
                )),
            );
        }
    }
    if let Some(chain) = &p.cluster_chain {
        balance(s, chain, &port.endpoints, &ep_base, affinity.is_some());
    }
    if let Some(chain) = &p.local_chain {
        balance(s, chain, &p.local, &ep_base, affinity.is_some());
    }
    for ip in &p.reachable {
        let b = ep_base(ip);
        let chain = format!("endpoint-{b}");
        s.rule(&chain, format_args!("ip saddr {ip} {MASQ}"));
        if affinity.is_some() {
            s.rule(&chain, format_args!("update @affinity-{b} {{ ip saddr }}"));
        }
        s.rule(
            &chain,
            format_args!("meta l4proto {proto} dnat to {ip}:{}", port.target_port),
        );
    }
}

/// The `external-` chain: masquerade and go to the cluster chain, or, with
/// externalTrafficPolicy=Local, short-circuit pod and node traffic and go to the local chain.
fn external_rules(s: &mut Script, svc: &GenService, p: &Plan, ext: &str, cfg: &GenConfig) {
    let ext_local = svc.external_traffic_local;
    // An external chain exists only with endpoints, and then the cluster chain does too.
    let Some(cluster) = p.cluster_chain.as_deref() else {
        return;
    };
    if !ext_local {
        s.rule(ext, format_args!("{MASQ}"));
    } else {
        if !cfg.cluster_cidr.is_empty() {
            s.rule(
                ext,
                format_args!(
                    "ip saddr {} goto {cluster} comment \"short-circuit pod traffic\"",
                    cfg.cluster_cidr
                ),
            );
        }
        s.rule(
            ext,
            format_args!("fib saddr type local {MASQ} comment \"masquerade local traffic\""),
        );
        s.rule(
            ext,
            format_args!(
                "fib saddr type local goto {cluster} comment \"short-circuit local traffic\""
            ),
        );
    }
    if p.external_verdict.is_none() {
        let target = if ext_local {
            p.local_chain.as_deref()
        } else {
            p.cluster_chain.as_deref()
        };
        if let Some(t) = target {
            s.rule(ext, format_args!("goto {t}"));
        }
    }
}

/// `firewall-`: drop load-balancer traffic from outside loadBalancerSourceRanges (and let the
/// node reach its own VIPs when a range holds the node IP).
fn firewall_rule(s: &mut Script, svc: &GenService, fw: &str, cfg: &GenConfig) {
    let mut sources: Vec<String> = svc
        .load_balancer_source_ranges
        .iter()
        .map(|n| format!("{}/{}", n.nth(0), n.prefix))
        .collect();
    let node_ip = cfg.node_ips.first();
    let allow_from_node = node_ip.is_some_and(|ip| {
        svc.load_balancer_source_ranges
            .iter()
            .any(|n| n.contains(*ip))
    });
    if allow_from_node {
        sources.extend(svc.load_balancer_ips.iter().map(|ip| ip.to_string()));
    }
    s.rule(
        fw,
        format_args!("ip saddr != {{ {} }} drop", sources.join(" , ")),
    );
}

/// Affinity checks, then `numgen random mod N vmap { 0 : goto A , 1 : goto B ... }`.
fn balance(
    s: &mut Script,
    chain: &str,
    endpoints: &[Ipv4Addr],
    ep_base: &dyn Fn(&Ipv4Addr) -> String,
    affinity: bool,
) {
    if affinity {
        for ip in endpoints {
            let b = ep_base(ip);
            s.rule(
                chain,
                format_args!("ip saddr @affinity-{b} goto endpoint-{b}"),
            );
        }
    }
    let arms: Vec<String> = endpoints
        .iter()
        .enumerate()
        .map(|(i, ip)| format!("{i} : goto endpoint-{}", ep_base(ip)))
        .collect();
    s.rule(
        chain,
        format_args!(
            "numgen random mod {} vmap {{ {} }}",
            endpoints.len(),
            arms.join(" , ")
        ),
    );
}
