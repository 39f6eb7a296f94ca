use std::collections::HashSet;

use super::actions::{self, LabContext, api_view, kube_proxy_view};
use super::*;
use crate::build::{Action, HostTools};
use crate::kube_proxy::{kube_proxy_nft, kube_proxy_rules};
use crate::names::LabNames;
use crate::spec::{Cni, LabSpec};
use crate::{LabTools, ProxyMode};

fn host() -> HostTools {
    crate::build::test_host()
}

pub(super) fn with_ctx<T>(spec: &LabSpec, f: impl FnOnce(LabContext) -> T) -> T {
    let (names, host, tools) = (
        LabNames::new("t1"),
        host(),
        LabTools::mounted("/bin/kubectl-netdiag", &["lab"]),
    );
    f(LabContext {
        spec,
        names: &names,
        host: &host,
        tools: &tools,
    })
}

/// `ip -n NS ARGS` of the Ip actions, as one line each.
fn ip_lines(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Ip { netns, args } => Some(format!(
                "{} {}",
                netns.as_deref().unwrap_or("-"),
                args.join(" ")
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn fault_names_are_the_stable_ones_docs_and_tests_use() {
    let names: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(
        names,
        [
            "no-listener",
            "no-vip-rule",
            "stale-dnat",
            "no-endpoints",
            "wrong-target-port",
            "nodelocaldns-down",
            "kube-dns-down",
            "no-route",
            "veth-down",
            "ip-forward-off",
            "bridge-nf-off",
            "firewall-drop",
            "hairpin-off",
            "no-fdb",
            "no-neighbour",
            "overlay-down",
            "pod-mtu",
            "mtu-blackhole",
        ]
    );
    for f in Fault::ALL {
        assert_eq!(Fault::parse(f.name()), Ok(f));
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(json, format!("\"{}\"", f.name()));
        assert_eq!(serde_json::from_str::<Fault>(&json).unwrap(), f);
        // each reason belongs to the hop the fault claims
        let i = f.info();
        assert_eq!(i.reason.hop_kind(), Some(i.hop.clone()), "{f}");
    }
    assert!(
        Fault::parse("no-dns")
            .unwrap_err()
            .to_string()
            .contains("--list")
    );
}

#[test]
fn the_list_names_each_fault_its_hop_and_the_lab_in_its_commands() {
    let l = list("lab7");
    for f in Fault::ALL {
        assert!(l.contains(f.name()), "{f} missing:\n{l}");
    }
    assert!(l.contains("ip netns exec nd-lab7-node-a ip route"), "{l}");
    assert!(!l.contains("nd-N-"), "{l}");
    assert!(l.contains("trace: Route (NoRoute), when DNAT picks"), "{l}");
}

#[test]
fn overlay_faults_and_faults_without_their_objects_do_not_apply() {
    let spec = LabSpec::default();
    let overlay = [
        Fault::NoFdb,
        Fault::NoNeighbour,
        Fault::OverlayDown,
        Fault::PodMtu,
    ];
    for f in overlay {
        let e = actions::applies(f, &spec).unwrap_err().to_string();
        assert!(
            e.contains("no VXLAN overlay") && e.contains("--cni vxlan"),
            "{e}"
        );
    }
    for f in Fault::ALL.into_iter().filter(|f| !overlay.contains(f)) {
        assert_eq!(actions::applies(f, &spec), Ok(()), "{f}");
    }
    let vxlan = LabSpec {
        cni: Cni::Vxlan,
        ..spec.clone()
    };
    for f in Fault::ALL {
        assert_eq!(actions::applies(f, &vxlan), Ok(()), "{f}");
    }
    let routed = LabSpec {
        cni: Cni::Routed,
        ..spec.clone()
    };
    for f in [Fault::HairpinOff, Fault::BridgeNfOff] {
        let e = actions::applies(f, &routed).unwrap_err().to_string();
        assert!(e.contains("no bridge"), "{e}");
    }
    let mut one_node = vxlan.clone();
    one_node.nodes.truncate(1);
    for f in [
        Fault::NoRoute,
        Fault::FirewallDrop,
        Fault::NoFdb,
        Fault::MtuBlackhole,
    ] {
        assert!(
            actions::applies(f, &one_node)
                .unwrap_err()
                .why
                .contains("one node")
        );
    }
    let mut dns_only = spec.clone();
    dns_only.services.retain(|s| s.name == "kube-dns");
    assert!(actions::applies(Fault::NoVipRule, &dns_only).is_err());
}

#[test]
fn kube_proxys_view_and_the_apis_view_change_only_what_each_fault_changes() {
    let spec = LabSpec::default();
    assert_eq!(kube_proxy_view(&spec, &[]), spec);
    assert_eq!(api_view(&spec, &[]), spec);

    // stale-dnat: kube-proxy has a fourth endpoint at a free address; the API does not
    let view = kube_proxy_view(&spec, &[Fault::StaleDnat]);
    let echo = view
        .services
        .iter()
        .find(|s| s.name == "echo-service")
        .unwrap();
    assert_eq!(echo.endpoints.len(), 4);
    let stale = view.pod("stale-endpoint").unwrap();
    assert_eq!(stale.ip.to_string(), "10.244.2.254");
    assert!(spec.pod_by_ip(stale.ip).is_none());
    assert_eq!(api_view(&spec, &[Fault::StaleDnat]), spec);

    // no-vip-rule: kube-proxy does not know the Service at all
    let view = kube_proxy_view(&spec, &[Fault::NoVipRule]);
    assert!(view.services.iter().all(|s| s.name != "echo-service"));
    assert!(kube_proxy_rules(&view, "node-a").contains("kube-dns"));
    assert!(!kube_proxy_rules(&view, "node-a").contains("10.96.45.10"));

    // no-endpoints and wrong-target-port are the API's too
    for view in [
        api_view(&spec, &[Fault::NoEndpoints, Fault::WrongTargetPort]),
        kube_proxy_view(&spec, &[Fault::NoEndpoints, Fault::WrongTargetPort]),
    ] {
        let echo = view
            .services
            .iter()
            .find(|s| s.name == "echo-service")
            .unwrap();
        assert!(echo.endpoints.is_empty());
        assert_eq!(echo.ports[0].target_port, 8081);
        let dns = view.services.iter().find(|s| s.name == "kube-dns").unwrap();
        assert_eq!(dns.endpoints, ["coredns"], "kube-dns is never touched");
    }
}

#[test]
fn rule_faults_regenerate_every_nodes_rules_with_every_fault_in_force() {
    for mode in [ProxyMode::Iptables, ProxyMode::Nftables] {
        let spec = LabSpec {
            proxy_mode: mode,
            ..LabSpec::default()
        };
        let in_force = [Fault::StaleDnat, Fault::WrongTargetPort];
        let a = with_ctx(&spec, |ctx| {
            actions::break_actions(Fault::WrongTargetPort, ctx, &in_force).unwrap()
        });
        assert_eq!(a.len(), spec.nodes.len(), "{mode}");
        let view = kube_proxy_view(&spec, &in_force);
        for (action, node) in a.iter().zip(&spec.nodes) {
            match (mode, action) {
                (ProxyMode::Iptables, Action::IptablesRestore { netns, rules }) => {
                    assert_eq!(netns, &format!("nd-t1-{}", node.name));
                    assert_eq!(rules, &kube_proxy_rules(&view, &node.name));
                    assert!(rules.contains("10.244.2.254:8081"), "{rules}");
                }
                (ProxyMode::Nftables, Action::NftLoad { script, .. }) => {
                    // replaced whole, in one transaction
                    assert!(
                        script.starts_with("add table ip kube-proxy\ndelete table ip kube-proxy\n")
                    );
                    assert!(script.ends_with(&kube_proxy_nft(&view, &node.name)));
                }
                other => panic!("{mode}: {other:?}"),
            }
        }
        // fixing one keeps the other
        let fix = with_ctx(&spec, |ctx| {
            actions::fix_actions(Fault::WrongTargetPort, ctx, &[Fault::StaleDnat])
        });
        let text = format!("{fix:?}");
        assert!(
            text.contains("10.244.2.254") && !text.contains("8081"),
            "{mode}"
        );
    }
}

#[test]
fn node_faults_break_every_node_and_fix_undoes_exactly_that() {
    let spec = LabSpec::default();
    let both = |f: Fault| {
        with_ctx(&spec, |ctx| {
            (
                actions::break_actions(f, ctx, &[f]).unwrap(),
                actions::fix_actions(f, ctx, &[]),
            )
        })
    };
    let (b, f) = both(Fault::NoRoute);
    assert_eq!(
        ip_lines(&b),
        [
            "nd-t1-node-a route del 10.244.2.0/24 via 172.18.0.3 dev eth0",
            "nd-t1-node-b route del 10.244.1.0/24 via 172.18.0.2 dev eth0"
        ]
    );
    assert_eq!(
        ip_lines(&f),
        [
            "nd-t1-node-a route add 10.244.2.0/24 via 172.18.0.3 dev eth0",
            "nd-t1-node-b route add 10.244.1.0/24 via 172.18.0.2 dev eth0"
        ]
    );
    let (b, f) = both(Fault::VethDown);
    let veth = crate::names::host_veth(crate::spec::Cni::Bridge, "curl");
    assert_eq!(ip_lines(&b), [format!("nd-t1-node-a link set {veth} down")]);
    assert_eq!(ip_lines(&f), [format!("nd-t1-node-a link set {veth} up")]);
    let (b, f) = both(Fault::HairpinOff);
    assert_eq!(ip_lines(&b).len(), spec.pods.len());
    assert!(ip_lines(&b).iter().all(|l| l.ends_with("hairpin off")));
    assert!(ip_lines(&f).iter().all(|l| l.ends_with("hairpin on")));
    for (fault, key) in [
        (Fault::IpForwardOff, "net.ipv4.ip_forward"),
        (Fault::BridgeNfOff, "net.bridge.bridge-nf-call-iptables"),
    ] {
        let (b, f) = both(fault);
        assert_eq!(
            format!("{b:?}").matches(&format!("{key}=0")).count(),
            2,
            "{b:?}"
        );
        assert_eq!(format!("{f:?}").matches(&format!("{key}=1")).count(), 2);
    }
    let (b, f) = both(Fault::FirewallDrop);
    let scripts: Vec<&str> = b
        .iter()
        .map(|a| match a {
            Action::NftLoad { script, .. } => script.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(
        scripts[0].contains("hook forward")
            && scripts[0].contains("ip daddr { 10.244.2.0/24 } counter drop")
    );
    assert!(scripts[1].contains("ip daddr { 10.244.1.0/24 } counter drop"));
    assert!(format!("{f:?}").contains("delete table inet firewall"));
}

#[test]
fn process_faults_stop_the_processes_and_fix_starts_them_as_up_did() {
    let spec = LabSpec::default();
    for (fault, whats) in [
        (
            Fault::NoListener,
            vec!["pod-echo-1", "pod-echo-2", "pod-echo-3"],
        ),
        (
            Fault::NodelocaldnsDown,
            vec!["nodelocaldns-node-a", "nodelocaldns-node-b"],
        ),
        (Fault::KubeDnsDown, vec!["kube-dns"]),
    ] {
        let (b, f) = with_ctx(&spec, |ctx| {
            (
                actions::break_actions(fault, ctx, &[fault]).unwrap(),
                actions::fix_actions(fault, ctx, &[]),
            )
        });
        let stopped: HashSet<&str> = b
            .iter()
            .map(|a| match a {
                Action::Stop { what } => what.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(stopped, whats.iter().copied().collect(), "{fault}");
        let started: Vec<&str> = f
            .iter()
            .map(|a| match a {
                Action::Spawn { what, .. } => what.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(started, whats, "{fault}");
    }
}
