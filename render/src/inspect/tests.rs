use netdiag_model::inspect::{
    Attachment, CniFingerprint, Finding, FindingKind, HostVeth, InspectReport, Listener,
    NetnsIdentity, NodeFacts, NodeLocalDns, NsProcess, PodEth0, PodNamespace, PodRef, ProxyFacts,
    RuleCounts,
};

use super::*;

fn report() -> InspectReport {
    InspectReport {
        node: "node-a".into(),
        facts: NodeFacts {
            proxy: ProxyFacts {
                mode: "iptables (nf_tables)".into(),
                how: "KUBE-SERVICES exists".into(),
                rules: Some(RuleCounts {
                    services: 3,
                    endpoints: 5,
                }),
                leftovers: vec![],
            },
            nodelocaldns: Some(NodeLocalDns {
                address: "169.254.20.10".into(),
                listening: false,
            }),
            cni: CniFingerprint {
                name: "bridge".into(),
                variant: None,
                evidence: vec!["cni0 (bridge)".into()],
            },
            listeners: vec![Listener {
                protocol: "TCP".into(),
                address: "0.0.0.0".into(),
                port: 10250,
                pod: None,
            }],
            ..Default::default()
        },
        namespaces: vec![PodNamespace {
            netns: NetnsIdentity {
                path: "/var/run/netns/cni-1".into(),
                name: Some("cni-1".into()),
                dev: 4,
                inode: 99,
            },
            processes: vec![NsProcess {
                pid: 2677,
                comm: "pause".into(),
                start_ticks: 1,
            }],
            eth0: Some(PodEth0 {
                name: "eth0".into(),
                ifindex: 2,
                peer_ifindex: 7,
                addresses: vec!["10.244.1.2/24".into()],
                mac: "6e:13:e8:42:bb:13".into(),
                mtu: 1500,
                up: true,
                gateway: Some("10.244.1.1".into()),
            }),
            host_veth: Some(HostVeth {
                name: "veth1234abcd".into(),
                ifindex: 7,
                mac: "3a:f7:b7:a1:56:ac".into(),
                mtu: 1500,
                up: false,
                oper_state: "down".into(),
            }),
            attachment: Some(Attachment::Bridge {
                name: "cni0".into(),
            }),
            resolv_conf: None,
            pod: Some(PodRef {
                namespace: "default".into(),
                name: "curl".into(),
            }),
        }],
        findings: vec![Finding::new(FindingKind::VethDown {
            veth: "veth1234abcd".into(),
            netns: "cni-1".into(),
        })],
        notes: vec![],
    }
}

#[test]
fn a_node_renders_its_facts_namespaces_and_findings() {
    let text = inspect_table(&[report()], &RenderOptions::default());
    assert!(text.starts_with("Node node-a\n"), "{text}");
    assert!(
        text.contains("CNI:          bridge (cni0 (bridge))"),
        "{text}"
    );
    assert!(
        text.contains("iptables (nf_tables): 3 service ports, 5 endpoints"),
        "{text}"
    );
    assert!(
        text.contains("169.254.20.10 (nothing listens on port 53)"),
        "{text}"
    );
    let row = text
        .lines()
        .find(|l| l.starts_with("default/curl"))
        .expect("a row for the pod");
    for cell in [
        "cni-1",
        "2677 pause",
        "eth0@if7",
        "10.244.1.2/24",
        "veth1234abcd (7) (down)",
        "cni0",
    ] {
        assert!(row.contains(cell), "{cell} missing from {row:?}");
    }
    assert!(text.contains("FINDINGS\n✗ host veth veth1234abcd of cni-1 is down"));
    assert!(!text.contains("10250"), "listeners are for -o wide: {text}");
}

#[test]
fn wide_adds_mac_gateway_and_the_listeners() {
    let text = inspect_table(
        &[report()],
        &RenderOptions {
            wide: true,
            color: false,
            width: crate::Width::Unlimited,
        },
    );
    assert!(text.contains("6e:13:e8:42:bb:13"), "{text}");
    assert!(text.contains("10.244.1.1"), "{text}");
    assert!(text.contains("LISTENING ON THE NODE'S NETWORK"), "{text}");
    assert!(text.contains("10250"), "{text}");
}

#[test]
fn a_node_without_pods_and_no_nodes_say_so() {
    let mut r = report();
    r.namespaces.clear();
    r.findings.clear();
    let text = inspect_table(&[r], &RenderOptions::default());
    assert!(text.contains("No pod network namespaces on this node."));
    assert!(!text.contains("FINDINGS"));
    assert_eq!(
        inspect_table(&[], &RenderOptions::default()),
        "No nodes inspected.\n"
    );
}

#[test]
fn a_service_table_names_the_nodes_that_disagree_and_how() {
    let rows = [
        ServiceNodeRow {
            node: "worker-1".into(),
            mode: "iptables".into(),
            programmed: vec!["80/TCP: 10.244.1.3:8080".into()],
            agrees: true,
            ..Default::default()
        },
        ServiceNodeRow {
            node: "worker-2".into(),
            mode: "iptables".into(),
            programmed: vec!["80/TCP: 10.244.9.9:8080".into()],
            missing: vec!["10.244.1.3:8080 (80/TCP)".into()],
            stale: vec!["10.244.9.9:8080 (80/TCP)".into()],
            agrees: false,
        },
    ];
    let text = service_table(
        "svc/default/echo",
        &rows,
        "1 of 2 disagree",
        &RenderOptions::default(),
    );
    let w2 = text
        .lines()
        .find(|l| l.starts_with("worker-2"))
        .expect("row");
    assert!(
        w2.contains("NO") && w2.contains("10.244.1.3:8080 (80/TCP)") && w2.contains("10.244.9.9"),
        "{w2}"
    );
    assert!(!text.contains("PROGRAMMED"));
    assert!(text.ends_with("1 of 2 disagree\n"));
    let wide = service_table(
        "svc/default/echo",
        &rows,
        "",
        &RenderOptions {
            wide: true,
            color: false,
            width: crate::Width::Unlimited,
        },
    );
    assert!(wide.contains("PROGRAMMED") && wide.contains("80/TCP: 10.244.1.3:8080"));
}
