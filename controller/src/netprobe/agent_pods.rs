//! The run's agent pods through the API: create (or adopt) one with its plan ConfigMap, list the
//! run's own, delete both. What they look like is decided purely in [`crate::agents::pod`].

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{DeleteParams, ListParams, PostParams};
use netdiag_crds::PROBE_LABEL;

use super::reconcile::{ReconcileError, Run};
use crate::agents::pod::{self, AgentObjects};
use crate::netprobe::plan::NodePlan;

impl Run<'_> {
    /// The ConfigMap and pod of one node run (pure; refused when the plan is too large).
    pub(super) fn objects(
        &self,
        p: &NodePlan,
        deadline_seconds: i64,
    ) -> Result<AgentObjects, ReconcileError> {
        Ok(pod::agent_objects(
            &self.ctx.settings.agent,
            &self.id,
            p,
            deadline_seconds,
        )?)
    }

    /// Create one node run: its plan ConfigMap first (the pod does not start without it), then
    /// the pod. A ConfigMap already there is one of this very run whose pod was never made, or
    /// was deleted: it is replaced, so the pod reads the plan made now. A pod already there is
    /// this very run's: adopt it.
    pub(super) async fn create_pod(
        &self,
        p: &NodePlan,
        objects: &AgentObjects,
    ) -> Result<String, ReconcileError> {
        let name = objects.pod.name_any();
        let cm = &objects.config_map;
        let cm_error = |source| ReconcileError::CreatePlan {
            config_map: name.clone(),
            source,
        };
        match self.config_maps.create(&PostParams::default(), cm).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.is_already_exists() => {
                // ConfigMaps allow an update without a resourceVersion: the last writer wins,
                // and only this run writes this name.
                self.config_maps
                    .replace(&name, &PostParams::default(), cm)
                    .await
                    .map_err(cm_error)?;
            }
            Err(source) => return Err(cm_error(source)),
        }
        match self.pods.create(&PostParams::default(), &objects.pod).await {
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

    /// Delete a node run's pod and its plan ConfigMap (same name); either may be gone already.
    pub(super) async fn delete_pod(&self, name: &str) -> Result<(), ReconcileError> {
        let dp = DeleteParams::background();
        match self.pods.delete(name, &dp).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.is_not_found() => {}
            Err(source) => {
                return Err(ReconcileError::DeletePod {
                    pod: name.to_string(),
                    source,
                });
            }
        }
        match self.config_maps.delete(name, &dp).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.is_not_found() => Ok(()),
            Err(source) => Err(ReconcileError::DeletePlan {
                config_map: name.to_string(),
                source,
            }),
        }
    }
}
