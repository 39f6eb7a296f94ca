//! `kubectl netdiag agent ...` (hidden) and `kubectl netdiag lab ...`: the node agent's command
//! line (`netdiag_agent::cli`) mounted under the plugin, so the lab needs only this one binary.
//! The lab starts its pods and its agent runs as `<this exe> agent lab-pod ...` and
//! `<this exe> agent trace ...`.

use std::path::PathBuf;
use std::process::ExitCode;

use netdiag_agent::cli::{AgentCli, AgentCommand};
use netdiag_agent::lab::LabTools;

/// Run an agent subcommand, exactly as `netdiag-agent <subcommand>` would.
pub fn run(command: AgentCommand) -> ExitCode {
    netdiag_agent::cli::run(AgentCli { command })
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
