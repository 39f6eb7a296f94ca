//! `kubectl-netdiag lab up && lab trace && lab down` through the real plugin binary, the way the
//! README runs it: the trace succeeds, and afterwards nothing of the lab is left on the machine.

use std::process::Command;

use netdiag_e2e::{binary, require_lab_prerequisites, unique_lab};

fn plugin(args: &[&str]) -> std::process::Output {
    Command::new(binary("kubectl-netdiag"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("kubectl-netdiag runs")
}

/// Processes whose command line names the lab's state directory (every lab process does).
fn lab_processes(name: &str) -> Vec<String> {
    let marker = format!("/run/netdiag/labs/{name}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(&marker) {
                found.push(format!("{pid}: {cmdline}"));
            }
        }
    }
    found
}

#[test]
fn lab_up_trace_down_works_and_leaves_nothing_behind() {
    require_lab_prerequisites();
    let name = unique_lab("cli");
    let up = plugin(&["lab", "up", "--name", &name]);
    let cleanup = scopeguard(&name);
    assert!(
        up.status.success(),
        "lab up: {}",
        String::from_utf8_lossy(&up.stderr)
    );

    let trace = plugin(&["lab", "trace", "--name", &name]);
    let out = String::from_utf8_lossy(&trace.stdout);
    assert!(
        trace.status.success(),
        "lab trace exit {:?}:\n{out}\n{}",
        trace.status,
        String::from_utf8_lossy(&trace.stderr)
    );
    for needle in [
        "PodInterface",
        "HostVeth",
        "ServiceRules",
        "Conntrack",
        "Connect",
        "RESULT: reachable via 10.244.",
    ] {
        assert!(out.contains(needle), "{needle} missing from:\n{out}");
    }

    let down = plugin(&["lab", "down", "--name", &name]);
    assert!(
        down.status.success(),
        "lab down: {}",
        String::from_utf8_lossy(&down.stderr)
    );
    // From here on, what is left is what `lab down` left: no second cleanup may hide it.
    std::mem::forget(cleanup);

    let prefix = format!("nd-{name}-");
    let namespaces = std::fs::read_dir("/var/run/netns")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    assert!(
        namespaces.iter().all(|n| !n.starts_with(&prefix)),
        "namespaces left: {namespaces:?}"
    );
    let etc = std::fs::read_dir("/etc/netns")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    assert!(
        etc.iter().all(|n| !n.starts_with(&prefix)),
        "/etc/netns entries left: {etc:?}"
    );
    assert!(
        !std::path::Path::new(&format!("/run/netdiag/labs/{name}")).exists(),
        "state dir left"
    );
    assert_eq!(lab_processes(&name), Vec::<String>::new(), "processes left");
}

/// Remove the lab even when an assertion fails halfway.
struct LabCleanup(String);

fn scopeguard(name: &str) -> LabCleanup {
    LabCleanup(name.to_string())
}

impl Drop for LabCleanup {
    fn drop(&mut self) {
        let _ = netdiag_agent::lab::Lab::down(&self.0);
    }
}
