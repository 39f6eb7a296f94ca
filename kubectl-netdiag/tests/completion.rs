//! Completion as a shell drives it: the bash script from `completion bash`, called the way bash
//! calls a completion function (COMP_WORDS, COMP_CWORD), and kubectl's own plugin completion
//! through the shipped `kubectl_complete-netdiag` helper.

use std::path::{Path, PathBuf};
use std::process::Command;

use netdiag_testkit::kubeconfig::{
    Kubeconfig, answering_server, routed_server, scratch_dir, silent_server,
};

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-netdiag");

/// A directory holding the plugin and the kubectl completion helper, to put first on PATH.
fn plugin_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("completion-path-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    let helper = Path::new(env!("CARGO_MANIFEST_DIR")).join("kubectl_complete-netdiag");
    for (src, name) in [
        (PathBuf::from(BIN), "kubectl-netdiag"),
        (helper, "kubectl_complete-netdiag"),
    ] {
        let dst = dir.join(name);
        // Tests run in parallel: another one may have made the link first.
        match std::os::unix::fs::symlink(&src, &dst) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => panic!("symlink {}: {e}", dst.display()),
        }
    }
    dir
}

fn path_env() -> String {
    format!("{}:/usr/bin:/bin", plugin_dir().display())
}

/// Run the bash completion function for `words` (the last one is being completed).
fn bash_complete(words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "source <(kubectl-netdiag completion bash)\n\
         COMP_WORDS=(kubectl-netdiag {})\n\
         COMP_CWORD={}\n\
         _kubectl_netdiag\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        quoted.join(" "),
        words.len()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("PATH", path_env())
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash: {e}"));
    assert!(
        out.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

// `lab` exists only on Linux.
#[cfg(target_os = "linux")]
#[test]
fn bash_completes_nested_subcommands() {
    let got = bash_complete(&["lab", ""]);
    for want in ["up", "trace", "down"] {
        assert!(got.iter().any(|g| g == want), "lab <TAB> gave {got:?}");
    }
    assert_eq!(bash_complete(&["lab", "do"]), vec!["down".to_string()]);
    // The pods' process is hidden.
    assert!(!bash_complete(&["lab", ""]).iter().any(|g| g == "pod"));
}

#[test]
fn bash_completes_option_values() {
    assert_eq!(
        bash_complete(&["trace", "-o", ""]),
        ["table", "wide", "json", "yaml", "dot", "pcap"]
            .map(String::from)
            .to_vec()
    );
    assert_eq!(
        bash_complete(&["get", "-o", ""]),
        ["table", "wide", "json", "yaml", "name"]
            .map(String::from)
            .to_vec()
    );
    assert_eq!(bash_complete(&["get", "-o", "j"]), vec!["json".to_string()]);
}

#[test]
fn hidden_commands_are_never_offered() {
    let got = bash_complete(&[""]);
    assert!(got.iter().any(|g| g == "trace"), "{got:?}");
    assert!(
        !got.iter().any(|g| g == "agent" || g.starts_with("__")),
        "{got:?}"
    );
}

#[test]
fn kubectl_plugin_completion_goes_through_the_helper() {
    let Some(kubectl) = netdiag_testkit::bin::tool_or_skip("kubectl", "kubectl") else {
        return;
    };
    let out = Command::new(kubectl)
        .args(["__complete", "netdiag", "tr"])
        .env("PATH", path_env())
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .output()
        .unwrap_or_else(|e| panic!("cannot run kubectl: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().any(|l| l == "trace"),
        "kubectl __complete netdiag tr: {stdout}"
    );
}

/// Objects of these names, as a metadata-only list.
fn names_list(names: &[&str]) -> String {
    let items: Vec<String> = names
        .iter()
        .map(|n| format!("{{\"metadata\":{{\"name\":\"{n}\"}}}}"))
        .collect();
    format!(
        "{{\"kind\":\"PartialObjectMetadataList\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{{}},\"items\":[{}]}}",
        items.join(",")
    )
}

/// An API stand-in on 127.0.0.1 that answers every list (of its first 4 requests) with objects
/// of these names.
fn names_server(names: &[&str]) -> u16 {
    answering_server("application/json", &names_list(names), 4)
}

/// `__complete ARGS` against `config`'s API, as the shell asks for it.
fn complete_with(config: &Path, args: &[&str]) -> String {
    // Completion gives the API 1.5 s; on a machine loaded by the parallel lab tests a cold
    // start can miss it once, which is the shell's behaviour, not a wrong answer: retry.
    let mut stdout = String::new();
    for _ in 0..3 {
        let out = Command::new(BIN)
            .arg("__complete")
            .args(args)
            .env("KUBECONFIG", config)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if stdout != ":4\n" {
            break;
        }
    }
    stdout
}

/// A kubeconfig in a scratch directory of its own, for the stand-in on `port`.
fn kubeconfig_for(port: u16) -> PathBuf {
    let dir = scratch_dir(env!("CARGO_TARGET_TMPDIR"), "completion");
    Kubeconfig::new(&format!("http://127.0.0.1:{port}"))
        .namespace("default")
        .write(&dir.join("config"))
}

#[test]
fn resource_names_come_from_the_api_and_a_silent_api_does_not_hang_the_shell() {
    let config = kubeconfig_for(names_server(&["curl-1", "web-2"]));
    assert_eq!(
        complete_with(&config, &["trace", "pod/c"]),
        "pod/curl-1\n:4\n"
    );

    let config = kubeconfig_for(silent_server());
    let started = std::time::Instant::now();
    let out = Command::new(BIN)
        .args(["__complete", "trace", "pod/c"])
        .env("KUBECONFIG", &config)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    assert_eq!(String::from_utf8_lossy(&out.stdout), ":4\n");
}

/// SOURCE may be a node (`node/NAME`, its host network): offered with the pod kinds, and its
/// names are the cluster's nodes, not pods.
#[test]
fn a_trace_source_completes_node_slash_and_the_names_of_nodes() {
    let source = bash_complete(&["trace", ""]);
    for want in ["pod/", "deploy/", "node/"] {
        assert!(
            source.iter().any(|g| g == want),
            "trace <TAB> gave {source:?}"
        );
    }
    assert_eq!(bash_complete(&["trace", "no"]), vec!["node/".to_string()]);
    let server = routed_server("application/json", 3, |path| match path {
        "/api/v1/nodes" => names_list(&["node-a", "node-b", "worker-1"]),
        _ => names_list(&["not-a-node"]),
    });
    let config = kubeconfig_for(server);
    assert_eq!(
        complete_with(&config, &["trace", "node/"]),
        "node/node-a\nnode/node-b\nnode/worker-1\n:4\n"
    );
    assert_eq!(
        complete_with(&config, &["trace", "node/w"]),
        "node/worker-1\n:4\n"
    );
}
