//! `netdiag-lab`: the lab's own command line, for the lab's tests and for hacking on the lab
//! without the plugin. The same commands as `kubectl netdiag lab`, and, hidden, the agent's
//! (`netdiag-lab agent trace ...`), so one binary is all a lab needs.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use netdiag_agent::cli::{AgentCli, AgentCommand};
use netdiag_lab::LabTools;
use netdiag_lab::cli::{LAB_ABOUT, LAB_LONG_ABOUT, LabCommand};

#[derive(Parser, Debug)]
#[command(name = "netdiag-lab", version, about = LAB_ABOUT, long_about = LAB_LONG_ABOUT)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    #[command(flatten)]
    Lab(LabCommand),
    /// The node agent's command line: the lab traces through it.
    #[command(subcommand, hide = true)]
    Agent(AgentCommand),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Agent(command) => netdiag_agent::cli::run(AgentCli { command }),
        Command::Lab(cmd) => match std::env::current_exe() {
            Ok(exe) => netdiag_lab::cli::run(cmd, &LabTools::mounted(exe, &[])),
            Err(e) => {
                eprintln!(
                    "error: cannot find this program's own path (/proc/self/exe) to start the lab's pods and agent: {e}"
                );
                ExitCode::from(2)
            }
        },
    }
}
