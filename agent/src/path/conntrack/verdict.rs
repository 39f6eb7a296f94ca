//! The Conntrack hop's verdict: structs in, hop out, no I/O.

use std::net::SocketAddrV4;

use crate::dataplane::kube_proxy::Replacement;
use netdiag_model::Reason;
use netdiag_model::report::ConntrackDetail;
use netdiag_model::{Endpoint, Hop, HopDetail, HopKind, Protocol, Verdict};

use super::entry::{CtEntry, CtTuple};
use super::stats::TablePressure;

/// What looking the flow up found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    Entry(CtEntry),
    /// The entry was created (its NEW event was seen) but is no longer in the table: the kernel
    /// deletes a TCP entry at once when the only answer was a RST.
    Gone(CtEntry),
    NotFound,
    /// The table could not be read, in words (with the operation that failed).
    Unreadable(String),
}

/// Judge the lookup of the flow `src -> dst` and the table's pressure.
pub fn judge(
    node: &str,
    protocol: Protocol,
    src: SocketAddrV4,
    dst: SocketAddrV4,
    found: &Found,
    pressure: &TablePressure,
) -> (Hop, Option<Endpoint>) {
    let flow = format!("{src} -> {dst}/{protocol}");
    let mut detail = ConntrackDetail {
        count: pressure.count,
        max: pressure.max,
        insert_failed: pressure.insert_failed,
        drop: pressure.drop,
        early_drop: pressure.early_drop,
        ..Default::default()
    };
    // (verdict, reason, line) from the entry itself; table pressure may raise it below.
    let (mut verdict, mut reason, mut line): (Verdict, Option<Reason>, String);
    let mut chosen = None;
    match found {
        Found::Entry(e) => {
            detail.original = Some(e.original.to_report());
            detail.reply = Some(e.reply.to_report());
            detail.state = e.state();
            detail.flags = e.flags();
            chosen = e.dnat_target().map(endpoint);
            detail.chosen_endpoint = chosen;
            // The hop's name is the flow already; the detail says what became of it.
            let nat = match e.dnat_target() {
                Some(to) => format!("DNAT to {to}"),
                None => "not DNAT'd".to_string(),
            };
            line = e
                .state()
                .into_iter()
                .chain(Some(nat))
                .chain(e.snat_source().map(|s| format!("SNAT to {s}")))
                .collect::<Vec<_>>()
                .join(", ");
            if e.seen_reply() {
                (verdict, reason) = (Verdict::Ok, None);
            } else {
                let who = e.dnat_target().unwrap_or(e.original.dst);
                line.push_str(&format!(
                    "; no reply ever came back from {who}: the packets reached the node but the endpoint did not answer"
                ));
                (verdict, reason) = (Verdict::Warn, Some(Reason::ConntrackUnreplied));
            }
        }
        Found::Gone(e) => {
            detail.original = Some(e.original.to_report());
            detail.reply = Some(e.reply.to_report());
            chosen = e.dnat_target().map(endpoint);
            detail.chosen_endpoint = chosen;
            let nat = match e.dnat_target() {
                Some(to) => format!("DNAT to {to}"),
                None => "not DNAT'd".to_string(),
            };
            line = format!(
                "{nat}; the entry is already gone: the kernel deletes it when the only answer is a RST (connection refused)"
            );
            (verdict, reason) = (Verdict::Ok, None);
        }
        Found::NotFound => {
            line = format!(
                "no conntrack entry for {flow} on this node: the packets never made it through the node's netfilter \
                 (dropped in the pod, on its veth, or by the node's routing before conntrack confirmed them), \
                 the entry already expired, or this traffic is not tracked (NOTRACK)"
            );
            (verdict, reason) = (Verdict::Warn, Some(Reason::NoConntrackEntry));
        }
        Found::Unreadable(msg) => {
            line = format!("cannot read conntrack for {flow}: {msg}");
            (verdict, reason) = (Verdict::Warn, Some(Reason::ConntrackUnreadable));
        }
    }
    if pressure.has_drops() {
        line.push_str(&format!(
            "; conntrack dropped packets on this node (drop={}, insert_failed={}, early_drop={}, all CPUs, since boot)",
            pressure.drop.unwrap_or(0),
            pressure.insert_failed.unwrap_or(0),
            pressure.early_drop.unwrap_or(0)
        ));
        verdict = verdict.max(Verdict::Warn);
        reason = Some(Reason::ConntrackDrops);
    }
    // A full table explains drops, so it names the reason when both hold.
    if let (true, Some(count), Some(max)) = (pressure.nearly_full(), pressure.count, pressure.max) {
        line.push_str(&format!(
            "; the conntrack table is {}% full ({count} of {max}): new connections will be dropped",
            u128::from(count) * 100 / u128::from(max.max(1))
        ));
        verdict = verdict.max(Verdict::Warn);
        reason = Some(Reason::ConntrackTableFull);
    }
    let mut hop = Hop::new(node, HopKind::Conntrack, flow, verdict, line)
        .with_details(HopDetail::Conntrack(detail));
    if let Some(r) = reason {
        hop = hop.with_reason(r);
    }
    (hop, chosen)
}

fn endpoint(a: SocketAddrV4) -> Endpoint {
    Endpoint {
        ip: *a.ip(),
        port: a.port(),
    }
}

/// The tuple a probe connection from `src` to `dst` has in the original direction.
pub fn original_tuple(protocol: Protocol, src: SocketAddrV4, dst: SocketAddrV4) -> CtTuple {
    CtTuple {
        proto: match protocol {
            // `trace::check_plan` refuses an unknown protocol before any check runs.
            Protocol::TCP | Protocol::Unknown => 6,
            Protocol::UDP => 17,
        },
        src,
        dst,
    }
}

/// The hop on a node whose Service load balancer keeps its own connection tracking (Cilium's
/// eBPF maps): the kernel's table never holding the probe's entry is expected there, not a sign
/// the packets were lost, so it is an Info that says where to look instead.
pub fn kept_elsewhere(hop: Hop, replaced: Replacement) -> Hop {
    if hop.reason != Some(Reason::NoConntrackEntry) {
        return hop;
    }
    let instead = match replaced {
        Replacement::Cilium => {
            "Cilium tracks connections in its own eBPF maps (`cilium-dbg bpf ct list global` in the node's cilium agent pod)"
        }
        Replacement::CalicoEbpf => {
            "Calico's eBPF data plane tracks connections in its own maps (`calico-node -bpf conntrack dump` in the node's calico-node pod)"
        }
        Replacement::Unknown => {
            "kube-proxy does not run here, and what balances Services may track connections outside the kernel's table"
        }
    };
    let mut hop = Hop {
        verdict: Verdict::Info,
        reason: None,
        ..hop
    };
    hop.detail = format!(
        "the kernel's conntrack table has no entry for {}: {instead}",
        hop.name
    );
    hop
}

#[cfg(test)]
mod tests {
    use super::super::entry::decode;
    use super::super::entry::tests::{established_attrs, sa};
    use super::*;

    fn src() -> SocketAddrV4 {
        sa([10, 244, 1, 5], 55886)
    }
    fn vip() -> SocketAddrV4 {
        sa([10, 96, 45, 10], 80)
    }
    fn quiet() -> TablePressure {
        TablePressure {
            count: Some(120),
            max: Some(262144),
            insert_failed: Some(0),
            drop: Some(0),
            early_drop: Some(0),
        }
    }
    fn ct(hop: &Hop) -> &ConntrackDetail {
        match &hop.details {
            Some(HopDetail::Conntrack(d)) => d,
            other => panic!("not conntrack: {other:?}"),
        }
    }

    #[test]
    fn an_established_entry_names_the_endpoint_dnat_chose() {
        let e = decode(&established_attrs()).unwrap();
        let (hop, chosen) = judge(
            "node-a",
            Protocol::TCP,
            src(),
            vip(),
            &Found::Entry(e),
            &quiet(),
        );
        let want = Endpoint {
            ip: [10, 244, 2, 7].into(),
            port: 8080,
        };
        assert_eq!(chosen.as_ref(), Some(&want));
        assert_eq!(hop.verdict, Verdict::Ok);
        assert_eq!(hop.reason, None);
        assert_eq!(hop.kind, HopKind::Conntrack);
        assert_eq!(hop.name, "10.244.1.5:55886 -> 10.96.45.10:80/tcp");
        assert!(
            hop.detail.contains("ESTABLISHED, DNAT to 10.244.2.7:8080"),
            "{}",
            hop.detail
        );
        let d = ct(&hop);
        assert_eq!(d.chosen_endpoint.as_ref(), Some(&want));
        assert_eq!(d.reply.as_ref().map(|r| r.sport), Some(8080));
        assert!(d.flags.contains(&"ASSURED".to_string()));
        assert_eq!(d.count, Some(120));
    }

    #[test]
    fn an_unreplied_entry_warns_naming_the_silent_endpoint() {
        let mut e = decode(&established_attrs()).unwrap();
        e.status = 1 << 3 | 1 << 5; // CONFIRMED DST_NAT: the SYN went out, nothing came back
        e.tcp_state = Some(1);
        let (hop, chosen) = judge("n", Protocol::TCP, src(), vip(), &Found::Entry(e), &quiet());
        assert_eq!(hop.verdict, Verdict::Warn);
        assert_eq!(hop.reason.clone(), Some(Reason::ConntrackUnreplied));
        assert!(hop.detail.contains("SYN_SENT"), "{}", hop.detail);
        assert!(
            hop.detail
                .contains("no reply ever came back from 10.244.2.7:8080"),
            "{}",
            hop.detail
        );
        assert!(chosen.is_some());
    }

    #[test]
    fn on_cilium_a_missing_kernel_entry_is_an_info_that_names_ciliums_own_table() {
        let (hop, _) = judge("n", Protocol::TCP, src(), vip(), &Found::NotFound, &quiet());
        assert_eq!(hop.reason, Some(Reason::NoConntrackEntry));
        let hop = kept_elsewhere(hop, Replacement::Cilium);
        assert_eq!((hop.verdict, hop.reason.clone()), (Verdict::Info, None));
        assert!(
            hop.detail.contains("cilium-dbg bpf ct list global"),
            "{}",
            hop.detail
        );
        // Anything else the kernel's table says still stands.
        let (full, _) = judge(
            "n",
            Protocol::TCP,
            src(),
            vip(),
            &Found::Unreadable("no CAP_NET_ADMIN".into()),
            &quiet(),
        );
        let kept = kept_elsewhere(full.clone(), Replacement::Cilium);
        assert_eq!(kept, full);
    }

    #[test]
    fn an_entry_seen_only_as_an_event_still_names_the_endpoint() {
        let entry = decode(&established_attrs()).unwrap();
        let (hop, chosen) = judge(
            "n",
            Protocol::TCP,
            src(),
            vip(),
            &Found::Gone(entry),
            &quiet(),
        );
        assert_eq!((hop.verdict, hop.reason.clone()), (Verdict::Ok, None));
        let to = chosen.expect("DNAT target from the event");
        assert_eq!(to.to_string(), "10.244.2.7:8080");
        assert!(
            hop.detail
                .starts_with("DNAT to 10.244.2.7:8080; the entry is already gone"),
            "{}",
            hop.detail
        );
        assert_eq!(ct(&hop).chosen_endpoint, Some(to));
    }

    #[test]
    fn no_entry_warns_and_says_what_it_means() {
        let (hop, chosen) = judge("n", Protocol::UDP, src(), vip(), &Found::NotFound, &quiet());
        assert_eq!(hop.verdict, Verdict::Warn);
        assert_eq!(hop.reason.clone(), Some(Reason::NoConntrackEntry));
        assert!(
            hop.detail
                .contains("never made it through the node's netfilter"),
            "{}",
            hop.detail
        );
        assert!(hop.detail.contains("10.96.45.10:80/udp"), "{}", hop.detail);
        assert_eq!(chosen, None);
    }

    #[test]
    fn drops_turn_a_good_entry_into_a_warning_with_the_numbers() {
        let e = decode(&established_attrs()).unwrap();
        let p = TablePressure {
            insert_failed: Some(12),
            drop: Some(3),
            ..quiet()
        };
        let (hop, chosen) = judge("n", Protocol::TCP, src(), vip(), &Found::Entry(e), &p);
        assert_eq!(hop.verdict, Verdict::Warn);
        assert_eq!(hop.reason.clone(), Some(Reason::ConntrackDrops));
        assert!(
            hop.detail.contains("drop=3, insert_failed=12"),
            "{}",
            hop.detail
        );
        assert!(chosen.is_some(), "the endpoint is still reported");
    }

    #[test]
    fn a_nearly_full_table_is_the_reason_even_with_drops() {
        let p = TablePressure {
            count: Some(262000),
            max: Some(262144),
            drop: Some(9),
            ..quiet()
        };
        let (hop, _) = judge("n", Protocol::TCP, src(), vip(), &Found::NotFound, &p);
        assert_eq!(hop.verdict, Verdict::Warn);
        assert_eq!(hop.reason.clone(), Some(Reason::ConntrackTableFull));
        assert!(
            hop.detail.contains("99% full (262000 of 262144)"),
            "{}",
            hop.detail
        );
    }

    #[test]
    fn an_unreadable_table_is_a_warning_with_the_cause() {
        let found = Found::Unreadable("ctnetlink: Operation not permitted".into());
        let (hop, _) = judge(
            "n",
            Protocol::TCP,
            src(),
            vip(),
            &found,
            &TablePressure::default(),
        );
        assert_eq!(hop.reason.clone(), Some(Reason::ConntrackUnreadable));
        assert!(hop.detail.contains("Operation not permitted"));
    }
}
