use clap::Parser;

fn main() -> std::process::ExitCode {
    netdiag_agent::cli::run(netdiag_agent::cli::AgentCli::parse())
}
