//! `lab trace`: `trace`'s SOURCE, TARGET, `--checks` and `-o`, against a lab.

use std::process::ExitCode;

use netdiag_crds::shorthand::{
    Checks, SourceArg, TargetArg, parse_checks, parse_source, parse_target,
};
use netdiag_render::{OutputError, TraceFormat, TraceOutput, Width};

use crate::{Lab, LabError, LabTools, LabTrace, TraceRequest};

/// `long_about` of `lab trace`.
pub const TRACE_LONG_ABOUT: &str = "\
Trace through a lab as the controller does on a cluster: resolve --from and --to against the lab,
plan with the controller's planner, run the agent in each planned node's namespace (the source
pod's node, and the node of the endpoint the traffic reaches), and merge the reports into one
path, printed by the same code as `kubectl netdiag trace`: in a terminal the table fits its
width ($COLUMNS, else the terminal's), wrapping long details in their column; piped, full lines.

--from is the pod the traffic starts from: NAME or pod/NAME (`lab status` lists them), or
node/NAME: the node's own host network, as the seeds test NodePorts and ClusterIPs with curl on
a node. A node's traffic meets externalTrafficPolicy Local (a node without a local endpoint
drops it); a pod's does not, but from another node it loses the reply (AsymmetricNodePort). Node sources run in the lab only: on a cluster they would carry the
node's identity.

--to is what it should reach, as `kubectl netdiag trace` takes it:
  svc/NAME[:PORT]          a Service through its ClusterIP; PORT is a number or a port name
  svc/NAMESPACE/NAME[:PORT]
  pod/NAME[:PORT]          a pod's IP directly (PORT may be left out if it serves one port)
  IP:PORT[/tcp|udp]        a literal IPv4 address: a ClusterIP, a pod IP, a node...
  dns/NAME                 only resolve NAME through the pod's nameservers and kube-dns
  node/NAME:PORT[/tcp|udp] a port on a node's IP, e.g. a NodePort (node/node-b:30080)

Examples:
  kubectl netdiag lab trace --from curl --to svc/echo-service
  kubectl netdiag lab trace --from echo-1 --to pod/echo-2:8080 -o wide
  kubectl netdiag lab trace --from curl --to 10.96.0.10:53/udp
  kubectl netdiag lab trace --from curl --to dns/kube-dns.kube-system.svc.cluster.local
  kubectl netdiag lab trace --from curl --to node/node-b:30080 -o dot | dot -Tsvg > path.svg
  kubectl netdiag lab trace --from node/node-a --to node/node-b:30080
  kubectl netdiag lab trace -o pcap > probe.pcap && tcpdump -nr probe.pcap

Exit status: 0 reachable, 1 a failure was found on the path, 2 usage or lab error.";

/// The arguments of `lab trace`.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct TraceArgs {
    #[arg(long, default_value = crate::names::DEFAULT_LAB)]
    pub name: String,
    /// The source: a pod (NAME or pod/NAME) or a node's host network (node/NAME).
    #[arg(long, value_name = "SOURCE", default_value = "curl", value_parser = parse_source)]
    pub from: SourceArg,
    /// What to reach: svc/NAME[:PORT], pod/NAME[:PORT], IP:PORT[/tcp|udp], dns/NAME or
    /// node/NAME:PORT[/tcp|udp].
    #[arg(
        long,
        value_name = "TARGET",
        default_value = "svc/echo-service",
        value_parser = parse_target
    )]
    pub to: TargetArg,
    /// Which checks to run, comma-separated: path, connect, conntrack, dns, evidence, mtu
    /// (default: all that apply; mtu is the path MTU probe after a connect that worked).
    #[arg(long, value_name = "LIST", value_parser = parse_checks)]
    pub checks: Option<Checks>,
    /// The name to resolve from the source pod (default: the Service's, or the dns/ target's).
    #[arg(long, value_name = "NAME")]
    pub dns_name: Option<String>,
    #[arg(short = 'o', long, value_enum, default_value_t = TraceFormat::Table)]
    pub output: TraceFormat,
}

impl TraceArgs {
    pub fn request(&self) -> TraceRequest {
        TraceRequest {
            from: self.from.clone(),
            to: self.to.clone(),
            checks: self.checks.clone().map(|c| c.0).unwrap_or_default(),
            dns_name: self.dns_name.clone(),
        }
    }
}

pub fn trace(args: &TraceArgs, tools: &LabTools) -> Result<ExitCode, LabError> {
    use std::io::IsTerminal as _;
    // Refused before the trace runs.
    netdiag_render::refuse_pcap_to_terminal(args.output, std::io::stdout().is_terminal())
        .map_err(output_error)?;
    let lab = Lab::open(&args.name)?;
    let t = crate::trace_with(&lab, &args.request(), tools)?;
    let (color, width) = (
        netdiag_render::stdout_color(),
        netdiag_render::stdout_width(),
    );
    render(&t, args.output, color, width)?
        .write_to(&mut std::io::stdout().lock())
        .map_err(output_error)?;
    Ok(
        if t.path.first_failure.is_none() && t.path.reachable != Some(false) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}

/// A lab trace in one of `trace`'s formats, through the same renderer.
pub fn render(
    t: &LabTrace,
    format: TraceFormat,
    color: bool,
    width: Width,
) -> Result<TraceOutput, LabError> {
    netdiag_render::render_trace(
        &t.probe, &t.path, &t.source, &t.target, format, color, width,
    )
    .map_err(output_error)
}

/// The hop table of a lab trace, as `trace` prints it to a pipe (full lines).
pub fn render_table(t: &LabTrace, color: bool) -> String {
    match render(t, TraceFormat::Table, color, Width::Unlimited) {
        Ok(TraceOutput::Text(s)) => s,
        // A table is always text and never fails to render.
        Ok(TraceOutput::Pcap(_)) | Err(_) => String::new(),
    }
}

fn output_error(e: OutputError) -> LabError {
    LabError::Output(e.to_string())
}
