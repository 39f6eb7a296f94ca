//! `render-agent-pod` for a NodeInspection manifest: the exact pod the controller creates on
//! the node (the spec's node, or `--node` for a service inspection, which runs on every node).

use netdiag_crds::{InspectionMode, NodeInspection};

use super::RenderError;
use crate::agents::inspection_pod::{InspectionRef, inspection_pod};
use crate::agents::pod::AgentSettings;

/// Whether a manifest's text is a NodeInspection (by its `kind`), without parsing the rest.
pub fn is_inspection(text: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Kind {
        kind: Option<String>,
    }
    serde_saphyr::from_str::<Kind>(text)
        .ok()
        .and_then(|k| k.kind)
        .is_some_and(|k| k == "NodeInspection")
}

/// The pod for `inspection` on its node (node mode) or on `node` (service mode), as YAML with a
/// header that says why each privilege.
pub fn render_inspection(
    settings: &AgentSettings,
    path: &str,
    text: &str,
    node: &str,
) -> Result<String, RenderError> {
    let inspection: NodeInspection =
        serde_saphyr::from_str(text).map_err(|source| RenderError::Parse {
            path: path.to_string(),
            source,
        })?;
    let node = match inspection.spec.mode()? {
        InspectionMode::Node(n) => n.to_string(),
        InspectionMode::Service(_) => node.to_string(),
    };
    let id = InspectionRef {
        name: (inspection.metadata.name.clone()).unwrap_or_else(|| "nodeinspection".into()),
        uid: (inspection.metadata.uid.clone())
            .unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".into()),
        generation: inspection.metadata.generation.unwrap_or(1),
    };
    // A service inspection's addresses come from the API; shown as a placeholder here.
    let services = match inspection.spec.mode()? {
        InspectionMode::Node(_) => Vec::new(),
        InspectionMode::Service(_) => vec![format!("{}:0/tcp", super::PLACEHOLDER_IP)],
    };
    let pod = inspection_pod(settings, &id, &node, 0, &services);
    let header = format!(
        "# The agent pod netdiag-controller creates for this NodeInspection on node {node}: it runs\n\
         # `netdiag-agent inspect -o json` and needs no plan (nothing of the spec reaches it but the\n\
         # node). Owned by the NodeInspection, so deleting it deletes the pod.\n\
         # Why each privilege (not privileged: true):\n\
         #   hostNetwork  the node's veths, bridge, routes, kube-proxy rules and conntrack\n\
         #   hostPID      pod netns are found via /proc/<pid>/ns/net of the node's processes\n\
         #   NET_ADMIN    read iptables/nftables rules and conntrack over netlink\n\
         #   NET_RAW      legacy iptables talks to the kernel over a raw socket\n\
         #   SYS_ADMIN    setns(2) into each pod's netns to read its eth0, addresses and routes\n\
         #   SYS_PTRACE   open /proc/<pid>/ns/net and /proc/<pid>/root of other pods' processes\n\
         #   /run/xtables.lock is writable: iptables -w opens and flocks it, shared with kube-proxy\n"
    );
    Ok(format!("{header}{}", serde_saphyr::to_string(&pod)?))
}
