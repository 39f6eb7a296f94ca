//! `kubectl-netdiag lab up && lab trace && lab down` through the real plugin binary, the way the
//! README runs it: the trace succeeds, and afterwards nothing of the lab is left on the machine.

use std::process::Command;

use netdiag_e2e::{binary, require_lab_prerequisites, unique_name};
use netdiag_testkit::assert_nothing_left;

fn plugin(args: &[&str]) -> std::process::Output {
    Command::new(binary("kubectl-netdiag"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("kubectl-netdiag runs")
}

#[test]
fn lab_up_trace_down_works_and_leaves_nothing_behind() {
    require_lab_prerequisites();
    let name = unique_name("cli");
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

    assert_nothing_left(&name);
}

/// Remove the lab even when an assertion fails halfway.
struct LabCleanup(String);

fn scopeguard(name: &str) -> LabCleanup {
    LabCleanup(name.to_string())
}

impl Drop for LabCleanup {
    fn drop(&mut self) {
        let _ = netdiag_lab::Lab::down(&self.0);
    }
}
