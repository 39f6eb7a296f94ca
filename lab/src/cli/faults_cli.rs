//! `lab break` and `lab fix`.

use std::process::ExitCode;

use crate::faults::{self, Fault, FaultChange};
use crate::{Lab, LabError, LabTools};

pub const BREAK_LONG_ABOUT: &str = "\
Break something in a lab, the way it breaks on a real node: stop a server, lose a kube-proxy rule,
drop a route, turn a sysctl off, add a firewall rule... Then trace and see which hop netdiag names,
and look at it by hand with the command `--list` gives. `lab fix FAULT` (or `lab fix --all`)
restores it; `lab status` shows the faults in force; `lab down` removes everything.

Faults that hit a Service hit the lab's first Service besides kube-dns (echo-service); faults on
nodes hit every node, so a trace from any pod meets them. Rule faults regenerate kube-proxy's
rules in the lab's proxy mode (iptables or nftables) as a kube-proxy sync with a wrong view
would leave them. A fault that does not fit the lab's topology is refused with exit status 2.

Examples:
  kubectl netdiag lab break --list
  kubectl netdiag lab break no-vip-rule && kubectl netdiag lab trace
  kubectl netdiag lab break firewall-drop hairpin-off
  kubectl netdiag lab fix --all";

#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct BreakArgs {
    #[arg(long, default_value = crate::names::DEFAULT_LAB)]
    pub name: String,
    /// List every fault: what it breaks, the hop a trace names, the command that shows it.
    #[arg(long, conflicts_with = "faults")]
    pub list: bool,
    /// The faults to make (see --list).
    #[arg(value_name = "FAULT", required_unless_present = "list", value_parser = parse_fault)]
    pub faults: Vec<Fault>,
}

#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct FixArgs {
    #[arg(long, default_value = crate::names::DEFAULT_LAB)]
    pub name: String,
    /// Undo every fault in force.
    #[arg(long, conflicts_with = "faults")]
    pub all: bool,
    /// The faults to undo.
    #[arg(value_name = "FAULT", required_unless_present = "all", value_parser = parse_fault)]
    pub faults: Vec<Fault>,
}

fn parse_fault(s: &str) -> Result<Fault, faults::UnknownFault> {
    Fault::parse(s)
}

pub fn break_faults(args: &BreakArgs, tools: &LabTools) -> Result<ExitCode, LabError> {
    if args.list {
        print!("{}", faults::list(&args.name));
        return Ok(ExitCode::SUCCESS);
    }
    let mut lab = Lab::open(&args.name)?;
    let change = lab.break_faults(&args.faults, tools)?;
    report(&change, "broke", "was already broken");
    println!("now: kubectl netdiag lab trace --name {}", args.name);
    Ok(ExitCode::SUCCESS)
}

pub fn fix(args: &FixArgs, tools: &LabTools) -> Result<ExitCode, LabError> {
    let mut lab = Lab::open(&args.name)?;
    let faults = if args.all {
        lab.faults().to_vec()
    } else {
        args.faults.clone()
    };
    if faults.is_empty() {
        println!("no faults in force in lab {}", args.name);
        return Ok(ExitCode::SUCCESS);
    }
    let change = lab.fix_faults(&faults, tools)?;
    report(&change, "fixed", "was not broken");
    Ok(ExitCode::SUCCESS)
}

fn report(change: &FaultChange, done: &str, already: &str) {
    for f in &change.changed {
        println!("{done} {f}: {}", f.info().breaks);
    }
    for f in &change.unchanged {
        println!("{f} {already}");
    }
}
