//! The limits on agent pods and runs, applied through the API: the decision is
//! [`super::admission::decide`]'s; here the controller counts the agent pods at work (a fresh
//! list by label) and the namespace's recent runs, and creates the admitted pods, all under one
//! lock. Concurrent reconciles therefore never both fill the last place on a node: the second
//! one lists after the first one's pods exist. The run counts are in memory (one leader acts
//! at a time; docs/controller.md says what a fail-over means for them).

use std::time::Instant;

use kube::api::ListParams;
use tokio::sync::Mutex;

use super::admission::{Admission, Demand, Limits, PodLoad, Queued, RecentRuns, RunLedger, decide};
use super::reconcile::{ReconcileError, Run};
use crate::agents::pod::{AgentObjects, agent_selector};
use crate::netprobe::plan::NodePlan;

/// The controller's limits and what it counts against them.
#[derive(Debug)]
pub struct Limiter {
    pub limits: Limits,
    ledger: Mutex<RunLedger>,
}

impl Limiter {
    pub fn new(limits: Limits) -> Self {
        Limiter {
            limits,
            ledger: Mutex::new(RunLedger::default()),
        }
    }

    /// Hold the admission lock while counting agent pods and creating the admitted ones, as
    /// NodeInspections do: pods created under it are in the next holder's count.
    pub async fn hold(&self) -> tokio::sync::MutexGuard<'_, RunLedger> {
        self.ledger.lock().await
    }
}

/// Admit the pods of `nodes` one at a time within the limits on agent pods at work (an
/// inspection is no namespace's run: the run rate does not apply), counting each admitted one
/// in `load`. Pure. Returns how many are admitted, and why the rest wait.
pub fn admit_each(
    limits: &Limits,
    load: &mut PodLoad,
    nodes: &[String],
) -> (usize, Option<Queued>) {
    for (i, node) in nodes.iter().enumerate() {
        let demand = Demand {
            namespace: "",
            nodes: std::slice::from_ref(node),
            new_run: false,
        };
        if let Admission::Queue(q) = decide(limits, load, RecentRuns::default(), &demand) {
            return (i, Some(q));
        }
        load.total += 1;
        *load.per_node.entry(node.clone()).or_default() += 1;
    }
    (nodes.len(), None)
}

impl Run<'_> {
    /// Create the pods of `missing` if the limits admit them, in order, returning their names;
    /// or say why the run is queued. `new_run` counts it against the namespace's rate.
    pub(super) async fn admit_and_create(
        &self,
        missing: &[(&NodePlan, AgentObjects)],
        new_run: bool,
    ) -> Result<Result<Vec<String>, Queued>, ReconcileError> {
        let limiter = &self.ctx.limiter;
        let mut ledger = limiter.ledger.lock().await;
        let at_work = self
            .pods
            .list(&ListParams::default().labels(&agent_selector()))
            .await
            .map_err(|source| ReconcileError::CountAgentPods { source })?
            .items;
        let now = Instant::now();
        let nodes: Vec<String> = missing.iter().map(|(p, _)| p.node.clone()).collect();
        let demand = Demand {
            namespace: &self.id.namespace,
            nodes: &nodes,
            new_run,
        };
        let recent = ledger.recent(&self.id.namespace, now);
        if let Admission::Queue(q) =
            decide(&limiter.limits, &PodLoad::of(&at_work), recent, &demand)
        {
            tracing::info!(limit = q.limit.reason(), message = %q.message, "run queued");
            return Ok(Err(q));
        }
        let mut names = Vec::new();
        for (p, objects) in missing {
            names.push(self.create_pod(p, objects).await?);
        }
        if new_run {
            ledger.record(&self.id.namespace, now);
        }
        Ok(Ok(names))
    }
}
