//! Clean-up of agent pods and their plan ConfigMaps that outlived their purpose: those of a
//! NetProbe that is gone (its owner reference cannot do this across namespaces), of an older
//! generation, or of a run that already finished. The decision is pure ([`is_garbage`]);
//! [`sweep`] lists and deletes.

use std::collections::HashMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{DeleteParams, DynamicObject, ListParams};
use kube::runtime::reflector::Store;
use kube::{Api, Resource, ResourceExt};
use netdiag_crds::{PROBE_LABEL, Phase};
use serde::de::DeserializeOwned;

use crate::agents::pod::{
    GENERATION_LABEL, PROBE_NAME_ANNOTATION, PROBE_NAMESPACE_ANNOTATION, RUN_LABEL, agent_selector,
};

/// How often the sweep runs.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

fn label_i64(obj: &impl ResourceExt, key: &str) -> Option<i64> {
    obj.labels().get(key).and_then(|v| v.parse().ok())
}

/// Whether an agent pod (or its plan ConfigMap) serves this generation's current run.
pub fn belongs_to_run(pod: &impl ResourceExt, generation: i64, run: i64) -> bool {
    label_i64(pod, GENERATION_LABEL) == Some(generation) && label_i64(pod, RUN_LABEL) == Some(run)
}

/// What the sweep knows about a live NetProbe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveProbe {
    pub uid: String,
    pub generation: i64,
    /// Finished runs (`status.runs`).
    pub runs: i64,
    /// A run is under way.
    pub running: bool,
}

/// Why an agent pod or plan ConfigMap is garbage, or `None` when it still serves a run (pure).
pub fn is_garbage(pod: &impl ResourceExt, probe: Option<&LiveProbe>) -> Option<&'static str> {
    let Some(probe) = probe else {
        return Some("NetProbeGone");
    };
    if pod.labels().get(PROBE_LABEL) != Some(&probe.uid) {
        return Some("NetProbeReplaced");
    }
    let generation = label_i64(pod, GENERATION_LABEL);
    let run = label_i64(pod, RUN_LABEL);
    if generation.is_none_or(|g| g < probe.generation) {
        return Some("OldGeneration");
    }
    // A pod of a finished run (its number is counted in status.runs) has been read already.
    if run.is_none_or(|r| r <= probe.runs) && !probe.running {
        return Some("RunFinished");
    }
    None
}

/// What the sweep needs of a watched NetProbe, read from the raw object: the watch keeps
/// NetProbes undecoded (see [`crate::netprobe::decode`]), and a probe whose spec does not decode still
/// owns its pods.
pub fn live_probe(p: &DynamicObject) -> Option<LiveProbe> {
    let status = p.data.get("status");
    let phase = status
        .and_then(|s| s.get("phase"))
        .and_then(|ph| serde_json::from_value::<Phase>(ph.clone()).ok());
    Some(LiveProbe {
        uid: p.metadata.uid.clone()?,
        generation: p.metadata.generation.unwrap_or(0),
        runs: status
            .and_then(|s| s.get("runs"))
            .and_then(|r| r.as_i64())
            .unwrap_or(0),
        running: phase.is_some_and(|ph| !ph.is_finished()),
    })
}

fn live_probes(store: &Store<DynamicObject>) -> HashMap<(String, String), LiveProbe> {
    store
        .state()
        .iter()
        .filter_map(|p| {
            Some((
                (p.metadata.namespace.clone()?, p.metadata.name.clone()?),
                live_probe(p)?,
            ))
        })
        .collect()
}

/// Delete the objects of one kind that [`is_garbage`] names. Errors are logged; the next sweep
/// tries again.
async fn sweep_kind<K>(api: &Api<K>, what: &str, live: &HashMap<(String, String), LiveProbe>)
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    // A NodeInspection's pods are its own (owner references, its reconcile): not swept here.
    let selector = format!("{},!{}", agent_selector(), netdiag_crds::INSPECTION_LABEL);
    let list = match api.list(&ListParams::default().labels(&selector)).await {
        Ok(l) => l.items,
        Err(e) => {
            tracing::warn!(what, error = %e, "listing leftovers for clean-up failed");
            return;
        }
    };
    for obj in list {
        let key = (
            obj.annotations()
                .get(PROBE_NAMESPACE_ANNOTATION)
                .cloned()
                .unwrap_or_default(),
            obj.annotations()
                .get(PROBE_NAME_ANNOTATION)
                .cloned()
                .unwrap_or_default(),
        );
        if let Some(why) = is_garbage(&obj, live.get(&key)) {
            let name = obj.name_any();
            tracing::info!(what, name = %name, why, "deleting a leftover");
            if let Err(e) = api.delete(&name, &DeleteParams::background()).await {
                tracing::warn!(what, name = %name, error = %e, "deleting a leftover failed");
            }
        }
    }
}

/// One sweep over the agent pods and plan ConfigMaps in the controller's namespace.
pub async fn sweep(pods: &Api<Pod>, config_maps: &Api<ConfigMap>, store: &Store<DynamicObject>) {
    let live = live_probes(store);
    sweep_kind(pods, "agent pod", &live).await;
    sweep_kind(config_maps, "plan ConfigMap", &live).await;
}

/// Sweep every [`SWEEP_INTERVAL`] once the NetProbe cache is filled, until `shutdown` fires.
pub async fn run(
    pods: Api<Pod>,
    config_maps: Api<ConfigMap>,
    store: Store<DynamicObject>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    tokio::select! {
        _ = &mut shutdown => return,
        r = store.wait_until_ready() => if r.is_err() { return },
    }
    loop {
        sweep(&pods, &config_maps, &store).await;
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(SWEEP_INTERVAL) => {}
        }
    }
}
