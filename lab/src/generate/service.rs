//! The rules for one Service port: KUBE-SERVICES / KUBE-NODEPORTS entries, KUBE-SVC, KUBE-SVL,
//! KUBE-EXT and KUBE-SEP chains, and the filter-table REJECT/DROP, as kube-proxy's
//! `syncProxyRules` writes them.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use super::names::{endpoint_chain, port_proto_hash, probability, service_port_name};
use super::{GenConfig, GenPort, GenService, Table, comment};

/// All chains and rules for one service port, following kube-proxy's `syncProxyRules`.
pub(super) fn service_port(
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
