//! The start of a run (part of the reconcile pipeline): resolve, plan, build every missing node
//! run's objects, admit them against the limits (or queue the run), create or adopt the pods,
//! and mark the run Running.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use netdiag_crds::NodeRun;

use super::decide::{self, POLL};
use crate::netprobe::plan::NodePlan;
use netdiag_model::PlanRole;

use super::reconcile::{ReconcileError, Run, role_of};
use crate::agents::collect;
use crate::netprobe::node_source;
use crate::netprobe::plan;
use crate::netprobe::resolve;
use crate::netprobe::status::{self, Failure};

impl Run<'_> {
    /// Start (or restart) the run: resolve, plan, create or adopt the pods, mark it Running.
    pub(super) async fn start(
        &self,
        keep_start: Option<Timestamp>,
    ) -> Result<Action, ReconcileError> {
        let spec = match self.validate(keep_start).await? {
            Ok(s) => s,
            Err(action) => return Ok(action),
        };
        // Before any read: a refused node source reveals nothing about the node either.
        if let Err(e) = self
            .ctx
            .settings
            .node_sources
            .check(&self.id.namespace, &spec)
        {
            let failure = Failure::refused(node_source::NOT_ALLOWED, e.to_string());
            // A run restarted after the flag changed may have left pods behind.
            let existing = match keep_start {
                Some(_) => self.run_pods().await?,
                None => Vec::new(),
            };
            return self.fail_to_start(&failure, keep_start, &existing).await;
        }
        let resolved = match resolve::resolve(
            &self.ctx.client,
            &self.id.namespace,
            &spec,
            &self.ctx.settings.cluster_domain,
        )
        .await
        {
            Ok(r) => r,
            Err(e) if e.is_terminal() => {
                let failure = Failure::unusable_target(e.reason(), e.to_string(), e.reachable());
                // A restarted run may have left pods behind; a fresh one has none to look for.
                let existing = match keep_start {
                    Some(_) => self.run_pods().await?,
                    None => Vec::new(),
                };
                return self.fail_to_start(&failure, keep_start, &existing).await;
            }
            Err(e) => return Err(e.into()),
        };
        let existing = self.run_pods().await?;
        let plans = plan::initial_plans(&spec, &resolved, Some(&self.id));
        let deadline = spec.timeout_seconds();
        // A watching endpoint run must be armed before the source connects: the source pod
        // is created once the watcher's pod is ready (or gone, or late).
        let held = plans.iter().find(|p| p.watches()).is_some_and(|w| {
            let pod = existing.iter().find(|e| role_of(e) == Some(w.role));
            !decide::source_may_start(decide::watcher(pod), self.now, deadline)
        });
        let wanted = |p: &&NodePlan| !(held && p.role == PlanRole::Source);
        // Every missing node run is built before any is created: a plan too large for a
        // ConfigMap fails the run rather than leave half of it started.
        let mut missing = Vec::new();
        for p in plans.iter().filter(wanted) {
            if existing.iter().any(|e| role_of(e) == Some(p.role)) {
                continue;
            }
            match self.objects(p, deadline) {
                Ok(o) => missing.push((p, o)),
                Err(ReconcileError::Pod(e)) => {
                    let failure = Failure::of_run(e.reason(), e.to_string());
                    return self.fail_to_start(&failure, keep_start, &existing).await;
                }
                Err(e) => return Err(e),
            }
        }
        // A new run, not one restarted or adopted: it counts against the namespace's rate.
        let new_run = keep_start.is_none() && existing.is_empty();
        let mut created = Vec::new();
        if !missing.is_empty() {
            match self.admit_and_create(&missing, new_run).await? {
                Ok(names) => created = names,
                Err(q) => {
                    let next = status::queued(&self.input(), q.limit.reason(), &q.message);
                    self.apply(&next).await?;
                    return Ok(Action::requeue(q.retry_after));
                }
            }
        }
        let mut created = created.into_iter();
        let mut start = keep_start.unwrap_or(self.now);
        let mut nodes = Vec::new();
        for p in plans.iter().filter(wanted) {
            let (pod_name, phase) = match existing.iter().find(|e| role_of(e) == Some(p.role)) {
                Some(found) => {
                    // Adopted: the run began when this pod was made.
                    if let Some(t) = found.metadata.creation_timestamp.as_ref() {
                        start = start.min(t.0);
                    }
                    tracing::info!(pod = %found.name_any(), "adopting an existing agent pod");
                    (found.name_any(), collect::pod_outcome(found).phase())
                }
                // `missing` holds the plans without a pod, in this order.
                None => match created.next() {
                    Some(name) => (name, "Pending"),
                    None => continue,
                },
            };
            nodes.push(NodeRun {
                name: p.node.clone(),
                agent_pod: Some(pod_name),
                phase: Some(phase.to_string()),
                message: None,
            });
        }
        let next = status::running(&self.input(), start, nodes);
        if next != self.status {
            self.apply(&next).await?;
        }
        // A held source is looked at again soon: the watcher's readiness is what it waits on
        // (its pod's events wake the reconcile earlier).
        Ok(Action::requeue(if held { decide::ARM_POLL } else { POLL }))
    }

    /// Finish a run that could not start its agents, with the pods a restarted run left.
    async fn fail_to_start(
        &self,
        failure: &Failure,
        keep_start: Option<Timestamp>,
        existing: &[Pod],
    ) -> Result<Action, ReconcileError> {
        self.fail(failure, Vec::new(), keep_start.or(Some(self.now)), existing)
            .await?;
        Ok(self.after_finish())
    }
}
