//! `lab inspect`: every pod namespace of a lab's nodes, mapped to its pod, veth, bridge and
//! holder process, with the node facts and findings.

use std::process::ExitCode;

use netdiag_render::{InspectFormat, render_inspection};

use crate::{Lab, LabError, LabTools};

/// `long_about` of `lab inspect`.
pub const INSPECT_LONG_ABOUT: &str = "\
Inspect a lab's nodes as `netdiag-agent inspect` inspects a real one: run the agent in each
node's namespace and list every pod network namespace on it with its pod (joined by IP and
node), its holder process (pause on a real node, the lab's pod process here), eth0@ifN and
IPs, the host veth it pairs with and the bridge that veth is a port of (or \"routed\" on
--cni routed), and its resolv.conf. Each node also shows its proxy mode and rule counts,
conntrack fill, nodelocaldns, the CNI fingerprint and (with -o wide) its listening sockets.

Findings: a namespace no process lives in (a leaked sandbox), a host veth leading to no
known namespace, two namespaces holding one IP, a host veth that is down.

This is the seeds' Inspection section in one command; compare it with the manual steps:
  ip netns list                                   -> NETNS
  ip netns pid nd-netdiag-curl; ps -p PID         -> HOLDER, PROCS
  ip netns exec nd-netdiag-curl ip a              -> ETH0 (eth0@ifN), IP
  ip netns exec nd-netdiag-node-a ip a            -> HOST VETH (its ifindex is the N)
  ip netns exec nd-netdiag-node-a ip link show master cni0   -> BRIDGE

Examples:
  kubectl netdiag lab inspect
  kubectl netdiag lab inspect --node node-a -o wide
  kubectl netdiag lab inspect -o json | jq '.[].findings'
  kubectl netdiag lab break veth-down && kubectl netdiag lab inspect --node node-a

Exit status: 0 nothing found, 1 findings were reported, 2 usage or lab error.";

/// The arguments of `lab inspect`.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct InspectArgs {
    #[arg(long, default_value = crate::names::DEFAULT_LAB)]
    pub name: String,
    /// Inspect only this node (default: every node).
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,
    #[arg(short = 'o', long, value_enum, default_value_t = InspectFormat::Table)]
    pub output: InspectFormat,
}

pub fn inspect(args: &InspectArgs, tools: &LabTools) -> Result<ExitCode, LabError> {
    let lab = Lab::open(&args.name)?;
    let reports = crate::inspect::inspect(&lab, args.node.as_deref(), tools)?;
    let text = render_inspection(
        &reports,
        &reports,
        args.output,
        netdiag_render::stdout_color(),
        netdiag_render::stdout_width(),
    )
    .map_err(|e| LabError::Output(e.to_string()))?;
    print!("{text}");
    Ok(if reports.iter().all(|r| r.findings.is_empty()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
