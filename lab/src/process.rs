//! The lab's long-lived processes: started detached (their own session, reparented to init, so
//! they outlive `lab up`), found again by pid file, and stopped only after proving they are ours.
//!
//! Proof, before any signal: the command line contains the lab's marker (its state directory,
//! which every lab process is given as an argument), the start time matches the one recorded
//! (so a recycled pid is never hit), and the network namespace is the lab's when it still exists.

use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{ForkResult, Pid, fork, setsid};

use netdiag_agent::kernel::netns::NsId;

/// Start `argv` detached: new session, double fork (so it is init's child, never a zombie of
/// ours), stdin from /dev/null, stdout and stderr to `log`. Returns once it has been exec'd.
pub fn spawn_detached(argv: &[String], log: &Path) -> io::Result<()> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
    let out = File::create(log)?;
    let err = out.try_clone()?;
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null()).stdout(out).stderr(err);
    // SAFETY: between fork and exec only async-signal-safe calls: setsid, fork, _exit.
    unsafe {
        cmd.pre_exec(|| {
            setsid()?;
            match fork()? {
                ForkResult::Parent { .. } => nix::libc::_exit(0),
                ForkResult::Child => Ok(()),
            }
        });
    }
    // The child we get is the intermediate, which exits at once: reap it.
    cmd.spawn()?.wait()?;
    Ok(())
}

/// Wait until `pid_file` holds a pid (the process writes it once it serves).
pub fn wait_pid_file(pid_file: &Path, timeout: Duration) -> Option<u32> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(text) = std::fs::read_to_string(pid_file)
            && let Ok(pid) = text.trim().parse::<u32>()
            && pid > 1
        {
            return Some(pid);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Field 22 of /proc/<pid>/stat (start time in clock ticks), and whether it is a zombie.
fn stat(pid: u32) -> Option<(u64, bool)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the command name (field 2) may hold spaces and parentheses: field 3 follows the last ')'
    let state = text[text.rfind(')')? + 1..].split_whitespace().next();
    let zombie = state.is_some_and(|s| s == "Z" || s == "X");
    let start = netdiag_agent::inspect::process::start_ticks(&text)?;
    Some((start, zombie))
}

/// The start time of a live process.
pub fn start_time(pid: u32) -> Option<u64> {
    stat(pid).filter(|(_, zombie)| !zombie).map(|(s, _)| s)
}

/// Whether `pid` is a running (not zombie) process.
pub fn alive(pid: u32) -> bool {
    start_time(pid).is_some()
}

fn cmdline(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// What stopping a process came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// It was not running (already gone).
    NotRunning,
    /// It was ours and is gone now.
    Stopped,
    /// A process holds that pid but it is not ours: left alone.
    NotOurs(String),
    /// Still alive after SIGKILL (should not happen).
    Stuck,
}

/// Stop `pid` if it is provably the lab's process: SIGTERM, then SIGKILL after a grace period.
pub fn stop_if_ours(pid: u32, marker: &str, start: Option<u64>, netns: Option<NsId>) -> Stop {
    let Some(now_start) = start_time(pid) else {
        return Stop::NotRunning;
    };
    if start.is_some_and(|s| s != now_start) {
        return Stop::NotOurs("its start time differs (the pid was reused)".into());
    }
    match cmdline(pid) {
        Some(c) if c.contains(marker) => {}
        // Exiting (its memory, and so its command line, is already gone: another `lab down`
        // stopped it a moment ago) or no longer the process we saw: nothing to stop.
        Some(c) if c.is_empty() || start_time(pid) != Some(now_start) => return Stop::NotRunning,
        Some(_) => return Stop::NotOurs(format!("its command line lacks {marker}")),
        None => return Stop::NotRunning,
    }
    if let Some(ns) = netns
        && let Ok(actual) = NsId::of(Path::new(&format!("/proc/{pid}/ns/net")))
        && actual != ns
    {
        return Stop::NotOurs("it runs in another network namespace".into());
    }
    let Ok(raw) = i32::try_from(pid) else {
        return Stop::NotOurs("pid out of range".into());
    };
    let target = Pid::from_raw(raw);
    for (signal, wait) in [
        (Signal::SIGTERM, Duration::from_secs(2)),
        (Signal::SIGKILL, Duration::from_secs(2)),
    ] {
        if kill(target, signal).is_err() {
            return Stop::Stopped;
        }
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            // gone, or a zombie of init's (dead; init reaps it), or the pid reused meanwhile
            if start_time(pid) != Some(now_start) {
                return Stop::Stopped;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    Stop::Stuck
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_process_is_alive_with_a_start_time() {
        let me = std::process::id();
        assert!(alive(me));
        assert!(start_time(me).is_some());
        assert!(!alive(u32::MAX - 1));
    }

    #[test]
    fn a_process_without_the_marker_is_never_signalled() {
        let me = std::process::id();
        let stop = stop_if_ours(me, "/run/netdiag/labs/none-such/", None, None);
        assert!(matches!(stop, Stop::NotOurs(_)), "{stop:?}");
        let stop = stop_if_ours(me, "", Some(1), None);
        assert!(matches!(stop, Stop::NotOurs(_)), "{stop:?}");
        assert!(alive(me));
    }

    #[test]
    fn a_detached_process_writes_its_log_and_is_stopped_by_marker() {
        let dir = std::env::temp_dir().join(format!("nd-proc-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pid_file = dir.join("sleep.pid");
        let marker = format!("{}/", dir.display());
        // Like a lab process, the shell writes its own pid file once it is what it will stay:
        // no exec follows (an exec in flight shows an empty command line, which reads as
        // "exiting"), and the marker is its $0, so it shows in the command line.
        let script = format!(
            "echo $$ > {}; while :; do sleep 1; done",
            pid_file.display()
        );
        let argv: Vec<String> = vec!["sh".into(), "-c".into(), script, marker.clone()];
        spawn_detached(&argv, &dir.join("sleep.log")).unwrap();
        let pid = wait_pid_file(&pid_file, Duration::from_secs(5)).expect("pid file");
        let start = start_time(pid);
        assert!(start.is_some());
        assert_eq!(stop_if_ours(pid, &marker, start, None), Stop::Stopped);
        assert!(!alive(pid) || start_time(pid) != start);
        assert_eq!(stop_if_ours(pid, &marker, start, None), Stop::NotRunning);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
