//! Shared helpers for the end-to-end tests: find the real binaries, build labs with unique
//! names, inject faults, and read traces.
//!
//! These tests need root and the packages in scripts/packages.txt. They fail loudly when either
//! is missing: a skipped data-plane test would hide exactly what netdiag is for.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use netdiag_agent::lab::{Lab, LabGuard, LabSpec, LabTools, LabTrace};
use netdiag_model::{Hop, HopKind, Verdict};

/// Panic unless we are root and the lab's tools are installed.
pub fn require_lab_prerequisites() {
    assert!(
        netdiag_agent::lab::exec::is_root(),
        "the end-to-end tests build network namespaces and need root: run them as root (sudo ./scripts/test)"
    );
    for (tool, package) in [
        ("ip", "iproute2"),
        ("iptables-restore", "iptables"),
        ("dnsmasq", "dnsmasq-base"),
    ] {
        assert!(
            netdiag_agent::lab::exec::find_tool(tool).is_some(),
            "{tool} not found: apt-get install {package} (see scripts/packages.txt)"
        );
    }
}

/// The workspace's target directory (honours CARGO_TARGET_DIR).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// A workspace binary, built (debug) if it is not there yet.
pub fn binary(name: &str) -> PathBuf {
    let path = target_dir().join("debug").join(name);
    if !path.exists() {
        let package = match name {
            "kubectl-netdiag" => "kubectl-netdiag",
            _ => "netdiag-agent",
        };
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", package, "--bin", name])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo runs");
        assert!(
            status.success(),
            "cargo build -p {package} --bin {name} failed"
        );
    }
    path
}

/// Lab tools that run the standalone agent binary.
pub fn agent_tools() -> LabTools {
    LabTools {
        exe: binary("netdiag-agent"),
        prefix: vec![],
    }
}

/// A lab name unique to this process and call (labs are named with at most 12 characters).
pub fn unique_lab(tag: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{tag}{}{n}", std::process::id() % 100_000)
}

/// Build the default two-node lab under a unique name; torn down when the guard drops.
pub fn default_lab(tag: &str) -> LabGuard {
    require_lab_prerequisites();
    let name = unique_lab(tag);
    LabGuard::up(&LabSpec::default(), &name, &agent_tools())
        .unwrap_or_else(|e| panic!("lab {name}: up failed: {e}"))
}

/// Trace curl -> echo-service in a lab, as `lab trace` does.
pub fn trace_echo(lab: &Lab) -> LabTrace {
    netdiag_agent::lab::trace(lab, "curl", "svc/echo-service", &agent_tools())
        .unwrap_or_else(|e| panic!("lab {}: trace failed: {e}", lab.name()))
}

/// Trace until `accept` holds, at most `tries` times: DNAT picks endpoints at random.
pub fn trace_until(lab: &Lab, tries: usize, accept: impl Fn(&LabTrace) -> bool) -> LabTrace {
    let mut last = None;
    for _ in 0..tries {
        let t = trace_echo(lab);
        if accept(&t) {
            return t;
        }
        last = Some(t);
    }
    panic!(
        "no trace out of {tries} matched; the last one:\n{}",
        describe(last.as_ref().map(|t| &t.path.hops[..]).unwrap_or(&[]))
    )
}

/// Run a command inside a lab object's namespace (`ip netns exec`), failing loudly.
pub fn in_netns(lab: &Lab, object: &str, argv: &[&str]) -> String {
    let ns = lab.names.netns(object);
    let out = Command::new("ip")
        .args(["netns", "exec", &ns])
        .args(argv)
        .output()
        .unwrap_or_else(|e| panic!("ip netns exec {ns} {argv:?}: {e}"));
    assert!(
        out.status.success(),
        "ip netns exec {ns} {argv:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stop one of the lab's own processes (`pod-echo-1`, `nodelocaldns-node-a`, `kube-dns`), by the
/// pid the lab recorded, after checking it is still the lab's.
pub fn stop_lab_process(lab: &Lab, what: &str) {
    let record = lab
        .state
        .processes
        .iter()
        .find(|p| p.what == what)
        .unwrap_or_else(|| panic!("lab {} has no process {what}", lab.name()));
    let pid = record
        .pid
        .unwrap_or_else(|| panic!("lab process {what} has no recorded pid"));
    let netns =
        netdiag_agent::kernel::netns::NsId::of(&Path::new("/var/run/netns").join(&record.netns))
            .ok();
    let stop =
        netdiag_agent::lab::process::stop_if_ours(pid, &record.marker, record.start_time, netns);
    assert_eq!(
        stop,
        netdiag_agent::lab::process::Stop::Stopped,
        "stopping {what} (pid {pid})"
    );
}

/// Hops of a path, one per line, for assertion messages.
pub fn describe(hops: &[Hop]) -> String {
    hops.iter()
        .map(|h| {
            format!(
                "{:<8} {:<13} {:<5} {:<24} {}",
                h.node,
                h.kind.as_str(),
                h.verdict.to_string(),
                h.name,
                h.detail
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Kinds of the hops that failed.
pub fn failed_kinds(hops: &[Hop]) -> Vec<HopKind> {
    hops.iter()
        .filter(|h| h.verdict == Verdict::Fail)
        .map(|h| h.kind.clone())
        .collect()
}

/// The one hop of `kind` on `node`.
pub fn hop<'a>(hops: &'a [Hop], node: &str, kind: HopKind) -> &'a Hop {
    hops.iter()
        .find(|h| h.node == node && h.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} hop on {node} in:\n{}", describe(hops)))
}
