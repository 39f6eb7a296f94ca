//! The node report: what one agent run found on one node. This is the contract between the agent,
//! the controller, the plugin and the tests (see DESIGN.md, "The agent's report").

use std::net::{Ipv4Addr, SocketAddrV4};

use serde::{Deserialize, Serialize};

use crate::reason::Reason;

mod detail;
mod evidence;
mod kind;
mod node_facts;
pub use detail::*;
pub use evidence::*;
pub use kind::{HopKind, Verdict};
pub use node_facts::{TraceNodeFacts, collect as collect_node_facts};

/// One agent run on one node: an ordered list of hops plus DNS answers.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NodeReport {
    /// The node's name (the agent's hostname, or the lab node's name).
    pub node: String,
    /// Version of the agent that wrote this report.
    pub agent_version: String,
    /// The source pod IP the trace started from, when this run traced from a pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Ipv4Addr>,
    /// The target as traced, `IP:PORT/proto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub hops: Vec<Hop>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<DnsResult>,
    /// The endpoint that kube-proxy's DNAT chose for the connect, as read from conntrack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen_endpoint: Option<Endpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<FirstFailure>,
    pub summary: String,
    /// What the node saw of the probe's own packets (rule trace, counters, capture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// What this node runs (CNI, proxy mode); absent from older agents' reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_facts: Option<TraceNodeFacts>,
    /// Agent wall time for the whole run.
    pub duration_ms: f64,
}

/// An IP and port.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub ip: Ipv4Addr,
    pub port: u16,
}

impl Endpoint {
    pub fn new(ip: Ipv4Addr, port: u16) -> Endpoint {
        Endpoint { ip, port }
    }

    pub fn socket(&self) -> SocketAddrV4 {
        SocketAddrV4::new(self.ip, self.port)
    }
}

impl From<SocketAddrV4> for Endpoint {
    fn from(a: SocketAddrV4) -> Endpoint {
        Endpoint::new(*a.ip(), a.port())
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.ip, self.port)
    }
}

/// One step along the path, with a verdict and a one-line human detail.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Hop {
    pub node: String,
    pub kind: HopKind,
    /// What this hop is: an interface name, a chain, an address.
    pub name: String,
    /// One line for a human.
    pub detail: String,
    pub verdict: Verdict,
    /// A stable CamelCase reason for a Warn or Fail (`NothingListening`, `NoServiceRule`...),
    /// fit for alerting and metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// Typed facts for this hop's kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<HopDetail>,
}

impl Hop {
    pub fn new(
        node: impl Into<String>,
        kind: HopKind,
        name: impl Into<String>,
        verdict: Verdict,
        detail: impl Into<String>,
    ) -> Self {
        Hop {
            node: node.into(),
            kind,
            name: name.into(),
            detail: detail.into(),
            verdict,
            reason: None,
            details: None,
        }
    }

    pub fn with_reason(mut self, reason: Reason) -> Self {
        self.reason = Some(reason);
        self
    }

    pub fn with_details(mut self, details: HopDetail) -> Self {
        self.details = Some(details);
        self
    }
}

/// The first broken hop on a path.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct FirstFailure {
    pub hop: HopKind,
    pub node: String,
    /// Stable CamelCase category.
    pub reason: Reason,
    /// The cause in words an on-call engineer understands.
    pub message: String,
}

/// One DNS server's answer for one name.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DnsResult {
    /// `IP:port` of the server asked.
    pub server: String,
    /// What this server is: `nodelocaldns`, `kube-dns`, `resolv.conf`.
    pub server_role: String,
    pub name: String,
    /// NOERROR, NXDOMAIN, SERVFAIL..., or `TIMEOUT` / `UNREACHABLE` when no answer came.
    pub rcode: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
