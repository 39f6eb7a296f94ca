//! The node-wide half of an inspection: Service proxy mode and how much it programs, conntrack
//! fill and counters, NodeLocal DNSCache, the CNI and the sockets served on the node's network.
//! Reads run in the calling thread's namespace (the node's); counting and matching are pure.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use netdiag_model::PlanTarget;
use netdiag_model::inspect::{
    ConntrackTable, Listener, NodeLocalDns, ProxyFacts, RuleCounts, ServiceRules,
};

use crate::dataplane::kube_proxy::detect::{self, Detection};
use crate::dataplane::kube_proxy::iptables::Entry;
use crate::dataplane::kube_proxy::iptables::IptablesSources;
use crate::dataplane::kube_proxy::nftables::TABLE as KUBE_PROXY_TABLE;
use crate::dataplane::kube_proxy::{self as kube_proxy, ProxyMode, ServiceProgram};
use crate::dataplane::netfilter::iptables::IptablesBackend;
use crate::kernel::ipvs::{IpvsSocket, IpvsSource, ServiceKey};
use crate::kernel::nftables::NftSocket;
use crate::kernel::nftables::msg::NFPROTO_IPV4;
use crate::kernel::rtnl::{Address, Link};
use crate::kernel::sock_diag::{Serving, SockDiag};
use crate::path::conntrack;

/// NodeLocal DNSCache's interface, a dummy device holding its link-local address.
pub const NODELOCALDNS_LINK: &str = "nodelocaldns";
const NETLINK_TIMEOUT: Duration = Duration::from_secs(2);

/// The node's Service data plane: kube-proxy's detection, how many Service ports and endpoints
/// it programs (one chain dump, or one IPVS service dump), and what it programs for each of
/// `services` (the rules the trace's ServiceRules hop reads, for one address each). A count
/// that cannot be read is left out, with the reason in `notes`.
pub fn proxy(
    notes: &mut Vec<String>,
    links: &[Link],
    services: &[PlanTarget],
) -> (ProxyFacts, Vec<ServiceRules>) {
    let mut sources = IptablesSources::open();
    let Detection {
        mode,
        how,
        leftovers,
    } = detect::decide(&detect::gather::gather_with_links(&mut sources, links));
    let rules = services
        .iter()
        .map(|t| {
            let read = kube_proxy::read_mode(&mut sources, mode, t, Entry::ServiceIp);
            service_rules(t, mode, read)
        })
        .collect();
    (
        proxy_facts(notes, mode, how, leftovers, &mut sources),
        rules,
    )
}

fn proxy_facts(
    notes: &mut Vec<String>,
    mode: ProxyMode,
    how: String,
    leftovers: Vec<String>,
    sources: &mut IptablesSources,
) -> ProxyFacts {
    let rules = match rule_counts(mode, sources) {
        Ok(r) => r,
        Err(e) => {
            notes.push(format!("cannot count {}'s rules: {e}", mode.name()));
            None
        }
    };
    ProxyFacts {
        mode: match mode.backend() {
            Some(b) => format!("{} ({b})", mode.name()),
            None => mode.name().to_string(),
        },
        how,
        rules,
        leftovers,
    }
}

fn rule_counts(
    mode: ProxyMode,
    sources: &mut IptablesSources,
) -> Result<Option<RuleCounts>, String> {
    let nft_chains = |table: &str| {
        NftSocket::open(NETLINK_TIMEOUT)
            .and_then(|mut s| s.chain_names(NFPROTO_IPV4, table))
            .map_err(|e| e.to_string())
    };
    match mode {
        ProxyMode::Iptables(Some(IptablesBackend::Legacy)) => {
            let legacy = sources
                .legacy
                .as_mut()
                .ok_or("the legacy tables cannot be opened")?;
            let nat = legacy.table("nat").map_err(|e| e.to_string())?;
            let names: Vec<String> = nat
                .map(|t| t.chain_names().map(str::to_string).collect())
                .unwrap_or_default();
            Ok(Some(count_chains(mode, &names)))
        }
        ProxyMode::Iptables(_) => Ok(Some(count_chains(mode, &nft_chains("nat")?))),
        ProxyMode::Nftables => Ok(Some(count_chains(mode, &nft_chains(KUBE_PROXY_TABLE)?))),
        ProxyMode::Ipvs => ipvs_counts().map(Some),
        ProxyMode::Replaced(_) => Ok(None),
    }
}

/// One address's rules in words: the endpoints they pick, sorted, and why there are none when
/// there are none. Pure.
pub fn service_rules(
    target: &PlanTarget,
    mode: ProxyMode,
    read: Option<Result<ServiceProgram, kube_proxy::ReadError>>,
) -> ServiceRules {
    let address = target.to_string();
    let program = match read {
        None => {
            return ServiceRules {
                address,
                endpoints: Vec::new(),
                notes: vec![format!(
                    "Services here are balanced by {}, whose rules netdiag does not read",
                    mode.name()
                )],
            };
        }
        Some(Err(e)) => {
            return ServiceRules {
                address,
                endpoints: Vec::new(),
                notes: vec![format!("cannot read {}'s rules: {e}", mode.name())],
            };
        }
        Some(Ok(p)) => p,
    };
    let mut endpoints: Vec<String> = (program.endpoints.iter())
        .map(|e| format!("{}:{}", e.ip, e.port))
        .collect();
    endpoints.sort();
    endpoints.dedup();
    let mut notes = program.notes;
    if let Some(b) = &program.blocked {
        notes.push(format!(
            "{} {} in {}/{}{}",
            b.action,
            address,
            b.table,
            b.chain,
            b.comment
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        ));
    }
    ServiceRules {
        address,
        endpoints,
        notes,
    }
}

/// Service ports and endpoints from the chain names of kube-proxy's table: one `KUBE-SVC-*` per
/// Service port and one `KUBE-SEP-*` per endpoint (iptables), `service-*` and `endpoint-*`
/// (nftables). Pure.
pub fn count_chains(mode: ProxyMode, names: &[String]) -> RuleCounts {
    let (svc, sep) = match mode {
        ProxyMode::Nftables => ("service-", "endpoint-"),
        _ => ("KUBE-SVC-", "KUBE-SEP-"),
    };
    let count = |prefix: &str| names.iter().filter(|n| n.starts_with(prefix)).count() as u64;
    RuleCounts {
        services: count(svc),
        endpoints: count(sep),
    }
}

/// Virtual services and their real servers, like `ipvsadm -Ln | grep -c`. Firewall-mark
/// services have no address key and are counted without their servers.
fn ipvs_counts() -> Result<RuleCounts, String> {
    let mut ipvs = IpvsSocket::open().map_err(|e| e.to_string())?;
    let services = ipvs.services().map_err(|e| e.to_string())?;
    let mut endpoints = 0u64;
    for svc in &services {
        let Some(addr) = svc.addr else { continue };
        let key = ServiceKey {
            protocol: svc.protocol,
            addr,
            port: svc.port,
        };
        endpoints += ipvs.dests(&key).map_err(|e| e.to_string())?.len() as u64;
    }
    Ok(RuleCounts {
        services: services.len() as u64,
        endpoints,
    })
}

/// `nf_conntrack_count`/`max` and the summed per-CPU counters.
pub fn conntrack_table() -> ConntrackTable {
    let p = conntrack::table_pressure();
    ConntrackTable {
        count: p.count,
        max: p.max,
        insert_failed: p.insert_failed,
        drop: p.drop,
        early_drop: p.early_drop,
    }
}

/// Listening TCP and bound UDP sockets of the calling thread's namespace, like `ss -ltnu`,
/// sorted and without repeats (a socket per CPU with SO_REUSEPORT shows once).
pub fn listeners(notes: &mut Vec<String>) -> Vec<Listener> {
    let mut out = Vec::new();
    let mut diag = match SockDiag::open() {
        Ok(d) => d,
        Err(e) => {
            notes.push(format!("cannot list the node's sockets: {e}"));
            return out;
        }
    };
    for (serving, protocol) in [(Serving::Tcp, "TCP"), (Serving::Udp, "UDP")] {
        match diag.bound_sockets(serving) {
            Ok(socks) => out.extend(socks.into_iter().map(|s| Listener {
                protocol: protocol.into(),
                address: s.local.ip().to_string(),
                port: s.local.port(),
                pod: None,
            })),
            Err(e) => notes.push(format!("cannot list the node's {protocol} sockets: {e}")),
        }
    }
    out.sort_by(|a, b| (&a.protocol, a.port, &a.address).cmp(&(&b.protocol, b.port, &b.address)));
    out.dedup();
    out
}

/// NodeLocal DNSCache from its interface's address and the sockets: listening when a UDP
/// socket on port 53 covers the address (bound to it, or to a wildcard). None without the
/// interface. Pure.
pub fn nodelocaldns(
    links: &[Link],
    addresses: &[Address],
    listeners: &[Listener],
) -> Option<NodeLocalDns> {
    let link = links.iter().find(|l| l.name == NODELOCALDNS_LINK)?;
    let on_link: Vec<Ipv4Addr> = (addresses.iter())
        .filter(|a| a.ifindex == link.index)
        .map(|a| a.ip)
        .collect();
    // Its own link-local address, not the kube-dns ClusterIP it may also hold.
    let address = (on_link.iter().find(|ip| ip.is_link_local()))
        .or(on_link.first())
        .copied()?;
    let covers = |l: &Listener| {
        l.protocol == "UDP"
            && l.port == 53
            && l.address
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip == IpAddr::V4(address) || ip.is_unspecified())
    };
    Some(NodeLocalDns {
        address: address.to_string(),
        listening: listeners.iter().any(covers),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::rtnl::{LinkKind, OperState};

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn iptables_counts_svc_and_sep_chains_nftables_its_own() {
        let ipt = names(&[
            "KUBE-SERVICES",
            "KUBE-SVC-7VVRITHJKDZHDQAD",
            "KUBE-SVC-TCOU7JCQXEZGVUNU",
            "KUBE-SEP-U2LTPJXAZEM2OQET",
            "KUBE-SEP-AANMSM6QVJW3JS2Y",
            "KUBE-SEP-NXPMRYPPF5OQRY2M",
            "KUBE-MARK-MASQ",
        ]);
        let got = count_chains(ProxyMode::Iptables(None), &ipt);
        assert_eq!((got.services, got.endpoints), (2, 3));
        let nft = names(&[
            "services",
            "service-ULMVA6XW-default/echo-service/tcp/http",
            "endpoint-5OJB2KTY-default/echo-service/tcp/http__10.244.1.3/8080",
            "endpoint-ABCDEFGH-default/echo-service/tcp/http__10.244.2.2/8080",
        ]);
        let got = count_chains(ProxyMode::Nftables, &nft);
        assert_eq!((got.services, got.endpoints), (1, 2));
    }

    fn nodelocal_link() -> Link {
        Link {
            oper_state: OperState::Unknown,
            ..Link::new(7, NODELOCALDNS_LINK, Some(LinkKind::Dummy))
        }
    }

    fn udp(address: &str, port: u16) -> Listener {
        Listener {
            protocol: "UDP".into(),
            address: address.into(),
            port,
            pod: None,
        }
    }

    #[test]
    fn nodelocaldns_is_its_link_local_address_and_listens_when_port_53_covers_it() {
        let links = [nodelocal_link()];
        // nodelocaldns also holds the kube-dns ClusterIP; its own address is the link-local one.
        let addrs = [
            Address {
                ifindex: 7,
                ip: Ipv4Addr::new(10, 96, 0, 10),
                prefix_len: 32,
            },
            Address {
                ifindex: 7,
                ip: Ipv4Addr::new(169, 254, 20, 10),
                prefix_len: 32,
            },
        ];
        let got = nodelocaldns(&links, &addrs, &[udp("169.254.20.10", 53)]).expect("found");
        assert_eq!(
            (got.address.as_str(), got.listening),
            ("169.254.20.10", true)
        );
        let wildcard = nodelocaldns(&links, &addrs, &[udp("0.0.0.0", 53)]).expect("found");
        assert!(wildcard.listening);
        let silent = nodelocaldns(&links, &addrs, &[udp("169.254.20.10", 5353)]).expect("found");
        assert!(!silent.listening);
        assert_eq!(nodelocaldns(&[], &addrs, &[]), None);
    }

    #[test]
    fn a_services_rules_become_sorted_endpoints_or_the_reason_there_are_none() {
        use crate::dataplane::kube_proxy::model::Replacement;
        use crate::dataplane::kube_proxy::model::{Lookup, ProgrammedEndpoint};
        let target = PlanTarget {
            ip: [10, 96, 45, 10].into(),
            port: 80,
            protocol: netdiag_model::Protocol::TCP,
        };
        let mode = ProxyMode::Iptables(None);
        let mut program = ServiceProgram::empty(mode, target.to_string(), Lookup::Matched);
        for ip in ["10.244.2.2", "10.244.1.3"] {
            program.endpoints.push(ProgrammedEndpoint {
                ip: ip.parse().expect("test address"),
                port: 8080,
                chain: "KUBE-SEP-X".into(),
                probability: 0.5,
            });
        }
        let got = service_rules(&target, mode, Some(Ok(program)));
        assert_eq!(got.endpoints, ["10.244.1.3:8080", "10.244.2.2:8080"]);
        assert!(got.notes.is_empty());
        let cilium = ProxyMode::Replaced(Replacement::Cilium);
        let none = service_rules(&target, cilium, None);
        assert!(none.endpoints.is_empty());
        assert!(
            none.notes[0].contains("balanced by cilium"),
            "{:?}",
            none.notes
        );
    }
}
