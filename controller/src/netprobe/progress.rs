//! A run under way (part of the reconcile pipeline): collect the agents' states and reports,
//! start the endpoint run when the source report names the endpoint, merge, write the status
//! and clean up.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use netdiag_crds::{NodeRun, TargetRef};
use netdiag_model::merge::merge;
use netdiag_model::{NodeReport, PlanRole};

use super::decide::{self, AgentState, POLL, RunFacts, Step, decide};
use super::reconcile::{DEADLINE_GRACE_SECONDS, ReconcileError, Run, role_of};
use crate::agents::collect::{self, CollectError, PodOutcome};
use crate::agents::pod;
use crate::agents::watch_pod;
use crate::netprobe::plan;
use crate::netprobe::redact;
use crate::netprobe::resolve;
use crate::netprobe::spec::ValidSpec;
use crate::netprobe::status::{self, Failure};

impl Run<'_> {
    /// A run under way: look at its pods, [`decide`] the next step, take it.
    pub(super) async fn proceed(&self, start: Timestamp) -> Result<Action, ReconcileError> {
        let spec = match self.validate(Some(start)).await? {
            Ok(s) => s,
            Err(action) => return Ok(action),
        };
        let pods = self.run_pods().await?;
        let timeout = spec.timeout_seconds();
        let source = pods.iter().find(|p| role_of(p) == Some(PlanRole::Source));
        let outcomes: Vec<(&Pod, PodOutcome)> = source
            .map(|s| ordered(&pods, s))
            .unwrap_or_default()
            .into_iter()
            .map(|p| (p, collect::pod_outcome(p)))
            .collect();
        let agents: Vec<AgentState> = outcomes
            .iter()
            .map(|(p, o)| AgentState {
                pod: p.name_any(),
                outcome: o.clone(),
            })
            .collect();
        // A source held back for its watcher: nothing to resolve or plan until the watcher is
        // armed (its pod ready), gone, or late; only its phase may need writing.
        if source.is_none()
            && let Some(w) = pods.iter().find(|p| watch_pod::is_watcher(p))
            && !decide::source_may_start(decide::watcher(Some(w)), self.now, timeout)
        {
            let nodes = node_runs(&[(w, collect::pod_outcome(w))]);
            if nodes != self.status.nodes {
                let next = status::running(&self.input(), start, nodes);
                self.apply(&next).await?;
            }
            return Ok(Action::requeue(decide::ARM_POLL));
        }
        let facts = RunFacts {
            now: self.now,
            deadline: start + jiff::SignedDuration::from_secs(timeout + DEADLINE_GRACE_SECONDS),
            timeout_seconds: timeout,
            agents: &agents,
        };
        let source = match (decide(&facts), source) {
            (Step::Recreate, _) | (_, None) => return self.start(Some(start)).await,
            (Step::Fail(failure), _) => {
                return self.finish_failed(&failure, &outcomes, start, &pods).await;
            }
            (Step::Wait(after), _) => {
                let nodes = node_runs(&outcomes);
                if nodes != self.status.nodes {
                    let next = status::running(&self.input(), start, nodes);
                    self.apply(&next).await?;
                }
                return Ok(Action::requeue(after));
            }
            (Step::SourceFailed { reason, message }, Some(source)) => {
                // Like `kubectl logs --tail`: the agent's last words say why.
                let detail = collect::read_log(&self.pods, &source.name_any())
                    .await
                    .map(|l| collect::failure_line(&l))
                    .unwrap_or_default();
                let message = if detail.is_empty() {
                    message
                } else {
                    format!("{message}; {detail}")
                };
                let failure = Failure::of_run(reason, message);
                return self.finish_failed(&failure, &outcomes, start, &pods).await;
            }
            (Step::Collect, Some(source)) => source,
        };
        let source_report = match collect::read_report(&self.pods, &source.name_any()).await {
            Ok(r) => r,
            Err(CollectError::Log { pod, source }) => {
                return Err(CollectError::Log { pod, source }.into());
            }
            Err(e) => {
                let failure = Failure::of_run(e.reason(), e.to_string());
                return self.finish_failed(&failure, &outcomes, start, &pods).await;
            }
        };
        self.observe_pod(source, PlanRole::Source);
        let endpoint_pod = pods.iter().find(|p| role_of(p) == Some(PlanRole::Endpoint));
        let mut skipped = None;
        if endpoint_pod.is_none()
            && matches!(self.probe.spec.target.kind(), Some(TargetRef::Service(_)))
        {
            match self
                .second_step(&spec, &source_report, &facts, start, &outcomes)
                .await?
            {
                Ok(action) => return Ok(action),
                Err(note) => skipped = note,
            }
        }
        let mut reports = vec![source_report];
        let mut nodes = node_runs(&outcomes);
        nodes.extend(skipped);
        if let Some(ep) = endpoint_pod {
            self.observe_pod(ep, PlanRole::Endpoint);
            match collect::pod_outcome(ep) {
                PodOutcome::Succeeded => {
                    match collect::read_report(&self.pods, &ep.name_any()).await {
                        Ok(r) => reports.push(r),
                        Err(CollectError::Log { pod, source }) => {
                            return Err(CollectError::Log { pod, source }.into());
                        }
                        Err(e) => note(&mut nodes, &ep.name_any(), e.to_string()),
                    }
                }
                PodOutcome::Failed { message, .. } => note(&mut nodes, &ep.name_any(), message),
                PodOutcome::InProgress { .. } => {}
            }
        }
        self.complete(&reports, nodes, start, &pods).await
    }

    /// Finish the run failed, with the states of its pods, and clean them up.
    async fn finish_failed(
        &self,
        failure: &Failure,
        outcomes: &[(&Pod, PodOutcome)],
        start: Timestamp,
        pods: &[Pod],
    ) -> Result<Action, ReconcileError> {
        self.fail(failure, node_runs(outcomes), Some(start), pods)
            .await?;
        Ok(self.after_finish())
    }

    /// Plan and start the endpoint run once the source report names the endpoint; while a
    /// limit queues it, wait (until the deadline). `Err` when the run completes without it, with
    /// the endpoint node's note when a limit kept it from starting.
    async fn second_step(
        &self,
        spec: &ValidSpec,
        source_report: &NodeReport,
        facts: &RunFacts<'_>,
        start: Timestamp,
        outcomes: &[(&Pod, PodOutcome)],
    ) -> Result<Result<Action, Option<NodeRun>>, ReconcileError> {
        let resolved = match resolve::resolve(
            &self.ctx.client,
            &self.id.namespace,
            spec,
            &self.ctx.settings.cluster_domain,
        )
        .await
        {
            Ok(r) => r,
            // The Service changed under the run: complete with the source node's answer.
            Err(e) if e.is_terminal() => return Ok(Err(None)),
            Err(e) => return Err(e.into()),
        };
        let p = match plan::endpoint_step(spec, &resolved, source_report) {
            Ok(p) => p,
            Err(why) => {
                tracing::debug!(why = why.as_str(), "no endpoint run");
                return Ok(Err(None));
            }
        };
        let used = self.now.duration_since(start).as_secs();
        let objects = self.objects(&p, (facts.timeout_seconds - used).max(1))?;
        let mut nodes = node_runs(outcomes);
        let queued = match self.admit_and_create(&[(&p, objects)], false).await? {
            Ok(names) => {
                nodes.extend(names.into_iter().map(|name| NodeRun {
                    name: p.node.clone(),
                    agent_pod: Some(name),
                    phase: Some("Pending".into()),
                    message: None,
                }));
                None
            }
            Err(q) => Some(q),
        };
        let note = queued.as_ref().map(|q| NodeRun {
            name: p.node.clone(),
            agent_pod: None,
            phase: Some("Queued".into()),
            message: Some(q.message.clone()),
        });
        let wait = match &queued {
            None => POLL,
            Some(q) => match Duration::try_from(facts.deadline.duration_since(self.now)) {
                // Wait for a place while the run has time; then answer with the source alone.
                Ok(left) if !left.is_zero() => q.retry_after.min(left),
                _ => return Ok(Err(note)),
            },
        };
        nodes.extend(note);
        let next = status::running(&self.input(), start, nodes);
        if queued.is_none() || next.nodes != self.status.nodes {
            self.apply(&next).await?;
        }
        Ok(Ok(Action::requeue(wait)))
    }

    fn observe_pod(&self, pod: &Pod, role: PlanRole) {
        if let Some(created) = pod.metadata.creation_timestamp.as_ref() {
            let secs = self.now.duration_since(created.0).as_secs_f64().max(0.0);
            self.ctx.metrics.agent_pod_ran(pod::role_str(role), secs);
        }
    }

    /// Merge, write the status, then delete the run's pods.
    async fn complete(
        &self,
        reports: &[NodeReport],
        nodes: Vec<NodeRun>,
        start: Timestamp,
        pods: &[Pod],
    ) -> Result<Action, ReconcileError> {
        let target = self.probe.spec.target.display(&self.id.namespace);
        // An address is admitted without object rights: it must not reveal other namespaces.
        let reports = match self.probe.spec.target.kind() {
            Some(TargetRef::Address(_)) => redact::foreign_services(reports, &self.id.namespace),
            _ => reports.to_vec(),
        };
        let path = merge(&reports, &self.source_display(), &target);
        let next = status::completed(&self.input(), &path, nodes, Some(start));
        self.apply(&next).await?;
        let result = match next.condition(status::REACHABLE).map(|c| c.status.as_str()) {
            Some("True") => "reachable",
            Some("False") => "unreachable",
            _ => "unknown",
        };
        self.ctx.metrics.run_finished(result);
        if let Some(f) = &path.first_failure {
            self.ctx.metrics.failure("PathFailure", f.hop.label());
        }
        for p in pods {
            self.delete_pod(&p.name_any()).await?;
        }
        Ok(self.after_finish())
    }
}

/// The source pod first, then the others.
fn ordered<'a>(pods: &'a [Pod], source: &'a Pod) -> Vec<&'a Pod> {
    let mut out = vec![source];
    out.extend(pods.iter().filter(|p| p.name_any() != source.name_any()));
    out
}

fn node_runs(outcomes: &[(&Pod, PodOutcome)]) -> Vec<NodeRun> {
    outcomes
        .iter()
        .map(|(p, o)| NodeRun {
            name: p
                .spec
                .as_ref()
                .and_then(|s| s.node_name.clone())
                .unwrap_or_default(),
            agent_pod: Some(p.name_any()),
            phase: Some(o.phase().to_string()),
            message: match o {
                PodOutcome::InProgress {
                    why: Some((_, m)), ..
                } => Some(m.clone()),
                PodOutcome::Failed { message, .. } => Some(message.clone()),
                _ => None,
            },
        })
        .collect()
}

fn note(nodes: &mut [NodeRun], pod: &str, message: String) {
    if let Some(n) = nodes
        .iter_mut()
        .find(|n| n.agent_pod.as_deref() == Some(pod))
    {
        n.message = Some(message);
    }
}
