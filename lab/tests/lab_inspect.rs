//! `lab inspect` against real labs with the real agent (root): every lab pod mapped to its
//! netns, eth0@ifN, host veth, bridge (or routed) and holder pid, on each CNI; a pod whose
//! process is gone is a leaked namespace; a downed host veth is flagged.

mod lab_common;

use lab_common::*;
use netdiag_lab::names::host_veth;
use netdiag_lab::spec::Cni;
use netdiag_lab::{Lab, inspect::inspect};
use netdiag_model::inspect::{Attachment, FindingKind, InspectReport};
use netdiag_testkit::Fixture;

fn lab(tag: &str, cni: Cni) -> Fixture {
    Fixture::builder(tag)
        .tools(lab_tools())
        .edit(|s| s.cni = cni)
        .up()
}

fn recorded_pid(lab: &Lab, what: &str) -> u32 {
    (lab.state.processes.iter())
        .find(|p| p.what == what)
        .and_then(|p| p.pid)
        .unwrap_or_else(|| panic!("the lab recorded no pid for {what}"))
}

/// Every pod of the spec appears on its node, mapped as the manual steps would map it.
fn assert_every_pod_mapped(lab: &Lab, reports: &[InspectReport]) {
    let cni = lab.spec().cni;
    for pod in &lab.spec().pods {
        let report = (reports.iter())
            .find(|r| r.node == pod.node)
            .unwrap_or_else(|| panic!("no report for {}", pod.node));
        let ns = (report.namespaces.iter())
            .find(|n| n.pod.as_ref().is_some_and(|p| p.name == pod.name))
            .unwrap_or_else(|| panic!("pod {} not mapped on {}: {report:#?}", pod.name, pod.node));
        assert_eq!(
            ns.netns.path,
            lab.netns_path(&pod.name).display().to_string()
        );
        let eth0 = ns.eth0.as_ref().expect("eth0");
        assert!(
            eth0.addresses
                .iter()
                .any(|a| a.starts_with(&format!("{}/", pod.ip)))
        );
        let veth = ns.host_veth.as_ref().expect("host veth");
        assert_eq!(veth.name, host_veth(cni, &pod.name));
        assert_eq!(
            eth0.peer_ifindex, veth.ifindex,
            "eth0@ifN is the host veth's index"
        );
        let expected = match cni {
            Cni::Routed => Attachment::Routed,
            Cni::Bridge | Cni::Vxlan => Attachment::Bridge {
                name: "cni0".into(),
            },
        };
        assert_eq!(ns.attachment.as_ref(), Some(&expected), "{}", pod.name);
        // The holder is the pod's own process, which `ip netns exec` started for the lab.
        let holder = ns.holder().expect("a holder");
        let want = recorded_pid(lab, &format!("pod-{}", pod.name));
        assert_eq!(holder.pid, want, "{}: {:?}", pod.name, ns.processes);
    }
}

#[test]
fn a_bridge_lab_maps_every_pod_and_reports_the_nodes_facts() {
    if !root_or_skip("a_bridge_lab_maps_every_pod_and_reports_the_nodes_facts") {
        return;
    }
    let lab = lab("inb", Cni::Bridge);
    let reports = inspect(&lab, None, &lab_tools()).expect("inspect");
    assert_eq!(reports.len(), 2);
    assert_every_pod_mapped(&lab, &reports);
    for r in &reports {
        assert!(r.findings.is_empty(), "{}: {:?}", r.node, r.findings);
        assert_eq!(r.facts.cni.name, "bridge", "{:?}", r.facts.cni);
        // echo-service:http and kube-dns's two ports; three echo and two DNS endpoints.
        let rules = r.facts.proxy.rules.expect("rule counts");
        assert_eq!((rules.services, rules.endpoints), (3, 5), "{}", r.node);
        let dns = r.facts.nodelocaldns.as_ref().expect("nodelocaldns");
        assert_eq!(dns.address, lab.spec().dns.node_local.to_string());
        assert!(dns.listening, "the lab's nodelocaldns serves on port 53");
        // coredns on node-b resolves for the pods; its resolv.conf lists nodelocaldns.
    }
    let curl = (reports[0].namespaces.iter())
        .find(|n| n.pod.as_ref().is_some_and(|p| p.name == "curl"))
        .expect("curl");
    let rc = curl.resolv_conf.as_ref().expect("curl's resolv.conf");
    assert_eq!(rc.nameservers, [lab.spec().dns.node_local.to_string()]);
    let table = netdiag_render::inspect_table(&reports, &Default::default());
    eprintln!("{table}");
    assert!(table.contains("default/curl"), "{table}");
}

#[test]
fn a_pod_without_its_process_is_leaked_and_a_downed_veth_is_flagged() {
    if !root_or_skip("a_pod_without_its_process_is_leaked_and_a_downed_veth_is_flagged") {
        return;
    }
    let lab = lab("inl", Cni::Bridge);
    // Kill the pod's process by the pid the lab recorded (checked to still be the lab's): its
    // namespace stays, bind-mounted, with nobody in it, as a sandbox CNI never deleted.
    lab.stop_process("pod-curl");
    let veth = host_veth(Cni::Bridge, "echo-1");
    lab.exec("node-a", &["ip", "link", "set", &veth, "down"]);

    let reports = inspect(&lab, Some("node-a"), &lab_tools()).expect("inspect");
    assert_eq!(reports.len(), 1);
    let kinds: Vec<&FindingKind> = reports[0].findings.iter().map(|f| &f.kind).collect();
    assert_eq!(
        kinds,
        [
            &FindingKind::LeakedNamespace {
                netns: lab.netns("curl")
            },
            &FindingKind::VethDown {
                veth,
                netns: lab.netns("echo-1")
            },
        ]
    );
    let curl = (reports[0].namespaces.iter())
        .find(|n| n.pod.as_ref().is_some_and(|p| p.name == "curl"))
        .expect("the leaked namespace is still mapped to its pod");
    assert!(curl.processes.is_empty());
}

/// Every pod mapped, no findings, and the CNI fingerprint `cni_name` on every node.
fn maps_every_pod_and_looks_like(tag: &str, cni: Cni, cni_name: &str) {
    let lab = lab(tag, cni);
    let reports = inspect(&lab, None, &lab_tools()).expect("inspect");
    assert_every_pod_mapped(&lab, &reports);
    for r in &reports {
        assert_eq!(r.facts.cni.name, cni_name, "{:?}", r.facts.cni);
        assert!(r.findings.is_empty(), "{}: {:?}", r.node, r.findings);
    }
}

#[test]
fn a_vxlan_lab_maps_every_pod_behind_cni0_and_looks_like_flannel() {
    if root_or_skip("a_vxlan_lab_maps_every_pod_behind_cni0_and_looks_like_flannel") {
        maps_every_pod_and_looks_like("inv", Cni::Vxlan, "flannel");
    }
}

#[test]
fn a_routed_lab_maps_every_pod_to_its_cali_veth_without_a_bridge() {
    if root_or_skip("a_routed_lab_maps_every_pod_to_its_cali_veth_without_a_bridge") {
        maps_every_pod_and_looks_like("inr", Cni::Routed, "calico");
    }
}
