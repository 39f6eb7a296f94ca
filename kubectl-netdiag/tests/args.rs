//! SOURCE and TARGET in every form, good and bad, through the parsers and through clap.

use clap::{CommandFactory as _, Parser as _};
use kubectl_netdiag::cli::{Cli, Command};
use kubectl_netdiag::target::{
    SourceArg, SourceKind, TargetArg, parse_checks, parse_source, parse_target,
};
use netdiag_crds::{Check, PortRef, Protocol};

fn src(kind: SourceKind, name: &str) -> SourceArg {
    SourceArg {
        kind,
        name: name.into(),
    }
}

#[test]
fn every_source_form_parses() {
    let cases = [
        ("pod/curl", src(SourceKind::Pod, "curl")),
        ("po/curl-5d8f.x", src(SourceKind::Pod, "curl-5d8f.x")),
        ("curl", src(SourceKind::Pod, "curl")),
        ("deploy/curl", src(SourceKind::Deployment, "curl")),
        ("deployment/curl", src(SourceKind::Deployment, "curl")),
        ("deployment.apps/curl", src(SourceKind::Deployment, "curl")),
        ("sts/db", src(SourceKind::StatefulSet, "db")),
        ("statefulset/db", src(SourceKind::StatefulSet, "db")),
        ("ds/agent", src(SourceKind::DaemonSet, "agent")),
        ("rs/curl-5d8f", src(SourceKind::ReplicaSet, "curl-5d8f")),
        ("Deploy/curl", src(SourceKind::Deployment, "curl")),
    ];
    for (input, want) in cases {
        assert_eq!(parse_source(input), Ok(want), "{input}");
    }
}

#[test]
fn bad_sources_say_what_is_expected() {
    let cases = [
        ("", "SOURCE is empty"),
        ("svc/echo", "a Service cannot be a SOURCE"),
        ("dns/echo", "a DNS name cannot be a SOURCE"),
        ("job/x", "unknown kind \"job\""),
        ("pod/", "the name is missing after pod/"),
        ("pod/Curl_1", "\"Curl_1\" is not a valid pod name"),
        ("deploy/-x", "not a valid workload name"),
    ];
    for (input, want) in cases {
        let e = parse_source(input)
            .map(|s| s.to_string())
            .expect_err(input)
            .to_string();
        assert!(e.contains(want), "{input:?}: {e}");
        if !input.is_empty() {
            assert!(
                e.contains("pod/NAME") || e.contains("name"),
                "{input:?} gives no hint: {e}"
            );
        }
    }
}

#[test]
fn every_target_form_parses() {
    let svc = |ns: Option<&str>, name: &str, port: Option<PortRef>| TargetArg::Service {
        namespace: ns.map(str::to_string),
        name: name.into(),
        port,
    };
    let pod = |ns: Option<&str>, name: &str, port: Option<PortRef>| TargetArg::Pod {
        namespace: ns.map(str::to_string),
        name: name.into(),
        port,
    };
    let cases = [
        ("svc/echo", svc(None, "echo", None)),
        ("svc/echo:80", svc(None, "echo", Some(PortRef::Number(80)))),
        (
            "svc/echo:http",
            svc(None, "echo", Some(PortRef::Name("http".into()))),
        ),
        (
            "service/echo:http",
            svc(None, "echo", Some(PortRef::Name("http".into()))),
        ),
        (
            "svc/shop/payments:grpc",
            svc(Some("shop"), "payments", Some(PortRef::Name("grpc".into()))),
        ),
        ("pod/echo-1", pod(None, "echo-1", None)),
        (
            "pod/echo-1:8080",
            pod(None, "echo-1", Some(PortRef::Number(8080))),
        ),
        (
            "pod/web.v2:metrics",
            pod(None, "web.v2", Some(PortRef::Name("metrics".into()))),
        ),
        (
            "pod/other/echo-1:8080",
            pod(Some("other"), "echo-1", Some(PortRef::Number(8080))),
        ),
        (
            "10.96.0.10:53/udp",
            TargetArg::Address {
                ip: [10, 96, 0, 10].into(),
                port: 53,
                protocol: Protocol::UDP,
            },
        ),
        (
            "10.96.0.10:53/UDP",
            TargetArg::Address {
                ip: [10, 96, 0, 10].into(),
                port: 53,
                protocol: Protocol::UDP,
            },
        ),
        (
            "10.96.45.10:80",
            TargetArg::Address {
                ip: [10, 96, 45, 10].into(),
                port: 80,
                protocol: Protocol::TCP,
            },
        ),
        (
            "172.18.0.3:30080/tcp",
            TargetArg::Address {
                ip: [172, 18, 0, 3].into(),
                port: 30080,
                protocol: Protocol::TCP,
            },
        ),
        (
            "dns/echo",
            TargetArg::Dns {
                name: "echo".into(),
            },
        ),
        (
            "dns/echo.default.svc.cluster.local.",
            TargetArg::Dns {
                name: "echo.default.svc.cluster.local.".into(),
            },
        ),
    ];
    for (input, want) in cases {
        assert_eq!(parse_target(input), Ok(want), "{input}");
    }
}

#[test]
fn bad_targets_say_what_is_expected() {
    let cases = [
        ("", "TARGET is empty"),
        ("echo", "needs a kind: e.g. svc/echo"),
        ("echo:80", "needs a kind"),
        ("svc", "the name is missing after svc/"),
        ("svc/", "the name is missing after svc/"),
        (
            "svc/echo:0",
            "port \"0\" is neither a number from 1 to 65535",
        ),
        ("svc/echo:70000", "port \"70000\""),
        ("svc/echo:http_port", "nor a port name"),
        ("svc/Echo", "\"Echo\" is not a valid Service name"),
        ("svc/echo.default", "not a valid Service name"),
        ("svc/Bad_NS/echo", "not a valid namespace name"),
        ("ingress/web", "unknown kind \"ingress\""),
        ("10.96.0.10", "needs a port: 10.96.0.10:PORT"),
        ("10.96.0.10:99999", "port number from 1 to 65535"),
        ("10.96.0.10:0", "port number from 1 to 65535"),
        ("10.96.0.10:53/sctp", "unknown protocol \"sctp\""),
        ("10.96.0.300:53", "\"10.96.0.300\" is not an IPv4 address"),
        ("[fd00::1]:53", "only IPv4"),
        ("fd00::1:53", "only IPv4"),
        ("dns/", "the name is missing after dns/"),
        ("dns/bad name", "is not a DNS name"),
        ("dns/-echo", "is not a DNS name"),
    ];
    for (input, want) in cases {
        let e = parse_target(input).expect_err(input).to_string();
        assert!(e.contains(want), "{input:?}: {e}");
    }
}

#[test]
fn checks_parse_and_refuse_unknown_ones() {
    assert_eq!(
        parse_checks("path, Connect,dns,path").map(|c| c.0),
        Ok(vec![Check::Path, Check::Connect, Check::DNS])
    );
    let e = parse_checks("path,ping").expect_err("ping").to_string();
    assert!(
        e.contains("unknown check \"ping\"") && e.contains("conntrack"),
        "{e}"
    );
    assert!(parse_checks(",").is_err());
}

#[test]
fn the_command_line_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn trace_takes_kubectl_global_flags_anywhere() {
    let cli = Cli::try_parse_from([
        "kubectl-netdiag",
        "trace",
        "deploy/curl",
        "svc/echo:http",
        "-n",
        "shop",
        "--context",
        "prod",
        "--kubeconfig",
        "/tmp/kc",
        "--cluster",
        "c1",
        "--user",
        "u1",
        "--request-timeout",
        "5s",
        "--checks",
        "path,connect",
        "--timeout",
        "45s",
        "--keep",
        "--dns-name",
        "echo.shop",
        "-o",
        "wide",
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cli.global.namespace.as_deref(), Some("shop"));
    assert_eq!(cli.global.context.as_deref(), Some("prod"));
    assert_eq!(cli.global.cluster.as_deref(), Some("c1"));
    assert_eq!(cli.global.user.as_deref(), Some("u1"));
    assert_eq!(
        cli.global.request_timeout,
        Some(std::time::Duration::from_secs(5))
    );
    let Command::Trace(t) = cli.command else {
        panic!("not a trace")
    };
    assert_eq!(t.source, src(SourceKind::Deployment, "curl"));
    assert_eq!(t.timeout, std::time::Duration::from_secs(45));
    assert!(t.keep);
    assert_eq!(
        t.checks.map(|c| c.0),
        Some(vec![Check::Path, Check::Connect])
    );
    assert_eq!(t.output, kubectl_netdiag::cli::TraceOutput::Wide);
}

#[test]
fn bad_arguments_are_usage_errors_that_name_the_argument() {
    for (argv, want) in [
        (vec!["trace", "svc/echo", "pod/x"], "<SOURCE>"),
        (vec!["trace", "pod/x", "echo"], "<TARGET>"),
        (vec!["trace", "pod/x", "svc/echo", "-o", "xml"], "xml"),
        (
            vec!["trace", "pod/x", "svc/echo", "--timeout", "soon"],
            "--timeout",
        ),
        (vec!["trace", "pod/x"], "<TARGET>"),
    ] {
        let mut full = vec!["kubectl-netdiag"];
        full.extend(argv.iter().copied());
        let e = Cli::try_parse_from(&full).expect_err(&argv.join(" "));
        assert_eq!(e.exit_code(), 2, "{argv:?}");
        let text = e.to_string();
        assert!(text.contains(want), "{argv:?}: {text}");
    }
}

#[test]
fn out_of_range_timeouts_and_dns_names_are_refused_before_any_api_call() {
    use kubectl_netdiag::trace::check_args;
    let parse = |extra: &[&str]| {
        let mut v = vec!["kubectl-netdiag", "trace", "pod/x", "svc/echo"];
        v.extend_from_slice(extra);
        Cli::try_parse_from(v).map(|c| c.command)
    };
    match parse(&[]) {
        Ok(Command::Trace(t)) => assert!(check_args(&t).is_ok()),
        other => panic!("{other:?}"),
    }
    for (timeout, want) in [
        ("11m", "\"11m\" is above the 10m maximum"),
        ("0", "\"0\" is below the 1s minimum"),
        ("500ms", "\"500ms\" is below the 1s minimum"),
    ] {
        let e = parse(&["--timeout", timeout]).expect_err(timeout);
        assert_eq!(e.exit_code(), 2, "{timeout}");
        assert!(e.to_string().contains(want), "{timeout}: {e}");
    }
    match parse(&["--dns-name", "not a name"]) {
        Ok(Command::Trace(t)) => {
            let e = check_args(&t).expect_err("dns").to_string();
            assert!(e.contains("is not a DNS name"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

/// Numbers that overflow a `Duration` once panicked (exit 101); they are usage errors (exit 2).
#[test]
fn huge_durations_exit_2_without_a_panic() {
    for argv in [
        vec![
            "trace",
            "pod/x",
            "svc/echo",
            "--timeout",
            "99999999999999999999s",
        ],
        vec!["get", "--request-timeout", "9999999999999999h"],
        vec![
            "get",
            "--request-timeout",
            "340282366920938463463374607431768211456",
        ],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-netdiag"))
            .args(&argv)
            .env("KUBECONFIG", "/nonexistent")
            .output()
            .unwrap_or_else(|e| panic!("cannot run the plugin: {e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{argv:?}: {stderr}");
        assert!(stderr.contains("maximum"), "{argv:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{argv:?}: {stderr}");
    }
}
