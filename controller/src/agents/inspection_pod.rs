//! The agent pod of a NodeInspection (pure, no client required): the same posture as a
//! NetProbe run's pod ([`super::pod_spec::agent_pod_spec`]: host network and PID, four capabilities,
//! no token, a deadline, limits), running `netdiag-agent inspect -o json` on one node. It needs
//! no plan: nothing of the inspection's spec reaches the pod but the node it is pinned to, which
//! the API named (the node exists, or the Service's EndpointSlices put an endpoint there).
//!
//! A NodeInspection is cluster-scoped, and a namespaced object may name a cluster-scoped owner:
//! the pod carries an owner reference, so deleting the inspection deletes its pods too.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use netdiag_crds::{INSPECTION_LABEL, NODE_LABEL};

use super::pod::{AgentSettings, GENERATION_LABEL, agent_labels};
use super::pod_spec::{NETNS_DIR, agent_pod_spec};

/// The NodeInspection a pod works for, its metadata already checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InspectionRef {
    pub name: String,
    pub uid: String,
    pub generation: i64,
}

/// Deterministic: one pod per (inspection, generation, node), so a retried create hits
/// AlreadyExists. `index` is the node's place in the inspection's sorted node list: node names
/// (up to 253 characters) do not fit a pod name.
pub fn inspection_pod_name(inspection: &InspectionRef, index: usize) -> String {
    format!(
        "netdiag-{}-g{}-n{index}",
        inspection.uid, inspection.generation
    )
}

/// How long an inspection's agent pod may live: an inspection of 250 pod namespaces takes well
/// under a second (B5); the rest is image pull and scheduling.
pub const INSPECTION_DEADLINE_SECONDS: i64 = 120;

/// `netdiag-agent inspect -o json --node-name NODE --netns-dir /var/run/netns --proc /proc`,
/// and `--service ADDRESS` for each Service address whose rules to read (service mode; each
/// was built by the controller from the Service's ClusterIP and ports).
pub fn inspection_args(node: &str, services: &[String]) -> Vec<String> {
    let mut args: Vec<String> = [
        "inspect",
        "-o",
        "json",
        "--node-name",
        node,
        "--netns-dir",
        NETNS_DIR,
        "--proc",
        "/proc",
    ]
    .map(String::from)
    .to_vec();
    for s in services {
        args.extend(["--service".to_string(), s.clone()]);
    }
    args
}

/// The inspection's agent pod on `node`, in the controller's namespace.
pub fn inspection_pod(
    settings: &AgentSettings,
    inspection: &InspectionRef,
    node: &str,
    index: usize,
    services: &[String],
) -> Pod {
    let mut labels = agent_labels();
    labels.extend([
        (INSPECTION_LABEL.to_string(), inspection.uid.clone()),
        (
            GENERATION_LABEL.to_string(),
            inspection.generation.to_string(),
        ),
    ]);
    if node.len() <= 63 {
        labels.insert(NODE_LABEL.to_string(), node.to_string());
    }
    Pod {
        metadata: ObjectMeta {
            name: Some(inspection_pod_name(inspection, index)),
            namespace: Some(settings.namespace.clone()),
            labels: Some(labels),
            owner_references: Some(vec![OwnerReference {
                api_version: "netdiag.dev/v1alpha1".to_string(),
                kind: "NodeInspection".to_string(),
                name: inspection.name.clone(),
                uid: inspection.uid.clone(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        },
        spec: Some(agent_pod_spec(
            settings,
            node,
            inspection_args(node, services),
            INSPECTION_DEADLINE_SECONDS,
            None,
        )),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AgentSettings {
        AgentSettings {
            image: "ghcr.io/netdiag/agent:0.1.0".into(),
            namespace: "netdiag-system".into(),
        }
    }

    fn inspection() -> InspectionRef {
        InspectionRef {
            name: "worker-1".into(),
            uid: "3f0c".into(),
            generation: 2,
        }
    }

    #[test]
    fn the_pod_inspects_its_node_with_the_agent_posture_and_no_plan() {
        let pod = inspection_pod(&settings(), &inspection(), "worker-1", 0, &[]);
        assert_eq!(pod.metadata.name.as_deref(), Some("netdiag-3f0c-g2-n0"));
        assert_eq!(pod.metadata.namespace.as_deref(), Some("netdiag-system"));
        let spec = pod.spec.expect("spec");
        assert_eq!(spec.node_name.as_deref(), Some("worker-1"));
        assert_eq!((spec.host_network, spec.host_pid), (Some(true), Some(true)));
        assert_eq!(spec.automount_service_account_token, Some(false));
        assert_eq!(
            spec.active_deadline_seconds,
            Some(INSPECTION_DEADLINE_SECONDS)
        );
        let c = &spec.containers[0];
        assert_eq!(
            c.args.as_ref().map(|a| a.join(" ")).as_deref(),
            Some("inspect -o json --node-name worker-1 --netns-dir /var/run/netns --proc /proc")
        );
        let caps = c
            .security_context
            .as_ref()
            .and_then(|s| s.capabilities.clone());
        assert_eq!(
            caps.and_then(|c| c.add),
            Some(
                ["NET_ADMIN", "NET_RAW", "SYS_ADMIN", "SYS_PTRACE"]
                    .map(String::from)
                    .to_vec()
            )
        );
        let volumes: Vec<String> = spec
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect();
        assert_eq!(volumes, ["netns", "xtables-lock"], "no plan ConfigMap");
    }

    #[test]
    fn the_pod_is_owned_by_its_cluster_scoped_inspection() {
        let pod = inspection_pod(
            &settings(),
            &inspection(),
            "worker-1",
            3,
            &["10.96.45.10:80/tcp".to_string()],
        );
        let owner = &pod.metadata.owner_references.expect("owner")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()),
            ("NodeInspection", "worker-1", "3f0c")
        );
        let labels = pod.metadata.labels.expect("labels");
        assert_eq!(
            labels.get(INSPECTION_LABEL).map(String::as_str),
            Some("3f0c")
        );
        assert_eq!(labels.get(NODE_LABEL).map(String::as_str), Some("worker-1"));
        assert!(pod.metadata.name.is_some_and(|n| n.ends_with("-n3")));
        let args = pod.spec.and_then(|s| s.containers[0].args.clone());
        assert!(
            args.is_some_and(|a| a.ends_with(&["--service".into(), "10.96.45.10:80/tcp".into()])),
            "a service inspection asks for the Service's address"
        );
    }
}
