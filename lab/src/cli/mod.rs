//! `kubectl netdiag lab up|status|trace|inspect|down` (and the hidden `pod`): the lab's command
//! line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use super::names::DEFAULT_LAB;
use super::spec::Cni;
use super::{Lab, LabError, LabSpec, LabTools, ProxyMode};

mod describe;
mod faults_cli;
mod inspect;
mod trace;

pub use describe::{proxy_line, up_summary};
pub use faults_cli::{BreakArgs, FixArgs};
pub use inspect::InspectArgs;
pub use netdiag_render::TraceFormat;
pub use trace::{TraceArgs, render, render_table};

/// `about` for the `lab` command itself, for the binary that mounts [`LabCommand`].
pub const LAB_ABOUT: &str =
    "Build a small Kubernetes data plane on this machine and trace through it";

/// `long_about` for the `lab` command.
pub const LAB_LONG_ABOUT: &str = "\
Build a small Kubernetes data plane on this Linux machine out of real kernel parts, with no
cluster: node and pod network namespaces, a cni0 bridge per node with veth pairs to the pods,
routes between the nodes' pod CIDRs, kube-proxy's rules for every Service (iptables mode, or
nftables mode with --proxy-mode nftables), dnsmasq as
kube-dns behind 10.96.0.10 and as nodelocaldns on 169.254.25.10 in every node, and a small echo
server in each pod. Then trace through it the way netdiag does on a real cluster, or poke at it
by hand with `ip netns exec`, `ip a`, `iptables -t nat -L` (or `nft list table ip kube-proxy`),
`conntrack -L` and `dig`.

Nothing in the lab can reach your real network: the nodes have no uplink and the DNS servers
never forward outside the lab. Needs root (sudo), iproute2, iptables and dnsmasq
(Debian/Ubuntu: apt-get install iproute2 iptables dnsmasq-base).

nodelocaldns sits on an `ifb` link named `nodelocaldns` (or on `lo` when the kernel has no ifb),
where a real node uses a `dummy` link: some kernels, this lab's included, have no dummy links.";

#[derive(clap::Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum LabCommand {
    /// Build a lab: two nodes, a curl pod, echo-service with three endpoints, kube-dns.
    #[command(long_about = "\
Build a lab. The default lab has nodes node-a (pods 10.244.1.0/24, node IP 172.18.0.2) and
node-b (10.244.2.0/24, 172.18.0.3); pods default/curl and default/echo-1 on node-a,
default/echo-2, default/echo-3 and kube-system/coredns on node-b; Services default/echo-service
(10.96.45.10, http 80 -> 8080, NodePort 30080) and kube-system/kube-dns (10.96.0.10, 53/UDP+TCP).
Network namespaces are named nd-<name>-<node or pod>; state lives in /run/netdiag/labs/<name>.
Ctrl-C during the build removes what was built, says \"interrupted; lab torn down\" and exits with
status 130. Needs root.

--proxy-mode picks the kube-proxy mode whose rules every node gets: iptables (the default;
KUBE-SERVICES, KUBE-SVC-*, KUBE-SEP-* chains loaded with iptables-restore) or nftables (`table ip
kube-proxy` with its service-ips map, service-*/endpoint-* chains and numgen load balancing,
loaded with `nft -f`; needs nft). Both are written by the same generator from the same Services,
in kube-proxy's exact shapes and names.

--cni picks the pod network's shape: bridge (the default: kind's cni0 bridge and routes via the
node IPs), vxlan (flannel's VXLAN backend: flannel.1 with VNI 1 on port 8472, nolearning, the
static neighbour and FDB entries flanneld writes, MTU 1450) or routed (Calico without
encapsulation: cali* veths with proxy ARP, /32 routes, pods' default via 169.254.1.1).")]
    Up {
        /// The lab's name (1-12 lower-case letters or digits); several labs can coexist.
        #[arg(long, default_value = DEFAULT_LAB)]
        name: String,
        /// A YAML or JSON lab spec instead of the default lab (nodes, pods, services, dns,
        /// proxyMode).
        #[arg(long, value_name = "FILE")]
        spec: Option<PathBuf>,
        /// kube-proxy's mode in every node: iptables or nftables [default: the spec's
        /// proxyMode, else iptables].
        #[arg(long, value_enum, value_name = "MODE")]
        proxy_mode: Option<ProxyMode>,
        /// The pod network's shape: bridge (kind), vxlan (flannel's VXLAN backend) or routed
        /// (Calico without encapsulation) [default: the spec's cni, else bridge].
        #[arg(long, value_enum, value_name = "CNI")]
        cni: Option<Cni>,
    },
    /// Show a lab's nodes, pods, Services, and whether its processes are alive.
    Status {
        #[arg(long, default_value = DEFAULT_LAB)]
        name: String,
    },
    /// Trace from a pod to a Service, pod, address, node port or DNS name, as `kubectl
    /// netdiag trace` does on a cluster.
    #[command(long_about = trace::TRACE_LONG_ABOUT)]
    Trace(trace::TraceArgs),
    /// Map every pod network namespace of the lab's nodes to its pod, veth, bridge and holder
    /// process, with node facts and findings (leaked namespaces, downed veths...).
    #[command(long_about = inspect::INSPECT_LONG_ABOUT)]
    Inspect(inspect::InspectArgs),
    /// Print the spec `lab up` builds by default (YAML), to copy and change for `lab up
    /// --spec FILE`; or check a spec file. docs/lab.md explains every field.
    Spec {
        /// Print the default lab's spec.
        #[arg(long, required_unless_present = "check", conflicts_with = "check")]
        print_default: bool,
        /// Check a YAML or JSON spec file the way `lab up --spec` would, without building it.
        #[arg(long, value_name = "FILE")]
        check: Option<PathBuf>,
    },
    /// Break something in a lab, the way it breaks on a real node; `--list` shows every fault.
    #[command(long_about = faults_cli::BREAK_LONG_ABOUT)]
    Break(faults_cli::BreakArgs),
    /// Undo faults `lab break` made: the named ones, or every one with --all.
    Fix(faults_cli::FixArgs),
    /// Remove a lab: its processes, namespaces, /etc/netns entries and state. Also cleans up
    /// after a lab whose `up` crashed. Removing a lab that is not there succeeds (exit 0).
    Down {
        #[arg(long, default_value = DEFAULT_LAB)]
        name: String,
    },
    /// The long-lived process of a lab pod: holds its namespace and serves its ports. `lab up`
    /// starts one per pod; the node agent does not carry it.
    #[command(hide = true)]
    Pod(super::pod_process::PodProcessArgs),
}

/// Run a lab command; errors are printed to stderr.
pub fn run(cmd: LabCommand, tools: &LabTools) -> ExitCode {
    let result = match cmd {
        LabCommand::Up {
            name,
            spec,
            proxy_mode,
            cni,
        } => up(&name, spec, proxy_mode, cni, tools),
        LabCommand::Status { name } => describe::status(&name),
        LabCommand::Trace(args) => trace::trace(&args, tools),
        LabCommand::Inspect(args) => inspect::inspect(&args, tools),
        LabCommand::Spec {
            print_default,
            check,
        } => spec(print_default, check),
        LabCommand::Break(args) => faults_cli::break_faults(&args, tools),
        LabCommand::Fix(args) => faults_cli::fix(&args, tools),
        LabCommand::Down { name } => down(&name),
        LabCommand::Pod(args) => return super::pod_process::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let interrupted = matches!(&e, LabError::Interrupted)
                || matches!(&e, LabError::UpFailed { cause, .. } if matches!(**cause, LabError::Interrupted));
            if interrupted {
                // The user stopped it: say what was cleaned up; 128 + SIGINT, as a shell does.
                eprintln!("{e}");
                ExitCode::from(130)
            } else {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        }
    }
}

fn up(
    name: &str,
    spec: Option<PathBuf>,
    proxy_mode: Option<ProxyMode>,
    cni: Option<Cni>,
    tools: &LabTools,
) -> Result<ExitCode, LabError> {
    let mut spec = match spec {
        Some(path) => LabSpec::load(&path)?,
        None => LabSpec::default(),
    };
    if let Some(mode) = proxy_mode {
        spec.proxy_mode = mode;
    }
    if let Some(cni) = cni {
        spec.cni = cni;
    }
    super::exec::install_interrupt_handler()?;
    let started = Instant::now();
    let lab = Lab::up(&spec, name, tools)?;
    print!("{}", up_summary(&lab, started.elapsed().as_secs_f64()));
    Ok(ExitCode::SUCCESS)
}

fn spec(print_default: bool, check: Option<PathBuf>) -> Result<ExitCode, LabError> {
    if let Some(path) = check {
        let spec = LabSpec::load(&path)?;
        println!(
            "{}: a valid lab spec ({} nodes, {} pods, {} Services, kube-proxy {} mode)",
            path.display(),
            spec.nodes.len(),
            spec.pods.len(),
            spec.services.len(),
            spec.proxy_mode
        );
    } else if print_default {
        let yaml = netdiag_render::yaml(&LabSpec::default())
            .map_err(|e| LabError::Output(e.to_string()))?;
        print!("{yaml}");
    }
    Ok(ExitCode::SUCCESS)
}

fn down(name: &str) -> Result<ExitCode, LabError> {
    let report = match Lab::down(name) {
        // Idempotent, for scripts: what should be gone is gone.
        Err(LabError::NoSuchLab { .. }) => {
            println!("no lab named {name}: nothing to remove");
            return Ok(ExitCode::SUCCESS);
        }
        other => other?,
    };
    println!("lab {name} removed:");
    for s in &report.stopped {
        println!("  stopped {s}");
    }
    if !report.namespaces.is_empty() {
        println!("  deleted namespaces {}", report.namespaces.join(", "));
    }
    for p in &report.paths {
        println!("  removed {}", p.display());
    }
    for p in &report.problems {
        eprintln!("  left behind: {p}");
    }
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests;
