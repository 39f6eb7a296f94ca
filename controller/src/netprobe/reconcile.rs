//! The reconcile of one NetProbe: what it needs ([`Context`]), how it fails ([`ReconcileError`]),
//! and the steps of a run that finish it and write its status (its start is in `start.rs`, its
//! progress in `progress.rs`).

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::Recorder;
use kube::{Api, Client, Resource, ResourceExt};
use netdiag_crds::{NetProbe, NetProbeStatus, NodeRun};
use netdiag_model::PlanRole;
use tracing::Instrument;

use crate::agents::collect::CollectError;
use crate::agents::pod::{self, AgentSettings, PodError, ProbeRef};
use crate::netprobe::admission::Limits;
use crate::netprobe::limiter::Limiter;
use crate::netprobe::node_source::NodeSourcePolicy;
use crate::netprobe::resolve::ResolveError;
use crate::netprobe::schedule::{self, Next};
use crate::netprobe::spec::ValidSpec;
use crate::netprobe::status::{self, Failure, StatusInput};
use crate::runtime::events;
use crate::runtime::metrics::Metrics;

/// Time the controller allows beyond the probe's timeout before calling a pod stuck, so the
/// pod's own DeadlineExceeded (activeDeadlineSeconds) is seen first.
pub const DEADLINE_GRACE_SECONDS: i64 = 15;

/// What the controller was told at start-up.
#[derive(Clone, Debug)]
pub struct Settings {
    pub agent: AgentSettings,
    /// The cluster's DNS domain, for a Service's cluster-local name.
    pub cluster_domain: String,
    /// The limits on agent pods and runs.
    pub limits: Limits,
    /// The namespaces whose NetProbes may start from a node (`--node-source-namespaces`).
    pub node_sources: NodeSourcePolicy,
}

/// Everything a reconcile needs.
pub struct Context {
    pub client: Client,
    pub settings: Settings,
    pub recorder: Recorder,
    pub metrics: Metrics,
    /// Admission against `settings.limits`, shared by every reconcile.
    pub limiter: Limiter,
}

impl Context {
    /// A context for `settings`, with a limiter on its limits.
    pub fn new(client: Client, settings: Settings, recorder: Recorder, metrics: Metrics) -> Self {
        Context {
            limiter: Limiter::new(settings.limits),
            client,
            settings,
            recorder,
            metrics,
        }
    }
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
    #[error("counting the agent pods at work for the limits failed: {source}; retrying")]
    CountAgentPods {
        #[source]
        source: kube::Error,
    },
    #[error("deleting agent pod {pod} failed: {source}")]
    DeletePod {
        pod: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "writing the plan ConfigMap {config_map} failed: {source}; check the controller's RBAC on configmaps in its namespace"
    )]
    CreatePlan {
        config_map: String,
        #[source]
        source: kube::Error,
    },
    #[error("deleting the plan ConfigMap {config_map} failed: {source}")]
    DeletePlan {
        config_map: String,
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
            ReconcileError::CountAgentPods { .. } => "CountAgentPods",
            ReconcileError::DeletePod { .. } => "DeletePod",
            ReconcileError::CreatePlan { .. } => "CreatePlan",
            ReconcileError::DeletePlan { .. } => "DeletePlan",
            ReconcileError::PatchStatus { .. } => "PatchStatus",
            ReconcileError::DeleteProbe { .. } => "DeleteProbe",
        }
    }
}

/// Retry a failed reconcile after a pause; the error is counted by category.
pub fn error_policy(probe: Arc<NetProbe>, err: &ReconcileError, ctx: Arc<Context>) -> Action {
    retry_after_error(&ctx, &probe.name_any(), err.category(), err)
}

/// What every reconcile error gets, NetProbe or NodeInspection: counted by its category,
/// logged with the object's name, retried after a pause.
pub fn retry_after_error(
    ctx: &Context,
    object: &str,
    category: &'static str,
    err: &dyn std::fmt::Display,
) -> Action {
    ctx.metrics.reconcile_error(category);
    tracing::warn!(object, error = %err, "reconcile failed; retrying in 15s");
    Action::requeue(Duration::from_secs(15))
}

/// One reconcile's view of its probe.
pub(super) struct Run<'a> {
    pub(super) ctx: &'a Context,
    pub(super) probe: &'a NetProbe,
    pub(super) id: ProbeRef,
    pub(super) status: NetProbeStatus,
    pub(super) now: Timestamp,
    pub(super) pods: Api<Pod>,
    /// The agent pods' plan ConfigMaps, in the same namespace.
    pub(super) config_maps: Api<ConfigMap>,
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
        config_maps: Api::namespaced(ctx.client.clone(), &ctx.settings.agent.namespace),
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
    pub(super) fn key(&self) -> String {
        format!("{}/{}", self.id.namespace, self.id.name)
    }

    pub(super) fn input(&self) -> StatusInput<'_> {
        StatusInput {
            previous: &self.status,
            generation: self.id.generation,
            target: self.probe.spec.target.display(&self.id.namespace),
            now: self.now,
        }
    }

    pub(super) fn source_display(&self) -> String {
        self.probe.spec.source.path_name(&self.id.namespace)
    }

    pub(super) async fn expire(&self) -> Result<Action, ReconcileError> {
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
    pub(super) async fn validate(
        &self,
        start: Option<Timestamp>,
    ) -> Result<Result<ValidSpec, Action>, ReconcileError> {
        match ValidSpec::new(&self.probe.spec) {
            Ok(v) => Ok(Ok(v)),
            Err(e) => {
                let failure = Failure::invalid_spec(e.to_string());
                self.fail(&failure, Vec::new(), start, &[]).await?;
                // Only a spec change can fix this.
                Ok(Err(Action::await_change()))
            }
        }
    }

    pub(super) async fn apply(&self, next: &NetProbeStatus) -> Result<(), ReconcileError> {
        apply_status(&self.ctx.client, &self.id.namespace, &self.id.name, next).await?;
        let evs = events::transition(&self.status, next);
        events::publish(&self.ctx.recorder, &self.probe.object_ref(&()), &evs).await;
        Ok(())
    }

    pub(super) fn after_finish(&self) -> Action {
        match schedule::after_finish(&self.probe.spec) {
            Some(d) => Action::requeue(d),
            None => Action::await_change(),
        }
    }

    /// Finish the run as failed: status, metrics, then delete the run's pods.
    pub(super) async fn fail(
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
pub(super) async fn apply_status(
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

/// The role label of an agent pod.
pub fn role_of(pod: &Pod) -> Option<PlanRole> {
    match pod.labels().get(pod::ROLE_LABEL).map(String::as_str) {
        Some("source") => Some(PlanRole::Source),
        Some("endpoint") => Some(PlanRole::Endpoint),
        _ => None,
    }
}
