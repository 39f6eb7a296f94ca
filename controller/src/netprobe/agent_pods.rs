//! The run's agent pods through the API: create (or adopt) one, list the run's own, delete.
//! What a pod looks like is decided purely in [`crate::agents::pod`].

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{DeleteParams, ListParams, PostParams};
use netdiag_crds::PROBE_LABEL;

use super::reconcile::{ReconcileError, Run};
use crate::agents::pod;
use crate::netprobe::plan::NodePlan;

impl Run<'_> {
    /// Create one agent pod; AlreadyExists means a pod of this very run is there: adopt it.
    pub(super) async fn create_pod(
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
    pub(super) async fn run_pods(&self) -> Result<Vec<Pod>, ReconcileError> {
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
            if crate::agents::gc::belongs_to_run(&p, self.id.generation, self.id.run) {
                current.push(p);
            } else {
                self.delete_pod(&p.name_any()).await?;
            }
        }
        Ok(current)
    }

    pub(super) async fn delete_pod(&self, name: &str) -> Result<(), ReconcileError> {
        match self.pods.delete(name, &DeleteParams::background()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.is_not_found() => Ok(()),
            Err(source) => Err(ReconcileError::DeletePod {
                pod: name.to_string(),
                source,
            }),
        }
    }
}
