//! The command line's parsing and the plans its flags make.

use super::*;
use netdiag_model::Protocol;

#[test]
fn targets_parse_with_and_without_protocol() {
    let t = parse_target("10.96.0.10:53/udp").expect("valid");
    assert_eq!(
        (t.ip.to_string().as_str(), t.port, t.protocol),
        ("10.96.0.10", 53, Protocol::UDP)
    );
    assert_eq!(
        parse_target("10.96.45.10:80").expect("valid").protocol,
        Protocol::TCP
    );
    for bad in [
        "10.96.45.10",
        "10.96.45.10:0",
        "10.96.45.10:80/sctp",
        "host:80",
        "10.96.45.10:99999",
    ] {
        let e = parse_target(bad).expect_err(bad);
        assert!(e.to_string().contains("IP:PORT"), "{e}");
    }
}

fn args(extra: &[&str]) -> TraceArgs {
    let mut argv = vec!["netdiag-agent", "trace"];
    argv.extend_from_slice(extra);
    match AgentCli::try_parse_from(argv).expect("parses").command {
        AgentCommand::Trace(a) => a,
        other => panic!("not a trace: {other:?}"),
    }
}

#[test]
fn inspect_takes_json_output_and_the_hosts_paths() {
    let cli = AgentCli::try_parse_from([
        "netdiag-agent",
        "inspect",
        "-o",
        "json",
        "--proc",
        "/host/proc",
        "--node-name",
        "worker-1",
    ])
    .expect("parses");
    let AgentCommand::Inspect(a) = cli.command else {
        panic!("not inspect");
    };
    assert_eq!(a.output, Output::Json);
    assert_eq!(a.node.proc, std::path::PathBuf::from("/host/proc"));
    assert_eq!(a.node.netns_dir, std::path::PathBuf::from("/var/run/netns"));
    assert_eq!(a.node.name(), "worker-1");
}

#[test]
fn an_endpoint_check_runs_without_a_source_pod() {
    let a = args(&["--endpoint", "10.244.2.7:8080"]);
    let plan = plan_from_args(&a).expect("a plan");
    assert_eq!(
        plan.endpoint.map(|e| e.to_string()),
        Some("10.244.2.7:8080".to_string())
    );
    assert!(
        AgentCli::try_parse_from(["netdiag-agent", "trace", "--to", "10.96.0.1:443"]).is_err(),
        "a trace still needs --from"
    );
    assert!(
        AgentCli::try_parse_from([
            "netdiag-agent",
            "trace",
            "--from",
            "10.244.1.2",
            "--endpoint",
            "10.244.2.7:8080"
        ])
        .is_err(),
        "--from and --endpoint still conflict"
    );
}

#[test]
fn the_node_agent_does_not_carry_the_lab_pod_server() {
    let e = AgentCli::try_parse_from(["netdiag-agent", "lab-pod", "--name", "x"]);
    assert!(e.is_err(), "lab-pod parsed");
}

#[test]
fn flags_make_the_same_plan_the_controller_would_send() {
    let a = args(&[
        "--from",
        "10.244.1.2",
        "--to",
        "10.96.45.10:80",
        "--expect-endpoint",
        "10.244.1.5:8080",
        "--dns-name",
        "echo",
        "--dns-server",
        "10.96.0.10",
    ]);
    let plan = plan_from_args(&a).expect("plan");
    assert_eq!(plan.role, PlanRole::Source);
    assert_eq!(
        plan.expected_endpoints,
        vec![Endpoint {
            ip: [10, 244, 1, 5].into(),
            port: 8080
        }]
    );
    assert_eq!(
        plan.dns_servers,
        vec![DnsServer {
            address: std::net::SocketAddrV4::new([10, 96, 0, 10].into(), 53),
            role: "kube-dns".into()
        }]
    );
    assert!(plan.target_is_service);
}

#[test]
fn a_plan_file_stands_alone() {
    let a = args(&["--plan-file", "/etc/netdiag/plan/plan.json", "-o", "json"]);
    assert_eq!(
        a.plan_file.as_deref(),
        Some(std::path::Path::new("/etc/netdiag/plan/plan.json"))
    );
    for other in [
        &["--from", "10.244.1.2"][..],
        &["--to", "10.96.0.1:443"],
        &["--endpoint", "10.244.2.7:8080"],
        &["--plan", "-"],
    ] {
        let mut argv = vec!["netdiag-agent", "trace", "--plan-file", "p.json"];
        argv.extend_from_slice(other);
        assert!(AgentCli::try_parse_from(argv).is_err(), "{other:?}");
    }
}

#[test]
fn an_inline_plan_is_read_as_json() {
    let a = args(&[
        "--plan",
        r#"{"role":"Endpoint","endpoint":{"ip":"10.244.2.7","port":8080}}"#,
    ]);
    let plan = plan_from_args(&a).expect("plan");
    assert_eq!(plan.role, PlanRole::Endpoint);
    assert_eq!(plan.step_timeout_ms, 2000);
    let bad = args(&["--plan", "{not json"]);
    assert!(matches!(
        plan_from_args(&bad),
        Err(CliError::ParsePlan { .. })
    ));
}
