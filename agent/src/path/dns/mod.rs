//! The Dns hop: ask every nameserver the pod uses, and cluster DNS, for one name, like
//! `kubectl exec curl1 -- dig @10.96.0.10 echo.default.svc.cluster.local` once per server.
//!
//! The name is always queried as an absolute name (`name.`), even when it has no trailing dot
//! and fewer dots than the pod's `ndots`: the probe checks what each server answers for that
//! exact name, not how the pod's resolver walks its search list.
//!
//! [`wire`] builds and reads messages and [`verdict`] judges the replies (both pure);
//! [`query`] does the I/O; [`traced`] names the rule that dropped a query (evidence).

pub mod query;
pub mod traced;
pub mod verdict;
pub mod wire;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use netdiag_model::Reason;
use netdiag_model::report::ResolvConf;
use netdiag_model::{DnsResult, DnsServer, Hop, HopKind, Verdict};

/// A DNS server to ask, and what it is (`nodelocaldns`, `kube-dns`, `resolv.conf`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsTarget {
    pub addr: SocketAddr,
    pub role: String,
}

/// The result of [`query_all`]: one hop of kind `Dns`, and one result per server.
#[derive(Clone, Debug, PartialEq)]
pub struct DnsOutcome {
    pub hop: Hop,
    pub results: Vec<DnsResult>,
}

/// The servers to ask: every nameserver of the pod's resolv.conf, in its order, then each of
/// `extra` (the kube-dns ClusterIP...) not already listed.
///
/// A resolv.conf nameserver takes the role of the `extra` entry with the same address; else a
/// link-local one (169.254.0.0/16) is `nodelocaldns`, any other `resolv.conf`. Addresses
/// without a port use 53. Entries that are not IP addresses are left out: a resolver could not
/// use them either.
pub fn servers_from(resolv: Option<&ResolvConf>, extra: &[DnsServer]) -> Vec<DnsTarget> {
    let extras: Vec<(SocketAddr, &str)> = extra
        .iter()
        .map(|s| (SocketAddr::V4(s.address), s.role.as_str()))
        .collect();
    let mut out: Vec<DnsTarget> = Vec::new();
    for ns in resolv.map(|r| r.nameservers.as_slice()).unwrap_or_default() {
        let Some(addr) = parse_server(ns) else {
            continue;
        };
        let role = match extras.iter().find(|(a, _)| *a == addr) {
            Some((_, role)) => (*role).to_string(),
            None if is_link_local(addr.ip()) => "nodelocaldns".to_string(),
            None => "resolv.conf".to_string(),
        };
        if !out.iter().any(|t| t.addr == addr) {
            out.push(DnsTarget { addr, role });
        }
    }
    for (addr, role) in extras {
        if !out.iter().any(|t| t.addr == addr) {
            out.push(DnsTarget {
                addr,
                role: role.to_string(),
            });
        }
    }
    out
}

/// `IP`, `IP:port` or `[v6]:port`; a bare IP means port 53.
fn parse_server(s: &str) -> Option<SocketAddr> {
    let s = s.trim();
    s.parse::<SocketAddr>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53)))
}

fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(_) => false,
    }
}

/// Ask every server in `servers` for the A record of `name` from inside the pod namespace at
/// `pod_netns`, in parallel, each within `timeout`, and judge the answers against `expect`
/// (the Service's ClusterIP, when the name is a Service's).
pub fn query_all(
    node: &str,
    pod_netns: &Path,
    name: &str,
    servers: &[DnsTarget],
    expect: Option<Ipv4Addr>,
    timeout: Duration,
) -> DnsOutcome {
    query_all_with(node, pod_netns, name, servers, expect, timeout, |_| ())
}

/// [`query_all`], calling `before_send` with the queries' local addresses before they leave
/// ([`query::ask_all_with`]); not called when no query is sent.
pub fn query_all_with(
    node: &str,
    pod_netns: &Path,
    name: &str,
    servers: &[DnsTarget],
    expect: Option<Ipv4Addr>,
    timeout: Duration,
    before_send: impl FnOnce(&[std::net::SocketAddrV4]),
) -> DnsOutcome {
    if let Err(e) = wire::a_query(name, 0) {
        let hop = Hop::new(node, HopKind::Dns, name, Verdict::Fail, e.to_string())
            .with_reason(Reason::DnsBadName);
        return DnsOutcome {
            hop,
            results: vec![],
        };
    }
    match query::ask_all_with(pod_netns, name, servers, timeout, before_send) {
        Ok(asked) => {
            let (hop, results) = verdict::judge(node, name, expect, &asked, timeout);
            DnsOutcome { hop, results }
        }
        Err(e) => DnsOutcome {
            hop: Hop::new(
                node,
                HopKind::Dns,
                name,
                Verdict::Fail,
                format!("cannot ask DNS from the pod: {e}"),
            )
            .with_reason(Reason::DnsProbeFailed),
            results: vec![],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolv(ns: &[&str]) -> ResolvConf {
        ResolvConf {
            nameservers: ns.iter().map(|s| s.to_string()).collect(),
            search: vec!["default.svc.cluster.local".into()],
            options: vec!["ndots:5".into()],
        }
    }
    fn server(address: &str, role: &str) -> DnsServer {
        DnsServer {
            address: netdiag_model::addr::parse_dns_server(address).expect("test address"),
            role: role.into(),
        }
    }
    fn listed(ts: &[DnsTarget]) -> Vec<String> {
        ts.iter()
            .map(|t| format!("{} {}", t.role, t.addr))
            .collect()
    }

    #[test]
    fn resolv_conf_servers_come_first_then_the_extra_ones() {
        let r = resolv(&["169.254.25.10"]);
        let got = servers_from(Some(&r), &[server("10.96.0.10", "kube-dns")]);
        assert_eq!(
            listed(&got),
            ["nodelocaldns 169.254.25.10:53", "kube-dns 10.96.0.10:53"]
        );
    }

    #[test]
    fn a_resolv_conf_server_that_is_also_extra_takes_its_role_once() {
        let r = resolv(&["10.96.0.10", "8.8.8.8"]);
        let got = servers_from(Some(&r), &[server("10.96.0.10:53", "kube-dns")]);
        assert_eq!(
            listed(&got),
            ["kube-dns 10.96.0.10:53", "resolv.conf 8.8.8.8:53"]
        );
    }

    #[test]
    fn without_resolv_conf_only_the_extra_servers_are_asked() {
        let got = servers_from(None, &[server("10.96.0.10:5353", "kube-dns")]);
        assert_eq!(listed(&got), ["kube-dns 10.96.0.10:5353"]);
    }

    #[test]
    fn junk_and_duplicate_nameservers_are_left_out() {
        let r = resolv(&["10.96.0.10", "bogus", "10.96.0.10", "fd00::10"]);
        let got = servers_from(Some(&r), &[]);
        assert_eq!(
            listed(&got),
            ["resolv.conf 10.96.0.10:53", "resolv.conf [fd00::10]:53"]
        );
    }

    #[test]
    fn a_name_that_is_not_a_dns_name_fails_without_sending() {
        let long = "x".repeat(80);
        let out = query_all(
            "n",
            Path::new("/nonexistent"),
            &long,
            &[],
            None,
            Duration::from_millis(10),
        );
        assert_eq!(out.hop.reason.clone(), Some(Reason::DnsBadName));
        assert!(out.results.is_empty());
    }

    #[test]
    fn a_pod_namespace_that_cannot_be_entered_fails_the_hop() {
        let servers = servers_from(None, &[server("10.96.0.10", "kube-dns")]);
        let out = query_all(
            "n",
            Path::new("/nonexistent/netns"),
            "echo.default",
            &servers,
            None,
            Duration::from_millis(10),
        );
        assert_eq!(out.hop.reason.clone(), Some(Reason::DnsProbeFailed));
        assert!(out.hop.detail.contains("/nonexistent/netns"));
    }
}
