//! `kubectl netdiag agent ...` (hidden) and `kubectl netdiag lab ...`: the node agent's command
//! line mounted under the plugin, so the lab needs only this one binary. The lab starts its pods
//! and its agent runs as `<this exe> agent lab-pod ...` and `<this exe> agent trace ...`.
//!
//! MOUNT POINT: `netdiag_agent::cli` (the agent's full CLI, with `AgentCommand::{Trace, LabPod}`)
//! is not compiled into the agent library yet. Until it is, only `lab-pod` is mounted here, from
//! `netdiag_agent::lab::pod_process`; when it lands, replace [`AgentCommand`] and [`run`] with
//! `netdiag_agent::cli::AgentCommand` and `netdiag_agent::cli::run`.

use std::path::PathBuf;
use std::process::ExitCode;

use netdiag_agent::lab::LabTools;

/// The agent's subcommands available through the plugin.
#[derive(clap::Subcommand, Debug)]
pub enum AgentCommand {
    /// The long-lived process of a lab pod: holds its namespace and serves its ports.
    LabPod(netdiag_agent::lab::pod_process::PodProcessArgs),
}

/// Run an agent subcommand.
pub fn run(cmd: AgentCommand) -> ExitCode {
    match cmd {
        AgentCommand::LabPod(args) => netdiag_agent::lab::pod_process::run(args),
    }
}

/// Run a lab subcommand with this binary as the lab's agent.
pub fn run_lab(cmd: netdiag_agent::lab::cli::LabCommand) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!(
                "error: cannot find this program's own path (/proc/self/exe) to start the lab's agent: {e}"
            );
            return ExitCode::from(2);
        }
    };
    netdiag_agent::lab::cli::run(cmd, &lab_tools(exe))
}

/// The lab runs the agent as `<exe> agent <subcommand>`.
pub fn lab_tools(exe: PathBuf) -> LabTools {
    LabTools {
        exe,
        prefix: vec!["agent".into()],
    }
}
