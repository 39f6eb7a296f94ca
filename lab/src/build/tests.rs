use super::*;
use crate::names::host_veth;
use crate::spec::Cni;

fn host() -> HostTools {
    crate::build::test_host()
}

fn tools() -> LabTools {
    LabTools::mounted("/bin/kubectl-netdiag", &["lab"])
}

fn default_plan() -> Vec<Action> {
    plan(
        &LabSpec::default(),
        &LabNames::new("t1"),
        &host(),
        &tools(),
        Parts::ALL,
    )
}

fn ip_lines(plan: &[Action], netns: &str) -> Vec<String> {
    plan.iter()
        .filter_map(|a| match a {
            Action::Ip {
                netns: Some(n),
                args,
            } if n == netns => Some(args.join(" ")),
            _ => None,
        })
        .collect()
}

#[test]
fn every_namespace_is_created_once_and_named_for_the_lab() {
    let plan = default_plan();
    let ns: Vec<&str> = plan
        .iter()
        .filter_map(|a| match a {
            Action::AddNetns(n) => Some(n.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        ns,
        [
            "nd-t1-net",
            "nd-t1-node-a",
            "nd-t1-node-b",
            "nd-t1-curl",
            "nd-t1-echo-1",
            "nd-t1-echo-2",
            "nd-t1-echo-3",
            "nd-t1-coredns"
        ]
    );
}

#[test]
fn nodes_route_to_each_other_and_have_no_default_route() {
    let plan = default_plan();
    let a = ip_lines(&plan, "nd-t1-node-a");
    assert!(
        a.contains(&"route add 10.244.2.0/24 via 172.18.0.3 dev eth0".to_string()),
        "{a:#?}"
    );
    assert!(a.contains(&"addr add 10.244.1.1/24 dev cni0".to_string()));
    assert!(a.contains(&"addr add 172.18.0.2/16 dev eth0".to_string()));
    for n in ["nd-t1-node-a", "nd-t1-node-b", "nd-t1-net"] {
        assert!(
            !ip_lines(&plan, n).iter().any(|l| l.contains("default")),
            "{n}"
        );
    }
}

#[test]
fn pods_hang_off_their_nodes_bridge_with_a_default_route_via_the_gateway() {
    let plan = default_plan();
    let veth = host_veth(Cni::Bridge, "echo-2");
    let b = ip_lines(&plan, "nd-t1-node-b");
    assert!(b.contains(&format!(
        "link add {veth} mtu 1500 type veth peer name eth0 mtu 1500 netns nd-t1-echo-2"
    )));
    assert!(b.contains(&format!("link set {veth} master cni0 up")));
    let p = ip_lines(&plan, "nd-t1-echo-2");
    assert!(p.contains(&"addr add 10.244.2.2/24 dev eth0".to_string()));
    assert!(p.contains(&"route add default via 10.244.2.1".to_string()));
    assert!(
        plan.contains(&Action::WriteFile {
            path: "/etc/netns/nd-t1-echo-2/resolv.conf".into(),
            contents: "search default.svc.cluster.local svc.cluster.local cluster.local\n\
                   nameserver 169.254.25.10\noptions ndots:5\n"
                .into(),
        })
    );
}

#[test]
fn pod_processes_run_through_ip_netns_exec_with_the_lab_pod_command_and_the_marker() {
    let plan = default_plan();
    let argv = plan
        .iter()
        .find_map(|a| match a {
            Action::Spawn { what, argv, .. } if what == "pod-echo-1" => Some(argv.join(" ")),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        argv,
        "/sbin/ip netns exec nd-t1-echo-1 /bin/kubectl-netdiag lab pod --name echo-1 \
         --pid-file /run/netdiag/labs/t1/pod-echo-1.pid --tcp 8080"
    );
    let marker = process_marker(&LabNames::new("t1"));
    for a in &plan {
        if let Action::Spawn { argv, .. } = a {
            assert!(argv.join(" ").contains(&marker), "{argv:?}");
        }
    }
}

#[test]
fn kube_dns_starts_before_nodelocaldns_and_rules_are_loaded_before_both() {
    let plan = default_plan();
    let pos = |f: &dyn Fn(&Action) -> bool| plan.iter().position(f).unwrap();
    let rules = pos(&|a| matches!(a, Action::IptablesRestore { .. }));
    let kube_dns = pos(&|a| matches!(a, Action::Spawn { what, .. } if what == "kube-dns"));
    let local =
        pos(&|a| matches!(a, Action::Spawn { what, .. } if what.starts_with("nodelocaldns")));
    assert!(rules < kube_dns && kube_dns < local);
    let spawn_ns = plan.iter().find_map(|a| match a {
        Action::Spawn { what, netns, .. } if what == "kube-dns" => Some(netns.clone()),
        _ => None,
    });
    assert_eq!(spawn_ns.as_deref(), Some("nd-t1-coredns"));
}

#[test]
fn a_network_only_plan_builds_the_same_namespaces_without_rules_or_processes() {
    let names = LabNames::new("t1");
    let only = plan(
        &LabSpec::default(),
        &names,
        &host(),
        &tools(),
        Parts::NETWORK,
    );
    let netns = |p: &[Action]| -> Vec<String> {
        p.iter()
            .filter_map(|a| match a {
                Action::AddNetns(n) => Some(n.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(netns(&only), netns(&default_plan()));
    assert!(
        !only.iter().any(|a| matches!(
            a,
            Action::IptablesRestore { .. } | Action::Spawn { .. } | Action::NodeLocalAddress { .. }
        )),
        "{only:?}"
    );
    let dns_only = Parts {
        dns: true,
        ..Parts::NETWORK
    };
    let with_dns = plan(&LabSpec::default(), &names, &host(), &tools(), dns_only);
    let spawned: Vec<&str> = with_dns
        .iter()
        .filter_map(|a| match a {
            Action::Spawn { what, .. } => Some(what.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        spawned,
        ["kube-dns", "nodelocaldns-node-a", "nodelocaldns-node-b"]
    );
}

#[test]
fn nftables_mode_loads_an_nft_script_into_every_node_instead_of_iptables_rules() {
    let spec = LabSpec {
        proxy_mode: ProxyMode::Nftables,
        ..LabSpec::default()
    };
    let a = plan(&spec, &LabNames::new("t1"), &host(), &tools(), Parts::ALL);
    assert!(
        !a.iter()
            .any(|a| matches!(a, Action::IptablesRestore { .. }))
    );
    let loads: Vec<&str> = a
        .iter()
        .filter_map(|a| match a {
            Action::NftLoad { netns, script } => {
                assert!(script.starts_with("add table ip kube-proxy "), "{script}");
                Some(netns.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(loads, ["nd-t1-node-a", "nd-t1-node-b"]);
}

#[test]
fn every_pod_veth_is_in_hairpin_mode_as_kubelet_sets_it_unless_the_spec_says_not() {
    let built = default_plan();
    for (node, pod) in [("node-a", "curl"), ("node-b", "echo-2")] {
        let veth = host_veth(Cni::Bridge, pod);
        let lines = ip_lines(&built, &format!("nd-t1-{node}"));
        let attach = lines
            .iter()
            .position(|l| *l == format!("link set {veth} master cni0 up"))
            .expect("the veth is attached");
        let hairpin = lines
            .iter()
            .position(|l| *l == format!("link set dev {veth} type bridge_slave hairpin on"))
            .expect("hairpin mode is set");
        assert!(attach < hairpin, "a port only once it is attached");
    }
    let spec = LabSpec {
        hairpin: false,
        ..LabSpec::default()
    };
    let a = plan(&spec, &LabNames::new("t1"), &host(), &tools(), Parts::ALL);
    let lines = ip_lines(&a, "nd-t1-node-b");
    assert!(!lines.iter().any(|l| l.contains("hairpin")), "{lines:?}");
}

#[test]
fn a_spec_without_the_hairpin_field_builds_hairpin_ports() {
    let json = serde_json::to_string(&LabSpec::default()).unwrap_or_default();
    assert!(json.contains("\"hairpin\":true"), "{json}");
    let old = json.replace(",\"hairpin\":true", "");
    assert_ne!(old, json);
    let back: LabSpec = serde_saphyr::from_str(&old).unwrap_or_else(|e| panic!("{e}"));
    assert!(back.hairpin);
}

fn plan_with(cni: Cni) -> Vec<Action> {
    let spec = LabSpec {
        cni,
        ..LabSpec::default()
    };
    plan(
        &spec,
        &LabNames::new("t1"),
        &host(),
        &tools(),
        Parts::NETWORK,
    )
}

#[test]
fn the_vxlan_lab_has_flannels_device_entries_and_onlink_routes() {
    let plan = plan_with(Cni::Vxlan);
    let a = ip_lines(&plan, "nd-t1-node-a");
    assert!(a.contains(
        &"link add flannel.1 address 0e:6e:64:00:00:01 mtu 1450 type vxlan id 1 local 172.18.0.2 dev eth0 dstport 8472 nolearning"
            .to_string()
    ), "{a:#?}");
    assert!(
        a.contains(&"route replace 10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink".to_string())
    );
    assert!(
        a.contains(
            &"neigh replace 10.244.2.0 lladdr 0e:6e:64:00:00:02 dev flannel.1 nud permanent"
                .to_string()
        )
    );
    assert!(
        !a.iter().any(|l| l.contains("via 172.18.0.3")),
        "no underlay routes to pod CIDRs: {a:#?}"
    );
    assert!(
        plan.contains(&Action::Bridge {
            netns: "nd-t1-node-a".into(),
            args: "fdb replace 0e:6e:64:00:00:02 dev flannel.1 dst 172.18.0.3"
                .split(' ')
                .map(String::from)
                .collect(),
        })
    );
    assert!(a.contains(&"link add cni0 mtu 1450 type bridge".to_string()));
    let veth = host_veth(Cni::Vxlan, "curl");
    assert!(a.contains(&format!(
        "link add {veth} mtu 1450 type veth peer name eth0 mtu 1450 netns nd-t1-curl"
    )));
}

#[test]
fn the_routed_lab_has_calicos_veths_proxy_arp_and_link_local_gateway() {
    let plan = plan_with(Cni::Routed);
    let a = ip_lines(&plan, "nd-t1-node-a");
    assert!(!a.iter().any(|l| l.contains("cni0")), "no bridge: {a:#?}");
    let veth = host_veth(Cni::Routed, "curl");
    assert!(veth.starts_with("cali"));
    assert!(a.contains(&format!(
        "route replace 10.244.1.2/32 dev {veth} scope link"
    )));
    assert!(a.contains(&"route add 10.244.2.0/24 via 172.18.0.3 dev eth0".to_string()));
    assert!(plan.contains(&Action::Sysctl {
        netns: "nd-t1-node-a".into(),
        settings: vec![
            format!("net.ipv4.conf.{veth}.proxy_arp=1"),
            format!("net.ipv4.neigh.{veth}.proxy_delay=0"),
        ],
    }));
    let p = ip_lines(&plan, "nd-t1-curl");
    assert!(p.contains(&"addr add 10.244.1.2/32 dev eth0".to_string()));
    assert!(p.contains(&"route add 169.254.1.1 dev eth0 scope link".to_string()));
    assert!(p.contains(&"route add default via 169.254.1.1".to_string()));
}
