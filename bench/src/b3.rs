//! B3: the agent's wall time for a full healthy trace in the two-node lab (curl ->
//! svc/echo-service), as `lab trace` runs it: the agent on the source node, then on the chosen
//! endpoint's node when that is another node. The agent time of one trace is the sum of the
//! reports' `durationMs` (the runs are sequential).

use std::time::Instant;

use serde::{Deserialize, Serialize};

use netdiag_lab::{Invocation, Lab as LabState, LabTools};

use crate::cleanup::Lab;
use crate::error::BenchError;
use crate::stats::{median, quantile};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct B3 {
    pub median_ms: f64,
    pub p90_ms: f64,
    /// Agent time per trace (sum of the reports' durationMs).
    pub agent_ms: Vec<f64>,
    /// Whole `lab trace` per run, including process start-up and `ip netns exec`.
    pub wall_ms: Vec<f64>,
    /// Every trace was healthy (no failure, reachable).
    pub healthy: bool,
    pub note: String,
}

pub fn run(runs: usize) -> Result<B3, BenchError> {
    let dir = crate::b4::release_dir()?;
    eprintln!("B3: lab up");
    let lab = Lab::up(dir.join("kubectl-netdiag"))?;
    let opened = LabState::open(&lab.name).map_err(|e| BenchError::Unexpected {
        what: "lab open",
        detail: e.to_string(),
    })?;
    // The deployed agent binary, as the controller's agent pods run it.
    let tools = LabTools {
        pods: Invocation::new(dir.join("kubectl-netdiag"), &["lab"]),
        agent: Invocation::new(dir.join("netdiag-agent"), &[]),
    };
    let (mut agent_ms, mut wall_ms) = (Vec::new(), Vec::new());
    let mut healthy = true;
    let mut note = String::new();
    for r in 0..runs {
        let t = Instant::now();
        let traced =
            netdiag_lab::trace(&opened, "curl", "svc/echo-service", &tools).map_err(|e| {
                BenchError::Unexpected {
                    what: "lab trace",
                    detail: e.to_string(),
                }
            })?;
        wall_ms.push(t.elapsed().as_secs_f64() * 1e3);
        agent_ms.push(traced.reports.iter().map(|n| n.duration_ms).sum());
        let ok = traced.path.first_failure.is_none() && traced.path.reachable != Some(false);
        if !ok && healthy {
            note = format!("run {}: {:?}", r + 1, traced.path.first_failure);
        }
        healthy &= ok;
        if r == 0 && note.is_empty() {
            note = format!("{} agent runs per trace", traced.reports.len());
        }
    }
    drop(lab);
    Ok(B3 {
        median_ms: median(&agent_ms).unwrap_or(f64::NAN),
        p90_ms: quantile(&agent_ms, 0.9).unwrap_or(f64::NAN),
        agent_ms,
        wall_ms,
        healthy,
        note,
    })
}
