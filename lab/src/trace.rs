//! `lab trace`: what the controller does for a NetProbe, done locally against a lab. Resolve
//! SOURCE and TARGET against the lab's spec, plan with the controller's planner, run the agent in
//! each planned node's namespace (the endpoint run waits for the source report when only DNAT
//! knows the endpoint), and merge the reports into one path.
//!
//! Agent command lines and report parsing are pure functions; only [`trace_with`] runs things.

use std::path::Path;
use std::process::Command;

use netdiag_crds::shorthand::{self, ArgError, SourceArg, TargetArg};
use netdiag_crds::{NetProbe, NetProbeSpec, NetProbeStatus, Phase, ProbeSource};
use netdiag_model::merge::{MergedPath, merge};
use netdiag_model::planner::{self, NodePlan, PlanOptions, Watch};
use netdiag_model::{Check, NodeReport, TracePlan};

use super::exec::run;
use super::names::LabNames;
use super::resolve::{LabProbe, resolve};
use super::watch::WatchFiles;
use super::{Lab, LabError, LabTools};

/// Longest wait for one connect or DNS answer: the controller's cap (nothing in a lab is far).
const STEP_TIMEOUT_MS: u64 = 2000;

/// A lab trace that could not be planned or whose agent gave no report.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error(transparent)]
    Arg(#[from] ArgError),
    #[error(
        "{0}: the lab has no workloads, only pods and nodes: use pod/NAME or node/NAME (`lab status` lists them)"
    )]
    NotAPod(String),
    #[error("no pod named {0:?} in the lab (`lab status` lists them)")]
    UnknownPod(String),
    #[error("no node named {0:?} in the lab (`lab status` lists them)")]
    UnknownNode(String),
    #[error("no Service {0:?} in the lab (`lab status` lists them; e.g. svc/echo-service)")]
    UnknownService(String),
    #[error("Service {service} has no port {port:?}; it has: {known}")]
    UnknownPort {
        service: String,
        port: String,
        known: String,
    },
    #[error("Service {service} has several ports: add one of {known} as svc/NAME:PORT")]
    AmbiguousPort { service: String, known: String },
    #[error("pod {pod}: {detail}")]
    PodPort { pod: String, detail: String },
    #[error("the agent on {node} gave no report: {detail}")]
    Agent { node: String, detail: String },
    #[error("the agent on {node} printed no NodeReport JSON as its last line: {detail}")]
    Output { node: String, detail: String },
}

/// What to trace, as `lab trace` takes it: `trace`'s SOURCE, TARGET, `--checks` and
/// `--dns-name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceRequest {
    pub from: SourceArg,
    pub to: TargetArg,
    /// Empty: every check that applies.
    pub checks: Vec<Check>,
    pub dns_name: Option<String>,
}

impl TraceRequest {
    /// SOURCE and TARGET in the shorthand `trace` takes (`curl`, `svc/echo-service:http`).
    pub fn parse(from: &str, to: &str) -> Result<TraceRequest, TraceError> {
        Ok(TraceRequest {
            from: shorthand::parse_source(from)?,
            to: shorthand::parse_target(to)?,
            checks: Vec::new(),
            dns_name: None,
        })
    }
}

/// The plans run, the reports they produced, the merged path, and the NetProbe a cluster
/// would hold for it (what `-o json|yaml` print).
#[derive(Clone, Debug)]
pub struct LabTrace {
    /// `default/curl`.
    pub source: String,
    /// `svc/echo-service:http`, as the NetProbe's target displays.
    pub target: String,
    pub plans: Vec<TracePlan>,
    pub reports: Vec<NodeReport>,
    pub path: MergedPath,
    pub probe: NetProbe,
}

/// `ip netns exec <node ns> <agent> trace --plan - -o json ...`: the agent as a node
/// would run it. Parallel labs reuse the same pod IPs; the agent only considers namespaces
/// whose veth peer is in its own (node) namespace, so it never picks another lab's pod.
pub fn agent_command(names: &LabNames, node: &str, tools: &LabTools, ip: &Path) -> Vec<String> {
    agent_in_node(names, node, tools, ip, &["trace", "--plan", "-"])
}

/// `ip netns exec <node ns> <agent> ARGS -o json --node-name NODE --netns-dir ... --proc /proc`:
/// any agent subcommand, run in a node's namespace with the host's netns dir and procfs.
pub fn agent_in_node(
    names: &LabNames,
    node: &str,
    tools: &LabTools,
    ip: &Path,
    args: &[&str],
) -> Vec<String> {
    let mut v = vec![
        ip.display().to_string(),
        "netns".into(),
        "exec".into(),
        names.netns(node),
    ];
    v.extend(tools.agent.argv());
    v.extend(args.iter().map(|a| a.to_string()));
    v.extend(["-o", "json", "--node-name", node, "--netns-dir"].map(String::from));
    v.push(super::names::NETNS_DIR.into());
    v.extend(["--proc".into(), "/proc".into()]);
    v
}

/// The NodeReport on the last non-empty line of the agent's stdout.
pub fn parse_report(node: &str, stdout: &str) -> Result<NodeReport, TraceError> {
    last_json_line(stdout).map_err(|detail| TraceError::Output {
        node: node.into(),
        detail,
    })
}

/// The JSON value on the last non-empty line of an agent's stdout (the agent prints one line;
/// anything before it is warm-up noise). The error says what was wrong, for the caller's text.
pub fn last_json_line<T: serde::de::DeserializeOwned>(stdout: &str) -> Result<T, String> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .ok_or_else(|| "empty output".to_string())?;
    serde_json::from_str(line).map_err(|e| e.to_string())
}

/// Run one plan's agent; a watching run gets its armed and done files.
fn run_agent(
    lab: &Lab,
    node_plan: &NodePlan,
    tools: &LabTools,
    ip: &Path,
    watch: Option<(&Path, &Path)>,
) -> Result<NodeReport, LabError> {
    let (node, plan) = (node_plan.node.as_str(), &node_plan.plan);
    let mut argv = agent_command(&lab.names, node, tools, ip);
    if let Some((armed, done)) = watch {
        for (flag, path) in [("--armed-file", armed), ("--done-file", done)] {
            argv.extend([flag.to_string(), path.display().to_string()]);
        }
    }
    let input = serde_json::to_string(plan).map_err(|e| TraceError::Agent {
        node: node.into(),
        detail: format!("cannot encode the plan: {e}"),
    })?;
    let stdout = run(Command::new(&argv[0]).args(&argv[1..]), Some(&input)).map_err(|e| {
        TraceError::Agent {
            node: node.into(),
            detail: e.to_string(),
        }
    })?;
    Ok(parse_report(node, &stdout)?)
}

/// How long a watching run waits for the source's packets: the source starts once it is armed,
/// and its steps before the connect (DNS included) take at most a few step timeouts.
const WATCH_WINDOW_MS: u64 = 4 * STEP_TIMEOUT_MS;

/// A number no two traces share (the source port of a watched probe is drawn from it).
fn nonce() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)
}

/// The runs that start together run together, as the controller's agent pods do; a watching
/// run first, until it is armed (the controller waits for its pod to be ready), and it is told
/// when the others are done.
fn run_together(
    lab: &Lab,
    runs: &[NodePlan],
    tools: &LabTools,
    ip: &Path,
) -> Result<Vec<NodeReport>, LabError> {
    let watching: Vec<usize> = (0..runs.len()).filter(|i| runs[*i].watches()).collect();
    let files = match watching.is_empty() {
        true => None,
        false => {
            Some(
                WatchFiles::create(&lab.names.state_dir()).map_err(|e| TraceError::Agent {
                    node: runs[watching[0]].node.clone(),
                    detail: format!("cannot create the watch files: {e}"),
                })?,
            )
        }
    };
    let join = |h: std::thread::ScopedJoinHandle<'_, _>| {
        h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
    };
    std::thread::scope(|s| {
        let mut watchers = Vec::new();
        if let Some(f) = &files {
            for &i in &watching {
                let (armed, done) = (f.armed(i), f.done());
                let run = &runs[i];
                let h = s.spawn(move || run_agent(lab, run, tools, ip, Some((&armed, &done))));
                watchers.push((i, h));
            }
            f.wait_armed(&watching, || watchers.iter().all(|(_, h)| h.is_finished()));
        }
        let others: Vec<_> = (0..runs.len())
            .filter(|i| !watching.contains(i))
            .map(|i| {
                (
                    i,
                    s.spawn(move || run_agent(lab, &runs[i], tools, ip, None)),
                )
            })
            .collect();
        let mut reports: Vec<(usize, Result<NodeReport, LabError>)> =
            others.into_iter().map(|(i, h)| (i, join(h))).collect();
        if let Some(f) = &files {
            f.finish();
        }
        reports.extend(watchers.into_iter().map(|(i, h)| (i, join(h))));
        reports.sort_by_key(|(i, _)| *i);
        reports.into_iter().map(|(_, r)| r).collect()
    })
}

/// Trace from pod `from` to `to`, both in `trace`'s shorthand (`curl`, `svc/echo-service`).
pub fn trace(lab: &Lab, from: &str, to: &str, tools: &LabTools) -> Result<LabTrace, LabError> {
    trace_with(lab, &TraceRequest::parse(from, to)?, tools)
}

/// Trace `request` in a built lab: every run the planner plans, in its node's namespace.
pub fn trace_with(
    lab: &Lab,
    request: &TraceRequest,
    tools: &LabTools,
) -> Result<LabTrace, LabError> {
    // what the API would say, faults such as a wrong targetPort included
    let spec = lab.api_view();
    let probe = resolve(
        &spec,
        &request.from,
        &request.to,
        request.dns_name.as_deref(),
    )?;
    let ip = super::exec::root_with_ip()?;
    let options = PlanOptions {
        checks: request.checks.clone(),
        step_timeout_ms: STEP_TIMEOUT_MS,
        watch: Some(Watch {
            source_port: Watch::port_from(nonce()),
            window_ms: WATCH_WINDOW_MS,
        }),
    };
    let resolved = &probe.resolved;
    let mut runs = planner::initial_plans(&options, resolved);
    let mut reports = run_together(lab, &runs, tools, &ip)?;
    if planner::needs_endpoint_step(resolved)
        && let Ok(step) = planner::endpoint_step(&options, resolved, &reports[0])
    {
        reports.push(run_agent(lab, &step, tools, &ip, None)?);
        runs.push(step);
    }
    let source = if resolved.source.is_node {
        format!("node/{}", resolved.source.name)
    } else {
        format!("{}/{}", resolved.source.namespace, resolved.source.name)
    };
    let target = probe.target.display(&resolved.source.namespace);
    let path = merge(&reports, &source, &target);
    let probe = lab_probe(lab.name(), &probe, request, &target, &path);
    Ok(LabTrace {
        source,
        target,
        plans: runs.into_iter().map(|r| r.plan).collect(),
        reports,
        path,
        probe,
    })
}

/// The NetProbe a cluster would hold for this trace once it ran: its spec, and the merged path
/// in its status (the controller adds conditions and node runs, which a lab has no use for).
fn lab_probe(
    lab: &str,
    p: &LabProbe,
    request: &TraceRequest,
    target: &str,
    path: &MergedPath,
) -> NetProbe {
    let mut probe = NetProbe::new(
        &format!("lab-{lab}-trace"),
        NetProbeSpec {
            source: if p.resolved.source.is_node {
                ProbeSource::node(&p.resolved.source.name)
            } else {
                ProbeSource::pod(&p.resolved.source.name)
            },
            target: p.target.clone(),
            checks: (!request.checks.is_empty()).then(|| request.checks.clone()),
            dns_name: request.dns_name.clone(),
            timeout_seconds: None,
            interval_seconds: None,
            ttl_seconds_after_finished: None,
        },
    );
    probe.metadata.namespace = Some(p.resolved.source.namespace.clone());
    let mut status = NetProbeStatus {
        phase: Some(Phase::Succeeded),
        target: Some(target.to_string()),
        ..Default::default()
    };
    status.apply_path(path);
    probe.status = Some(status);
    probe
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_runs_in_the_node_namespace_with_the_plan_on_stdin() {
        let tools = LabTools::mounted("/bin/kubectl-netdiag", &["lab"]);
        let argv = agent_command(
            &LabNames::new("t1"),
            "node-a",
            &tools,
            Path::new("/sbin/ip"),
        );
        assert_eq!(
            argv.join(" "),
            "/sbin/ip netns exec nd-t1-node-a /bin/kubectl-netdiag agent trace --plan - -o json \
             --node-name node-a --netns-dir /var/run/netns --proc /proc"
        );
        // Inspection runs the same way, with its own subcommand.
        let inspect = crate::inspect::inspect_command(
            &LabNames::new("t1"),
            "node-b",
            &tools,
            Path::new("/sbin/ip"),
        );
        assert_eq!(
            inspect[..8].join(" "),
            "/sbin/ip netns exec nd-t1-node-b /bin/kubectl-netdiag agent inspect -o"
        );
    }

    #[test]
    fn the_report_is_the_last_line_of_output() {
        let report = NodeReport {
            node: "node-a".into(),
            summary: "ok".into(),
            ..Default::default()
        };
        let out = format!(
            "warming up\n{}\n\n",
            serde_json::to_string(&report).unwrap()
        );
        assert_eq!(parse_report("node-a", &out).unwrap(), report);
        assert!(parse_report("node-a", "").is_err());
        assert!(parse_report("node-a", "not json\n").is_err());
    }
}
