//! Follow kube-proxy's nftables objects for one `VIP:port/proto`, the way an engineer runs
//! `nft get element ip kube-proxy service-ips '{ VIP . tcp . 80 }'`, then `nft list chain` on the
//! `service-...` chain and each `endpoint-...` chain its `numgen` map names. Pure over
//! [`NftSource`]: chain names are only ever taken from verdicts, never rebuilt from hashes.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use netdiag_model::PlanTarget;

use super::shapes::{
    affinity_set, blocks, is_payload, matches_fib_local, numgen_targets, operand_contains,
    operand_text, service_port_name,
};
use super::{NftSource, TABLE, decode_service_key, ip_key, service_key};
use crate::dataplane::kube_proxy::iptables::walk::Entry;
use crate::dataplane::kube_proxy::model::{
    BlockAction, BlockCause, Blocked, Lookup, ProgrammedEndpoint, ProxyMode, ServiceProgram,
};
use crate::dataplane::netfilter::nftables::rule::{NftRule, NftVerdict};

/// external -> local|service -> endpoint is 3; anything deeper is a loop or not kube-proxy's.
const MAX_DEPTH: usize = 6;
const MARK_MASQ: &str = "mark-for-masquerade";
pub(super) const REJECT_CHAIN: &str = "reject-chain";

/// Walk `table ip kube-proxy` for `target` from `entry`.
pub fn walk<S: NftSource>(
    src: &mut S,
    target: &PlanTarget,
    entry: Entry,
) -> Result<ServiceProgram, S::Error> {
    let out = ServiceProgram::empty(
        ProxyMode::Nftables,
        target.to_string(),
        Lookup::NoProxyState,
    );
    if !src.has_table()? {
        return Ok(out);
    }
    let ip = target.ip;
    let mut w = Walker {
        src,
        visited: HashSet::new(),
        out,
    };
    let key = service_key(entry, ip, target.protocol, target.port);
    let (map, no_endpoints) = match entry {
        Entry::ServiceIp => ("service-ips", "no-endpoint-services"),
        Entry::NodePort => ("service-nodeports", "no-endpoint-nodeports"),
    };
    match w.src.element(map, &key)?.and_then(|e| e.verdict) {
        Some(NftVerdict::Goto(chain) | NftVerdict::Jump(chain)) => {
            w.out.lookup = Lookup::Matched;
            w.out.chains.push(format!("services: @{map}"));
            w.service_chain(&chain, 1)?;
            // A Local policy with no local endpoint keeps the NodePort's element for pod traffic
            // and drops the rest in the filter chains (kube-proxy's `!hasExternalEndpoints`).
            if entry == Entry::NodePort {
                w.no_endpoints(no_endpoints, &key)?;
            }
        }
        other => {
            w.out.lookup = Lookup::NoRule;
            if let Some(v) = other {
                w.out.notes.push(format!("@{map} answers {v} for it"));
            }
            w.no_endpoints(no_endpoints, &key)?;
            if entry == Entry::ServiceIp && w.out.blocked.is_none() {
                w.cluster_ips_check(ip)?;
            }
        }
    }
    if entry == Entry::ServiceIp {
        w.firewall(&key)?;
    }
    Ok(w.out)
}

struct Walker<'s, S> {
    src: &'s mut S,
    visited: HashSet<String>,
    out: ServiceProgram,
}

impl<S: NftSource> Walker<'_, S> {
    /// Read a chain once; a second visit is a loop.
    fn read(&mut self, name: &str) -> Result<Option<Vec<NftRule>>, S::Error> {
        if !self.visited.insert(name.to_string()) {
            self.out
                .notes
                .push(format!("{name} is reached twice (a loop?)"));
            return Ok(None);
        }
        let rules = self.src.chain(name)?;
        if rules.is_none() {
            self.out
                .notes
                .push(format!("{name} is named by a verdict but does not exist"));
        }
        Ok(rules)
    }

    fn note_service(&mut self, chain: &str) {
        if self.out.service.is_none() {
            self.out.service = service_port_name(chain);
        }
    }

    /// A service-level chain: masquerade marks, affinity, the `numgen` map to endpoint chains,
    /// or a goto to another service-level chain (external -> local or service).
    fn service_chain(&mut self, name: &str, depth: usize) -> Result<(), S::Error> {
        if depth > MAX_DEPTH {
            self.out
                .notes
                .push(format!("stopped at {name}: deeper than {MAX_DEPTH} chains"));
            return Ok(());
        }
        let Some(rules) = self.read(name)? else {
            return Ok(());
        };
        self.out.chains.push(name.to_string());
        self.note_service(name);
        if name.starts_with("local-") {
            self.out.local_only = true;
        }
        let mut followed = false;
        let mut conditional: Vec<String> = Vec::new();
        for rule in &rules {
            if let Some(targets) = numgen_targets(rule) {
                self.balance(&targets)?;
                continue;
            }
            if blocks(rule).is_some() && rule.is_unconditional() {
                self.block(name, rule);
                continue;
            }
            let Some(NftVerdict::Jump(next) | NftVerdict::Goto(next)) = rule.verdict() else {
                continue;
            };
            if next == MARK_MASQ {
                // Marking node-local sources only keeps every other client's IP.
                self.out.masquerade |= !matches_fib_local(rule);
            } else if let Some(set) = affinity_set(rule) {
                if let Some(s) = self.src.set_timeout(&set)? {
                    self.out.affinity_seconds = Some(s);
                }
            } else if next.starts_with("endpoint-") {
                self.balance(std::slice::from_ref(next))?;
            } else if !rule.is_unconditional() {
                // "short-circuit pod traffic" and the like: another path for some sources.
                conditional.push(next.clone());
            } else if !followed {
                followed = true;
                self.service_chain(next, depth + 1)?;
            }
        }
        if !followed && self.out.endpoints.is_empty() {
            if let Some(first) = conditional.first() {
                self.service_chain(first, depth + 1)?;
            }
        } else {
            for c in conditional {
                self.out.notes.push(format!(
                    "some traffic (pod or node-local sources) continues in {c}"
                ));
            }
        }
        Ok(())
    }

    /// The endpoint chains a `numgen random mod N` map (or one goto) picks among.
    fn balance(&mut self, targets: &[String]) -> Result<(), S::Error> {
        let share = 1.0 / targets.len().max(1) as f64;
        for chain in targets {
            let Some(rules) = self.read(chain)? else {
                continue;
            };
            // The walker reads table ip kube-proxy: its dnat targets are IPv4.
            let dnat = rules.iter().find_map(NftRule::dnat);
            match dnat.and_then(|(ip, port)| Some((ip.parse::<Ipv4Addr>().ok()?, port))) {
                Some((ip, port)) => {
                    self.out.chains.push(chain.clone());
                    self.note_service(chain);
                    self.out.endpoints.push(ProgrammedEndpoint {
                        ip,
                        port: port.unwrap_or(0),
                        chain: chain.clone(),
                        probability: share,
                    });
                }
                None => self.out.notes.push(format!("{chain} has no dnat rule")),
            }
        }
        Ok(())
    }

    fn block(&mut self, chain: &str, rule: &NftRule) {
        let Some(action) = blocks(rule) else { return };
        self.out
            .blocked
            .get_or_insert(Blocked::new(TABLE, chain, action, rule.comment.as_deref()));
    }

    /// `no-endpoint-services`: kube-proxy rejects (or, for a Local policy, drops) a Service
    /// with no endpoints in the filter chains, keyed like `service-ips`.
    fn no_endpoints(&mut self, map: &str, key: &[u8]) -> Result<(), S::Error> {
        let Some(element) = self.src.element(map, key)? else {
            return Ok(());
        };
        // kube-proxy rejects a Service with no endpoints at all, and drops one whose Local
        // policy leaves none on this node.
        let (action, cause) = match &element.verdict {
            Some(NftVerdict::Drop) => (BlockAction::Drop, BlockCause::NoLocalEndpoints),
            Some(NftVerdict::Goto(c) | NftVerdict::Jump(c)) if c == REJECT_CHAIN => {
                (BlockAction::Reject, BlockCause::NoEndpoints)
            }
            _ => return Ok(()),
        };
        if self.out.service.is_none() {
            self.out.service = element.comment.clone();
        }
        self.out.blocked = Some(Blocked {
            table: TABLE.into(),
            chain: format!("@{map}"),
            action,
            comment: element.comment.clone(),
            cause,
        });
        Ok(())
    }

    /// `cluster-ips-check`: a ClusterIP on a port it does not serve is rejected, an address of
    /// the service CIDR that no Service holds is dropped.
    fn cluster_ips_check(&mut self, ip: Ipv4Addr) -> Result<(), S::Error> {
        const CHAIN: &str = "cluster-ips-check";
        if self.src.element("cluster-ips", &ip_key(ip))?.is_some() {
            let ports: Vec<String> = self
                .src
                .elements("service-ips")?
                .iter()
                .filter_map(|e| {
                    let (addr, proto, port) = decode_service_key(&e.key)?;
                    let name = match &e.verdict {
                        Some(NftVerdict::Goto(c) | NftVerdict::Jump(c)) => service_port_name(c),
                        _ => None,
                    };
                    (addr == ip).then(|| match name {
                        Some(n) => format!("{port}/{proto} ({n})"),
                        None => format!("{port}/{proto}"),
                    })
                })
                .collect();
            self.out.service_ports = ports;
            self.out.blocked = Some(Blocked {
                table: TABLE.into(),
                chain: CHAIN.into(),
                action: BlockAction::Reject,
                comment: Some("Reject traffic to invalid ports of ClusterIPs".into()),
                cause: BlockCause::NotAServicePort,
            });
            return Ok(());
        }
        let Some(rules) = self.src.chain(CHAIN)? else {
            return Ok(());
        };
        for rule in &rules {
            let unallocated = rule.matches().any(|(l, op, r)| {
                op == "==" && is_payload(l, "ip", "daddr") && operand_contains(r, ip)
            });
            if unallocated && blocks(rule) == Some(BlockAction::Drop) {
                self.out.blocked = Some(Blocked {
                    table: TABLE.into(),
                    chain: CHAIN.into(),
                    action: BlockAction::Drop,
                    comment: rule.comment.clone(),
                    cause: BlockCause::UnallocatedClusterIp,
                });
            }
        }
        Ok(())
    }

    /// `firewall-ips` (loadBalancerSourceRanges): which sources the firewall chain lets in.
    fn firewall(&mut self, key: &[u8]) -> Result<(), S::Error> {
        let Some(NftVerdict::Goto(chain) | NftVerdict::Jump(chain)) = self
            .src
            .element("firewall-ips", key)?
            .and_then(|e| e.verdict)
        else {
            return Ok(());
        };
        let Some(rules) = self.read(&chain)? else {
            return Ok(());
        };
        self.out.chains.push(chain.clone());
        for rule in rules
            .iter()
            .filter(|r| blocks(r) == Some(BlockAction::Drop))
        {
            for (left, op, right) in rule.matches() {
                if op == "!=" && is_payload(left, "ip", "saddr") {
                    self.out.notes.push(format!(
                        "loadBalancerSourceRanges: {chain} drops sources outside {}",
                        operand_text(right)
                    ));
                }
            }
        }
        Ok(())
    }
}
