//! Ctrl-C during `kubectl-netdiag lab up`, as a terminal sends it: SIGINT to the foreground
//! process group, so to `lab up` and to whichever `ip` it runs at that moment. It must say
//! "interrupted; lab torn down", exit 130, and leave no namespace of the lab (`ip netns list`),
//! never "`ip ...` failed: signal: 2 (SIGINT)".

use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netdiag_e2e::{binary, require_lab_prerequisites, unique_name};
use netdiag_lab::{LabNames, LabState};
use netdiag_testkit::assert_nothing_left;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// Removes the lab if the test stops before `up` cleaned up after itself.
struct LabCleanup(String);

impl Drop for LabCleanup {
    fn drop(&mut self) {
        let _ = netdiag_lab::Lab::down(&self.0);
    }
}

fn lab_namespaces_listed(name: &str) -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let prefix = format!("nd-{name}-");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .map(str::to_string)
        .collect()
}

#[test]
fn sigint_to_lab_up_tears_down_says_so_and_exits_130() {
    require_lab_prerequisites();
    let name = unique_name("sig");
    let _cleanup = LabCleanup(name.clone());
    // Its own process group, as a shell puts a foreground job: the signal below reaches the
    // plugin and the commands it runs, and nothing of this test.
    let mut child = Command::new(binary("kubectl-netdiag"))
        .args(["lab", "up", "--name", &name])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap());
    let state_file = LabNames::new(&name).state_file();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut started = false;
    while Instant::now() < deadline && !started {
        started = LabState::load(&state_file).is_ok_and(|s| s.is_some_and(|s| s.netns.len() >= 3));
        if !started {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    if !started {
        let _ = child.kill();
        panic!("lab up never got under way: {:?}", child.wait_with_output());
    }
    killpg(pid, Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "stderr:\n{stderr}");
    assert!(
        stderr.contains("interrupted; lab torn down"),
        "stderr:\n{stderr}"
    );
    assert!(
        !stderr.contains("SIGINT") && !stderr.contains("error:"),
        "stderr:\n{stderr}"
    );
    assert_eq!(lab_namespaces_listed(&name), Vec::<String>::new());
    assert_nothing_left(&name);
}
