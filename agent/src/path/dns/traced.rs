//! The DNS queries' own rule trace (evidence): armed in the node's namespace once the query
//! sockets are bound, finished when the answers are in or the wait is over. A rule that
//! dropped a query is why a server stayed silent: its Firewall hop, which comes before the Dns
//! hop on the path, names the rule, so the first failure is the cause and not a timeout.

use std::net::SocketAddrV4;

use netdiag_model::report::TracedRule;
use netdiag_model::{Hop, Protocol, Verdict};

use super::DnsTarget;
use crate::path::firewall::{self, ArmedTrace, judge};

/// The hop's name for the queries: `DNS 10.244.1.2:40001,40002 -> 169.254.25.10:53,
/// 10.96.0.10:53/udp`. Pure.
pub fn flow(locals: &[SocketAddrV4], servers: &[DnsTarget]) -> String {
    let source = match locals.first() {
        Some(first) => {
            let ports: Vec<String> = locals.iter().map(|l| l.port().to_string()).collect();
            format!("{}:{}", first.ip(), ports.join(","))
        }
        None => String::from("?"),
    };
    let to: Vec<String> = (servers.iter())
        .filter(|s| s.addr.is_ipv4())
        .map(|s| s.addr.to_string())
        .collect();
    format!("DNS {source} -> {}/udp", to.join(", "))
}

/// Arm a trace of the UDP queries from `locals`, in the calling thread's namespace.
pub fn arm(node: &str, locals: &[SocketAddrV4], servers: &[DnsTarget]) -> ArmedTrace {
    let sources: Vec<(Protocol, SocketAddrV4)> =
        locals.iter().map(|l| (Protocol::UDP, *l)).collect();
    firewall::arm_flows(node, flow(locals, servers), &sources)
}

/// What the queries' trace adds to the path: its Firewall hop and the rules met, when a rule
/// dropped one of them; nothing otherwise (the connect's own trace says what the node's rules
/// do, and a trace that could not be armed is reported there too). Pure.
pub fn dropped(
    hop: Hop,
    rules: Vec<TracedRule>,
    servers: &[DnsTarget],
) -> Option<(Hop, Vec<TracedRule>)> {
    if hop.verdict != Verdict::Fail {
        return None;
    }
    let asked: Vec<String> = (servers.iter())
        .filter(|s| s.addr.is_ipv4())
        .map(|s| format!("{} {}", s.role, s.addr))
        .collect();
    let query = format!("the probe's DNS query (to {})", asked.join(" or "));
    let mut hop = hop;
    hop.detail = hop.detail.replacen(judge::DROPPED_PACKET, &query, 1);
    Some((hop, rules))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::nftables::msg::NftVerdict;
    use crate::kernel::nftables::trace::TraceEvent;
    use crate::path::firewall::judge::RuleText;
    use netdiag_model::{HopKind, Reason};

    fn servers() -> Vec<DnsTarget> {
        let t = |a: &str, role: &str| DnsTarget {
            addr: a.parse().expect("an address"),
            role: role.into(),
        };
        vec![
            t("169.254.25.10:53", "nodelocaldns"),
            t("10.96.0.10:53", "kube-dns"),
            t("[fd00::10]:53", "resolv.conf"),
        ]
    }

    fn event(chain: &str, handle: u64, verdict: NftVerdict) -> TraceEvent {
        TraceEvent::rule(7, "filter", chain, handle, verdict)
    }

    fn judged(events: &[TraceEvent]) -> (Hop, Vec<TracedRule>) {
        let text = |_: &TraceEvent| {
            Some(RuleText {
                nft: "udp dport 53 drop".into(),
                iptables: Some("-A FORWARD -p udp -m udp --dport 53 -j DROP".into()),
            })
        };
        let locals = [
            "10.244.1.2:40001".parse().expect("a"),
            "10.244.1.2:40002".parse().expect("a"),
        ];
        let flow = flow(&locals, &servers());
        (
            judge::judge("node-a", &flow, events, text),
            judge::traced_rules(events, text),
        )
    }

    #[test]
    fn the_queries_are_named_by_their_ports_and_servers() {
        let (hop, _) = judged(&[]);
        assert_eq!(
            hop.name,
            "DNS 10.244.1.2:40001,40002 -> 169.254.25.10:53, 10.96.0.10:53/udp"
        );
        assert_eq!(flow(&[], &[]), "DNS ? -> /udp");
    }

    #[test]
    fn a_dropped_query_is_a_firewall_failure_naming_the_rule_and_the_query() {
        let (hop, rules) = judged(&[
            event("PREROUTING", 1, NftVerdict::Continue),
            event("FORWARD", 9, NftVerdict::Drop),
        ]);
        let Some((hop, rules)) = dropped(hop, rules, &servers()) else {
            panic!("a drop is kept");
        };
        assert_eq!(
            (hop.kind.clone(), hop.verdict),
            (HopKind::Firewall, Verdict::Fail)
        );
        assert_eq!(hop.reason, Some(Reason::DroppedByRule));
        assert!(
            hop.detail.starts_with("rule `-A FORWARD -p udp -m udp --dport 53 -j DROP` (handle 9) in ip filter FORWARD on node-a dropped the probe's DNS query (to nodelocaldns 169.254.25.10:53 or kube-dns 10.96.0.10:53): a node firewall rule"),
            "{}",
            hop.detail
        );
        assert_eq!(rules.len(), 2);
    }

    #[test]
    fn queries_no_rule_dropped_add_nothing() {
        let (hop, rules) = judged(&[event("FORWARD", 3, NftVerdict::Accept)]);
        assert_eq!(hop.verdict, Verdict::Ok);
        assert!(dropped(hop, rules, &servers()).is_none());
        let (hop, rules) = judged(&[]);
        assert!(dropped(hop, rules, &servers()).is_none());
    }
}
