//! The trace plan an agent carries out, as JSON. The controller writes it into a ConfigMap the
//! agent pod mounts (`netdiag-agent trace --plan-file`), the lab pipes it in (`--plan -`). It
//! holds addresses and names only: nothing in it can name a command, an image, a path or a node.

use std::net::{Ipv4Addr, SocketAddrV4};

use serde::{Deserialize, Serialize};

pub mod endpoints_wire;

use crate::protocol::{Check, Protocol};
use crate::report::Endpoint;

/// What the agent does on its node.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TracePlan {
    /// Which part of the path this node holds.
    pub role: PlanRole,
    /// Source role: the source pod's IP (the node's, for a node source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<Ipv4Addr>,
    /// The source is the node itself, its host network namespace (the source role's agent
    /// connects from its own), not a pod; every role judges rules for that source. The lab plans
    /// these for `--from node/NAME`; a cluster's controller only for a NetProbe's `source.node`
    /// in a namespace its `--node-source-namespaces` lists (none by default), since a connect
    /// from there carries the node's identity.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub source_is_node: bool,
    /// Where to connect (a ClusterIP or a pod IP). Absent for a DNS-only probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<PlanTarget>,
    /// The target is, or may be, a Service VIP: walk kube-proxy's rules for it. Without
    /// `expected_endpoints`, an address with no rule is traced as a plain address.
    #[serde(default)]
    pub target_is_service: bool,
    /// Ready endpoints the API knows for the Service, to compare with kube-proxy's rules.
    /// On the wire grouped by port ([`endpoints_wire`]): a large Service must fit a ConfigMap.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "endpoints_wire"
    )]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Vec<endpoints_wire::EndpointGroup>")
    )]
    pub expected_endpoints: Vec<Endpoint>,
    /// Endpoint role: the endpoint to check on this node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Endpoint>,
    /// Resolve this name from the source pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
    /// Extra DNS servers to ask besides the pod's resolv.conf (the kube-dns ClusterIP).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_servers: Vec<DnsServer>,
    /// The cluster's nodes the traffic may reach (the endpoints' and the target pod's), with
    /// their addresses and pod CIDRs: an overlay's remote VTEP is checked against the node
    /// that holds the endpoint. Empty: the VTEP is reported, not checked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<PlanNode>,
    /// Empty: every check that applies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// Budget for each network wait (connect, DNS query), in milliseconds.
    #[serde(default = "default_step_timeout_ms")]
    pub step_timeout_ms: u64,
    /// The port the source role binds its probe socket to, when an endpoint run on another
    /// node watches for the probe's packets ([`TracePlan::watch_ms`]): both runs must know the
    /// connection's 5-tuple before its first packet. Absent: the kernel picks one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_port: Option<u16>,
    /// Endpoint role: before anything else, arm the evidence (rule trace, counters, capture)
    /// for the probe from `sourceIp:sourcePort`, say so (the agent's `--armed-file`), and watch
    /// for at most this many milliseconds; the source run starts once this one is armed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch_ms: Option<u64>,
}

fn default_step_timeout_ms() -> u64 {
    2000
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum PlanRole {
    /// The node of the source pod: the full trace.
    Source,
    /// The node of the endpoint the source reached: route and listener.
    Endpoint,
    /// A role this version does not know (a newer controller's): the agent refuses the plan
    /// with a clear error instead of failing to read it.
    #[serde(other)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    Unknown,
}

impl std::fmt::Display for PlanRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PlanRole::Source => "Source",
            PlanRole::Endpoint => "Endpoint",
            PlanRole::Unknown => "Unknown",
        })
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PlanTarget {
    pub ip: Ipv4Addr,
    pub port: u16,
    #[serde(default)]
    pub protocol: Protocol,
}

impl std::fmt::Display for PlanTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}/{}", self.ip, self.port, self.protocol)
    }
}

/// A node the traffic may reach: its name, the address its overlay tunnels end at (its
/// InternalIP), and the pod CIDRs allocated to it (`spec.podCIDRs`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PlanNode {
    pub name: String,
    pub address: Ipv4Addr,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pod_cidrs: Vec<String>,
}

/// A DNS server to ask, and what it is.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DnsServer {
    /// On the wire `IP:port`; a bare `IP` (port 53) reads too, as older controllers wrote it.
    #[serde(with = "dns_address")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub address: SocketAddrV4,
    /// `kube-dns`, `nodelocaldns`...
    pub role: String,
}

/// A DNS server's address: `IP:port`, or a bare `IP` meaning port 53.
mod dns_address {
    use std::net::SocketAddrV4;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(a: &SocketAddrV4, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(a)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddrV4, D::Error> {
        let text = String::deserialize(d)?;
        crate::addr::parse_dns_server(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("{text:?} is not an IPv4 IP or IP:PORT"))
        })
    }
}

impl TracePlan {
    /// A plan for `role` that names nothing yet: the one place every field gets its default,
    /// for the planner and the agent's own flags alike.
    pub fn empty(role: PlanRole, checks: Vec<Check>, step_timeout_ms: u64) -> TracePlan {
        TracePlan {
            role,
            source_ip: None,
            source_is_node: false,
            target: None,
            target_is_service: false,
            expected_endpoints: Vec::new(),
            endpoint: None,
            dns_name: None,
            dns_servers: Vec::new(),
            nodes: Vec::new(),
            checks,
            step_timeout_ms,
            source_port: None,
            watch_ms: None,
        }
    }

    /// Whether a check runs: listed, or nothing listed.
    pub fn wants(&self, check: Check) -> bool {
        self.checks.is_empty() || self.checks.contains(&check)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_from_a_newer_controller_reads_with_unknown_role_protocol_and_check() {
        let plan: Result<TracePlan, _> = serde_json::from_str(
            r#"{"role": "Gateway", "target": {"ip": "10.96.0.10", "port": 53, "protocol": "SCTP"},
                "checks": ["Path", "Firewall"], "somethingNew": true}"#,
        );
        let plan = plan.map_err(|e| e.to_string());
        let plan = match plan {
            Ok(p) => p,
            Err(e) => panic!("a newer plan must read: {e}"),
        };
        assert_eq!(plan.role, PlanRole::Unknown);
        assert_eq!(
            plan.target.as_ref().map(|t| t.protocol),
            Some(Protocol::Unknown)
        );
        assert_eq!(plan.checks, vec![Check::Path, Check::Unknown]);
        assert!(plan.wants(Check::Path) && !plan.wants(Check::DNS));
    }

    #[test]
    fn a_dns_server_reads_with_or_without_its_port_and_is_written_with_it() {
        let plan: TracePlan = serde_json::from_str(
            r#"{"role": "Source", "dnsServers": [
                {"address": "10.96.0.10", "role": "kube-dns"},
                {"address": "169.254.20.10:5353", "role": "nodelocaldns"}]}"#,
        )
        .expect("both forms read");
        let addrs: Vec<String> = plan
            .dns_servers
            .iter()
            .map(|s| s.address.to_string())
            .collect();
        assert_eq!(addrs, ["10.96.0.10:53", "169.254.20.10:5353"]);
        let json = serde_json::to_value(&plan).expect("json");
        assert_eq!(json["dnsServers"][0]["address"], "10.96.0.10:53");
        let bad = serde_json::from_str::<TracePlan>(
            r#"{"role": "Source", "dnsServers": [{"address": "kube-dns", "role": "x"}]}"#,
        );
        assert!(bad.is_err());
    }
}
