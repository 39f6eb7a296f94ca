//! The lab's command line driven as the plugin will (root): up, status, trace, down.

mod lab_common;

use std::process::ExitCode;

use clap::Parser as _;
use lab_common::*;
use netdiag_lab::cli::{LabCommand, TraceArgs, run};

#[derive(clap::Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: LabCommand,
}

/// `lab trace --name NAME` with every other flag at its default.
fn trace_args(name: &str) -> TraceArgs {
    match Cli::parse_from(["lab", "trace", "--name", name]).cmd {
        LabCommand::Trace(t) => t,
        other => panic!("not a trace: {other:?}"),
    }
}

#[test]
fn lab_up_status_and_down_through_the_cli() {
    if !root_or_skip("lab_up_status_and_down_through_the_cli") {
        return;
    }
    let name = unique_name("cli");
    let tools = lab_tools();
    let up = run(
        LabCommand::Up {
            name: name.clone(),
            spec: None,
            proxy_mode: None,
            cni: None,
        },
        &tools,
    );
    let status = run(LabCommand::Status { name: name.clone() }, &tools);
    let again = run(
        LabCommand::Up {
            name: name.clone(),
            spec: None,
            proxy_mode: None,
            cni: None,
        },
        &tools,
    );
    let down = run(LabCommand::Down { name: name.clone() }, &tools);
    assert_nothing_left(&name);
    assert_eq!(up, ExitCode::SUCCESS, "up");
    assert_eq!(status, ExitCode::SUCCESS, "status: every process alive");
    assert_eq!(
        again,
        ExitCode::from(2),
        "a second up of the same lab is refused"
    );
    assert_eq!(down, ExitCode::SUCCESS, "down");
    // after down: no such lab
    assert_eq!(
        run(LabCommand::Status { name: name.clone() }, &tools),
        ExitCode::from(2)
    );
    // a second down: nothing to do, and scripts may rely on it succeeding
    assert_eq!(
        run(LabCommand::Down { name: name.clone() }, &tools),
        ExitCode::SUCCESS
    );
    let trace = run(LabCommand::Trace(trace_args(&name)), &tools);
    assert_eq!(trace, ExitCode::from(2), "trace of a missing lab");
}

#[test]
fn a_lab_spec_file_that_does_not_parse_is_refused_with_exit_2() {
    if !root_or_skip("a_lab_spec_file_that_does_not_parse_is_refused_with_exit_2") {
        return;
    }
    let name = unique_name("spec");
    let file = std::env::temp_dir().join(format!("{name}.yaml"));
    std::fs::write(&file, "nodes: [{name: node-a}]\n").unwrap();
    let code = run(
        LabCommand::Up {
            name: name.clone(),
            spec: Some(file.clone()),
            proxy_mode: None,
            cni: None,
        },
        &lab_tools(),
    );
    std::fs::remove_file(&file).unwrap();
    assert_eq!(code, ExitCode::from(2));
    assert_nothing_left(&name);
}
