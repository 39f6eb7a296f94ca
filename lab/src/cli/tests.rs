use super::*;
use clap::Parser;
use netdiag_model::merge::merge;
use netdiag_model::{Hop, HopKind, NodeReport, Verdict};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: LabCommand,
}

#[test]
fn subcommands_parse_with_their_defaults() {
    let c = Cli::try_parse_from(["lab", "trace"]).unwrap().cmd;
    let LabCommand::Trace(t) = c else {
        panic!("not a trace: {c:?}")
    };
    assert_eq!(t.name, "netdiag");
    assert_eq!(t.from.name, "curl");
    assert_eq!(
        t.to,
        netdiag_crds::shorthand::TargetArg::Service {
            namespace: None,
            name: "echo-service".into(),
            port: None
        }
    );
    assert_eq!(t.output, TraceFormat::Table);
    assert_eq!((t.checks, t.dns_name), (None, None));
    let c = Cli::try_parse_from(["lab", "up", "--name", "l2", "--spec", "x.yaml"])
        .unwrap()
        .cmd;
    assert_eq!(
        c,
        LabCommand::Up {
            name: "l2".into(),
            spec: Some("x.yaml".into()),
            proxy_mode: None,
            cni: None,
        }
    );
    assert!(Cli::try_parse_from(["lab", "trace", "-o", "xml"]).is_err());
}

#[test]
fn up_takes_a_proxy_mode_and_its_help_explains_both() {
    use clap::CommandFactory as _;
    let c = Cli::try_parse_from(["lab", "up", "--proxy-mode", "nftables"])
        .unwrap()
        .cmd;
    assert!(
        matches!(
            c,
            LabCommand::Up {
                proxy_mode: Some(ProxyMode::Nftables),
                ..
            }
        ),
        "{c:?}"
    );
    let err = Cli::try_parse_from(["lab", "up", "--proxy-mode", "ipvs"])
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("iptables") && err.contains("nftables"),
        "{err}"
    );
    let mut cmd = Cli::command();
    let up = cmd.find_subcommand_mut("up").unwrap();
    let help = up.render_long_help().to_string();
    assert!(help.contains("--proxy-mode <MODE>"), "{help}");
    assert!(
        help.contains("table ip") && help.contains("nft -f"),
        "{help}"
    );
    assert_eq!(
        proxy_line(ProxyMode::Nftables),
        "kube-proxy: nftables mode (table ip kube-proxy in every node)"
    );
}

#[test]
fn the_pod_process_parses_but_is_not_listed_in_help() {
    use clap::CommandFactory as _;
    let c = Cli::try_parse_from(["lab", "pod", "--name", "echo-1", "--tcp", "8080"])
        .unwrap()
        .cmd;
    assert!(matches!(&c, LabCommand::Pod(a) if a.tcp == [8080]), "{c:?}");
    let help = Cli::command().render_help().to_string();
    assert!(help.contains("\n  up "), "{help}");
    assert!(!help.contains("\n  pod "), "{help}");
}

#[test]
fn the_summary_lists_what_was_built_and_what_to_try() {
    let lab = Lab {
        names: crate::LabNames::new("t1"),
        state: crate::LabState::new("t1", &LabSpec::default()),
    };
    let s = up_summary(&lab, 1.0);
    for want in [
        "lab t1 is up",
        "node-a",
        "default/echo-2",
        "10.244.2.2",
        "default/echo-service",
        "http 80/TCP -> 8080 nodePort 30080",
        "kubectl netdiag lab trace --name t1",
        "nd-t1-curl",
    ] {
        assert!(s.contains(want), "missing {want:?} in\n{s}");
    }
}

#[test]
fn the_table_shows_every_hop_and_the_result() {
    let hops = vec![
        Hop::new(
            "node-a",
            HopKind::PodInterface,
            "eth0",
            Verdict::Ok,
            "10.244.1.2/24",
        ),
        Hop::new(
            "node-b",
            HopKind::Listener,
            "10.244.2.3:8080",
            Verdict::Fail,
            "nothing listens",
        ),
    ];
    let r = NodeReport {
        node: "node-a".into(),
        hops,
        ..Default::default()
    };
    let t = crate::LabTrace {
        source: "default/curl".into(),
        target: "svc/echo-service:http".into(),
        plans: vec![],
        reports: vec![r.clone()],
        path: merge(&[r], "default/curl", "svc/echo-service:http"),
        probe: netdiag_crds::NetProbe::new(
            "lab-t-trace",
            serde_json::from_str(
                r#"{"source": {"pod": "curl"}, "target": {"dns": {"name": "x"}}}"#,
            )
            .unwrap(),
        ),
    };
    let table = render_table(&t, false);
    assert!(
        table.starts_with("TRACE: default/curl -> svc/echo-service:http\n"),
        "{table}"
    );
    for want in [
        "eth0",
        "10.244.2.3:8080",
        "nothing listens",
        "RESULT: unreachable",
    ] {
        assert!(table.contains(want), "missing {want:?} in\n{table}");
    }
    assert_eq!(t.path.hops.len(), 2);
    assert_eq!(t.path.target.as_deref(), Some("svc/echo-service:http"));
    assert!(t.path.first_failure.is_some());
}

#[test]
fn trace_takes_every_target_form_and_output_format_of_the_plugins_trace() {
    use netdiag_crds::shorthand::TargetArg;
    for to in [
        "svc/echo-service:http",
        "svc/kube-system/kube-dns:53",
        "pod/echo-2:8080",
        "10.96.0.10:53/udp",
        "dns/echo-service.default.svc.cluster.local",
        "node/node-b:30080",
    ] {
        let c = Cli::try_parse_from(["lab", "trace", "--to", to])
            .unwrap_or_else(|e| panic!("{to}: {e}"));
        let LabCommand::Trace(t) = c.cmd else {
            panic!("{to}: not a trace")
        };
        assert_eq!(
            t.to,
            netdiag_crds::shorthand::parse_target(to).unwrap(),
            "{to}"
        );
    }
    let c = Cli::try_parse_from(["lab", "trace", "--to", "node/node-b:30080/udp"]).unwrap();
    let LabCommand::Trace(t) = c.cmd else {
        panic!("not a trace")
    };
    assert!(matches!(t.to, TargetArg::Node { port: 30080, .. }));
    // every -o of `kubectl netdiag trace`, by the same names
    use clap::ValueEnum as _;
    for f in TraceFormat::value_variants() {
        let name = f.to_possible_value().unwrap().get_name().to_string();
        let c = Cli::try_parse_from(["lab", "trace", "-o", &name]).unwrap();
        let LabCommand::Trace(t) = c.cmd else {
            panic!("not a trace")
        };
        assert_eq!(t.output, *f);
    }
    let names: Vec<String> = TraceFormat::value_variants()
        .iter()
        .map(|f| f.to_possible_value().unwrap().get_name().to_string())
        .collect();
    assert_eq!(names, ["table", "wide", "json", "yaml", "dot", "pcap"]);
    let e = Cli::try_parse_from(["lab", "trace", "--to", "echo-service"])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("needs a kind: e.g. svc/echo-service"), "{e}");
    let e = Cli::try_parse_from(["lab", "trace", "--checks", "ping"])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("unknown check \"ping\""), "{e}");
}

#[test]
fn up_takes_a_cni_and_its_help_names_each_shape() {
    use clap::CommandFactory as _;
    let c = Cli::try_parse_from(["lab", "up", "--cni", "vxlan"])
        .unwrap()
        .cmd;
    assert!(
        matches!(
            c,
            LabCommand::Up {
                cni: Some(Cni::Vxlan),
                ..
            }
        ),
        "{c:?}"
    );
    let err = Cli::try_parse_from(["lab", "up", "--cni", "weave"])
        .err()
        .unwrap()
        .to_string();
    assert!(
        ["bridge", "vxlan", "routed"]
            .iter()
            .all(|c| err.contains(c)),
        "{err}"
    );
    let mut cmd = Cli::command();
    let help = cmd
        .find_subcommand_mut("up")
        .unwrap()
        .render_long_help()
        .to_string();
    assert!(
        help.contains("flannel.1") && help.contains("cali"),
        "{help}"
    );
}

/// `lab status` of a lab of each CNI: the pod network line names the shape, and each node's
/// fingerprint shows as the NODE line a trace's `-o wide` prints, in the spec's node order; a
/// node whose namespace could not be read says why; an unfinished `up` is flagged.
#[test]
fn status_shows_the_pod_network_and_each_nodes_detected_cni() {
    use netdiag_model::inspect::{CniFingerprint, CniVariant};
    let fingerprint = |name: &str, variant, evidence: &str| CniFingerprint {
        name: name.into(),
        variant,
        evidence: vec![evidence.into()],
    };
    let cases = [
        (
            Cni::Bridge,
            fingerprint("bridge", None, "cni0 (bridge)"),
            "CNI bridge  evidence: cni0 (bridge)",
            "pod network: bridge (cni0 bridges",
        ),
        (
            Cni::Routed,
            fingerprint(
                "calico",
                Some(CniVariant::Routed),
                "2 cali* veths with a /32 route each",
            ),
            "CNI calico (routed)  evidence: 2 cali* veths",
            "pod network: routed (cali* veths",
        ),
        (
            Cni::Vxlan,
            fingerprint(
                "flannel",
                Some(CniVariant::Vxlan),
                "flannel.1 (vxlan VNI 1, port 8472)",
            ),
            "CNI flannel (vxlan)  evidence: flannel.1 (vxlan VNI 1, port 8472)",
            "pod network: vxlan (cni0 bridges, flannel.1 VXLAN",
        ),
    ];
    for (cni, read, want, network) in cases {
        let spec = LabSpec {
            cni,
            ..LabSpec::default()
        };
        let mut state = crate::LabState::new("st", &spec);
        state.complete = true;
        let lab = Lab {
            names: crate::LabNames::new("st"),
            state,
        };
        let detected: Vec<describe::DetectedCni> = (spec.nodes.iter())
            .map(|n| (n.name.clone(), Ok(read.clone())))
            .collect();
        let text = describe::status_text(&lab, &|_| Some(true), &detected);
        assert!(text.starts_with("lab st\n"), "{text}");
        assert!(text.contains(network), "{cni}: {text}");
        let section = text
            .split("detected CNI (the agent's fingerprint):\n")
            .nth(1);
        let lines: Vec<&str> = section.unwrap_or_default().lines().collect();
        assert_eq!(lines.len(), spec.nodes.len(), "{cni}: {text}");
        for (line, node) in lines.iter().zip(&spec.nodes) {
            let head = format!("  NODE {}  {want}", node.name);
            assert!(line.starts_with(&head), "{cni}: {line:?} is not {head:?}");
        }
    }
    let lab = Lab {
        names: crate::LabNames::new("st"),
        state: crate::LabState::new("st", &LabSpec::default()),
    };
    let unread = [(
        "node-a".to_string(),
        Err("Operation not permitted".to_string()),
    )];
    let text = describe::status_text(&lab, &|_| None, &unread);
    assert!(text.starts_with("lab st (INCOMPLETE"), "{text}");
    assert!(
        text.ends_with("\n  NODE node-a  CNI not read: Operation not permitted\n"),
        "{text}"
    );
}
