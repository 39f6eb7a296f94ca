//! `inspect` against real namespaces: run from inside a lab node's namespace (a network-only
//! testkit fixture of the default lab), as the agent runs in a node's.

use netdiag_agent::inspect::{InspectEnv, inspect};
use netdiag_agent::kernel::netns::{NsId, run_in};
use netdiag_lab::names::host_veth;
use netdiag_lab::spec::Cni;
use netdiag_model::inspect::{Attachment, FindingKind, InspectReport};
use netdiag_model::{PlanTarget, Protocol};
use netdiag_testkit::{Fixture, root_or_skip};

fn inspect_from(lab: &Fixture, node: &str) -> InspectReport {
    inspect_with(lab, node, Vec::new())
}

fn inspect_with(lab: &Fixture, node: &str, services: Vec<PlanTarget>) -> InspectReport {
    let env = InspectEnv {
        node: node.into(),
        netns_dir: "/var/run/netns".into(),
        proc: "/proc".into(),
        services,
    };
    run_in(&lab.netns_path(node), move || {
        inspect(&env).map_err(|e| e.to_string())
    })
    .expect("enter the node namespace")
    .expect("inspect")
}

fn namespace<'a>(
    report: &'a InspectReport,
    lab: &Fixture,
    pod: &str,
) -> &'a netdiag_model::inspect::PodNamespace {
    let path = lab.netns_path(pod).display().to_string();
    report
        .namespaces
        .iter()
        .find(|n| n.netns.path == path)
        .unwrap_or_else(|| panic!("no namespace {path} in {report:#?}"))
}

#[test]
fn every_pod_of_the_node_is_mapped_to_its_veth_bridge_and_holder() {
    if !root_or_skip("every_pod_of_the_node_is_mapped_to_its_veth_bridge_and_holder") {
        return;
    }
    let mut lab = Fixture::builder("ins").network_only().up();
    let holder = lab.pause("curl");
    let report = inspect_from(&lab, "node-a");

    // node-a holds curl and echo-1; node-b's pods and the node network are not its pods.
    assert_eq!(report.namespaces.len(), 2, "{report:#?}");
    let node_links = run_in(&lab.netns_path("node-a"), || {
        netdiag_agent::kernel::rtnl::links().expect("links")
    })
    .expect("enter node-a");
    for (pod, ip) in [("curl", "10.244.1.2/24"), ("echo-1", "10.244.1.3/24")] {
        let ns = namespace(&report, &lab, pod);
        let id = NsId::of(&lab.netns_path(pod)).expect("id");
        assert_eq!((ns.netns.dev, ns.netns.inode), (id.dev, id.ino));
        assert_eq!(ns.netns.name.as_deref(), Some(lab.netns(pod).as_str()));
        let eth0 = ns.eth0.as_ref().expect("eth0");
        assert_eq!(eth0.addresses, [ip]);
        let veth = ns.host_veth.as_ref().expect("host veth");
        assert_eq!(veth.name, host_veth(Cni::Bridge, pod));
        let on_node = node_links
            .iter()
            .find(|l| l.name == veth.name)
            .expect("veth");
        assert_eq!(
            eth0.peer_ifindex, on_node.index,
            "eth0@ifN names the host veth"
        );
        assert_eq!(
            ns.attachment,
            Some(Attachment::Bridge {
                name: "cni0".into()
            })
        );
    }
    let curl = namespace(&report, &lab, "curl");
    assert_eq!(curl.holder().map(|p| p.pid), Some(holder));
    assert_eq!(curl.holder().map(|p| p.comm.as_str()), Some("sleep"));
    // A network-only fixture starts no pod processes: echo-1 has none, so it is leaked.
    assert_eq!(
        report.findings.iter().map(|f| &f.kind).collect::<Vec<_>>(),
        [&FindingKind::LeakedNamespace {
            netns: lab.netns("echo-1")
        }]
    );
    assert_eq!(report.facts.cni.name, "bridge");
}

#[test]
fn a_downed_veth_and_a_doubled_ip_are_flagged() {
    if !root_or_skip("a_downed_veth_and_a_doubled_ip_are_flagged") {
        return;
    }
    let mut lab = Fixture::builder("insb").network_only().up();
    lab.pause("curl");
    lab.pause("echo-1");
    let veth = host_veth(Cni::Bridge, "echo-1");
    lab.exec("node-a", &["ip", "link", "set", &veth, "down"]);
    lab.exec(
        "echo-1",
        &["ip", "addr", "add", "10.244.1.2/24", "dev", "eth0"],
    );

    let report = inspect_from(&lab, "node-a");
    let kinds: Vec<&FindingKind> = report.findings.iter().map(|f| &f.kind).collect();
    assert!(
        kinds.contains(&&FindingKind::VethDown {
            veth: veth.clone(),
            netns: lab.netns("echo-1")
        }),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&&FindingKind::DuplicateIp {
            ip: "10.244.1.2".into(),
            netns: vec![lab.netns("curl"), lab.netns("echo-1")]
        }),
        "{kinds:?}"
    );
    assert!(
        !kinds
            .iter()
            .any(|k| matches!(k, FindingKind::LeakedNamespace { .. })),
        "both pods have a process: {kinds:?}"
    );
    // Nothing of the lab's leads nowhere.
    assert!(
        !kinds
            .iter()
            .any(|k| matches!(k, FindingKind::DanglingVeth { .. })),
        "{kinds:?}"
    );
}

#[test]
fn a_services_rules_on_the_node_list_its_endpoints() {
    if !root_or_skip("a_services_rules_on_the_node_list_its_endpoints") {
        return;
    }
    // The whole default lab: kube-proxy's rules for echo-service's three endpoints.
    let lab = Fixture::builder("insr").up();
    let echo = PlanTarget {
        ip: [10, 96, 45, 10].into(),
        port: 80,
        protocol: Protocol::TCP,
    };
    let report = inspect_with(&lab, "node-a", vec![echo]);
    let rules = &report.facts.services;
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].address, "10.96.45.10:80/tcp");
    assert_eq!(
        rules[0].endpoints,
        ["10.244.1.3:8080", "10.244.2.2:8080", "10.244.2.3:8080"],
        "{:?}",
        rules[0].notes
    );
    let counts = report.facts.proxy.rules.expect("rule counts");
    assert_eq!((counts.services, counts.endpoints), (3, 5));
}
