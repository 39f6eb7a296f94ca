//! What an inspection flags: each finding is typed (for machines and tests) and carries its
//! sentence (for the on-call engineer), built once from the type so the two cannot drift.

use serde::{Deserialize, Serialize};

/// A finding as reported: its kind and facts, and the sentence that explains it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    #[serde(flatten)]
    pub kind: FindingKind,
    pub message: String,
}

impl Finding {
    pub fn new(kind: FindingKind) -> Finding {
        let message = kind.sentence();
        Finding { kind, message }
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Finding {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Finding".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // kind and message, and each kind's own fields kept as they come: a newer agent's kind
        // must not fail an older CRD, and structural schemas take no oneOf.
        schemars::json_schema!({
            "type": "object",
            "properties": {"kind": {"type": "string"}, "message": {"type": "string"}},
            "required": ["kind", "message"],
            "x-kubernetes-preserve-unknown-fields": true
        })
    }
}

impl From<FindingKind> for Finding {
    fn from(kind: FindingKind) -> Finding {
        Finding::new(kind)
    }
}

/// The kinds of finding. An unknown kind (a newer agent's) reads as [`FindingKind::Other`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum FindingKind {
    /// A pod namespace no process lives in: its pod is gone but CNI never deleted it.
    LeakedNamespace { netns: String },
    /// A pod-facing veth on the node whose peer is in no namespace the agent can see.
    DanglingVeth { veth: String, ifindex: u32 },
    /// Several pod namespaces hold the same IP.
    DuplicateIp { ip: String, netns: Vec<String> },
    /// The host veth of a pod namespace is down.
    VethDown { veth: String, netns: String },
    #[serde(other)]
    Other,
}

impl FindingKind {
    /// A stable name, as the JSON `kind` field spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            FindingKind::LeakedNamespace { .. } => "leakedNamespace",
            FindingKind::DanglingVeth { .. } => "danglingVeth",
            FindingKind::DuplicateIp { .. } => "duplicateIp",
            FindingKind::VethDown { .. } => "vethDown",
            FindingKind::Other => "other",
        }
    }

    /// The plain-words explanation, with what to do next.
    pub fn sentence(&self) -> String {
        match self {
            FindingKind::LeakedNamespace { netns } => format!(
                "network namespace {netns} has no process left: its pod is gone but the CNI never \
                 deleted it (a leaked sandbox); its IP may be handed out again while it still \
                 holds it: remove it with `ip netns delete`"
            ),
            FindingKind::DanglingVeth { veth, ifindex } => format!(
                "host veth {veth} (ifindex {ifindex}) leads to no network namespace on this node: \
                 a veth left behind by a pod that is gone; traffic routed to it goes nowhere"
            ),
            FindingKind::DuplicateIp { ip, netns } => format!(
                "{ip} is held by {} namespaces ({}): one pod receives (and answers) traffic meant \
                 for the other; delete the stale one",
                netns.len(),
                netns.join(", ")
            ),
            FindingKind::VethDown { veth, netns } => format!(
                "host veth {veth} of {netns} is down: the pod is cut off from the node \
                 (ip link set {veth} up)"
            ),
            FindingKind::Other => "a finding this version of netdiag does not know".into(),
        }
    }
}
