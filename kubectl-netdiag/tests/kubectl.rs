//! The built binary as kubectl sees it: found by `kubectl plugin list`, and `kubectl netdiag
//! --help` / `kubectl netdiag trace --help` answered through kubectl. Also the binary's own
//! behaviour without a cluster (exit codes, stderr, `install --dry-run -o yaml`, completions).
//!
//! kubectl is expected at /usr/bin/kubectl (or on PATH). Without it these tests skip locally and
//! fail under CI (env CI set), so a CI image without kubectl cannot pass silently.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-netdiag");

fn kubectl() -> Option<PathBuf> {
    netdiag_testkit::bin::tool_or_skip("kubectl", "kubectl")
}

/// A directory holding only the plugin, to put first on PATH.
fn plugin_dir() -> PathBuf {
    // Cargo's per-package scratch directory: nothing left behind in /tmp.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("plugin-path-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    let dst = dir.join("kubectl-netdiag");
    if !dst.exists() {
        std::os::unix::fs::symlink(BIN, &dst)
            .unwrap_or_else(|e| panic!("symlink {}: {e}", dst.display()));
    }
    dir
}

fn run_kubectl(kubectl: &Path, args: &[&str]) -> Output {
    let dir = plugin_dir();
    let path = format!("{}:/usr/bin:/bin", dir.display());
    Command::new(kubectl)
        .args(args)
        .env("PATH", path)
        // No cluster needed, and none must be touched.
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", kubectl.display()))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn kubectl_plugin_list_finds_the_plugin() {
    let Some(k) = kubectl() else { return };
    let out = run_kubectl(&k, &["plugin", "list"]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "kubectl plugin list failed: {}{}",
        stdout,
        text(&out.stderr)
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_end().ends_with("/kubectl-netdiag")),
        "kubectl plugin list did not list kubectl-netdiag:\n{stdout}{}",
        text(&out.stderr)
    );
}

#[test]
fn help_works_through_kubectl() {
    let Some(k) = kubectl() else { return };
    let out = run_kubectl(&k, &["netdiag", "--help"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("Usage: kubectl netdiag [OPTIONS] <COMMAND>"),
        "{stdout}"
    );
    assert!(
        stdout.contains("kubectl netdiag trace deploy/curl svc/echo"),
        "no examples:\n{stdout}"
    );
    let commands = [
        "trace",
        "get",
        "describe",
        "install",
        "uninstall",
        "version",
        "completion",
    ];
    // The lab exists only on Linux; elsewhere it must not be listed.
    let lab = cfg!(target_os = "linux");
    assert_eq!(
        stdout.contains("\n  lab "),
        lab,
        "lab listed: {lab}\n{stdout}"
    );
    for cmd in commands {
        assert!(
            stdout.contains(&format!("\n  {cmd} ")),
            "{cmd} missing from:\n{stdout}"
        );
    }
    assert!(
        !stdout.contains("\n  agent "),
        "the agent command must stay hidden:\n{stdout}"
    );
}

#[test]
fn trace_help_works_through_kubectl() {
    let Some(k) = kubectl() else { return };
    let out = run_kubectl(&k, &["netdiag", "trace", "--help"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("Usage: kubectl netdiag trace [OPTIONS] <SOURCE> <TARGET>"),
        "{stdout}"
    );
    for form in [
        "svc/NAME[:PORT]",
        "pod/NAME[:PORT]",
        "IP:PORT[/tcp|udp]",
        "dns/NAME",
        "deploy/NAME",
    ] {
        assert!(stdout.contains(form), "{form} missing:\n{stdout}");
    }
    assert!(stdout.contains("Exit status: 0 reachable, 1"), "{stdout}");
}

#[test]
fn a_usage_error_through_kubectl_exits_2_on_stderr() {
    let Some(k) = kubectl() else { return };
    let out = run_kubectl(&k, &["netdiag", "trace", "svc/echo", "pod/x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("a Service cannot be a SOURCE"),
        "{}",
        text(&out.stderr)
    );
}

fn plugin(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("NO_COLOR")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"))
}

#[test]
fn a_missing_kubeconfig_is_an_api_error_with_advice() {
    let out = plugin(&["get"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: cannot load the kubeconfig: cannot read /nonexistent/kubeconfig:"),
        "{err}"
    );
    assert!(!err.contains("'\""), "a path quoted twice: {err}");
    assert!(err.contains("--kubeconfig"), "{err}");
}

#[test]
fn install_dry_run_prints_the_embedded_manifests_without_a_cluster() {
    let out = plugin(&[
        "install",
        "--dry-run",
        "-o",
        "yaml",
        "--image",
        "registry.example/netdiag:v9",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let yaml = text(&out.stdout);
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(&yaml).unwrap_or_else(|e| panic!("not YAML: {e}\n{yaml}"));
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    let embedded = kubectl_netdiag::install::MANIFESTS;
    assert!(!embedded.is_empty(), "nothing embedded");
    // What config/kustomization.yaml lists is embedded; the CRD always (config/crd holds the
    // byte-identical copy of crds/netprobe.yaml that kustomize can reach).
    assert!(
        embedded
            .iter()
            .any(|(f, _)| *f == "config/crd/netprobe.yaml"),
        "{:?}",
        embedded.iter().map(|(f, _)| f).collect::<Vec<_>>()
    );
    let crd_text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crds/netprobe.yaml"
    ))
    .unwrap_or_default();
    if !crd_text.trim().is_empty() {
        assert!(kinds.contains(&"CustomResourceDefinition"), "{kinds:?}");
    }
    for d in docs.iter().filter(|d| d["kind"] == "Deployment") {
        for c in d["spec"]["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert_eq!(c["image"], "registry.example/netdiag:v9", "{d}");
        }
    }
}

#[test]
fn completions_are_generated_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = plugin(&["completion", shell]);
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let s = text(&out.stdout);
        // bash asks the binary itself (`__complete`); the others are generated from the tree.
        let names_commands = if shell == "bash" {
            s.contains("__complete")
        } else {
            s.contains("trace")
        };
        assert!(
            s.contains("kubectl-netdiag") && names_commands,
            "{shell}:\n{s}"
        );
    }
}

#[test]
fn version_prints_the_crate_version() {
    let out = plugin(&["version"]);
    assert_eq!(
        text(&out.stdout),
        format!("kubectl-netdiag {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[cfg(target_os = "linux")]
#[test]
fn the_lab_and_the_agent_are_mounted() {
    let out = plugin(&["lab", "--help"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for sub in ["up", "trace", "down"] {
        assert!(
            text(&out.stdout).contains(&format!("\n  {sub} ")),
            "{}",
            text(&out.stdout)
        );
    }
    assert!(
        !text(&out.stdout).contains("\n  pod "),
        "the pod process must stay hidden:\n{}",
        text(&out.stdout)
    );
    let out = plugin(&["lab", "pod", "--help"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The node agent does not carry the lab's pod server.
    let out = plugin(&["agent", "lab-pod", "--help"]);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    let out = plugin(&["agent", "trace", "--help"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
