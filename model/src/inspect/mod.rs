//! What `netdiag-agent inspect` reports about one node: every pod network namespace on it
//! (identity, processes, eth0, the host veth and bridge it pairs with, resolv.conf), the node's
//! own facts (proxy mode and rule counts, conntrack, nodelocaldns, CNI, listening sockets) and
//! the findings that stand out. The manual version is the seeds' "Inspection" section: `ip
//! netns list`, `ip netns pid`, `ip a` on both sides, `iptables -t nat -L`.
//!
//! The lab and the controller fill [`PodNamespace::pod`] by joining on the pod's IP.

mod cni;
mod finding;
mod node;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::report::ResolvConf;

pub use cni::{CniFingerprint, CniVariant};
pub use finding::{Finding, FindingKind};
pub use node::{
    ConntrackTable, Listener, NodeFacts, NodeLocalDns, ProxyFacts, RuleCounts, ServiceRules,
};

/// One node's inspection, as the agent prints it (`-o json`, one line).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct InspectReport {
    pub node: String,
    pub facts: NodeFacts,
    /// Named ones first (sorted by path), then those known only through a process.
    pub namespaces: Vec<PodNamespace>,
    pub findings: Vec<Finding>,
    /// What could not be read, in words ("cannot read conntrack: ..."); the rest still stands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// How a namespace is known: the path that opens it, and its (device, inode) identity, the same
/// for every path to it (what `ls -L -i` shows and `lsns -t net` groups by).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NetnsIdentity {
    /// `/var/run/netns/cni-<uuid>` for a named namespace, else `/proc/<pid>/ns/net`.
    pub path: String,
    /// The name under the netns directory (`cni-<uuid>`), None when known only by a process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub dev: u64,
    pub inode: u64,
}

impl NetnsIdentity {
    /// The name when there is one, else the path: what a person recognises.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.path)
    }
}

/// A process living in a namespace, like a line of `ip netns pid NAME` joined with `ps`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NsProcess {
    pub pid: u32,
    /// `/proc/<pid>/comm`: `pause`, `sleep`, `nginx`.
    pub comm: String,
    /// Start time in clock ticks since boot (`/proc/<pid>/stat` field 22): lower is older.
    pub start_ticks: u64,
}

/// The pod side of the pair: `eth0@ifN` as `ip a` inside the pod shows it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PodEth0 {
    pub name: String,
    pub ifindex: u32,
    /// The N of `eth0@ifN`: the host veth's ifindex on the node.
    pub peer_ifindex: u32,
    /// `10.244.1.2/24`.
    pub addresses: Vec<String>,
    pub mac: String,
    pub mtu: u32,
    pub up: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
}

/// The node side of the pair, as `ip a` on the node shows it (`veth81ebcd7c@if5`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct HostVeth {
    pub name: String,
    pub ifindex: u32,
    pub mac: String,
    pub mtu: u32,
    /// Administratively up and carrying traffic.
    pub up: bool,
    /// up, down, lowerlayerdown...
    pub oper_state: String,
}

/// What the host veth hangs off: a bridge (kind's, flannel's `cni0`) or nothing, for CNIs that
/// route each pod by a /32 (Calico, Cilium).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Attachment {
    /// A port of this bridge.
    Bridge {
        name: String,
    },
    Routed,
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Attachment {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Attachment".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // One object shape for every variant: Kubernetes' structural schemas take no oneOf.
        schemars::json_schema!({
            "type": "object",
            "description": "type bridge (with the bridge's name) or routed.",
            "properties": {"type": {"type": "string"}, "name": {"type": "string"}},
            "required": ["type"]
        })
    }
}

/// The Pod a namespace belongs to, joined by the lab or the controller (the agent cannot know).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PodRef {
    pub namespace: String,
    pub name: String,
}

/// One pod network namespace on the node.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PodNamespace {
    pub netns: NetnsIdentity,
    /// Holder first (the oldest `pause`, else the oldest process), then by start time. Empty: no
    /// process holds the namespace any more; only its bind mount keeps it alive.
    pub processes: Vec<NsProcess>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eth0: Option<PodEth0>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_veth: Option<HostVeth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolv_conf: Option<ResolvConf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<PodRef>,
}

impl PodNamespace {
    /// The process holding the namespace (pause, or the lab's pod process).
    pub fn holder(&self) -> Option<&NsProcess> {
        self.processes.first()
    }

    /// The pod's IPs without prefix lengths (`10.244.1.2`), for joining with Pods.
    pub fn ips(&self) -> Vec<&str> {
        self.eth0
            .iter()
            .flat_map(|e| e.addresses.iter())
            .map(|a| a.split_once('/').map_or(a.as_str(), |(ip, _)| ip))
            .collect()
    }
}

impl InspectReport {
    /// Name each namespace's pod by IP with `lookup` (`10.244.1.2` -> default/curl), as the lab
    /// and the controller do; namespaces whose IPs `lookup` does not know keep `pod: None`.
    pub fn join_pods<F>(&mut self, mut lookup: F)
    where
        F: FnMut(&str) -> Option<PodRef>,
    {
        for ns in &mut self.namespaces {
            ns.pod = ns.ips().into_iter().find_map(&mut lookup);
        }
    }
}
