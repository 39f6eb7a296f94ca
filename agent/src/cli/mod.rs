//! The `netdiag-agent` command line. Also mounted, hidden, under `kubectl netdiag agent`, so the
//! lab needs only the plugin binary. It has no lab commands: the lab's pods run `lab pod`.

mod inspect;
mod plan_input;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use netdiag_model::{Check, DnsServer, Endpoint, NodeReport, PlanRole, PlanTarget, TracePlan};

use crate::kernel::file::ReadFileError;
use crate::run::AgentEnv;
use netdiag_model::addr::{parse_addr_port, parse_dns_server, parse_socket};

pub use inspect::{InspectArgs, print_inspection};
pub use plan_input::{MAX_PLAN_BYTES, PlanSource, read_plan};

/// netdiag's node agent: traces one pod's path to a target through this node's real data plane
/// (pod netns, veth, bridge, kube-proxy rules, conntrack, routes, listeners, DNS), or inspects
/// every pod namespace on the node, and prints one report. Runs as root in the node's network
/// namespace.
#[derive(Parser, Debug)]
#[command(name = "netdiag-agent", version)]
pub struct AgentCli {
    #[command(subcommand)]
    pub command: AgentCommand,
}

#[derive(Subcommand, Debug)]
pub enum AgentCommand {
    /// Trace from a pod on this node to a target, or check an endpoint on this node.
    #[command(after_help = TRACE_EXAMPLES)]
    Trace(TraceArgs),
    /// Inspect this node: every pod network namespace mapped to its veth, bridge and holder.
    Inspect(InspectArgs),
    /// Exit 0 when a watching run has armed (its --armed-file exists), 1 otherwise: the
    /// readiness probe of a watching agent pod.
    #[command(hide = true)]
    Armed {
        #[arg(long, value_name = "PATH")]
        file: PathBuf,
    },
}

const TRACE_EXAMPLES: &str = "\
Examples:
  # Pod 10.244.1.2 to a Service VIP, comparing kube-proxy's rules with the API's endpoints
  netdiag-agent trace --from 10.244.1.2 --to 10.96.45.10:80/tcp \\
      --expect-endpoint 10.244.1.5:8080 --expect-endpoint 10.244.2.7:8080

  # Also resolve the Service's name through the pod's nameservers and kube-dns
  netdiag-agent trace --from 10.244.1.2 --to 10.96.45.10:80 \\
      --dns-name echo-service.default.svc.cluster.local --dns-server 10.96.0.10

  # The controller's form: a JSON plan file (an agent pod mounts its run's ConfigMap there)
  netdiag-agent trace --plan-file /etc/netdiag/plan/plan.json -o json

  # A plan on stdin (or inline JSON: --plan '{...}')
  netdiag-agent trace --plan - < plan.json

Exit status: 0 when a report was written (whatever it found), 2 when the agent could not run.";

#[derive(Args, Debug)]
pub struct TraceArgs {
    /// The source pod's IP; its network namespace must be on this node.
    #[arg(
        long,
        value_name = "POD_IP",
        conflicts_with_all = ["plan", "plan_file"],
        required_unless_present_any = ["plan", "plan_file", "endpoint"]
    )]
    pub from: Option<std::net::Ipv4Addr>,
    /// The target: IP:PORT[/tcp|/udp] (a Service VIP or a pod IP).
    #[arg(long, value_name = "IP:PORT[/PROTO]", conflicts_with_all = ["plan", "plan_file"])]
    pub to: Option<String>,
    /// Resolve this name from the pod, through each nameserver it uses.
    #[arg(long, value_name = "NAME")]
    pub dns_name: Option<String>,
    /// A further DNS server to ask, usually the kube-dns ClusterIP (repeatable).
    #[arg(long, value_name = "IP[:PORT]")]
    pub dns_server: Vec<String>,
    /// A ready endpoint the API lists for the Service (repeatable), to compare with kube-proxy's
    /// rules. Without any, an address kube-proxy has no rule for is traced as a pod IP.
    #[arg(long, value_name = "IP:PORT")]
    pub expect_endpoint: Vec<String>,
    /// Check only this endpoint on this node (route and listener): the endpoint side of a trace.
    #[arg(long, value_name = "IP:PORT[/PROTO]", conflicts_with_all = ["plan", "plan_file", "from"])]
    pub endpoint: Option<String>,
    /// The whole request as a JSON plan: inline JSON, a file, or - for stdin.
    #[arg(long, value_name = "JSON|FILE|-", conflicts_with = "plan_file")]
    pub plan: Option<String>,
    /// The whole request as a JSON plan file (how an agent pod gets it): a regular file of at
    /// most 4 MiB.
    #[arg(long, value_name = "PATH")]
    pub plan_file: Option<PathBuf>,
    /// Wait at most this long for each connect or DNS answer.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub step_timeout_ms: u64,
    /// A plan that watches for the source's packets (endpoint role, watchMs) creates this file
    /// once its trace is armed: start the source run after it exists.
    #[arg(long, value_name = "PATH")]
    pub armed_file: Option<PathBuf>,
    /// A watching plan stops waiting once this file exists (create it when the source run is
    /// done); without it the watch ends when the probe's packets have come and gone, or at
    /// the plan's watchMs.
    #[arg(long, value_name = "PATH")]
    pub done_file: Option<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    #[command(flatten)]
    pub node: NodeArgs,
}

/// Where the agent sees the node from: its name, its named namespaces and its processes.
#[derive(Args, Debug)]
pub struct NodeArgs {
    /// The node name to report (default: $NODE_NAME, else the hostname).
    #[arg(long, env = "NODE_NAME")]
    pub node_name: Option<String>,
    /// Where named network namespaces live.
    #[arg(long, default_value = "/var/run/netns")]
    pub netns_dir: PathBuf,
    /// The host's procfs (a pod mounts it elsewhere, e.g. /host/proc).
    #[arg(long, default_value = "/proc")]
    pub proc: PathBuf,
}

impl NodeArgs {
    /// The node's name: `--node-name`, $NODE_NAME, else the hostname.
    pub fn name(&self) -> String {
        node_name(self.node_name.as_ref())
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Table,
    Json,
}

/// What stops the agent before it can report.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("--to {0:?}: expected IP:PORT[/tcp|/udp], e.g. 10.96.45.10:80/tcp")]
    BadTarget(String),
    #[error("--expect-endpoint {0:?}: expected IP:PORT, e.g. 10.244.1.5:8080")]
    BadEndpoint(String),
    #[error("--service {0:?}: expected IP:PORT[/tcp|/udp], e.g. 10.96.45.10:80/tcp")]
    BadService(String),
    #[error("--dns-server {0:?}: expected IP or IP:PORT, e.g. 10.96.0.10")]
    BadDnsServer(String),
    #[error("nothing to trace: give --to, --dns-name, --endpoint, --plan or --plan-file")]
    NothingToDo,
    #[error("cannot read the plan from {from}: {source}")]
    ReadPlan {
        from: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot read the plan file: {0}; give the path of a regular file (an agent pod mounts its run's ConfigMap)"
    )]
    PlanFile(#[from] ReadFileError),
    #[error(
        "the plan from {from} is larger than {max} bytes: not read (no plan the controller writes is that large)"
    )]
    PlanTooLarge { from: String, max: u64 },
    #[error("the plan from {from} is not valid JSON for a TracePlan: {source}")]
    ParsePlan {
        from: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Plan(#[from] crate::run::PlanError),
}

/// Parse `IP:PORT[/tcp|/udp]`.
pub fn parse_target(s: &str) -> Result<PlanTarget, CliError> {
    let a = parse_addr_port(s).map_err(|_| CliError::BadTarget(s.to_string()))?;
    Ok(PlanTarget {
        ip: *a.addr.ip(),
        port: a.addr.port(),
        protocol: a.protocol,
    })
}

fn parse_endpoint(s: &str) -> Result<Endpoint, CliError> {
    parse_socket(s)
        .map(Endpoint::from)
        .map_err(|_| CliError::BadEndpoint(s.to_string()))
}

/// Build the plan the flags describe (the same plan the controller would send).
pub fn plan_from_args(args: &TraceArgs) -> Result<TracePlan, CliError> {
    if let Some(path) = &args.plan_file {
        return read_plan(PlanSource::File(path));
    }
    if let Some(src) = &args.plan {
        return read_plan(PlanSource::of_plan_arg(src));
    }
    let dns_servers = args
        .dns_server
        .iter()
        .map(|s| {
            parse_dns_server(s)
                .map(|address| DnsServer {
                    address,
                    role: "kube-dns".into(),
                })
                .ok_or_else(|| CliError::BadDnsServer(s.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(ep) = &args.endpoint {
        let t = parse_target(ep)?;
        return Ok(TracePlan {
            endpoint: Some(Endpoint::new(t.ip, t.port)),
            target: Some(t),
            ..TracePlan::empty(PlanRole::Endpoint, vec![], args.step_timeout_ms)
        });
    }
    if args.to.is_none() && args.dns_name.is_none() {
        return Err(CliError::NothingToDo);
    }
    let target = args.to.as_deref().map(parse_target).transpose()?;
    let expected = args
        .expect_endpoint
        .iter()
        .map(|s| parse_endpoint(s))
        .collect::<Result<Vec<_>, _>>()?;
    let checks = vec![
        Check::Path,
        Check::Connect,
        Check::Conntrack,
        Check::DNS,
        Check::Evidence,
        Check::MTU,
    ];
    Ok(TracePlan {
        source_ip: args.from,
        target_is_service: target.is_some(),
        target,
        expected_endpoints: expected,
        dns_name: args.dns_name.clone(),
        dns_servers,
        ..TracePlan::empty(PlanRole::Source, checks, args.step_timeout_ms)
    })
}

fn node_name(given: Option<&String>) -> String {
    if let Some(n) = given {
        return n.clone();
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "node".to_string())
}

/// Run a parsed command line.
pub fn run(cli: AgentCli) -> ExitCode {
    match cli.command {
        AgentCommand::Trace(args) => exit_status(trace(&args)),
        AgentCommand::Inspect(args) => exit_status(inspect::run(&args)),
        AgentCommand::Armed { file } if file.exists() => ExitCode::SUCCESS,
        AgentCommand::Armed { .. } => ExitCode::FAILURE,
    }
}

/// 0 once a report was written, 2 (with the reason on stderr) when the agent could not run.
fn exit_status<E: std::fmt::Display>(result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netdiag-agent: {e}");
            ExitCode::from(2)
        }
    }
}

fn trace(args: &TraceArgs) -> Result<(), CliError> {
    let plan = plan_from_args(args)?;
    let env = AgentEnv {
        node: args.node.name(),
        netns_dir: args.node.netns_dir.clone(),
        proc: args.node.proc.clone(),
        armed_file: args.armed_file.clone(),
        done_file: args.done_file.clone(),
    };
    let report = crate::run::run(&plan, &env)?;
    print_report(&report, args.output);
    Ok(())
}

/// One JSON line on stdout: what the controller reads from the last line of the log.
fn print_json_line<T: serde::Serialize>(value: &T, what: &str) {
    match serde_json::to_string(value) {
        Ok(line) => println!("{line}"),
        Err(e) => eprintln!("netdiag-agent: cannot encode the {what}: {e}"),
    }
}

/// Print a report: one JSON line (the controller reads the last line of the log), or the table.
pub fn print_report(report: &NodeReport, output: Output) {
    match output {
        Output::Json => print_json_line(report, "report"),
        Output::Table => {
            let source = report.source.map(|s| s.to_string()).unwrap_or_default();
            let target = report.target.clone().unwrap_or_default();
            let path = netdiag_model::merge::merge(std::slice::from_ref(report), &source, &target);
            let opts = netdiag_render::RenderOptions {
                wide: false,
                color: netdiag_render::stdout_color(),
                width: netdiag_render::stdout_width(),
            };
            print!("{}", netdiag_render::table(&path, &opts));
        }
    }
}

#[cfg(test)]
mod tests;
