//! The reconcile: a named pipeline over one NetProbe.
//!
//! validate (pure, `spec`) -> resolve (API reads) -> plan (pure) -> run agents (create or adopt
//! pods) -> collect (pod states, logs) -> merge (pure) -> status (pure, applied server-side) ->
//! clean up (delete the agent pods).
//!
//! It never blocks on an agent: each reconcile looks at the run's pods, acts, and requeues; pod
//! changes wake it up too. It is idempotent: the run's pods are found by label (probe UID,
//! generation, run number) and named deterministically, so a restarted controller adopts them
//! and never starts duplicates.

mod progress;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::api::DynamicObject;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::events::Recorder;
use kube::{Api, Client, Resource, ResourceExt};
use netdiag_crds::{NetProbe, NetProbeStatus, NodeRun, PROBE_LABEL};
use netdiag_model::PlanRole;
use tracing::Instrument;

use crate::collect::{self, CollectError};
use crate::decode::{self, Decoded};
use crate::events;
use crate::metrics::Metrics;
use crate::plan::{self, NodePlan};
use crate::pod::{self, AgentSettings, PodError, ProbeRef};
use crate::resolve::{self, ResolveError};
use crate::schedule::{self, INVALID_SPEC, Next};
use crate::spec::ValidSpec;
use crate::status::{self, Failure, StatusInput};

/// Time the controller allows beyond the probe's timeout before calling a pod stuck, so the
/// pod's own DeadlineExceeded (activeDeadlineSeconds) is seen first.
pub const DEADLINE_GRACE_SECONDS: i64 = 15;
/// How often to look at a run under way when no pod event comes.
const POLL: Duration = Duration::from_secs(5);

/// What the controller was told at start-up.
#[derive(Clone, Debug)]
pub struct Settings {
    pub agent: AgentSettings,
    /// The cluster's DNS domain, for a Service's cluster-local name.
    pub cluster_domain: String,
}

/// Everything a reconcile needs.
pub struct Context {
    pub client: Client,
    pub settings: Settings,
    pub recorder: Recorder,
    pub metrics: Metrics,
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(
        "NetProbe has no {field}: the API server always sets it, so this object did not come from one"
    )]
    MissingMetadata { field: &'static str },
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error(transparent)]
    Pod(#[from] PodError),
    #[error(transparent)]
    Collect(#[from] CollectError),
    #[error("listing the agent pods of NetProbe {probe} failed: {source}")]
    ListPods {
        probe: String,
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
    #[error("applying the status of NetProbe {probe} failed: {source}")]
    PatchStatus {
        probe: String,
        #[source]
        source: kube::Error,
    },
    #[error("deleting NetProbe {probe} after ttlSecondsAfterFinished failed: {source}")]
    DeleteProbe {
        probe: String,
        #[source]
        source: kube::Error,
    },
}

impl ReconcileError {
    /// Static category for the reconcile-errors metric.
    pub fn category(&self) -> &'static str {
        match self {
            ReconcileError::MissingMetadata { .. } => "MissingMetadata",
            ReconcileError::Resolve(e) => e.reason(),
            ReconcileError::Pod(_) => "PodBuild",
            ReconcileError::Collect(e) => e.reason(),
            ReconcileError::ListPods { .. } => "ListPods",
            ReconcileError::CreatePod { .. } => "CreatePod",
            ReconcileError::DeletePod { .. } => "DeletePod",
            ReconcileError::PatchStatus { .. } => "PatchStatus",
            ReconcileError::DeleteProbe { .. } => "DeleteProbe",
        }
    }
}

/// Retry a failed reconcile after a pause; the error is counted by category.
pub fn error_policy(probe: Arc<NetProbe>, err: &ReconcileError, ctx: Arc<Context>) -> Action {
    ctx.metrics.reconcile_error(err.category());
    tracing::warn!(probe = %probe.name_any(), error = %err, "reconcile failed; retrying in 15s");
    Action::requeue(Duration::from_secs(15))
}

/// One reconcile's view of its probe.
struct Run<'a> {
    ctx: &'a Context,
    probe: &'a NetProbe,
    id: ProbeRef,
    status: NetProbeStatus,
    now: Timestamp,
    pods: Api<Pod>,
}

pub async fn reconcile(probe: Arc<NetProbe>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let _timer = ctx.metrics.reconcile_timer();
    let namespace = probe
        .metadata
        .namespace
        .clone()
        .ok_or(ReconcileError::MissingMetadata {
            field: "metadata.namespace",
        })?;
    let name = probe
        .metadata
        .name
        .clone()
        .ok_or(ReconcileError::MissingMetadata {
            field: "metadata.name",
        })?;
    let uid = probe
        .metadata
        .uid
        .clone()
        .ok_or(ReconcileError::MissingMetadata {
            field: "metadata.uid",
        })?;
    let generation = probe
        .metadata
        .generation
        .ok_or(ReconcileError::MissingMetadata {
            field: "metadata.generation",
        })?;
    let status = probe.status.clone().unwrap_or_default();
    let now = Timestamp::now();
    let run = Run {
        ctx: &ctx,
        probe: &probe,
        id: ProbeRef {
            namespace,
            name,
            uid,
            generation,
            run: status.runs.unwrap_or(0) + 1,
        },
        status,
        now,
        pods: Api::namespaced(ctx.client.clone(), &ctx.settings.agent.namespace),
    };
    let span = tracing::info_span!("reconcile", probe = %run.key());
    async {
        match schedule::next(&probe.spec, &run.status, generation, now) {
            Next::Wait(None) => Ok(Action::await_change()),
            Next::Wait(Some(d)) => Ok(Action::requeue(d)),
            Next::Expire => run.expire().await,
            Next::Start => run.start(None).await,
            Next::Continue { start } => run.proceed(start).await,
        }
    }
    .instrument(span)
    .await
}

impl Run<'_> {
    fn key(&self) -> String {
        format!("{}/{}", self.id.namespace, self.id.name)
    }

    fn input(&self) -> StatusInput<'_> {
        StatusInput {
            previous: &self.status,
            generation: self.id.generation,
            target: self.probe.spec.target.display(&self.id.namespace),
            now: self.now,
        }
    }

    fn source_display(&self) -> String {
        format!("{}/{}", self.id.namespace, self.probe.spec.source.pod)
    }

    async fn expire(&self) -> Result<Action, ReconcileError> {
        let api: Api<NetProbe> = Api::namespaced(self.ctx.client.clone(), &self.id.namespace);
        tracing::info!("ttlSecondsAfterFinished has passed: deleting the NetProbe");
        match api.delete(&self.id.name, &DeleteParams::background()).await {
            Ok(_) => Ok(Action::await_change()),
            Err(kube::Error::Api(s)) if s.is_not_found() => Ok(Action::await_change()),
            Err(source) => Err(ReconcileError::DeleteProbe {
                probe: self.key(),
                source,
            }),
        }
    }

    /// Validate, or finish the run as InvalidSpec.
    async fn validate(
        &self,
        start: Option<Timestamp>,
    ) -> Result<Result<ValidSpec, Action>, ReconcileError> {
        match ValidSpec::new(&self.probe.spec) {
            Ok(v) => Ok(Ok(v)),
            Err(e) => {
                let failure = invalid_spec(e.to_string());
                self.fail(&failure, Vec::new(), start, &[]).await?;
                // Only a spec change can fix this.
                Ok(Err(Action::await_change()))
            }
        }
    }

    /// Start (or restart) the run: resolve, plan, create or adopt the pods, mark it Running.
    async fn start(&self, keep_start: Option<Timestamp>) -> Result<Action, ReconcileError> {
        let spec = match self.validate(keep_start).await? {
            Ok(s) => s,
            Err(action) => return Ok(action),
        };
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
                let failure = Failure {
                    reason: e.reason(),
                    message: e.to_string(),
                    reachable: e.reachable(),
                    counts_as_run: true,
                };
                // A restarted run may have left pods behind; a fresh one has none to look for.
                let existing = match keep_start {
                    Some(_) => self.run_pods().await?,
                    None => Vec::new(),
                };
                self.fail(
                    &failure,
                    Vec::new(),
                    keep_start.or(Some(self.now)),
                    &existing,
                )
                .await?;
                return Ok(self.after_finish());
            }
            Err(e) => return Err(e.into()),
        };
        let existing = self.run_pods().await?;
        let plans = plan::initial_plans(&spec, &resolved);
        let deadline = spec.timeout_seconds();
        let mut start = keep_start.unwrap_or(self.now);
        let mut nodes = Vec::new();
        for p in &plans {
            let (pod_name, phase) = match existing.iter().find(|e| role_of(e) == Some(p.role)) {
                Some(found) => {
                    // Adopted: the run began when this pod was made.
                    if let Some(t) = found.metadata.creation_timestamp.as_ref() {
                        start = start.min(t.0);
                    }
                    tracing::info!(pod = %found.name_any(), "adopting an existing agent pod");
                    (found.name_any(), collect::pod_outcome(found).phase())
                }
                None => (self.create_pod(p, deadline).await?, "Pending"),
            };
            nodes.push(NodeRun {
                name: p.node.clone(),
                agent_pod: Some(pod_name),
                phase: Some(phase.to_string()),
                message: None,
            });
        }
        let next = status::running(&self.input(), start, nodes);
        self.apply(&next).await?;
        Ok(Action::requeue(POLL))
    }

    /// Create one agent pod; AlreadyExists means a pod of this very run is there: adopt it.
    async fn create_pod(
        &self,
        p: &NodePlan,
        deadline_seconds: i64,
    ) -> Result<String, ReconcileError> {
        let pod = pod::agent_pod(&self.ctx.settings.agent, &self.id, p, deadline_seconds)?;
        let name = pod.name_any();
        match self.pods.create(&PostParams::default(), &pod).await {
            Ok(_) => {
                tracing::info!(pod = %name, node = %p.node, role = pod::role_str(p.role), "created agent pod");
                Ok(name)
            }
            Err(kube::Error::Api(s)) if s.is_already_exists() => Ok(name),
            Err(source) => Err(ReconcileError::CreatePod { pod: name, source }),
        }
    }

    /// The pods of this probe; those of other generations or runs are deleted on the way.
    async fn run_pods(&self) -> Result<Vec<Pod>, ReconcileError> {
        let lp = ListParams::default().labels(&format!("{PROBE_LABEL}={}", self.id.uid));
        let all = self
            .pods
            .list(&lp)
            .await
            .map_err(|source| ReconcileError::ListPods {
                probe: self.key(),
                source,
            })?
            .items;
        let mut current = Vec::new();
        for p in all {
            if crate::gc::belongs_to_run(&p, self.id.generation, self.id.run) {
                current.push(p);
            } else {
                self.delete_pod(&p.name_any()).await?;
            }
        }
        Ok(current)
    }

    async fn delete_pod(&self, name: &str) -> Result<(), ReconcileError> {
        match self.pods.delete(name, &DeleteParams::background()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.is_not_found() => Ok(()),
            Err(source) => Err(ReconcileError::DeletePod {
                pod: name.to_string(),
                source,
            }),
        }
    }

    async fn apply(&self, next: &NetProbeStatus) -> Result<(), ReconcileError> {
        apply_status(&self.ctx.client, &self.id.namespace, &self.id.name, next).await?;
        let evs = events::transition(&self.status, next);
        events::publish(&self.ctx.recorder, &self.probe.object_ref(&()), &evs).await;
        Ok(())
    }

    fn after_finish(&self) -> Action {
        match schedule::after_finish(&self.probe.spec) {
            Some(d) => Action::requeue(d),
            None => Action::await_change(),
        }
    }

    /// Finish the run as failed: status, metrics, then delete the run's pods.
    async fn fail(
        &self,
        failure: &Failure,
        nodes: Vec<NodeRun>,
        start: Option<Timestamp>,
        pods: &[Pod],
    ) -> Result<(), ReconcileError> {
        let next = status::failed(&self.input(), failure, nodes, start);
        self.apply(&next).await?;
        let result = match failure.reachable {
            Some(false) => "unreachable",
            _ => "failed",
        };
        self.ctx.metrics.run_finished(result);
        self.ctx.metrics.failure(failure.reason, "none");
        for p in pods {
            self.delete_pod(&p.name_any()).await?;
        }
        Ok(())
    }
}

/// Write a NetProbe's status by server-side apply.
async fn apply_status(
    client: &Client,
    namespace: &str,
    name: &str,
    next: &NetProbeStatus,
) -> Result<(), ReconcileError> {
    let api: Api<NetProbe> = Api::namespaced(client.clone(), namespace);
    let body = serde_json::json!({
        "apiVersion": "netdiag.dev/v1alpha1",
        "kind": "NetProbe",
        "status": next,
    });
    api.patch_status(
        name,
        &PatchParams::apply(crate::MANAGER).force(),
        &Patch::Apply(body),
    )
    .await
    .map_err(|source| ReconcileError::PatchStatus {
        probe: format!("{namespace}/{name}"),
        source,
    })?;
    Ok(())
}

/// The reconcile the controller runs: decode the watched object on its own, then reconcile it,
/// or mark it InvalidSpec when its spec does not decode (see [`crate::decode`]).
pub async fn reconcile_object(
    obj: Arc<DynamicObject>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let bad = match decode::decode(&obj) {
        Decoded::Probe(p) => return reconcile(Arc::new(*p), ctx).await,
        Decoded::Undecodable(bad) => bad,
    };
    let _timer = ctx.metrics.reconcile_timer();
    let meta = &obj.metadata;
    let (Some(namespace), Some(name)) = (meta.namespace.as_deref(), meta.name.as_deref()) else {
        return Err(ReconcileError::MissingMetadata {
            field: "metadata.namespace or metadata.name",
        });
    };
    if bad.already_marked {
        return Ok(Action::await_change());
    }
    let generation = meta.generation.ok_or(ReconcileError::MissingMetadata {
        field: "metadata.generation",
    })?;
    tracing::warn!(probe = %format!("{namespace}/{name}"), why = %bad.message, "NetProbe does not decode: marking it InvalidSpec");
    let input = StatusInput {
        previous: &bad.status,
        generation,
        target: bad
            .target
            .clone()
            .unwrap_or_else(|| "<invalid spec>".into()),
        now: Timestamp::now(),
    };
    let failure = invalid_spec(format!(
        "the spec does not decode: {}; fix that field (the CRD in config/crd bounds every field: apply it so the API server refuses such values)",
        bad.message
    ));
    let next = status::failed(&input, &failure, Vec::new(), None);
    apply_status(&ctx.client, namespace, name, &next).await?;
    ctx.metrics.failure(INVALID_SPEC, "none");
    let reference = obj.object_ref(&decode::api_resource());
    let evs = events::transition(&bad.status, &next);
    events::publish(&ctx.recorder, &reference, &evs).await;
    Ok(Action::await_change())
}

/// Retry a failed reconcile of a watched object after a pause (see [`error_policy`]).
pub fn error_policy_object(
    obj: Arc<DynamicObject>,
    err: &ReconcileError,
    ctx: Arc<Context>,
) -> Action {
    ctx.metrics.reconcile_error(err.category());
    tracing::warn!(probe = %obj.name_any(), error = %err, "reconcile failed; retrying in 15s");
    Action::requeue(Duration::from_secs(15))
}

/// The failure of a spec that only a change to it can fix.
fn invalid_spec(message: String) -> Failure {
    Failure {
        reason: INVALID_SPEC,
        message,
        reachable: None,
        counts_as_run: false,
    }
}

/// The role label of an agent pod.
pub fn role_of(pod: &Pod) -> Option<PlanRole> {
    match pod.labels().get(pod::ROLE_LABEL).map(String::as_str) {
        Some("source") => Some(PlanRole::Source),
        Some("endpoint") => Some(PlanRole::Endpoint),
        _ => None,
    }
}
