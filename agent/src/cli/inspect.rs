//! `netdiag-agent inspect`: every pod network namespace on this node and the node's own facts.

use clap::Args;
use netdiag_model::inspect::InspectReport;

use super::{CliError, NodeArgs, Output, parse_target, print_json_line};
use crate::inspect::{GatherError, InspectEnv, inspect};

pub const INSPECT_ABOUT: &str = "\
Inspect this node: every pod network namespace (named under --netns-dir, e.g. containerd's
cni-<uuid>, or known only as /proc/<pid>/ns/net), deduplicated by (dev, inode), with its
processes (the holder first: pause, else the oldest), eth0@ifN with its IPs, MAC, MTU and
default gateway, the host veth it pairs with and the bridge that veth is a port of (or
\"routed\"), and its resolv.conf. Then the node's facts: proxy mode and rule counts, conntrack
fill and counters, nodelocaldns, the CNI fingerprint and the sockets listening on the node's
network. Findings: a namespace no process lives in (leaked), a host veth leading to no known
namespace, two namespaces holding one IP, a host veth that is down.

This is the manual `ip netns list`, `ip netns pid`, `ip a` inside and outside each pod and
`iptables -t nat -L` done in one pass: one netlink dump per kind per namespace, each
namespace entered once. Runs as root in the node's network namespace, like `trace`.";

const INSPECT_EXAMPLES: &str = "\
Examples:
  # On a node (or in an agent pod with hostNetwork and hostPID)
  netdiag-agent inspect

  # The controller's form: one JSON line
  netdiag-agent inspect -o json --node-name worker-1

  # Also the node's rules for a Service port, as a service inspection compares them
  netdiag-agent inspect -o json --service 10.96.45.10:80/tcp

  # In a pod that mounts the host's procfs elsewhere
  netdiag-agent inspect --proc /host/proc --netns-dir /host/var/run/netns

Exit status: 0 when a report was written (whatever it found), 2 when the node could not be read.";

#[derive(Args, Debug)]
#[command(long_about = INSPECT_ABOUT, after_help = INSPECT_EXAMPLES)]
pub struct InspectArgs {
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    #[command(flatten)]
    pub node: NodeArgs,
    /// Also read the node's rules for this Service address (repeatable): the endpoints they
    /// send new connections to, as a service inspection compares with the EndpointSlices.
    #[arg(long, value_name = "IP:PORT[/PROTO]")]
    pub service: Vec<String>,
}

/// Why an inspection did not run.
#[derive(Debug, thiserror::Error)]
pub enum InspectCliError {
    #[error(transparent)]
    Service(#[from] CliError),
    #[error(transparent)]
    Gather(#[from] GatherError),
}

/// Inspect and print.
pub fn run(args: &InspectArgs) -> Result<(), InspectCliError> {
    let env = InspectEnv {
        node: args.node.name(),
        netns_dir: args.node.netns_dir.clone(),
        proc: args.node.proc.clone(),
        services: (args.service.iter())
            .map(|s| parse_target(s).map_err(|_| CliError::BadService(s.clone())))
            .collect::<Result<_, _>>()?,
    };
    let report = inspect(&env)?;
    print_inspection(&report, args.output);
    Ok(())
}

/// One JSON line (what the lab and the controller read), or the table.
pub fn print_inspection(report: &InspectReport, output: Output) {
    match output {
        Output::Json => print_json_line(report, "inspection"),
        Output::Table => {
            let opts = netdiag_render::RenderOptions {
                wide: false,
                color: netdiag_render::stdout_color(),
                width: netdiag_render::stdout_width(),
            };
            let table = netdiag_render::inspect_table(std::slice::from_ref(report), &opts);
            print!("{table}");
        }
    }
}
