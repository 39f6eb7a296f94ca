//! SOURCE and TARGET through clap: global flags, value parsers and their errors.

use clap::{CommandFactory as _, Parser as _};
use kubectl_netdiag::cli::{Cli, Command};
use netdiag_crds::Check;
use netdiag_crds::shorthand::{SourceArg, SourceKind};

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
    assert_eq!(
        t.source,
        SourceArg {
            kind: SourceKind::Deployment,
            name: "curl".into()
        }
    );
    assert_eq!(t.timeout, std::time::Duration::from_secs(45));
    assert!(t.keep);
    assert_eq!(
        t.checks.map(|c| c.0),
        Some(vec![Check::Path, Check::Connect])
    );
    assert_eq!(t.output, kubectl_netdiag::cli::TraceFormat::Wide);
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
