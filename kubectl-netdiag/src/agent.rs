//! `kubectl netdiag agent ...` (hidden) and `kubectl netdiag lab ...` (Linux only): the node
//! agent's command line (`netdiag_agent::cli`) and the lab's (`netdiag_lab::cli`) mounted under
//! the plugin, so the lab needs only this one binary. The lab starts its pods as
//! `<this exe> lab pod ...` and runs its agent as `<this exe> agent trace ...`.

use std::path::PathBuf;
use std::process::ExitCode;

use netdiag_agent::cli::{AgentCli, AgentCommand};
use netdiag_lab::LabTools;

/// Run an agent subcommand, exactly as `netdiag-agent <subcommand>` would.
pub fn run(command: AgentCommand) -> ExitCode {
    netdiag_agent::cli::run(AgentCli { command })
}

/// Run a lab subcommand with this binary as the lab's agent.
pub fn run_lab(cmd: netdiag_lab::cli::LabCommand) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!(
                "error: cannot find this program's own path (/proc/self/exe) to start the lab's agent: {e}"
            );
            return ExitCode::from(2);
        }
    };
    netdiag_lab::cli::run(cmd, &lab_tools(exe))
}

/// The lab runs its pods as `<exe> lab pod` and the agent as `<exe> agent <subcommand>`.
pub fn lab_tools(exe: PathBuf) -> LabTools {
    LabTools::mounted(exe, &["lab"])
}
