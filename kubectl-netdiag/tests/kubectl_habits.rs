//! Flags behave as in kubectl: names that are not in the kubeconfig are errors, a KUBECONFIG
//! list skips files that do not exist, `-A` is refused where it means nothing, and `--help`
//! puts a command's own flags before kubectl's global ones.

use std::path::PathBuf;
use std::process::{Command, Output};

use netdiag_testkit::kubeconfig::{Kubeconfig, free_port, scratch_dir};

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-netdiag");

fn scratch(tag: &str) -> PathBuf {
    scratch_dir(env!("CARGO_TARGET_TMPDIR"), &format!("habits-{tag}"))
}

/// A kubeconfig with context `t`, cluster `t` and user `u`, pointing at a closed local port.
fn kubeconfig(dir: &std::path::Path) -> (PathBuf, String) {
    let server = format!("http://127.0.0.1:{}", free_port());
    (Kubeconfig::new(&server).write(&dir.join("config")), server)
}

fn run(args: &[&str], kubeconfig: &str) -> Output {
    Command::new(BIN)
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_context_cluster_or_user_absent_from_the_kubeconfig_is_an_error() {
    let dir = scratch("names");
    let (config, _) = kubeconfig(&dir);
    let config = config.display().to_string();
    for (flag, what, has) in [
        ("--context", "context", "t"),
        ("--cluster", "cluster", "t"),
        ("--user", "user", "u"),
    ] {
        let out = run(&["get", flag, "nope"], &config);
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!(
                "{what} \"nope\" does not exist in the kubeconfig (it has: {has})"
            )),
            "{flag}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_kubeconfig_list_skips_files_that_do_not_exist() {
    let dir = scratch("list");
    let (config, server) = kubeconfig(&dir);
    let list = format!("{}:{}", dir.join("missing").display(), config.display());
    let out = run(&["get"], &list);
    // It read the second file: the error is about reaching that file's server.
    assert!(
        stderr(&out).contains(&format!(
            "The connection to the server {server} was refused"
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn all_namespaces_is_refused_where_it_means_nothing() {
    for args in [
        vec!["trace", "-A", "pod/a", "svc/b"],
        vec!["-A", "describe", "p"],
        vec!["install", "-A", "-o", "yaml"],
    ] {
        let out = run(&args, "/nonexistent");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("-A/--all-namespaces applies only to `get`"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn help_lists_a_commands_own_flags_before_kubectls() {
    let out = run(&["trace", "--help"], "/nonexistent");
    let text = String::from_utf8_lossy(&out.stdout);
    let own = text.find("--timeout").unwrap_or(usize::MAX);
    let heading = text.find("Kubectl global flags:").unwrap_or(usize::MAX);
    let global = text.find("--kubeconfig").unwrap_or(usize::MAX);
    assert!(own < heading && heading < global, "{text}");
}

#[test]
fn describe_takes_o_wide_and_get_takes_o_name() {
    use clap::Parser as _;
    use kubectl_netdiag::cli::{Cli, Command as Sub, ListOutput};
    match Cli::try_parse_from(["kubectl-netdiag", "describe", "p", "-o", "wide"]).map(|c| c.command)
    {
        Ok(Sub::Describe(d)) => assert!(d.is_wide()),
        other => panic!("{other:?}"),
    }
    match Cli::try_parse_from(["kubectl-netdiag", "get", "-o", "name"]).map(|c| c.command) {
        Ok(Sub::Get(g)) => assert_eq!(g.output, ListOutput::Name),
        other => panic!("{other:?}"),
    }
}

#[test]
fn version_and_dash_dash_version_print_the_same() {
    let a = run(&["version"], "/nonexistent");
    let b = run(&["--version"], "/nonexistent");
    let c = run(&["trace", "--version"], "/nonexistent");
    assert!(a.status.success() && b.status.success() && c.status.success());
    let first = String::from_utf8_lossy(&a.stdout).into_owned();
    assert_eq!(
        first,
        format!("kubectl-netdiag {}\n", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(String::from_utf8_lossy(&b.stdout), first);
    assert_eq!(String::from_utf8_lossy(&c.stdout), first);
    assert!(
        stderr(&a).contains("cluster versions unknown"),
        "{}",
        stderr(&a)
    );
}
