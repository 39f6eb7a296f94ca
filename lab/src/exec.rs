//! Running a build plan: each action through `ip`, `sysctl`, `iptables-restore`, `nft` or a
//! detached spawn, with every created thing recorded in the state file before the next step.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use netdiag_agent::kernel::netns::NsId;

use super::LabError;
use super::build::{Action, HostTools};
use super::process;
use super::spec::ProxyMode;
use super::state::{ProcessRecord, StateWriter};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Set once `up` catches stop signals: from then on its commands run in their own process group.
static HANDLING: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: nix::libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Make Ctrl-C (SIGINT), SIGTERM and SIGHUP stop a build between two steps, so it tears down
/// what it built instead of dying half-way. Used by `lab up`; the library never installs it.
pub fn install_interrupt_handler() -> Result<(), LabError> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only stores to an atomic.
        unsafe { sigaction(sig, &action) }.map_err(|e| LabError::Signal(e.to_string()))?;
    }
    HANDLING.store(true, Ordering::SeqCst);
    Ok(())
}

/// Whether a stop signal arrived since the handler was installed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Find a tool on $PATH or in the sbin directories (sudo and cron may drop them from $PATH).
/// What every command that runs the agent in a node needs: root, and `ip` for `ip netns exec`.
pub fn root_with_ip() -> Result<std::path::PathBuf, LabError> {
    if !is_root() {
        return Err(LabError::NotRoot);
    }
    find_tool("ip").ok_or(LabError::MissingTool {
        tool: "ip",
        package: "iproute2",
    })
}

pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Whether we run as root (euid 0).
pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { nix::libc::geteuid() == 0 }
}

/// Check we are root and every tool a lab in `mode` runs is there; say how to get what is
/// missing.
pub fn preflight(mode: ProxyMode) -> Result<HostTools, LabError> {
    if !is_root() {
        return Err(LabError::NotRoot);
    }
    let need = |tool: &'static str, package: &'static str| {
        find_tool(tool).ok_or(LabError::MissingTool { tool, package })
    };
    let (iptables_restore, nft) = match mode {
        ProxyMode::Iptables => (need("iptables-restore", "iptables")?, find_tool("nft")),
        // An nftables-only node (RHEL 10) has no iptables: the lab then never runs it.
        ProxyMode::Nftables => (
            find_tool("iptables-restore").unwrap_or_else(|| "iptables-restore".into()),
            Some(need("nft", "nftables")?),
        ),
    };
    Ok(HostTools {
        ip: need("ip", "iproute2")?,
        iptables_restore,
        nft,
        sysctl: need("sysctl", "procps")?,
        dnsmasq: need("dnsmasq", "dnsmasq-base")?,
        bridge: need("bridge", "iproute2")?,
    })
}

/// Run a command to completion; a non-zero exit is an error quoting the command and its stderr.
///
/// Once stop signals are caught ([`install_interrupt_handler`]), the command gets a process
/// group of its own: a Ctrl-C in the terminal goes to the terminal's whole foreground group, and
/// would otherwise kill the `ip` or `iptables-restore` half-way and surface as "`ip ...` failed:
/// signal: 2 (SIGINT)". This way only `up` sees it, lets the step finish and stops before the
/// next one. Without the handler (`lab trace`), Ctrl-C stops the command with its caller.
pub fn run(cmd: &mut Command, stdin: Option<&str>) -> Result<String, LabError> {
    if HANDLING.load(Ordering::SeqCst) {
        use std::os::unix::process::CommandExt as _;
        cmd.process_group(0);
    }
    let shown = format!(
        "{} {}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let failed = |detail: String| LabError::Command {
        command: shown.clone(),
        detail,
    };
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| failed(e.to_string()))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes())
            .map_err(|e| failed(format!("writing its input: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| failed(e.to_string()))?;
    if !out.status.success() {
        // Killed by a stop signal sent to it directly (`kill -INT -- -PGID`): that is the
        // interrupt, not a failure of the command.
        if interrupted() {
            return Err(LabError::Interrupted);
        }
        return Err(failed(format!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ip_cmd(host: &HostTools, netns: Option<&str>, args: &[String]) -> Command {
    let mut c = Command::new(&host.ip);
    if let Some(ns) = netns {
        c.args(["-n", ns]);
    }
    c.args(args);
    c
}

fn io_err(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> LabError {
    let (what, path) = (what.to_string(), path.to_path_buf());
    move |source| LabError::Io { what, path, source }
}

/// Run one action, recording what it creates.
pub fn execute(action: &Action, host: &HostTools, w: &mut StateWriter) -> Result<(), LabError> {
    match action {
        Action::AddNetns(ns) => {
            // record first: if `ip` created it and then we crash, down still knows it by name
            w.record(|s| s.netns.push(ns.clone()))?;
            run(
                &mut ip_cmd(host, None, &["netns".into(), "add".into(), ns.clone()]),
                None,
            )?;
        }
        Action::Ip { netns, args } => {
            run(&mut ip_cmd(host, netns.as_deref(), args), None)?;
        }
        Action::Bridge { netns, args } => {
            let mut c = Command::new(&host.ip);
            c.args(["netns", "exec", netns])
                .arg(&host.bridge)
                .args(args);
            run(&mut c, None)?;
        }
        Action::Sysctl { netns, settings } => {
            let mut c = Command::new(&host.ip);
            c.args(["netns", "exec", netns])
                .arg(&host.sysctl)
                .arg("-w")
                .args(settings);
            run(&mut c, None)?;
        }
        Action::NodeLocalAddress { netns, addr } => {
            let ifb = ["link", "add", "nodelocaldns", "type", "ifb"].map(String::from);
            let dev = match run(&mut ip_cmd(host, Some(netns), &ifb), None) {
                Ok(_) => {
                    let up = ["link", "set", "nodelocaldns", "up"].map(String::from);
                    run(&mut ip_cmd(host, Some(netns), &up), None)?;
                    "nodelocaldns"
                }
                Err(_) => "lo", // no ifb in this kernel: a local address on lo serves as well
            };
            let add = ["addr", "add", &format!("{addr}/32"), "dev", dev].map(String::from);
            run(&mut ip_cmd(host, Some(netns), &add), None)?;
        }
        Action::IptablesRestore { netns, rules } => {
            let mut c = Command::new(&host.ip);
            c.args(["netns", "exec", netns]).arg(&host.iptables_restore);
            run(&mut c, Some(rules))?;
        }
        Action::NftLoad { netns, script } => {
            let nft = host.nft.as_ref().ok_or(LabError::MissingTool {
                tool: "nft",
                package: "nftables",
            })?;
            let mut c = Command::new(&host.ip);
            c.args(["netns", "exec", netns]).arg(nft).args(["-f", "-"]);
            run(&mut c, Some(script))?;
        }
        Action::MakeDir(path) => {
            w.record(|s| s.dirs.push(path.clone()))?;
            std::fs::create_dir_all(path).map_err(io_err("create directory", path))?;
        }
        Action::WriteFile { path, contents } => {
            w.record(|s| s.files.push(path.clone()))?;
            std::fs::write(path, contents).map_err(io_err("write", path))?;
        }
        Action::Spawn {
            what,
            netns,
            argv,
            pid_file,
            log_file,
        } => spawn(what, netns, argv, pid_file, log_file, w)?,
        Action::Stop { what } => stop(what, w)?,
    }
    Ok(())
}

fn stop(what: &str, w: &mut StateWriter) -> Result<(), LabError> {
    let Some(p) = w.state.processes.iter().find(|p| p.what == what).cloned() else {
        return Ok(()); // never started: nothing to stop
    };
    if let Some(pid) = p.pid {
        let netns = NsId::of(&Path::new(super::names::NETNS_DIR).join(&p.netns)).ok();
        match process::stop_if_ours(pid, &p.marker, p.start_time, netns) {
            process::Stop::Stopped | process::Stop::NotRunning => {}
            process::Stop::NotOurs(why) => {
                return Err(LabError::Stop {
                    what: what.into(),
                    pid,
                    why,
                });
            }
            process::Stop::Stuck => {
                return Err(LabError::Stop {
                    what: what.into(),
                    pid,
                    why: "it survived SIGKILL".into(),
                });
            }
        }
    }
    w.record(|s| s.processes.retain(|r| r.what != what))?;
    Ok(())
}

fn spawn(
    what: &str,
    netns: &str,
    argv: &[String],
    pid_file: &Path,
    log_file: &Path,
    w: &mut StateWriter,
) -> Result<(), LabError> {
    let marker = super::build::process_marker(&super::names::LabNames::new(&w.state.name));
    w.record(|s| {
        s.processes.retain(|p| p.what != what);
        s.processes.push(ProcessRecord {
            what: what.into(),
            netns: netns.into(),
            pid_file: pid_file.into(),
            pid: None,
            start_time: None,
            marker,
        })
    })?;
    // A pid file left by an earlier run (a process `lab break` stopped) is not readiness.
    match std::fs::remove_file(pid_file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(io_err("remove the old pid file", pid_file)(e));
        }
        _ => {}
    }
    process::spawn_detached(argv, log_file).map_err(|source| LabError::Spawn {
        what: what.into(),
        command: argv.join(" "),
        source,
    })?;
    let not_ready = || LabError::NotReady {
        what: what.into(),
        log: log_file.into(),
    };
    // It writes its pid file once its sockets are bound: that is the readiness signal.
    let pid = process::wait_pid_file(pid_file, Duration::from_secs(5)).ok_or_else(not_ready)?;
    let start = process::start_time(pid).ok_or_else(not_ready)?;
    w.record(|s| {
        if let Some(p) = s.processes.iter_mut().find(|p| p.pid_file == pid_file) {
            p.pid = Some(pid);
            p.start_time = Some(start);
        }
    })?;
    Ok(())
}
