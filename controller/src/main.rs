//! `netdiag-controller`: fulfils NetProbes with short-lived agent pods (`run`, the default), or
//! prints the agent pod it would create, for a security review (`render-agent-pod`).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use netdiag_controller::agents::pod::AgentSettings;
use netdiag_controller::agents::render;
use netdiag_controller::netprobe::Settings;
use netdiag_controller::netprobe::admission::Limits;
use netdiag_controller::netprobe::node_source::{self, NodeSourcePolicy};
use netdiag_controller::runtime::health::WatchHealth;
use netdiag_controller::runtime::runner;
use netdiag_controller::{DEFAULT_NAMESPACE, default_agent_image};
use netdiag_model::PlanRole;

#[derive(Parser, Debug)]
#[command(name = "netdiag-controller", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    common: Common,
}

#[derive(clap::Args, Debug, Clone)]
struct Common {
    /// The agent image (default: the project's image at this controller's version).
    #[arg(long, env = "NETDIAG_AGENT_IMAGE", global = true)]
    agent_image: Option<String>,
    /// The controller's namespace: agent pods and the leader Lease live there.
    #[arg(long, env = "POD_NAMESPACE", default_value = DEFAULT_NAMESPACE, global = true)]
    namespace: String,
    /// The cluster's DNS domain, for a Service's cluster-local name.
    #[arg(
        long,
        env = "NETDIAG_CLUSTER_DOMAIN",
        default_value = "cluster.local",
        global = true
    )]
    cluster_domain: String,
    /// Namespaces whose NetProbes may start from a node (`source.node`), as NS[,NS...], or * for
    /// every namespace. Empty (the default): node sources are refused everywhere, since a
    /// connect from a node's host network carries the node's identity (kubelet, cloud
    /// metadata, the other nodes); RBAC on who may create NetProbes in a listed namespace then
    /// decides who gains it.
    #[arg(long, env = node_source::ENV, value_name = "NS[,NS...]", default_value = "",
          hide_default_value = true, value_parser = NodeSourcePolicy::parse, global = true)]
    node_source_namespaces: NodeSourcePolicy,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the controller (the default).
    Run(RunArgs),
    /// Print the exact agent pod (and its plan ConfigMap) the controller would create for a
    /// NetProbe on a node.
    RenderAgentPod(RenderArgs),
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Where to serve /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080")]
    metrics_addr: SocketAddr,
    /// Log as JSON lines.
    #[arg(long, env = "NETDIAG_LOG_JSON")]
    log_json: bool,
    /// This replica's name in the leader election (default: $POD_NAME, else the hostname).
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// How long the NetProbe or agent-pod watch may keep failing before /readyz fails.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    watch_failure_grace_seconds: u64,
    /// Agent pods at work at once, all nodes together; a run that would exceed it is queued
    /// (condition Queued) and retried.
    #[arg(long, env = "NETDIAG_MAX_AGENT_PODS", value_name = "N",
          default_value_t = Limits::default().max_agent_pods, value_parser = at_least_one)]
    max_agent_pods: usize,
    /// Agent pods at work at once on one node (each may use 500m CPU and 512Mi).
    #[arg(long, env = "NETDIAG_MAX_AGENT_PODS_PER_NODE", value_name = "N",
          default_value_t = Limits::default().max_agent_pods_per_node, value_parser = at_least_one)]
    max_agent_pods_per_node: usize,
    /// Runs one namespace may start in any minute; more are queued until the minute moves on.
    #[arg(long, env = "NETDIAG_MAX_RUNS_PER_NAMESPACE_PER_MINUTE", value_name = "N",
          default_value_t = Limits::default().max_runs_per_namespace_per_minute, value_parser = at_least_one)]
    max_runs_per_namespace_per_minute: usize,
}

/// A limit of zero would queue every run forever: limits start at 1.
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{s:?} is not a whole number of at least 1")),
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Role {
    Source,
    Endpoint,
}

#[derive(clap::Args, Debug)]
struct RenderArgs {
    /// A NetProbe or NodeInspection manifest (YAML).
    #[arg(long, value_name = "FILE")]
    probe: String,
    /// The node the pod is pinned to (a node NodeInspection's pod runs on its spec's node).
    #[arg(long, value_name = "NODE")]
    node: String,
    #[arg(long, value_enum, default_value_t = Role::Source)]
    role: Role,
    /// The API objects the probe names (its source pod, target Service or pod, the Service's
    /// EndpointSlices, kube-system/kube-dns), as `kubectl get ... -o yaml|json` prints them:
    /// the plan is resolved from them instead of shown with placeholders.
    #[arg(long, value_name = "FILE")]
    objects: Option<String>,
}

fn agent_settings(c: &Common) -> AgentSettings {
    AgentSettings {
        image: c.agent_image.clone().unwrap_or_else(default_agent_image),
        namespace: c.namespace.clone(),
    }
}

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,kube=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut cli = Cli::parse();
    if cli.command.is_none() {
        // `run` is the default: parse again with it, so its flags and env vars apply.
        let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
        argv.insert(1.min(argv.len()), "run".into());
        cli = Cli::parse_from(argv);
    }
    let Some(command) = cli.command else {
        return ExitCode::FAILURE;
    };
    match command {
        Command::RenderAgentPod(args) => {
            let role = match args.role {
                Role::Source => PlanRole::Source,
                Role::Endpoint => PlanRole::Endpoint,
            };
            let req = render::RenderRequest {
                probe_path: &args.probe,
                node: &args.node,
                role,
                cluster_domain: &cli.common.cluster_domain,
                objects_path: args.objects.as_deref(),
                node_sources: &cli.common.node_source_namespaces,
            };
            match render::render_file(&agent_settings(&cli.common), &req) {
                Ok(yaml) => {
                    print!("{yaml}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("netdiag-controller: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Run(args) => {
            init_logs(args.log_json);
            let client = match kube::Client::try_default().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "no Kubernetes client: run in a pod with a service account, or set KUBECONFIG");
                    return ExitCode::FAILURE;
                }
            };
            let identity = args
                .identity
                .or_else(hostname)
                .unwrap_or_else(|| "netdiag-controller".to_string());
            let settings = Settings {
                agent: agent_settings(&cli.common),
                cluster_domain: cli.common.cluster_domain.clone(),
                limits: Limits {
                    max_agent_pods: args.max_agent_pods,
                    max_agent_pods_per_node: args.max_agent_pods_per_node,
                    max_runs_per_namespace_per_minute: args.max_runs_per_namespace_per_minute,
                },
                node_sources: cli.common.node_source_namespaces.clone(),
            };
            let addr = args.metrics_addr;
            tracing::info!(
                image = %settings.agent.image,
                namespace = %settings.agent.namespace,
                max_agent_pods = settings.limits.max_agent_pods,
                max_agent_pods_per_node = settings.limits.max_agent_pods_per_node,
                max_runs_per_namespace_per_minute = settings.limits.max_runs_per_namespace_per_minute,
                node_source_namespaces = %settings.node_sources.describe(),
                "starting"
            );
            let health = Arc::new(WatchHealth::new(Duration::from_secs(
                args.watch_failure_grace_seconds,
            )));
            match runner::run(client, settings, addr, identity, health).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "controller stopped");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
