//! A watching agent pod (an endpoint run on another node than the source's, see
//! [`NodePlan::watches`]): the agent arms its trace of the probe's packets first and then
//! creates a file; the pod's readiness probe looks for that file, and the controller creates the
//! source pod only once this pod is ready ([`crate::netprobe::decide::source_may_start`]). The
//! file lives in a small in-memory emptyDir: the root filesystem stays read-only.

use k8s_openapi::api::core::v1::{
    EmptyDirVolumeSource, ExecAction, Pod, Probe, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::netprobe::plan::NodePlan;

/// Where the watching agent says it is armed.
pub const WATCH_DIR: &str = "/run/netdiag/watch";

/// The armed file in [`WATCH_DIR`].
pub fn armed_file() -> String {
    format!("{WATCH_DIR}/armed")
}

/// Label of a watching pod, so a run under way knows its source waits for it without planning.
pub const WATCH_LABEL: &str = "netdiag.dev/watch";

/// Whether `pod` is a run's watching pod ([`add_watch`] labelled it).
pub fn is_watcher(pod: &Pod) -> bool {
    (pod.metadata.labels.as_ref()).is_some_and(|l| l.get(WATCH_LABEL).is_some_and(|v| v == "true"))
}

/// Make `pod` the watching pod of `node_plan` when its plan watches; other pods stay as they are.
pub fn add_watch(pod: &mut Pod, node_plan: &NodePlan) {
    if !node_plan.watches() {
        return;
    }
    (pod.metadata.labels.get_or_insert_with(Default::default))
        .insert(WATCH_LABEL.to_string(), "true".to_string());
    let Some(spec) = pod.spec.as_mut() else {
        return;
    };
    spec.volumes.get_or_insert_with(Vec::new).push(Volume {
        name: "watch".to_string(),
        empty_dir: Some(EmptyDirVolumeSource {
            medium: Some("Memory".to_string()),
            size_limit: Some(Quantity("1Mi".to_string())),
        }),
        ..Default::default()
    });
    let Some(container) = spec.containers.first_mut() else {
        return;
    };
    let args = container.args.get_or_insert_with(Vec::new);
    args.extend(["--armed-file".to_string(), armed_file()]);
    container
        .volume_mounts
        .get_or_insert_with(Vec::new)
        .push(VolumeMount {
            name: "watch".to_string(),
            mount_path: WATCH_DIR.to_string(),
            ..Default::default()
        });
    container.readiness_probe = Some(Probe {
        exec: Some(ExecAction {
            command: Some(
                ["netdiag-agent", "armed", "--file", &armed_file()]
                    .map(String::from)
                    .to_vec(),
            ),
        }),
        // The source waits on this: look often, from the start.
        period_seconds: Some(1),
        initial_delay_seconds: Some(0),
        failure_threshold: Some(1),
        success_threshold: Some(1),
        ..Default::default()
    });
}
