//! The command line: kubectl-style global flags and the subcommands. Parsing only; nothing here
//! touches the network, so `--help` stays fast.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::duration::{parse_duration, parse_timeout};
use netdiag_crds::shorthand::{
    Checks, SourceArg, TargetArg, parse_checks, parse_source, parse_target,
};

const ABOUT: &str = "Find out why one thing in a Kubernetes cluster cannot reach another";

const LONG_ABOUT: &str = "\
Find out why one thing in a Kubernetes cluster cannot reach another.

`kubectl netdiag trace` follows a connection the way an engineer would by hand: from the
source pod's eth0 to its veth and bridge, through kube-proxy's rules for the Service to the
endpoint DNAT picks, into conntrack, along the route to the endpoint's node, down to the socket
that should be listening, and through each DNS server the pod uses. Every hop gets a verdict,
and the first broken one is named in words.

It works through a NetProbe resource that the netdiag controller fulfils with short-lived agent
pods on the nodes involved. Install the controller once with `kubectl netdiag install`.";

const EXAMPLES: &str = "\
Examples:
  # Why can't the curl deployment reach the echo Service?
  kubectl netdiag trace deploy/curl svc/echo

  # A named Service port in another namespace, with every hop's typed details
  kubectl netdiag -n shop trace pod/frontend-7d9c svc/payments/api:grpc -o wide

  # Straight to a pod's port, to a ClusterIP over UDP, or only DNS
  kubectl netdiag trace pod/curl pod/echo-1:8080
  kubectl netdiag trace pod/curl 10.96.0.10:53/udp
  kubectl netdiag trace pod/curl dns/echo.default.svc.cluster.local

  # The path as a picture
  kubectl netdiag trace deploy/curl svc/echo -o dot | dot -Tsvg > path.svg

  # Existing probes (also periodic ones from GitOps), everywhere
  kubectl netdiag get -A
  kubectl netdiag describe curl-to-echo

  # Install the CRD and controller, or see what would be applied
  kubectl netdiag install
  kubectl netdiag install --dry-run -o yaml

Exit status: 0 reachable, 1 a failure was found on the path, 2 usage or API error.";

/// `kubectl netdiag`: the plugin's command line.
#[derive(Parser, Debug)]
#[command(
    name = "kubectl-netdiag",
    bin_name = "kubectl netdiag",
    display_name = "kubectl netdiag",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = "Run `kubectl netdiag <command> --help` for each command's examples.",
    after_long_help = EXAMPLES,
    propagate_version = true,
)]
pub struct Cli {
    #[command(flatten, next_help_heading = "Kubectl global flags")]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The flags kubectl itself would take; kubectl passes them to plugins unparsed.
#[derive(Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct GlobalArgs {
    /// If present, the namespace scope for this request.
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// List NetProbes across all namespaces (only `get` takes it).
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,
    /// Path to the kubeconfig file to use (default: $KUBECONFIG, merged, else ~/.kube/config).
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The name of the kubeconfig context to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// The name of the kubeconfig cluster to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub cluster: Option<String>,
    /// The name of the kubeconfig user to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub user: Option<String>,
    /// How long to wait for a single API request, like kubectl: 0 (no limit), 30s, 1m (at most 24h).
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub request_timeout: Option<Duration>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Trace from a pod (or a node) to a Service, pod, address or DNS name, hop by hop.
    #[command(after_long_help = TRACE_EXAMPLES)]
    Trace(TraceArgs),
    /// Inspect a node's pod network namespaces, or a Service's rules on every node.
    #[command(long_about = INSPECT_ABOUT, after_long_help = INSPECT_EXAMPLES)]
    Inspect(InspectArgs),
    /// List NetProbes, including periodic ones and their last run.
    #[command(after_long_help = GET_EXAMPLES)]
    Get(GetArgs),
    /// Explain one NetProbe: its spec, schedule, last run and the path it found.
    Describe(DescribeArgs),
    /// Install the NetProbe CRD and the controller (server-side apply).
    #[command(after_long_help = INSTALL_EXAMPLES)]
    Install(InstallArgs),
    /// Remove what `install` applied: only objects labelled app.kubernetes.io/part-of=netdiag.
    #[command(after_long_help = UNINSTALL_EXAMPLES)]
    Uninstall(UninstallArgs),
    /// Print the plugin's version.
    Version,
    /// Print a shell completion script.
    #[command(after_long_help = COMPLETION_EXAMPLES)]
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Completion candidates for the words typed so far, in cobra's `__complete` protocol
    /// (what kubectl's plugin completion and the bash script call).
    #[command(name = "__complete", hide = true)]
    Complete {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        words: Vec<String>,
    },
    // The lab and the agent: mounted from netdiag-lab and netdiag-agent so the lab needs only
    // this binary. Linux only: elsewhere they are not built, and `--help` does not list them.
    #[cfg(target_os = "linux")]
    #[command(
        subcommand,
        about = netdiag_lab::cli::LAB_ABOUT,
        long_about = netdiag_lab::cli::LAB_LONG_ABOUT
    )]
    Lab(netdiag_lab::cli::LabCommand),
    /// The node agent's command line (the lab's agent runs through this).
    #[cfg(target_os = "linux")]
    #[command(subcommand, hide = true)]
    Agent(netdiag_agent::cli::AgentCommand),
}

const TRACE_EXAMPLES: &str = "\
SOURCE is the pod (or node) the traffic starts from:
  pod/NAME                 a pod in the namespace (-n, else the context's)
  deploy/NAME, sts/NAME, ds/NAME, rs/NAME
                           a ready pod of that workload; the one picked is named on stderr
  node/NAME                the node's host network, as `curl` run on the node would connect.
                           Off by default on the controller: a connect from a node carries the
                           node's identity (it reaches the kubelet, cloud metadata and the other
                           nodes), which a NetProbe's author must not gain, so the controller
                           runs node sources only in the namespaces its --node-source-namespaces
                           flag (NETDIAG_NODE_SOURCE_NAMESPACES) lists. Elsewhere the trace ends
                           with NodeSourceNotAllowed, saying so, and exit status 2.

TARGET is what it should reach:
  svc/NAME[:PORT]          a Service through its ClusterIP; PORT is a number or a port name
  svc/NAMESPACE/NAME[:PORT]
  pod/NAME[:PORT]          a pod's IP directly (PORT may be left out if it declares one port)
  IP:PORT[/tcp|udp]        a literal IPv4 address: a ClusterIP (walked through kube-proxy's
                           rules when it has any for it), a pod IP, a node, anything
  dns/NAME                 only resolve NAME through the pod's nameservers and cluster DNS
  node/NAME:PORT[/tcp|udp] a port on the node's InternalIP: a NodePort (walked through
                           kube-proxy's NodePort rules) or a hostNetwork pod

Before anything is created, the objects are checked: the source pod must be Running (a source
node must exist and have an InternalIP), and a Service must exist, have a ClusterIP and at
least one ready endpoint.

In a terminal the table fits its width ($COLUMNS when set, else the terminal's size): VERDICT
comes before DETAIL, and long DETAIL and FACTS cells wrap inside their column. Piped or
redirected, every hop stays on one line (COLUMNS=120 wraps it anyway).

Examples:
  kubectl netdiag trace deploy/curl svc/echo
  kubectl netdiag trace pod/curl-5d8f svc/echo:http --checks path,connect -o wide
  kubectl netdiag trace sts/db-client 10.96.0.10:53/udp --dns-name db.prod.svc.cluster.local
  kubectl netdiag trace pod/curl svc/echo --keep -o yaml > probe.yaml
  kubectl netdiag trace node/worker-1 svc/echo -n netops    # where the controller allows it

Ctrl-C deletes the NetProbe (unless --keep), says \"interrupted; probe deleted\" and exits 130.

Exit status: 0 reachable, 1 a failure was found on the path, 2 usage or API error or a probe
that could not run (a node source the controller does not allow), 130 interrupted.";

const GET_EXAMPLES: &str = "\
Examples:
  kubectl netdiag get
  kubectl netdiag get -A -o wide
  kubectl netdiag get curl-to-echo -o yaml";

const INSTALL_EXAMPLES: &str = "\
Examples:
  kubectl netdiag install
  kubectl netdiag install --image registry.example.com/netdiag:v0.1.0
  kubectl netdiag install --dry-run -o yaml > netdiag.yaml     # no cluster needed";

const UNINSTALL_EXAMPLES: &str = "\
Examples:
  kubectl netdiag uninstall --dry-run      # what would go, and how many NetProbes
  kubectl netdiag uninstall                # asks before deleting the CRD and every NetProbe
  kubectl netdiag uninstall --yes          # no question (scripts)
  kubectl netdiag uninstall --keep-crd     # remove the controller, keep NetProbes

Only objects of the install that carry the label app.kubernetes.io/part-of=netdiag are deleted.";

const COMPLETION_EXAMPLES: &str = "\
Examples:
  kubectl netdiag completion bash > /etc/bash_completion.d/kubectl-netdiag
  kubectl netdiag completion zsh > \"${fpath[1]}/_kubectl-netdiag\"
  kubectl netdiag completion fish > ~/.config/fish/completions/kubectl-netdiag.fish

The scripts complete the `kubectl-netdiag` command. For `kubectl netdiag <TAB>` (kubectl 1.26+),
the release archive and krew put `kubectl_complete-netdiag` beside the plugin; it runs
`kubectl-netdiag __complete \"$@\"`. Resource names come from the cluster when it answers
within 1.5s.";

#[derive(Args, Debug)]
pub struct TraceArgs {
    /// Where the traffic starts: pod/NAME, deploy/NAME, sts/NAME, ds/NAME, rs/NAME or node/NAME
    /// (a node's host network, where the controller allows node sources).
    #[arg(value_name = "SOURCE", value_parser = parse_source)]
    pub source: SourceArg,
    /// What to reach: svc/NAME[:PORT], pod/NAME[:PORT], IP:PORT[/tcp|udp], dns/NAME or
    /// node/NAME:PORT[/tcp|udp].
    #[arg(value_name = "TARGET", value_parser = parse_target)]
    pub target: TargetArg,
    /// Which checks to run, comma-separated: path, connect, conntrack, dns, evidence, mtu (default: all that
    /// apply; mtu is the path MTU probe after a connect that worked).
    #[arg(long, value_name = "LIST", value_parser = parse_checks)]
    pub checks: Option<Checks>,
    /// How long the probe may take, agent pods included: 30s, 2m (1s to 10m). The API reads
    /// before the probe is created get this long too. Once created, the plugin waits up to 30s
    /// beyond it for the controller to report (agent pods may need scheduling and an image pull).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// Keep the NetProbe after the trace instead of deleting it.
    #[arg(long)]
    pub keep: bool,
    /// Also resolve this DNS name from the source pod (default for a Service: its cluster name).
    #[arg(long, value_name = "NAME")]
    pub dns_name: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = TraceFormat::Table)]
    pub output: TraceFormat,
}

const INSPECT_ABOUT: &str = "\
Inspect what is actually on a node, or how every node programs one Service, through a
NodeInspection (cluster-scoped: creating one needs the right to list pods in every namespace).

node/NAME: the agent lists every pod network namespace on the node (named ones like
containerd's cni-<uuid>, and those known only through a process), each with its Pod (joined
by IP and node), its holder process (pause), eth0@ifN and IPs, the host veth it pairs with and
its bridge (or \"routed\"); the node's proxy mode and rule counts, conntrack fill, nodelocaldns,
the CNI and (-o wide) the sockets host-network Pods listen on. Findings: a namespace no process
lives in (leaked), a veth leading nowhere, one IP held twice, a veth that is down.

svc/NAME: the agent on every node reads that Service's rules (each proxy mode the agent reads)
and the controller compares them with the Service's EndpointSlices: the nodes that disagree are
listed with the endpoints they miss and the stale ones they still send to (a node whose
kube-proxy is stuck is the classic cause of \"it fails from some pods only\").";

const INSPECT_EXAMPLES: &str = "\
Examples:
  kubectl netdiag inspect node/worker-1
  kubectl netdiag inspect node/worker-1 -o wide
  kubectl netdiag inspect svc/echo-service -n shop
  kubectl netdiag inspect svc/kube-system/kube-dns -o yaml

Exit status: 0 nothing stands out, 1 findings (or nodes that disagree), 2 usage or API error.";

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// node/NAME, svc/NAME or svc/NAMESPACE/NAME.
    #[arg(value_name = "TARGET", value_parser = crate::inspect::parse_target)]
    pub target: crate::inspect::InspectTarget,
    /// How long to wait for the controller's agents: 2m, 90s.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Keep the NodeInspection afterwards (it expires an hour after it finished).
    #[arg(long)]
    pub keep: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = netdiag_render::InspectFormat::Table)]
    pub output: netdiag_render::InspectFormat,
}

/// `trace -o`: the renderer's formats, the same as `lab trace -o`.
pub use netdiag_render::TraceFormat;

#[derive(Args, Debug)]
pub struct GetArgs {
    /// A NetProbe's name; all NetProbes in the namespace when left out.
    pub name: Option<String>,
    #[arg(short = 'o', long, value_enum, default_value_t = ListOutput::Table)]
    pub output: ListOutput,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListOutput {
    Table,
    Wide,
    Json,
    Yaml,
    /// `netprobe.netdiag.dev/NAME`, one per line, as `kubectl get -o name`.
    Name,
}

#[derive(Args, Debug)]
pub struct DescribeArgs {
    /// The NetProbe's name.
    pub name: String,
    /// `wide` adds the typed facts of every hop, as `get -o wide` does.
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<DescribeOutput>,
    /// The same as `-o wide` (kept for scripts that use it).
    #[arg(long, hide = true)]
    pub wide: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DescribeOutput {
    Wide,
}

impl DescribeArgs {
    pub fn is_wide(&self) -> bool {
        self.wide || self.output == Some(DescribeOutput::Wide)
    }
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// The netdiag image for the controller and its agent pods.
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Apply nothing: check with the API server (server-side dry run), or with -o, only print.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the manifests instead of applying them (no cluster needed).
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<ManifestOutput>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManifestOutput {
    Yaml,
    Json,
}

#[derive(Args, Debug)]
pub struct UninstallArgs {
    /// Delete nothing; list what would be deleted and how many NetProbes the CRD takes with it.
    #[arg(long)]
    pub dry_run: bool,
    /// Confirm deleting the CRD, and with it every NetProbe, without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Remove the controller, its RBAC and namespace, but keep the CRD and every NetProbe.
    #[arg(long)]
    pub keep_crd: bool,
}
