use super::*;
use crate::kernel::nftables::msg::NftVerdict;

fn ev(id: u32, table: &str, chain: &str, handle: u64, verdict: NftVerdict) -> TraceEvent {
    TraceEvent::rule(id, table, chain, handle, verdict)
}

#[test]
fn a_forward_drop_is_named_with_its_iptables_text_and_owner() {
    let events = [
        ev(
            1,
            "nat",
            "PREROUTING",
            3,
            NftVerdict::Jump("KUBE-SERVICES".into()),
        ),
        ev(1, "filter", "FORWARD", 9, NftVerdict::Drop),
    ];
    let hop = judge(
        "node-a",
        "10.244.1.2:40000 -> 10.96.45.10:80/tcp",
        &events,
        |e| {
            (e.handle == Some(9)).then(|| RuleText {
                nft: "ip daddr 10.244.2.0/24 counter packets 1 bytes 60 drop".into(),
                iptables: Some("-A FORWARD -d 10.244.2.0/24 -j DROP".into()),
            })
        },
    );
    assert_eq!(hop.verdict, Verdict::Fail);
    assert_eq!(hop.kind, HopKind::Firewall);
    assert_eq!(hop.reason, Some(Reason::DroppedByRule));
    assert_eq!(
        hop.detail,
        "rule `-A FORWARD -d 10.244.2.0/24 -j DROP` (handle 9) in ip filter FORWARD on node-a dropped the probe's packet: a node firewall rule (not kube-proxy's, nor a known CNI's NetworkPolicy)"
    );
}

#[test]
fn owners_are_told_apart_by_their_chains() {
    assert_eq!(
        owner("filter", "KUBE-NWPLCY-ABC", ""),
        "a kube-router NetworkPolicy chain"
    );
    assert!(owner("filter", "cali-tw-cali123", "").starts_with("Calico"));
    assert_eq!(owner("filter", "CILIUM_FORWARD", ""), "Cilium");
    assert_eq!(owner("kube-proxy", "reject-chain", ""), "kube-proxy");
    assert!(owner("myfw", "input", "").starts_with("a node firewall rule"));
}

#[test]
fn a_policy_drop_and_a_clean_pass_read_right() {
    let mut policy = ev(2, "filter", "FORWARD", 0, NftVerdict::Continue);
    policy.kind = TraceType::Policy;
    policy.policy = Some(0);
    policy.handle = None;
    let hop = judge("n", "f", &[policy], |_| None);
    assert_eq!(
        hop.detail,
        "the policy of ip filter FORWARD on n dropped the probe's packet: a node firewall rule (not kube-proxy's, nor a known CNI's NetworkPolicy)"
    );
    let pass = [
        ev(1, "nat", "PREROUTING", 3, NftVerdict::Continue),
        ev(2, "nat", "PREROUTING", 3, NftVerdict::Continue),
        ev(2, "filter", "FORWARD", 4, NftVerdict::Accept),
    ];
    let hop = judge("n", "f", &pass, |_| None);
    assert_eq!(hop.verdict, Verdict::Ok);
    assert_eq!(
        hop.detail,
        "2 traced packets met 3 rules in 2 chains: none dropped them"
    );
    assert_eq!(judge("n", "f", &[], |_| None).verdict, Verdict::Info);
}
