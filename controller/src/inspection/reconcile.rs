//! One NodeInspection's reconcile, a named pipeline like the NetProbe's: validate (pure) ->
//! resolve (the node, or the Service, its EndpointSlices and the nodes) -> run agents (create
//! one pod per node, or adopt them) -> collect (logs) -> join (pure) -> status (pure, applied
//! server-side) -> clean up (delete the pods). It never blocks on an agent: each reconcile looks
//! at the pods, acts and requeues. Pods are named per (inspection, generation, node), so a
//! restarted controller adopts them; they are owned by the inspection, so deleting it deletes
//! them too.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};
use netdiag_crds::inspection::{InspectionMode, NodeInspectionStatus};
use netdiag_crds::{INSPECTION_LABEL, NodeInspection, NodeRun};
use netdiag_model::inspect::InspectReport;

use super::resolve;
use super::status::{self, Input};
use crate::agents::collect::{self, PodOutcome};
use crate::agents::inspection_pod::{
    INSPECTION_DEADLINE_SECONDS, InspectionRef, inspection_pod, inspection_pod_name,
};
use crate::agents::pod::{GENERATION_LABEL, agent_selector};
use crate::netprobe::admission::{PodLoad, Queued};
use crate::netprobe::limiter::admit_each;
use crate::netprobe::status::parse_time;
use crate::netprobe::{Context, DEADLINE_GRACE_SECONDS};

/// How often a running inspection looks at its pods (pod changes wake it up sooner).
pub const POLL: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum InspectionError {
    #[error(
        "NodeInspection has no {field}: the API server always sets it, so this object did not come from one"
    )]
    MissingMetadata { field: &'static str },
    #[error("reading {what} failed: {source}; retrying")]
    Read {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "creating agent pod {pod} failed: {source}; check the controller's RBAC in its namespace"
    )]
    CreatePod {
        pod: String,
        #[source]
        source: kube::Error,
    },
    #[error("deleting agent pod {pod} failed: {source}")]
    DeletePod {
        pod: String,
        #[source]
        source: kube::Error,
    },
    #[error(transparent)]
    Collect(#[from] collect::CollectError),
    #[error("applying the status of NodeInspection {name} failed: {source}")]
    PatchStatus {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("deleting NodeInspection {name} after ttlSecondsAfterFinished failed: {source}")]
    Delete {
        name: String,
        #[source]
        source: kube::Error,
    },
}

impl InspectionError {
    /// Static category for the reconcile-errors metric.
    pub fn category(&self) -> &'static str {
        match self {
            InspectionError::MissingMetadata { .. } => "MissingMetadata",
            InspectionError::Read { .. } => "InspectionRead",
            InspectionError::CreatePod { .. } => "CreatePod",
            InspectionError::DeletePod { .. } => "DeletePod",
            InspectionError::Collect(e) => e.reason(),
            InspectionError::PatchStatus { .. } => "PatchStatus",
            InspectionError::Delete { .. } => "DeleteInspection",
        }
    }
}

/// Retry a failed reconcile after a pause; the error is counted by category.
pub fn error_policy(i: Arc<NodeInspection>, err: &InspectionError, ctx: Arc<Context>) -> Action {
    crate::netprobe::retry_after_error(&ctx, &i.name_any(), err.category(), err)
}

fn meta<T: Clone>(v: &Option<T>, field: &'static str) -> Result<T, InspectionError> {
    v.clone().ok_or(InspectionError::MissingMetadata { field })
}

/// What is left of `ttlSecondsAfterFinished` for a finished inspection: delete now, wait, or
/// keep it. Pure.
pub fn after_finish(
    ttl: Option<i32>,
    status: &NodeInspectionStatus,
    now: Timestamp,
) -> Option<SignedDuration> {
    let done = status.completion_time.as_deref().and_then(parse_time)?;
    let left = now.duration_until(done + SignedDuration::from_secs(i64::from(ttl?)));
    Some(left.max(SignedDuration::ZERO))
}

pub async fn reconcile(
    insp: Arc<NodeInspection>,
    ctx: Arc<Context>,
) -> Result<Action, InspectionError> {
    let _timer = ctx.metrics.reconcile_timer();
    let id = InspectionRef {
        name: meta(&insp.metadata.name, "metadata.name")?,
        uid: meta(&insp.metadata.uid, "metadata.uid")?,
        generation: meta(&insp.metadata.generation, "metadata.generation")?,
    };
    let previous = insp.status.clone().unwrap_or_default();
    let now = Timestamp::now();
    let this_generation = previous.observed_generation == Some(id.generation);
    if this_generation && previous.phase.is_some_and(|p| p.is_finished()) {
        return expire_or_wait(
            &ctx,
            &id,
            insp.spec.ttl_seconds_after_finished,
            &previous,
            now,
        )
        .await;
    }
    let start = (this_generation)
        .then(|| previous.start_time.as_deref().and_then(parse_time))
        .flatten()
        .unwrap_or(now);
    let input = Input {
        previous: &previous,
        generation: id.generation,
        now,
        start,
    };
    let mode = match insp.spec.mode() {
        Ok(m) => m,
        Err(e) => {
            let next = status::failed(&input, None, "InvalidSpec", &e.to_string(), Vec::new());
            apply(&ctx, &id.name, &next).await?;
            return Ok(Action::await_change());
        }
    };
    let target = match resolve::resolve(&ctx.client, mode).await? {
        Ok(t) => t,
        Err(unusable) => {
            let next = status::failed(&input, None, unusable.reason, &unusable.message, Vec::new());
            apply(&ctx, &id.name, &next).await?;
            return Ok(Action::await_change());
        }
    };
    let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ctx.settings.agent.namespace);
    let selector = format!(
        "{INSPECTION_LABEL}={},{GENERATION_LABEL}={}",
        id.uid, id.generation
    );
    let pods = pods_api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|source| InspectionError::Read {
            what: format!("the agent pods of NodeInspection {}", id.name),
            source,
        })?
        .items;
    let (created, queued) = create_missing(&ctx, &pods_api, &id, &target, &pods).await?;
    let runs = |outcome: &dyn Fn(usize) -> (Option<&'static str>, Option<String>)| -> Vec<NodeRun> {
        (target.nodes.iter().enumerate())
            .map(|(i, node)| {
                let (phase, message) = outcome(i);
                NodeRun {
                    name: node.clone(),
                    agent_pod: Some(inspection_pod_name(&id, i)),
                    phase: phase.map(str::to_string),
                    message,
                }
            })
            .collect()
    };
    if !created.is_empty() || queued.is_some() {
        let has_pod = |i: usize| {
            let name = inspection_pod_name(&id, i);
            created.contains(&i) || pods.iter().any(|p| p.name_any() == name)
        };
        let message = queued.as_ref().map(|q| q.message.clone());
        let nodes = runs(&|i| {
            if has_pod(i) {
                (Some("Pending"), None)
            } else {
                (Some("Queued"), message.clone())
            }
        });
        let next = status::running(&input, target.display(), nodes);
        apply(&ctx, &id.name, &next).await?;
        let after = queued.map_or(POLL, |q| q.retry_after);
        return Ok(Action::requeue(after));
    }
    let outcomes: Vec<PodOutcome> = (0..target.nodes.len())
        .map(|i| {
            let name = inspection_pod_name(&id, i);
            (pods.iter().find(|p| p.name_any() == name))
                .map(collect::pod_outcome)
                .unwrap_or(PodOutcome::InProgress {
                    phase: "Pending",
                    why: None,
                })
        })
        .collect();
    let deadline =
        start + SignedDuration::from_secs(INSPECTION_DEADLINE_SECONDS + DEADLINE_GRACE_SECONDS);
    let waiting = outcomes
        .iter()
        .any(|o| matches!(o, PodOutcome::InProgress { .. }));
    if waiting && now < deadline {
        return Ok(Action::requeue(POLL));
    }
    // Collect: every agent finished (or the deadline passed).
    let mut reports: Vec<InspectReport> = Vec::new();
    let mut messages: Vec<Option<String>> = Vec::new();
    for (i, outcome) in outcomes.iter().enumerate() {
        let name = inspection_pod_name(&id, i);
        messages.push(match outcome {
            PodOutcome::Succeeded => {
                let log = collect::read_log(&pods_api, &name).await?;
                match collect::parse_last_object::<InspectReport>(&name, &log) {
                    Ok(r) => {
                        reports.push(r);
                        None
                    }
                    Err(e) => Some(e.to_string()),
                }
            }
            PodOutcome::Failed { message, .. } => Some(message.clone()),
            PodOutcome::InProgress { phase, .. } => Some(format!(
                "the agent was still {phase} after {INSPECTION_DEADLINE_SECONDS} s"
            )),
        });
    }
    let nodes = runs(&|i| (Some(outcomes[i].phase()), messages[i].clone()));
    let next = match mode {
        InspectionMode::Node(node) => match reports.pop() {
            Some(mut report) => {
                let on_node = resolve::pods_on(&ctx.client, node).await?;
                super::join::join_pods(&mut report, &on_node);
                status::inspected_node(&input, report, nodes)
            }
            None => {
                let why = messages
                    .iter()
                    .flatten()
                    .next()
                    .cloned()
                    .unwrap_or_default();
                status::failed(
                    &input,
                    None,
                    "AgentFailed",
                    &format!("the agent on {node} gave no inspection: {why}"),
                    nodes,
                )
            }
        },
        InspectionMode::Service(_) => {
            let compared = (reports.iter())
                .map(|r| super::join::compare_service(r, &target.expected))
                .collect();
            status::inspected_service(
                &input,
                target.display().unwrap_or_default(),
                compared,
                nodes,
            )
        }
    };
    apply(&ctx, &id.name, &next).await?;
    for p in &pods {
        let name = p.name_any();
        match pods_api.delete(&name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.is_not_found() => {}
            Err(source) => return Err(InspectionError::DeletePod { pod: name, source }),
        }
    }
    Ok(ttl_action(insp.spec.ttl_seconds_after_finished, &next, now))
}

fn ttl_action(ttl: Option<i32>, status: &NodeInspectionStatus, now: Timestamp) -> Action {
    match after_finish(ttl, status, now) {
        Some(left) => Action::requeue(left.unsigned_abs().max(Duration::from_secs(1))),
        None => Action::await_change(),
    }
}

async fn expire_or_wait(
    ctx: &Context,
    id: &InspectionRef,
    ttl: Option<i32>,
    status: &NodeInspectionStatus,
    now: Timestamp,
) -> Result<Action, InspectionError> {
    match after_finish(ttl, status, now) {
        Some(left) if left.is_zero() => {
            let api: Api<NodeInspection> = Api::all(ctx.client.clone());
            match api.delete(&id.name, &DeleteParams::background()).await {
                Ok(_) => Ok(Action::await_change()),
                Err(kube::Error::Api(s)) if s.is_not_found() => Ok(Action::await_change()),
                Err(source) => Err(InspectionError::Delete {
                    name: id.name.clone(),
                    source,
                }),
            }
        }
        _ => Ok(ttl_action(ttl, status, now)),
    }
}

/// Write the status by server-side apply.
async fn apply(
    ctx: &Context,
    name: &str,
    next: &NodeInspectionStatus,
) -> Result<(), InspectionError> {
    let api: Api<NodeInspection> = Api::all(ctx.client.clone());
    let body = serde_json::json!({
        "apiVersion": "netdiag.dev/v1alpha1",
        "kind": "NodeInspection",
        "status": next,
    });
    api.patch_status(
        name,
        &PatchParams::apply(crate::MANAGER).force(),
        &Patch::Apply(body),
    )
    .await
    .map_err(|source| InspectionError::PatchStatus {
        name: name.to_string(),
        source,
    })?;
    Ok(())
}

/// Create the pods of the nodes that have none yet, in node order, as far as the limits on agent
/// pods admit them (under the limiter's lock, like a NetProbe run's). Returns the indices of the
/// nodes whose pods were created, and why the others wait.
async fn create_missing(
    ctx: &Context,
    pods_api: &Api<Pod>,
    id: &InspectionRef,
    target: &resolve::Resolved,
    pods: &[Pod],
) -> Result<(Vec<usize>, Option<Queued>), InspectionError> {
    let missing: Vec<(usize, &String)> = (target.nodes.iter().enumerate())
        .filter(|(i, _)| {
            let name = inspection_pod_name(id, *i);
            !pods.iter().any(|p| p.name_any() == name)
        })
        .collect();
    if missing.is_empty() {
        return Ok((Vec::new(), None));
    }
    let _held = ctx.limiter.hold().await;
    let at_work = pods_api
        .list(&ListParams::default().labels(&agent_selector()))
        .await
        .map_err(|source| InspectionError::Read {
            what: "the agent pods at work (for the limits)".into(),
            source,
        })?
        .items;
    let nodes: Vec<String> = missing.iter().map(|(_, n)| (*n).clone()).collect();
    let (admitted, queued) = admit_each(&ctx.limiter.limits, &mut PodLoad::of(&at_work), &nodes);
    for (i, node) in missing.iter().take(admitted) {
        let pod = inspection_pod(&ctx.settings.agent, id, node, *i, &target.addresses());
        match pods_api.create(&PostParams::default(), &pod).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.is_already_exists() => {}
            Err(source) => {
                let pod = inspection_pod_name(id, *i);
                return Err(InspectionError::CreatePod { pod, source });
            }
        }
    }
    Ok((
        missing.iter().take(admitted).map(|(i, _)| *i).collect(),
        queued,
    ))
}
