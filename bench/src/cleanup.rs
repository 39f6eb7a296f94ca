//! Everything the bench creates outside its own memory (network namespaces, a lab) is registered
//! here and removed on every exit path: the guard's `Drop`, a signal thread for Ctrl-C, SIGTERM
//! and SIGHUP, and, for a run killed with SIGKILL, the next run (namespaces named after a pid that
//! is no longer a netdiag-bench process).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use netdiag_lab::spec::Cni;
use nix::sys::signal::{SigSet, Signal};

use crate::cmd;
use crate::error::BenchError;

const PREFIX: &str = "ndbench-";
const NETNS_DIR: &str = "/var/run/netns";

#[derive(Clone, Debug, PartialEq)]
enum Resource {
    Netns(String),
    Lab { bin: PathBuf, name: String },
}

static LIVE: Mutex<Vec<Resource>> = Mutex::new(Vec::new());

fn register(r: Resource) {
    // A poisoned lock only means another thread panicked while holding it; the list is still valid.
    LIVE.lock().unwrap_or_else(|p| p.into_inner()).push(r);
}

/// Forget `r`; true if it was still registered (so this caller must remove it).
fn unregister(r: &Resource) -> bool {
    let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
    match live.iter().position(|x| x == r) {
        Some(i) => {
            live.swap_remove(i);
            true
        }
        None => false,
    }
}

fn remove(r: &Resource) {
    // Best effort on every exit path: a failure is reported, never turned into a panic.
    let mut c = match r {
        Resource::Netns(name) => {
            let mut c = Command::new("ip");
            c.args(["netns", "del", name]);
            c
        }
        Resource::Lab { bin, name } => {
            let mut c = Command::new(bin);
            c.args(["lab", "down", "--name", name]);
            c
        }
    };
    c.stdout(Stdio::null());
    if let Err(e) = cmd::run(&mut c) {
        eprintln!("netdiag-bench: cleanup: {e}");
    }
}

/// Block the termination signals in the calling thread (call first thing in `main`, before any
/// thread exists, so every thread inherits the mask) and handle them on a dedicated thread that
/// removes what is registered, then exits with 128 + signal. Children get a clean mask: std resets
/// it before exec, so a terminal's Ctrl-C still stops a running iptables-save.
pub fn install_signal_handler() -> Result<(), BenchError> {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        set.add(s);
    }
    set.thread_block().map_err(BenchError::Signal)?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let code = match set.wait() {
                Ok(sig) => {
                    eprintln!("netdiag-bench: {sig}: removing what the bench created");
                    128 + sig as i32
                }
                Err(_) => 1,
            };
            let live = std::mem::take(&mut *LIVE.lock().unwrap_or_else(|p| p.into_inner()));
            for r in live.iter().rev() {
                remove(r);
            }
            std::process::exit(code);
        })
        .map_err(|source| BenchError::Spawn {
            cmd: "signal thread".into(),
            source,
        })?;
    Ok(())
}

/// Remove `ndbench-<pid>-*` namespaces left by a run that was killed outright (SIGKILL, OOM).
pub fn reap_stale() {
    let Ok(dir) = std::fs::read_dir(NETNS_DIR) else {
        return; // no named namespaces at all
    };
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !bench_alive(pid) {
            eprintln!("netdiag-bench: removing stale namespace {name} (pid {pid} is gone)");
            remove(&Resource::Netns(name));
        }
    }
}

/// Whether `pid` is a running netdiag-bench: the pid may have been reused by another program, and
/// a killed bench stays a zombie (same name, state Z) until its parent reaps it.
fn bench_alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // "pid (comm) S ...": comm may contain spaces and parentheses, so split at the last ')'.
    let Some((head, tail)) = stat.rsplit_once(')') else {
        return false;
    };
    let comm = head.split_once('(').map_or("", |(_, c)| c);
    let state = tail.trim_start().chars().next();
    comm == "netdiag-bench" && !matches!(state, Some('Z' | 'X'))
}

/// A throwaway network namespace `ndbench-<pid>-<tag>-<seq>`, deleted on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Like `ip netns add`: an empty namespace (only `lo`, down) with empty rule tables.
    pub fn create(tag: &str) -> Result<Netns, BenchError> {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let name = format!("{PREFIX}{}-{tag}-{seq}", std::process::id());
        // Registered before it exists, so a signal in between cannot leak it.
        register(Resource::Netns(name.clone()));
        let ns = Netns { name };
        cmd::run(Command::new("ip").args(["netns", "add", &ns.name]))?;
        Ok(ns)
    }

    pub fn path(&self) -> PathBuf {
        PathBuf::from(NETNS_DIR).join(&self.name)
    }

    /// The name `ip -n` and `ip netns exec` take.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let r = Resource::Netns(self.name.clone());
        if unregister(&r) {
            remove(&r);
        }
    }
}

/// A lab brought up with `kubectl-netdiag lab up --name NAME`, brought down on drop.
#[derive(Debug)]
pub struct Lab {
    bin: PathBuf,
    pub name: String,
}

impl Lab {
    /// A lab of `cni`'s shape, named after this process and the shape (B3 builds one of each).
    pub fn up(bin: PathBuf, cni: Cni) -> Result<Lab, BenchError> {
        let name = format!("ndb{}{}", std::process::id(), &cni.as_str()[..1]);
        register(Resource::Lab {
            bin: bin.clone(),
            name: name.clone(),
        });
        let lab = Lab { bin, name };
        cmd::run(
            Command::new(&lab.bin)
                .args(["lab", "up", "--name", &lab.name, "--cni", cni.as_str()])
                .stdout(Stdio::null()),
        )?;
        Ok(lab)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let r = Resource::Lab {
            bin: self.bin.clone(),
            name: self.name.clone(),
        };
        if unregister(&r) {
            remove(&r);
        }
    }
}
