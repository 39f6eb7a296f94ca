use super::*;

fn curl_namespace() -> PodNamespace {
    PodNamespace {
        netns: NetnsIdentity {
            path: "/var/run/netns/cni-82a7".into(),
            name: Some("cni-82a7".into()),
            dev: 4,
            inode: 4026532500,
        },
        processes: vec![NsProcess {
            pid: 2677,
            comm: "pause".into(),
            start_ticks: 100,
        }],
        eth0: Some(PodEth0 {
            name: "eth0".into(),
            ifindex: 5,
            peer_ifindex: 4,
            addresses: vec!["10.244.2.2/24".into()],
            mac: "6e:13:e8:42:bb:13".into(),
            mtu: 1500,
            up: true,
            gateway: Some("10.244.2.1".into()),
        }),
        host_veth: Some(HostVeth {
            name: "veth81ebcd7c".into(),
            ifindex: 4,
            mac: "3a:f7:b7:a1:56:ac".into(),
            mtu: 1500,
            up: true,
            oper_state: "up".into(),
        }),
        attachment: Some(Attachment::Bridge {
            name: "cni0".into(),
        }),
        resolv_conf: None,
        pod: None,
    }
}

#[test]
fn a_report_round_trips_through_json() {
    let report = InspectReport {
        node: "node-a".into(),
        namespaces: vec![curl_namespace()],
        findings: vec![Finding::new(FindingKind::VethDown {
            veth: "veth81ebcd7c".into(),
            netns: "cni-82a7".into(),
        })],
        ..Default::default()
    };
    let text = serde_json::to_string(&report).unwrap();
    assert!(text.contains(r#""kind":"vethDown""#), "{text}");
    assert!(
        text.contains(r#""attachment":{"type":"bridge","name":"cni0"}"#),
        "{text}"
    );
    let back: InspectReport = serde_json::from_str(&text).unwrap();
    assert_eq!(back, report);
}

#[test]
fn a_finding_of_a_newer_agent_reads_as_other_with_its_message() {
    let f: Finding =
        serde_json::from_str(r#"{"kind":"mtuMismatch","message":"eth0 1450 vs 1500"}"#).unwrap();
    assert_eq!(f.kind, FindingKind::Other);
    assert_eq!(f.message, "eth0 1450 vs 1500");
}

#[test]
fn findings_explain_themselves_in_plain_words() {
    let leaked = Finding::new(FindingKind::LeakedNamespace {
        netns: "cni-1".into(),
    });
    assert!(leaked.message.contains("cni-1 has no process left"));
    let dup = FindingKind::DuplicateIp {
        ip: "10.244.1.2".into(),
        netns: vec!["cni-1".into(), "cni-2".into()],
    };
    assert_eq!(dup.as_str(), "duplicateIp");
    assert!(
        dup.sentence()
            .contains("held by 2 namespaces (cni-1, cni-2)")
    );
}

#[test]
fn pods_are_joined_by_ip_without_the_prefix_length() {
    let mut report = InspectReport {
        namespaces: vec![curl_namespace(), PodNamespace::default()],
        ..Default::default()
    };
    report.join_pods(|ip| {
        (ip == "10.244.2.2").then(|| PodRef {
            namespace: "default".into(),
            name: "curl1".into(),
        })
    });
    assert_eq!(
        report.namespaces[0].pod.as_ref().map(|p| p.name.as_str()),
        Some("curl1")
    );
    assert_eq!(report.namespaces[1].pod, None);
    assert_eq!(report.namespaces[0].holder().map(|p| p.pid), Some(2677));
    assert_eq!(report.namespaces[0].netns.label(), "cni-82a7");
}
