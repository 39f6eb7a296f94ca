//! kube-proxy's IPVS mode for one Service address: the virtual service `VIP:port/proto`, its
//! real servers, and whether the VIP sits on `kube-ipvs0`, as the mode-neutral
//! [`ServiceProgram`] the judge compares with the EndpointSlices. What an engineer reads with
//! `ipvsadm -Ln -t VIP:PORT` and `ip addr show kube-ipvs0`.
//!
//! IPVS holds no Service names (kube-proxy's iptables comments have them; IPVS has none), so
//! `service` stays empty. The iptables and ipset side of IPVS mode (KUBE-CLUSTER-IP membership,
//! the masquerade rules) is not read here yet.

use std::net::IpAddr;

use netdiag_model::{PlanTarget, Protocol};

use super::model::{Lookup, ProgrammedEndpoint, ProxyMode, ServiceProgram};
use crate::kernel::ipvs::{
    Forward, IpvsDest, IpvsError, IpvsService, IpvsSocket, IpvsSource, Proto, ServiceKey,
};
use crate::kernel::netlink::NetlinkError;
use crate::kernel::rtnl::{Address, Link};

/// The dummy device kube-proxy binds every Service address to in IPVS mode.
pub const KUBE_IPVS0: &str = "kube-ipvs0";

/// Whether the node accepts packets to the VIP locally: IPVS sees a packet only at LOCAL_IN,
/// so a VIP that is not on `kube-ipvs0` (or any local device) is routed away instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VipBinding {
    /// The VIP is an address of kube-ipvs0.
    OnKubeIpvs0,
    /// kube-ipvs0 exists but does not hold the VIP.
    NotOnKubeIpvs0,
    /// The node has no kube-ipvs0 device at all.
    NoKubeIpvs0,
    /// Not checked (an IPv6 VIP: only IPv4 addresses are read today).
    Unknown,
}

/// Where the VIP is, from the node's links and IPv4 addresses (`ip -4 addr`).
pub fn vip_binding(links: &[Link], addrs: &[Address], vip: IpAddr) -> VipBinding {
    let IpAddr::V4(v4) = vip else {
        return VipBinding::Unknown;
    };
    let Some(dev) = links.iter().find(|l| l.name == KUBE_IPVS0) else {
        return VipBinding::NoKubeIpvs0;
    };
    if addrs.iter().any(|a| a.ifindex == dev.index && a.ip == v4) {
        VipBinding::OnKubeIpvs0
    } else {
        VipBinding::NotOnKubeIpvs0
    }
}

/// Why kube-proxy's IPVS state could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IpvsReadError {
    #[error("IPVS is asked about TCP or UDP Services only, not protocol {0}")]
    BadProtocol(String),
    #[error("read IPVS: {0}")]
    Ipvs(#[from] IpvsError),
    #[error("check whether the Service address is on {KUBE_IPVS0}: {0}")]
    Rtnl(#[source] NetlinkError),
}

/// The IPVS key of a plan target.
pub fn key_of(target: &PlanTarget) -> Result<ServiceKey, IpvsReadError> {
    let addr = target.ip;
    let protocol = match target.protocol {
        Protocol::TCP => Proto::Tcp,
        Protocol::UDP => Proto::Udp,
        Protocol::Unknown => return Err(IpvsReadError::BadProtocol(target.protocol.to_string())),
    };
    Ok(ServiceKey {
        protocol,
        addr: std::net::IpAddr::V4(addr),
        port: target.port,
    })
}

/// Read `target`'s virtual service and real servers from `src`, with the VIP's binding
/// already known. IPVS without any virtual service is the mode's state absent
/// (NoProxyState); services but none for the key is NoRule.
pub fn read_program<S>(
    src: &mut S,
    target: &PlanTarget,
    vip: VipBinding,
) -> Result<ServiceProgram, IpvsReadError>
where
    S: IpvsSource,
    IpvsReadError: From<S::Error>,
{
    let key = key_of(target)?;
    let Some(svc) = src.service(&key)? else {
        let total = src.services()?.len();
        return Ok(missing(target, &key, total));
    };
    let dests = src.dests(&key)?;
    Ok(program(target, &svc, &dests, vip))
}

/// Read `target`'s IPVS state in the calling thread's network namespace (the node's), with
/// `kube_services` the nat KUBE-SERVICES rules detection read (for the masquerade rule). A kernel
/// without IPVS is not an error: the program says the mode's state is absent.
pub fn read(
    target: &PlanTarget,
    kube_services: &[crate::dataplane::netfilter::iptables::rule::Rule],
) -> Result<ServiceProgram, IpvsReadError> {
    let key = key_of(target)?;
    let mut src = match IpvsSocket::open() {
        Ok(s) => s,
        Err(IpvsError::NotLoaded) => return Ok(not_loaded(target)),
        Err(e) => return Err(e.into()),
    };
    let vip = match key.addr {
        IpAddr::V4(_) => {
            let mut rtnl = crate::kernel::rtnl::Rtnl::open().map_err(IpvsReadError::Rtnl)?;
            let links = rtnl.links().map_err(IpvsReadError::Rtnl)?;
            let addrs = rtnl.addresses().map_err(IpvsReadError::Rtnl)?;
            vip_binding(&links, &addrs, key.addr)
        }
        IpAddr::V6(_) => VipBinding::Unknown,
    };
    let mut program = read_program(&mut src, target, vip)?;
    if program.lookup == Lookup::Matched
        && let IpAddr::V4(ip) = key.addr
    {
        let proto = crate::dataplane::kube_proxy::nftables::proto_number(target.protocol);
        let member: Vec<(&str, Option<bool>)> = SERVICE_SETS
            .iter()
            .map(|set| {
                (
                    *set,
                    crate::kernel::ipset::contains(set, ip, proto, target.port)
                        .ok()
                        .flatten(),
                )
            })
            .collect();
        program.notes.extend(ipset_note(&program.address, &member));
        let in_cluster_set = member.first().is_some_and(|(_, m)| *m == Some(true));
        program.masquerade = in_cluster_set && masquerades_cluster_ips(kube_services);
    }
    Ok(program)
}

/// IPVS mode's `-A KUBE-SERVICES ! -s <cluster CIDR> -m set --match-set KUBE-CLUSTER-IP dst,dst
/// -j KUBE-MARK-MASQ`: off-cluster traffic to ClusterIPs is masqueraded. Pure.
pub fn masquerades_cluster_ips(
    rules: &[crate::dataplane::netfilter::iptables::rule::Rule],
) -> bool {
    rules.iter().any(|r| {
        r.jump() == Some("KUBE-MARK-MASQ") && r.other.iter().any(|o| o == "KUBE-CLUSTER-IP")
    })
}

/// kube-proxy's `hash:ip,port` sets of Service addresses in IPVS mode.
const SERVICE_SETS: [&str; 3] = ["KUBE-CLUSTER-IP", "KUBE-EXTERNAL-IP", "KUBE-LOAD-BALANCER"];

/// A note when the address is in none of kube-proxy's ipsets that exist: its iptables side
/// (masquerade, filter accept) does not match it. Pure.
pub fn ipset_note(address: &str, member: &[(&str, Option<bool>)]) -> Option<String> {
    let existing: Vec<&str> = member
        .iter()
        .filter(|(_, m)| m.is_some())
        .map(|(s, _)| *s)
        .collect();
    if existing.is_empty() || member.iter().any(|(_, m)| *m == Some(true)) {
        return None;
    }
    Some(format!(
        "{address} is in none of kube-proxy's ipsets ({}): the iptables rules that masquerade and accept Service traffic do not match it (kube-proxy is behind; `ipset list {}`)",
        existing.join(", "),
        existing[0]
    ))
}

fn empty(target: &PlanTarget, lookup: Lookup) -> ServiceProgram {
    ServiceProgram::empty(ProxyMode::Ipvs, target.to_string(), lookup)
}

/// The program on a kernel without IPVS at all.
pub fn not_loaded(target: &PlanTarget) -> ServiceProgram {
    let mut p = empty(target, Lookup::NoProxyState);
    p.notes.push(IpvsError::NotLoaded.to_string());
    p
}

/// The program when IPVS holds `total` services, none of them `key`.
pub fn missing(target: &PlanTarget, key: &ServiceKey, total: usize) -> ServiceProgram {
    if total == 0 {
        let mut p = empty(target, Lookup::NoProxyState);
        p.notes
            .push("IPVS is loaded but holds no virtual service at all".into());
        return p;
    }
    let mut p = empty(target, Lookup::NoRule);
    p.notes.push(format!(
        "IPVS holds {total} virtual service{} but none for {key} (`ipvsadm -Ln` lists them)",
        if total == 1 { "" } else { "s" }
    ));
    p
}

/// Schedulers whose choice follows the weights; the others (`rr`, and the connection- or
/// hash-based ones read nominally) give every serving real server the same share.
fn weighted(scheduler: &str) -> bool {
    matches!(
        scheduler,
        "wrr" | "wlc" | "lblc" | "lblcr" | "sed" | "sh" | "mh"
    )
}

/// Schedulers whose share of new connections is exact from the weights alone.
fn exact_shares(scheduler: &str) -> bool {
    matches!(scheduler, "rr" | "wrr")
}

/// The program of a virtual service and its real servers (the pure part of [`read_program`]).
///
/// A real server at weight 0 is draining: kube-proxy keeps a terminating endpoint there until
/// its connections end, and IPVS sends it no new connection. It is named in the notes and left
/// out of `endpoints`, so the judge neither calls a terminating endpoint stale nor counts a
/// ready endpoint that gets no traffic as served.
pub fn program(
    target: &PlanTarget,
    svc: &IpvsService,
    dests: &[IpvsDest],
    vip: VipBinding,
) -> ServiceProgram {
    let mut p = empty(target, Lookup::Matched);
    p.chains.push(svc.ipvsadm_line());
    p.affinity_seconds = svc.persistent;
    let serving: Vec<&IpvsDest> = dests.iter().filter(|d| d.weight > 0).collect();
    let total: u64 = serving.iter().map(|d| u64::from(d.weight)).sum();
    let by_weight = weighted(&svc.scheduler);
    for d in &serving {
        // kube-proxy's IPv4 virtual servers have IPv4 real servers.
        let std::net::IpAddr::V4(ip) = d.addr else {
            continue;
        };
        let share = if by_weight && total > 0 {
            f64::from(d.weight) / total as f64
        } else {
            1.0 / serving.len() as f64
        };
        p.endpoints.push(ProgrammedEndpoint {
            ip,
            port: d.port,
            chain: real_server(d),
            probability: share,
        });
    }
    for d in dests.iter().filter(|d| d.weight == 0) {
        p.notes.push(format!(
            "real server {} has weight 0: draining (a terminating endpoint kube-proxy keeps until its {} active and {} inactive connections end); it gets no new connections (share 0)",
            crate::kernel::ipvs::decode::socket(d.addr, d.port),
            d.active_conns,
            d.inactive_conns
        ));
    }
    for d in dests.iter().filter(|d| d.forward != Forward::Masq) {
        p.notes.push(format!(
            "real server {} is forwarded by {}, not Masq: kube-proxy only programs Masq, so something else (kube-router DSR, a manual ipvsadm) set it",
            crate::kernel::ipvs::decode::socket(d.addr, d.port),
            d.forward
        ));
    }
    if !serving.is_empty() && !exact_shares(&svc.scheduler) {
        p.notes.push(format!(
            "scheduler {} picks by connections or hash: the shares are what the weights give, not a measured split",
            svc.scheduler
        ));
    }
    p.not_local = vip_note(svc, vip);
    p
}

/// `real server 192.168.0.1:6443 Masq weight 1 (1 active, 0 inactive)`.
fn real_server(d: &IpvsDest) -> String {
    format!(
        "real server {} {} weight {} ({} active, {} inactive)",
        crate::kernel::ipvs::decode::socket(d.addr, d.port),
        d.forward,
        d.weight,
        d.active_conns,
        d.inactive_conns
    )
}

fn vip_note(svc: &IpvsService, vip: VipBinding) -> Option<String> {
    let addr = svc.addr.map(|a| a.to_string()).unwrap_or_default();
    match vip {
        VipBinding::OnKubeIpvs0 | VipBinding::Unknown => None,
        VipBinding::NotOnKubeIpvs0 => Some(format!(
            "{addr} is not an address of {KUBE_IPVS0}: the node does not take packets to it as local, so IPVS (which sees only locally delivered packets) never balances them; kube-proxy adds it on its next sync, `ip addr show {KUBE_IPVS0}` shows what is there"
        )),
        VipBinding::NoKubeIpvs0 => Some(format!(
            "this node has no {KUBE_IPVS0} device: packets to {addr} are not delivered locally, so IPVS never balances them (is kube-proxy running in IPVS mode here?)"
        )),
    }
}

#[cfg(test)]
mod tests;
