//! `kubectl netdiag lab up|status|trace|down` (and the hidden `pod`): the lab's command line.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use super::names::DEFAULT_LAB;
use super::{Lab, LabError, LabSpec, LabTools, ProxyMode, process};

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

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    Table,
    Json,
    /// The probe's captured packets of every node as one pcapng file (for `tcpdump -r`).
    Pcap,
}

#[derive(clap::Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum LabCommand {
    /// Build a lab: two nodes, a curl pod, echo-service with three endpoints, kube-dns.
    #[command(long_about = "\
Build a lab. The default lab has nodes node-a (pods 10.244.1.0/24, node IP 172.18.0.2) and
node-b (10.244.2.0/24, 172.18.0.3); pods default/curl and default/echo-1 on node-a,
default/echo-2, default/echo-3 and kube-system/coredns on node-b; Services default/echo-service
(10.96.45.10, http 80 -> 8080, NodePort 30080) and kube-system/kube-dns (10.96.0.10, 53/UDP+TCP).
Network namespaces are named nd-<name>-<node or pod>; state lives in /run/netdiag/labs/<name>.
Ctrl-C during the build removes what was built. Needs root.

--proxy-mode picks the kube-proxy mode whose rules every node gets: iptables (the default;
KUBE-SERVICES, KUBE-SVC-*, KUBE-SEP-* chains loaded with iptables-restore) or nftables (`table ip
kube-proxy` with its service-ips map, service-*/endpoint-* chains and numgen load balancing,
loaded with `nft -f`; needs nft). Both are written by the same generator from the same Services,
in kube-proxy's exact shapes and names.")]
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
    },
    /// Show a lab's nodes, pods, Services, and whether its processes are alive.
    Status {
        #[arg(long, default_value = DEFAULT_LAB)]
        name: String,
    },
    /// Trace from a pod to a Service, as the controller would on a cluster: one agent run on
    /// the source pod's node, one on the chosen endpoint's node, merged into one path.
    Trace {
        #[arg(long, default_value = DEFAULT_LAB)]
        name: String,
        /// The source pod.
        #[arg(long, value_name = "POD", default_value = "curl")]
        from: String,
        /// The Service: svc/NAME, NS/NAME, optionally :PORT (name or number).
        #[arg(long, value_name = "svc/NAME", default_value = "svc/echo-service")]
        to: String,
        #[arg(short = 'o', long, value_enum, default_value_t = TraceFormat::Table)]
        output: TraceFormat,
    },
    /// Remove a lab: its processes, namespaces, /etc/netns entries and state. Also cleans up
    /// after a lab whose `up` crashed.
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
        } => up(&name, spec, proxy_mode, tools),
        LabCommand::Status { name } => status(&name),
        LabCommand::Trace {
            name,
            from,
            to,
            output,
        } => trace(&name, &from, &to, output, tools),
        LabCommand::Down { name } => down(&name),
        LabCommand::Pod(args) => return super::pod_process::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn up(
    name: &str,
    spec: Option<PathBuf>,
    proxy_mode: Option<ProxyMode>,
    tools: &LabTools,
) -> Result<ExitCode, LabError> {
    let mut spec = match spec {
        Some(path) => LabSpec::load(&path)?,
        None => LabSpec::default(),
    };
    if let Some(mode) = proxy_mode {
        spec.proxy_mode = mode;
    }
    super::exec::install_interrupt_handler()?;
    let started = Instant::now();
    let lab = Lab::up(&spec, name, tools)?;
    print!("{}", up_summary(&lab, started.elapsed().as_secs_f64()));
    Ok(ExitCode::SUCCESS)
}

/// What `up` prints: what was built, and what to try next.
pub fn up_summary(lab: &Lab, seconds: f64) -> String {
    let mut out = format!("lab {} is up ({seconds:.1} s)\n", lab.name());
    out.push_str(&describe(lab, None));
    let n = lab.name();
    let spec = lab.spec();
    let first_pod = spec.pods.first().map(|p| p.name.as_str()).unwrap_or("curl");
    let first_node = spec
        .nodes
        .first()
        .map(|n| n.name.as_str())
        .unwrap_or("node-a");
    // the first Service that is not cluster DNS: what a learner wants to reach
    let svc = spec
        .services
        .iter()
        .find(|s| s.cluster_ip != spec.dns.cluster_ip)
        .or(spec.services.first());
    let _ = write!(out, "\nnext:\n");
    if let Some(s) = svc {
        let port = s.ports.first().map(|p| p.port).unwrap_or(80);
        let _ = write!(
            out,
            "  kubectl netdiag lab trace --name {n} --from {first_pod} --to svc/{name}\n  \
             sudo ip netns exec {pod_ns} bash -c 'exec 3<>/dev/tcp/{ip}/{port}; cat <&3'   # which pod answers?\n",
            name = s.name,
            ip = s.cluster_ip,
            pod_ns = lab.names.netns(first_pod),
        );
    }
    let rules = match spec.proxy_mode {
        ProxyMode::Iptables => "iptables -t nat -L KUBE-SERVICES -n",
        ProxyMode::Nftables => "nft list map ip kube-proxy service-ips",
    };
    let _ = write!(
        out,
        "  sudo ip netns exec {node_ns} {rules}\n  \
         kubectl netdiag lab down --name {n}\n",
        node_ns = lab.names.netns(first_node),
    );
    out
}

/// Nodes, pods and Services of a lab; with `alive`, each pod's process state.
/// Whether the lab process recorded as `what` is alive (None: not recorded).
type AliveFn<'a> = &'a dyn Fn(&str) -> Option<bool>;

fn describe(lab: &Lab, alive: Option<AliveFn>) -> String {
    let spec = lab.spec();
    let mut out = String::from("nodes:\n");
    for n in &spec.nodes {
        let _ = writeln!(
            out,
            "  {:<10} {:<15} pods {:<16} netns {}",
            n.name,
            n.ip,
            n.pod_cidr.to_string(),
            lab.names.netns(&n.name)
        );
    }
    out.push_str("pods:\n");
    for p in &spec.pods {
        let ports: Vec<String> = p
            .tcp
            .iter()
            .map(|t| format!("{t}/TCP"))
            .chain(p.udp.iter().map(|u| format!("{u}/UDP")))
            .collect();
        let state = match alive.and_then(|f| f(&format!("pod-{}", p.name))) {
            Some(true) => "  running",
            Some(false) => "  NOT RUNNING",
            None => "",
        };
        let line = format!(
            "  {:<24} {:<15} {:<8} {:<10}{state}",
            format!("{}/{}", p.namespace, p.name),
            p.ip,
            p.node,
            ports.join(",")
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out.push_str("services:\n");
    for s in &spec.services {
        let ports: Vec<String> = s
            .ports
            .iter()
            .map(|p| {
                let np = p
                    .node_port
                    .map(|n| format!(" nodePort {n}"))
                    .unwrap_or_default();
                format!(
                    "{}{}/{} -> {}{np}",
                    p.name
                        .as_deref()
                        .map(|n| format!("{n} "))
                        .unwrap_or_default(),
                    p.port,
                    p.protocol.as_lower().to_uppercase(),
                    p.target_port
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "  {:<24} {:<15} {}  endpoints {}",
            format!("{}/{}", s.namespace, s.name),
            s.cluster_ip,
            ports.join(", "),
            s.endpoints.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "dns: kube-dns {} (dnsmasq in pod {}), nodelocaldns {} on every node",
        spec.dns.cluster_ip, spec.dns.pod, spec.dns.node_local
    );
    if let Some(f) = alive {
        for what in ["kube-dns".to_string()].into_iter().chain(
            spec.nodes
                .iter()
                .map(|n| format!("nodelocaldns-{}", n.name)),
        ) {
            let s = match f(&what) {
                Some(true) => "running",
                Some(false) => "NOT RUNNING",
                None => "not started",
            };
            let _ = writeln!(out, "  {what:<24} {s}");
        }
    }
    let _ = writeln!(out, "{}", proxy_line(spec.proxy_mode));
    out
}

/// The kube-proxy line of `up` and `status`: the mode, and where its rules are.
pub fn proxy_line(mode: ProxyMode) -> String {
    let rules = match mode {
        ProxyMode::Iptables => "KUBE-SERVICES in the nat table",
        ProxyMode::Nftables => "table ip kube-proxy",
    };
    format!("kube-proxy: {mode} mode ({rules} in every node)")
}

fn status(name: &str) -> Result<ExitCode, LabError> {
    let names = super::LabNames::new(name);
    if !super::names::valid_lab_name(name) {
        return Err(LabError::BadName(name.into()));
    }
    let state = super::LabState::load(&names.state_file())?
        .ok_or_else(|| LabError::NoSuchLab { name: name.into() })?;
    let complete = state.complete;
    let lab = Lab { names, state };
    let processes = lab.state.processes.clone();
    let alive = move |what: &str| -> Option<bool> {
        let p = processes.iter().find(|p| p.what == what)?;
        Some(match (p.pid, p.start_time) {
            (Some(pid), Some(start)) => process::start_time(pid) == Some(start),
            _ => false,
        })
    };
    println!(
        "lab {name}{}",
        if complete {
            ""
        } else {
            " (INCOMPLETE: its `up` failed or is running; `lab down` removes it)"
        }
    );
    print!("{}", describe(&lab, Some(&alive)));
    let all_alive = lab
        .state
        .processes
        .iter()
        .all(|p| alive(&p.what) == Some(true));
    Ok(if complete && all_alive {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn trace(
    name: &str,
    from: &str,
    to: &str,
    output: TraceFormat,
    tools: &LabTools,
) -> Result<ExitCode, LabError> {
    use std::io::IsTerminal as _;
    // Refused before the trace runs: binary on a terminal helps nobody.
    if output == TraceFormat::Pcap && std::io::stdout().is_terminal() {
        return Err(LabError::Pcap(
            "will not write binary packets to a terminal: redirect it, e.g. `> probe.pcap`, or pipe it to `tcpdump -r -`".into(),
        ));
    }
    let lab = Lab::open(name)?;
    let t = super::trace(&lab, from, to, tools)?;
    match output {
        TraceFormat::Pcap => write_pcap(&t.path.evidence)?,
        TraceFormat::Table => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            print!("{}", render_table(&t, color));
        }
        TraceFormat::Json => {
            let json =
                netdiag_render::json(&t.path).map_err(|e| super::trace::TraceError::Output {
                    node: "lab".into(),
                    detail: e.to_string(),
                })?;
            print!("{json}");
        }
    }
    Ok(
        if t.path.first_failure.is_none() && t.path.reachable != Some(false) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}

/// Every node's captured packets, merged into one pcapng file, to stdout.
fn write_pcap(evidence: &[netdiag_model::report::Evidence]) -> Result<(), LabError> {
    use std::io::Write as _;
    let bytes = netdiag_model::pcapng::merge_evidence(evidence)
        .map_err(|e| LabError::Pcap(e.to_string()))?
        .ok_or_else(|| {
            LabError::Pcap(
                "no node captured packets (the probe never connected, or no capture socket could be opened: `-o json` shows each node's evidence)".into(),
            )
        })?;
    let mut out = std::io::stdout().lock();
    out.write_all(&bytes)
        .and_then(|()| out.flush())
        .map_err(|e| LabError::Pcap(format!("cannot write to stdout: {e}")))
}

/// The hop table of a lab trace, through the shared renderer so it reads as on a cluster.
pub fn render_table(t: &super::LabTrace, color: bool) -> String {
    let opts = netdiag_render::RenderOptions { wide: false, color };
    format!(
        "{} -> {}\n\n{}",
        t.source,
        t.target,
        netdiag_render::table(&t.path, &opts)
    )
}

fn down(name: &str) -> Result<ExitCode, LabError> {
    let report = Lab::down(name)?;
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
