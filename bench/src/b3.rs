//! B3: the agent's wall time for a full healthy trace in the two-node lab (curl ->
//! svc/echo-service), as `lab trace` runs it: the agent on the source node, then on the chosen
//! endpoint's node when that is another node. The agent time of one trace is the sum of the
//! reports' `durationMs` (the runs are sequential).
//!
//! In the bridge lab every trace counts, whichever endpoint DNAT picks. In the vxlan lab only
//! the traces that cross to the other node count (a Tunnel hop in the path): those are what
//! the overlay costs. The vxlan run also measures the path MTU probe: every round traces once
//! with every check and once with every check but `mtu`, in alternating order, so both sides
//! share the same lab, the same minute and the same load.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use netdiag_agent::path::path_mtu;
use netdiag_lab::spec::Cni;
use netdiag_lab::trace::{LabTrace, TraceRequest};
use netdiag_lab::{Invocation, Lab as LabState, LabTools};
use netdiag_model::{Check, HopKind, Reason};

use crate::cleanup::Lab;
use crate::error::BenchError;
use crate::stats::{median, quantile};

/// How many rounds the vxlan run may take to gather its cross-node traces: DNAT picks the
/// other node for two of echo-service's three endpoints.
const MAX_ROUNDS_PER_RUN: usize = 6;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct B3 {
    /// The lab's CNI shape (absent in results from before the vxlan row: bridge).
    #[serde(default)]
    pub cni: Option<String>,
    pub median_ms: f64,
    pub p90_ms: f64,
    /// Agent time per trace (sum of the reports' durationMs).
    pub agent_ms: Vec<f64>,
    /// Whole `lab trace` per run, including process start-up and `ip netns exec`.
    pub wall_ms: Vec<f64>,
    /// Every trace was healthy (no failure, reachable, no MTU finding).
    pub healthy: bool,
    pub note: String,
    /// vxlan: the same traces with every check but `mtu` (no path MTU probe), taken in the
    /// same rounds.
    #[serde(default)]
    pub without_mtu: Option<Side>,
    /// vxlan: the probe alone, as the agent runs it after the connect (curl to echo-2 on the
    /// other node at the pod's MTU), timed in this process.
    #[serde(default)]
    pub probe_alone: Option<Side>,
}

/// Timed samples of one side of a comparison.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Side {
    pub median_ms: f64,
    pub samples_ms: Vec<f64>,
}

impl Side {
    fn of(samples_ms: Vec<f64>) -> Side {
        Side {
            median_ms: median(&samples_ms).unwrap_or(f64::NAN),
            samples_ms,
        }
    }
}

impl B3 {
    /// What the MTU probe adds to the median agent time, when both sides were measured.
    pub fn mtu_probe_ms(&self) -> Option<f64> {
        let without = self.without_mtu.as_ref()?;
        (!without.samples_ms.is_empty() && !self.agent_ms.is_empty())
            .then_some(self.median_ms - without.median_ms)
    }

    pub fn cni(&self) -> &str {
        self.cni.as_deref().unwrap_or("bridge")
    }
}

/// Every check but the path MTU probe.
fn without_mtu() -> Vec<Check> {
    vec![
        Check::Path,
        Check::Connect,
        Check::Conntrack,
        Check::DNS,
        Check::Evidence,
    ]
}

/// One trace, timed, with its verdict: `Err` says what was wrong with it.
struct Traced {
    agent_ms: f64,
    wall_ms: f64,
    crossed: bool,
    healthy: Result<(), String>,
}

fn judge(t: &LabTrace) -> Result<(), String> {
    if let Some(f) = &t.path.first_failure {
        return Err(format!("{} {}: {}", f.hop, f.reason, f.message));
    }
    if t.path.reachable == Some(false) {
        return Err(t.path.summary.clone());
    }
    // A healthy path gets no MTU finding at all (issue 12).
    let mtu = [Reason::PathMtuBlackhole, Reason::OverlayMtuMismatch];
    match (t.path.hops.iter()).find(|h| h.reason.as_ref().is_some_and(|r| mtu.contains(r))) {
        Some(h) => Err(format!("an MTU finding on a healthy path: {}", h.detail)),
        None => Ok(()),
    }
}

fn trace_once(
    lab: &LabState,
    request: &TraceRequest,
    tools: &LabTools,
) -> Result<Traced, BenchError> {
    let t = Instant::now();
    let traced = netdiag_lab::trace::trace_with(lab, request, tools).map_err(|e| {
        BenchError::Unexpected {
            what: "lab trace",
            detail: e.to_string(),
        }
    })?;
    Ok(Traced {
        wall_ms: t.elapsed().as_secs_f64() * 1e3,
        agent_ms: traced.reports.iter().map(|n| n.duration_ms).sum(),
        crossed: (traced.path.hops.iter()).any(|h| h.kind == HopKind::Tunnel),
        healthy: judge(&traced),
    })
}

/// Where B3's results for a lab of `cni` go: `b3.json` for the bridge lab (as before the other
/// shapes), `b3-vxlan.json` and so on.
pub fn file_name(cni: Cni) -> String {
    match cni {
        Cni::Bridge => "b3.json".into(),
        other => format!("b3-{other}.json"),
    }
}

/// `runs` traces in a lab of `cni` (with the comparison without the MTU probe on vxlan).
pub fn run(runs: usize, cni: Cni) -> Result<B3, BenchError> {
    let dir = crate::b4::release_dir()?;
    eprintln!("B3: lab up --cni {cni}");
    let lab = Lab::up(dir.join("kubectl-netdiag"), cni)?;
    let opened = LabState::open(&lab.name).map_err(|e| BenchError::Unexpected {
        what: "lab open",
        detail: e.to_string(),
    })?;
    // The deployed agent binary, as the controller's agent pods run it.
    let tools = LabTools {
        pods: Invocation::new(dir.join("kubectl-netdiag"), &["lab"]),
        agent: Invocation::new(dir.join("netdiag-agent"), &[]),
    };
    let all =
        TraceRequest::parse("curl", "svc/echo-service").map_err(|e| BenchError::Unexpected {
            what: "trace request",
            detail: e.to_string(),
        })?;
    let no_mtu = TraceRequest {
        checks: without_mtu(),
        ..all.clone()
    };
    let compare = cni == Cni::Vxlan;
    let keep = |t: &Traced| !compare || t.crossed;
    let (mut with, mut without) = (Vec::new(), Vec::new());
    let mut problem: Option<String> = None;
    let mut rounds = 0;
    while (with.len() < runs || (compare && without.len() < runs))
        && rounds < runs * MAX_ROUNDS_PER_RUN
    {
        // Alternate which side goes first, so neither always runs on a warmer cache.
        let order: &[bool] = match (compare, rounds % 2) {
            (false, _) => &[true],
            (true, 0) => &[true, false],
            (true, _) => &[false, true],
        };
        rounds += 1;
        for &probe in order {
            let t = trace_once(&opened, if probe { &all } else { &no_mtu }, &tools)?;
            if let (Err(e), None) = (&t.healthy, &problem) {
                problem = Some(format!("round {rounds}: {e}"));
            }
            let side = if probe { &mut with } else { &mut without };
            if keep(&t) && side.len() < runs {
                side.push(t);
            }
        }
    }
    let probe_alone = match compare.then(|| time_probe(&opened, cni, runs)) {
        Some(Ok(side)) => Some(side),
        Some(Err(e)) => {
            problem.get_or_insert(format!("the MTU probe alone: {e}"));
            None
        }
        None => None,
    };
    drop(lab);
    let agent_ms: Vec<f64> = with.iter().map(|t| t.agent_ms).collect();
    let mut note = match cni {
        Cni::Vxlan => format!(
            "{} and {} cross-node traces in {rounds} rounds",
            with.len(),
            without.len()
        ),
        _ => "DNAT's pick of endpoint, either node".into(),
    };
    if let Some(p) = &problem {
        note = p.clone();
    }
    Ok(B3 {
        cni: Some(cni.as_str().into()),
        median_ms: median(&agent_ms).unwrap_or(f64::NAN),
        p90_ms: quantile(&agent_ms, 0.9).unwrap_or(f64::NAN),
        wall_ms: with.iter().map(|t| t.wall_ms).collect(),
        agent_ms,
        healthy: problem.is_none() && with.len() >= runs.min(1),
        note,
        without_mtu: compare.then(|| Side::of(without.iter().map(|t| t.agent_ms).collect())),
        probe_alone,
    })
}

/// The path MTU probe alone, `runs` times, from curl to echo-2 (on the other node) at the pod
/// MTU of `cni`: what the agent's PathMtu step costs on a healthy path. `Err` when a probe saw
/// anything but both pings answered.
fn time_probe(lab: &LabState, cni: Cni, runs: usize) -> Result<Side, String> {
    let dst = (lab.spec().pod("echo-2").map(|p| p.ip)).ok_or("the lab has no pod echo-2")?;
    let netns = lab.netns_path("curl");
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let seen = path_mtu::probe(&netns, dst, cni.pod_mtu(), path_mtu::MAX_WAIT)?;
        samples.push(t.elapsed().as_secs_f64() * 1e3);
        if !(seen.small_answered && seen.full_answered) {
            let said = |answered: bool| if answered { "answered" } else { "lost" };
            return Err(format!(
                "a healthy path, yet the small ping to {dst} was {} and the {}-byte one {}",
                said(seen.small_answered),
                seen.full,
                said(seen.full_answered)
            ));
        }
    }
    Ok(Side::of(samples))
}
