//! Every fault of `lab break --list`, in each proxy mode: breaking it makes a trace fail at the
//! hop the fault claims, with its reason, and `lab fix` gives a healthy trace back.

use netdiag_e2e::*;
use netdiag_lab::faults::Fault;
use netdiag_lab::{Lab, ProxyMode};
use netdiag_testkit::netns::workspace_tools;

/// The pod a trace must start from to meet `fault`: a pod calling its own Service for
/// hairpin-off, curl otherwise.
fn source_for(fault: Fault) -> &'static str {
    match fault {
        Fault::HairpinOff => "echo-2",
        _ => "curl",
    }
}

fn break_then_fix(fault: Fault, mode: ProxyMode) {
    let fixture = lab_in("flt", mode);
    let tools = workspace_tools();
    let mut lab = Lab::open(fixture.name()).expect("open the lab");
    let from = source_for(fault);
    let info = fault.info();
    let change = lab.break_faults(&[fault], &tools).expect("break");
    assert_eq!(change.changed, [fault]);
    assert_eq!(
        Lab::open(fixture.name()).unwrap().faults(),
        [fault],
        "recorded"
    );
    let tries = if info.depends_on_endpoint { 40 } else { 1 };
    let broken = trace_until_from(&lab, from, tries, |t| {
        t.path
            .first_failure
            .as_ref()
            .is_some_and(|f| f.hop == info.hop)
    });
    let first = broken.path.first_failure.as_ref().expect("a failure");
    assert_eq!(
        first.reason,
        info.reason,
        "{fault} ({mode}): {}\n{}",
        first.message,
        describe(&broken.path.hops)
    );
    // a second break changes nothing
    let again = lab.break_faults(&[fault], &tools).expect("break again");
    assert_eq!((again.changed.len(), again.unchanged.len()), (0, 1));

    let fixed = lab.fix_faults(&[fault], &tools).expect("fix");
    assert_eq!(fixed.changed, [fault]);
    assert!(Lab::open(fixture.name()).unwrap().faults().is_empty());
    // healthy again, whichever endpoint DNAT picks: a few traces in a row
    for _ in 0..3 {
        let t = trace_echo_from(&lab, from);
        assert!(
            t.path.first_failure.is_none() && t.path.reachable == Some(true),
            "{fault} ({mode}) still broken after fix: {}\n{}",
            t.path.summary,
            describe(&t.path.hops)
        );
    }
}

macro_rules! every_fault {
    ($($name:ident => $fault:expr),* $(,)?) => {$(
        mod $name {
            use super::*;
            #[test]
            fn iptables() {
                break_then_fix($fault, ProxyMode::Iptables)
            }
            #[test]
            fn nftables() {
                break_then_fix($fault, ProxyMode::Nftables)
            }
        }
    )*};
}

every_fault!(
    no_listener => Fault::NoListener,
    no_vip_rule => Fault::NoVipRule,
    stale_dnat => Fault::StaleDnat,
    no_endpoints => Fault::NoEndpoints,
    wrong_target_port => Fault::WrongTargetPort,
    nodelocaldns_down => Fault::NodelocaldnsDown,
    kube_dns_down => Fault::KubeDnsDown,
    no_route => Fault::NoRoute,
    veth_down => Fault::VethDown,
    ip_forward_off => Fault::IpForwardOff,
    bridge_nf_off => Fault::BridgeNfOff,
    firewall_drop => Fault::FirewallDrop,
    hairpin_off => Fault::HairpinOff,
);

#[test]
fn every_fault_that_applies_to_the_default_lab_is_tested_here() {
    // the overlay faults need a topology this lab does not build; the rest are above
    let tested = 13;
    let applicable = Fault::ALL
        .iter()
        .filter(|f| {
            netdiag_lab::faults::actions::applies(**f, &netdiag_lab::LabSpec::default()).is_ok()
        })
        .count();
    assert_eq!(applicable, tested);
}
