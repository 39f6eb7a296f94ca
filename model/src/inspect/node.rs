//! The node's own facts in an inspection: what answers "what is this node running?" before any
//! pod is looked at.

use serde::{Deserialize, Serialize};

/// Everything node-wide.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NodeFacts {
    pub proxy: ProxyFacts,
    pub conntrack: ConntrackTable,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodelocaldns: Option<NodeLocalDns>,
    pub cni: super::CniFingerprint,
    /// Listening TCP and bound UDP sockets of the node's own namespace: what host-network pods
    /// (and node daemons) serve, like `ss -ltnu` on the node.
    pub listeners: Vec<Listener>,
    /// The rules for each Service address asked about (`inspect --service`), as programmed here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceRules>,
}

/// What this node's proxy programs for one Service address: the endpoints its rules send new
/// connections to, like following `KUBE-SVC-...` to its `KUBE-SEP-...` chains by hand.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ServiceRules {
    /// `10.96.45.10:80/tcp`, as asked.
    pub address: String,
    /// `IP:PORT` of every endpoint the rules pick from, sorted.
    pub endpoints: Vec<String>,
    /// Why the rules could not be read, or what is odd about them (a REJECT for "no
    /// endpoints", a jump to a missing chain).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The Service data plane: which proxy mode, how that was told, and how much it programs.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProxyFacts {
    /// `iptables (nf_tables)`, `nftables`, `ipvs`, `replaced by Cilium`...
    pub mode: String,
    /// How the mode was determined ("table ip kube-proxy exists").
    pub how: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<RuleCounts>,
    /// Objects another mode left behind, each named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leftovers: Vec<String>,
}

/// How many Service ports and endpoints the proxy programs on this node: KUBE-SVC / KUBE-SEP
/// chains (iptables), service / endpoint chains (nftables), virtual services / real servers
/// (IPVS).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RuleCounts {
    pub services: u64,
    pub endpoints: u64,
}

/// The conntrack table's fill and its per-CPU trouble counters (summed), like
/// `sysctl net.netfilter.nf_conntrack_count net.netfilter.nf_conntrack_max` and `conntrack -S`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConntrackTable {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insert_failed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_drop: Option<u64>,
}

/// NodeLocal DNSCache: the link-local address on its `nodelocaldns` interface and whether
/// anything serves DNS there.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NodeLocalDns {
    /// `169.254.20.10`.
    pub address: String,
    /// A UDP socket on port 53 covers the address (bound to it, or to 0.0.0.0).
    pub listening: bool,
}

/// A socket serving on the node's own network.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    /// `TCP` or `UDP`.
    pub protocol: String,
    /// `0.0.0.0`, `127.0.0.1`, `::`.
    pub address: String,
    pub port: u16,
    /// The host-network pod declaring this port, joined by the controller (the agent cannot
    /// know).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<super::PodRef>,
}
