//! Every fault of `lab break --list`, in each proxy mode and in the CNI shapes it applies to:
//! breaking it makes a trace fail at the hop the fault claims, with its reason (a Warn fault: a
//! Warn there, and no failure), and `lab fix` gives a healthy trace back.

use netdiag_e2e::*;
use netdiag_lab::faults::Fault;
use netdiag_lab::spec::Cni;
use netdiag_lab::{Lab, ProxyMode};
use netdiag_model::Verdict;
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
    break_then_fix_in(fault, mode, Cni::Bridge)
}

fn break_then_fix_in(fault: Fault, mode: ProxyMode, cni: Cni) {
    let fixture = lab_with("flt", mode, cni);
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
    let warn_only = info.reason.verdict() == Some(Verdict::Warn);
    let broken = trace_until_from(&lab, from, tries, |t| {
        if warn_only {
            t.path
                .hops
                .iter()
                .any(|h| h.reason.as_ref() == Some(&info.reason))
        } else {
            (t.path.first_failure.as_ref()).is_some_and(|f| f.hop == info.hop)
        }
    });
    let ctx = format!("{fault} ({mode}, {cni})\n{}", describe(&broken.path.hops));
    if warn_only {
        let warned = (broken.path.hops.iter())
            .find(|h| h.reason.as_ref() == Some(&info.reason))
            .unwrap_or_else(|| panic!("no {} hop: {ctx}", info.reason));
        assert_eq!(
            (&warned.kind, warned.verdict),
            (&info.hop, Verdict::Warn),
            "{ctx}"
        );
        assert!(broken.path.first_failure.is_none(), "{ctx}");
    } else {
        let first = broken.path.first_failure.as_ref().expect("a failure");
        assert_eq!(first.reason, info.reason, "{}: {ctx}", first.message);
    }
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
            t.path.first_failure.is_none()
                && t.path.reachable == Some(true)
                && !t
                    .path
                    .hops
                    .iter()
                    .any(|h| h.reason.as_ref() == Some(&info.reason)),
            "{fault} ({mode}, {cni}) still broken after fix: {}\n{}",
            t.path.summary,
            describe(&t.path.hops)
        );
    }
}

/// A fault on a CNI shape other than the bridge lab's, in both proxy modes; one that does not
/// apply there is refused (tests/lab_cli.rs and the lab's unit tests check the refusal).
fn break_then_fix_on(fault: Fault, cni: Cni) {
    let spec = netdiag_lab::LabSpec {
        cni,
        ..Default::default()
    };
    if netdiag_lab::faults::actions::applies(fault, &spec).is_err() {
        return;
    }
    for mode in [ProxyMode::Iptables, ProxyMode::Nftables] {
        break_then_fix_in(fault, mode, cni);
    }
}

/// Every fault of the bridge lab, in both proxy modes there and on the other CNI shapes.
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
            #[test]
            fn vxlan() {
                break_then_fix_on($fault, Cni::Vxlan)
            }
            #[test]
            fn routed() {
                break_then_fix_on($fault, Cni::Routed)
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
    mtu_blackhole => Fault::MtuBlackhole,
);

/// The faults that need flannel's overlay: the vxlan lab only.
macro_rules! every_overlay_fault {
    ($($name:ident => $fault:expr),* $(,)?) => {$(
        mod $name {
            use super::*;
            #[test]
            fn vxlan() {
                break_then_fix_on($fault, Cni::Vxlan)
            }
        }
    )*};
}

every_overlay_fault!(
    no_fdb => Fault::NoFdb,
    no_neighbour => Fault::NoNeighbour,
    overlay_down => Fault::OverlayDown,
    pod_mtu => Fault::PodMtu,
);

#[test]
fn every_fault_that_applies_to_a_lab_is_tested_here() {
    let bridge_tested = 14; // every_fault! above
    let vxlan_only_tested = 4; // every_overlay_fault! above
    let applicable = |cni: Cni| -> Vec<Fault> {
        let spec = netdiag_lab::LabSpec {
            cni,
            ..Default::default()
        };
        Fault::ALL
            .into_iter()
            .filter(|f| netdiag_lab::faults::actions::applies(*f, &spec).is_ok())
            .collect()
    };
    let bridge = applicable(Cni::Bridge);
    assert_eq!(bridge.len(), bridge_tested);
    let vxlan_only = applicable(Cni::Vxlan)
        .into_iter()
        .filter(|f| !bridge.contains(f))
        .count();
    assert_eq!(vxlan_only, vxlan_only_tested);
}
