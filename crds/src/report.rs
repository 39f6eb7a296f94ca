//! The node report: what one agent run found on one node. This is the contract between the agent,
//! the controller, the plugin and the tests (see DESIGN.md, "The agent's report").

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One agent run on one node: an ordered list of hops plus DNS answers.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeReport {
    /// The node's name (the agent's hostname, or the lab node's name).
    pub node: String,
    /// Version of the agent that wrote this report.
    pub agent_version: String,
    /// The source pod IP the trace started from, when this run traced from a pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
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
    /// Agent wall time for the whole run.
    pub duration_ms: f64,
}

/// An IP and port.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub ip: String,
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.ip, self.port)
    }
}

/// The fixed vocabulary of hop kinds. The order of the variants is the order along a path.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema,
)]
pub enum HopKind {
    PodInterface,
    HostVeth,
    Bridge,
    NodeSettings,
    ServiceRules,
    Conntrack,
    Route,
    Tunnel,
    NodeInterface,
    Listener,
    /// After the path: a DNS failure is more often a consequence of a broken hop (kube-dns
    /// sits behind the same routes and rules) than a cause of one.
    Dns,
    Connect,
}

impl HopKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HopKind::PodInterface => "PodInterface",
            HopKind::HostVeth => "HostVeth",
            HopKind::Bridge => "Bridge",
            HopKind::NodeSettings => "NodeSettings",
            HopKind::Dns => "Dns",
            HopKind::ServiceRules => "ServiceRules",
            HopKind::Conntrack => "Conntrack",
            HopKind::Route => "Route",
            HopKind::Tunnel => "Tunnel",
            HopKind::NodeInterface => "NodeInterface",
            HopKind::Listener => "Listener",
            HopKind::Connect => "Connect",
        }
    }
}

impl std::fmt::Display for HopKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a hop looks.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema,
)]
pub enum Verdict {
    /// Informational: nothing to judge.
    Info,
    Ok,
    /// Works, but something is off and may bite.
    Warn,
    /// Broken: traffic cannot pass here.
    Fail,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Info => "Info",
            Verdict::Ok => "Ok",
            Verdict::Warn => "Warn",
            Verdict::Fail => "Fail",
        })
    }
}

/// One step along the path, with a verdict and a one-line human detail.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
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
    pub reason: Option<String>,
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

    pub fn with_reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason.to_string());
        self
    }

    pub fn with_details(mut self, details: HopDetail) -> Self {
        self.details = Some(details);
        self
    }
}

/// The first broken hop on a path.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FirstFailure {
    pub hop: HopKind,
    pub node: String,
    /// Stable CamelCase category.
    pub reason: String,
    /// The cause in words an on-call engineer understands.
    pub message: String,
}

/// One DNS server's answer for one name.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
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

/// Typed facts per hop kind.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum HopDetail {
    PodInterface(PodInterfaceDetail),
    HostVeth(HostVethDetail),
    Bridge(BridgeDetail),
    NodeSettings(NodeSettingsDetail),
    ServiceRules(ServiceRulesDetail),
    Conntrack(ConntrackDetail),
    Route(RouteDetail),
    Listener(ListenerDetail),
    Connect(ConnectDetail),
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodInterfaceDetail {
    /// How the namespace was found: `/var/run/netns/cni-...` or `/proc/<pid>/ns/net`.
    pub netns: String,
    pub ifname: String,
    pub ifindex: u32,
    pub mac: String,
    pub addresses: Vec<String>,
    pub mtu: u32,
    /// ifindex of the veth peer in the node namespace (`eth0@ifN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_ifindex: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// The neighbour entry for the gateway: `MAC (STATE)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_neighbor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolv_conf: Option<ResolvConf>,
}

/// A parsed resolv.conf.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResolvConf {
    pub nameservers: Vec<String>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostVethDetail {
    pub name: String,
    pub ifindex: u32,
    /// up, down, lowerlayerdown...
    pub oper_state: String,
    pub mtu: u32,
    pub pod_mtu: u32,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BridgeDetail {
    /// The bridge (`cni0`, `kube-bridge`...), or none for routed CNIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ifindex: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oper_state: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeSettingsDetail {
    pub settings: Vec<NodeSetting>,
}

/// One kernel setting the path depends on.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeSetting {
    /// The sysctl, e.g. `net.ipv4.ip_forward`.
    pub name: String,
    /// The value read, or `absent`.
    pub value: String,
    pub verdict: Verdict,
    /// What this value means for the path.
    pub consequence: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRulesDetail {
    /// iptables, nftables or ipvs.
    pub mode: String,
    /// For iptables: `nf_tables` or `legacy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// `VIP:port/proto`.
    pub service_address: String,
    /// kube-proxy's name for the service port, from rule comments (`default/echo:http`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The chains walked, in order (`KUBE-SERVICES`, `KUBE-SVC-...`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chains: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<RuleEndpoint>,
    /// ClientIP affinity timeout, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity_seconds: Option<u32>,
    /// Traffic from outside the cluster CIDR is masqueraded.
    #[serde(default)]
    pub masquerade: bool,
    /// The filter-table rule that rejects or drops this service, if one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_by: Option<String>,
}

/// One DNAT target as kube-proxy programmed it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleEndpoint {
    pub ip: String,
    pub port: u16,
    /// The endpoint's share of new connections (0..=1).
    pub probability: f64,
    /// `KUBE-SEP-...` or the nftables endpoint chain.
    pub chain: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConntrackTuple {
    pub protocol: String,
    pub src: String,
    pub dst: String,
    pub sport: u16,
    pub dport: u16,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConntrackDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<ConntrackTuple>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<ConntrackTuple>,
    /// TCP state (ESTABLISHED, SYN_SENT...), or empty for UDP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Status flags: ASSURED, SEEN_REPLY, DST_NAT...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// The endpoint DNAT chose: the reply tuple's source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen_endpoint: Option<Endpoint>,
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

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteDetail {
    pub destination: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefsrc: Option<String>,
    /// unicast, local, blackhole, unreachable, prohibit.
    pub route_type: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListenerDetail {
    pub endpoint: String,
    pub protocol: String,
    pub netns: String,
    pub listening: bool,
    /// The listening socket's local address (`0.0.0.0:8080`), when one matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectDetail {
    pub protocol: String,
    pub target: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// refused, timed out, no route to host...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The local address of the probe socket: matches the conntrack entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<String>,
}
