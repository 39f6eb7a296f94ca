//! Running external commands (ip, iptables, the project's binaries) with errors that name them.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::error::BenchError;

/// `cmd` as a human would type it, for error messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Run to completion and insist on exit status 0; returns the output.
pub fn run(cmd: &mut Command) -> Result<Output, BenchError> {
    let text = describe(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|source| BenchError::Spawn {
            cmd: text.clone(),
            source,
        })?;
    check(text, out)
}

/// Turn a non-zero exit into an error that carries the command's stderr.
pub fn check(cmd: String, out: Output) -> Result<Output, BenchError> {
    if out.status.success() {
        return Ok(out);
    }
    Err(BenchError::Command {
        cmd,
        status: out.status,
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    })
}

/// `iptables-restore` (of `backend`) with `file` as input, inside the namespace at `netns`.
pub fn restore_in(netns: &Path, restore: &'static str, file: &Path) -> Result<(), BenchError> {
    let input = std::fs::File::open(file).map_err(BenchError::io("open", file))?;
    let text = format!("{restore} < {}", file.display());
    let out = netdiag_agent::kernel::netns::run_in(netns, move || {
        Command::new(restore)
            .stdin(input)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
    })?
    .map_err(|source| BenchError::Spawn {
        cmd: text.clone(),
        source,
    })?;
    check(text, out).map(|_| ())
}
