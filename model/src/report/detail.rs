//! Typed facts per hop kind: what `ip -d link`, `iptables -t nat -L`, `conntrack -L` or `ss -l`
//! would have shown for the hop.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use serde::{Deserialize, Serialize};

use super::{Endpoint, Verdict};

/// Declares the detail kinds once: the enum, and its serde as `{"kindName": {...}}`. An unknown
/// kind name (a newer agent's) reads as [`HopDetail::Other`] instead of failing the report.
macro_rules! hop_details {
    ($($variant:ident($ty:ident) = $key:literal,)*) => {
        /// Typed facts per hop kind.
        #[derive(Clone, Debug, PartialEq)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        #[cfg_attr(feature = "schema", schemars(rename_all = "camelCase"))]
        pub enum HopDetail {
            $($variant($ty),)*
            /// Facts of a kind this version does not know, kept by their kind's name only.
            #[cfg_attr(feature = "schema", schemars(skip))]
            Other(String),
        }

        impl Serialize for HopDetail {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap as _;
                let mut map = s.serialize_map(Some(1))?;
                match self {
                    $(HopDetail::$variant(d) => map.serialize_entry($key, d)?,)*
                    HopDetail::Other(kind) => {
                        map.serialize_entry(kind, &std::collections::BTreeMap::<String, ()>::new())?
                    }
                }
                map.end()
            }
        }

        impl<'de> Deserialize<'de> for HopDetail {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Visit;
                impl<'de> serde::de::Visitor<'de> for Visit {
                    type Value = HopDetail;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("an object with one key, the detail's kind")
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<HopDetail, A::Error> {
                        let Some(key) = map.next_key::<String>()? else {
                            return Err(serde::de::Error::custom("a hop detail with no kind"));
                        };
                        let detail = match key.as_str() {
                            $($key => HopDetail::$variant(map.next_value()?),)*
                            _ => {
                                map.next_value::<serde::de::IgnoredAny>()?;
                                HopDetail::Other(key)
                            }
                        };
                        // Like serde's own enums: one kind per detail, extra keys are ignored.
                        while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
                        Ok(detail)
                    }
                }
                d.deserialize_map(Visit)
            }
        }
    };
}

hop_details! {
    PodInterface(PodInterfaceDetail) = "podInterface",
    HostVeth(HostVethDetail) = "hostVeth",
    Bridge(BridgeDetail) = "bridge",
    NodeSettings(NodeSettingsDetail) = "nodeSettings",
    ServiceRules(ServiceRulesDetail) = "serviceRules",
    Conntrack(ConntrackDetail) = "conntrack",
    Route(RouteDetail) = "route",
    Tunnel(TunnelDetail) = "tunnel",
    Listener(ListenerDetail) = "listener",
    Connect(ConnectDetail) = "connect",
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    pub gateway: Option<Ipv4Addr>,
    /// The neighbour entry for the gateway: `MAC (STATE)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_neighbor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolv_conf: Option<ResolvConf>,
}

/// A parsed resolv.conf.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ResolvConf {
    pub nameservers: Vec<String>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct HostVethDetail {
    pub name: String,
    pub ifindex: u32,
    /// up, down, lowerlayerdown...
    pub oper_state: String,
    pub mtu: u32,
    pub pod_mtu: u32,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    /// The pod's host veth: the port of this bridge the path enters by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// Whether that port is in hairpin mode (`hairpin on` in `ip -d link show PORT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hairpin: Option<bool>,
    /// The bridge's promiscuity count (`ip -d link show BRIDGE`); above 0 the bridge also
    /// passes frames up to the node, which hairpins for every port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promiscuity: Option<u32>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NodeSettingsDetail {
    pub settings: Vec<NodeSetting>,
}

/// One kernel setting the path depends on.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ServiceRulesDetail {
    /// iptables, nftables or ipvs; cilium, calico-ebpf or none when kube-proxy is replaced.
    pub mode: String,
    /// How the mode was determined (kube-proxy's /proxyMode, or the fingerprint found).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_by: Option<String>,
    /// Objects another proxy mode left on the node, each named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leftovers: Vec<String>,
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
    /// What the reader noticed on the way (a draining real server, a jump to a missing chain).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One DNAT target as kube-proxy programmed it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RuleEndpoint {
    pub ip: Ipv4Addr,
    pub port: u16,
    /// The endpoint's share of new connections (0..=1).
    pub probability: f64,
    /// `KUBE-SEP-...` or the nftables endpoint chain.
    pub chain: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConntrackTuple {
    pub protocol: String,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub sport: u16,
    pub dport: u16,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RouteDetail {
    pub destination: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefsrc: Option<Ipv4Addr>,
    /// unicast, local, blackhole, unreachable, prohibit.
    pub route_type: String,
}

impl TunnelDetail {
    /// A tunnel hop's facts before the neighbour, FDB and remote are read.
    pub fn new(device: &str, encapsulation: &str, next_hop: Ipv4Addr, mtu: u32) -> TunnelDetail {
        TunnelDetail {
            device: device.into(),
            encapsulation: encapsulation.into(),
            vni: None,
            port: None,
            local: None,
            underlay: None,
            next_hop,
            next_hop_mac: None,
            remote: None,
            remote_node: None,
            mtu,
        }
    }
}

/// An overlay device on the way to the endpoint, like `ip -d link show flannel.1`, `ip neigh
/// show dev flannel.1` and `bridge fdb show dev flannel.1` together.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TunnelDetail {
    pub device: String,
    /// vxlan, geneve, ipip.
    pub encapsulation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vni: Option<u32>,
    /// The UDP destination port (VXLAN, Geneve).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The local VTEP or tunnel source address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<Ipv4Addr>,
    /// The underlay device the encapsulated packets leave by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub underlay: Option<String>,
    /// The route's next hop on the device (flannel: the remote node's `10.244.N.0`).
    pub next_hop: Ipv4Addr,
    /// The neighbour entry's MAC for the next hop (VXLAN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop_mac: Option<String>,
    /// The remote VTEP (from the FDB) or tunnel endpoint the packets are sent to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<Ipv4Addr>,
    /// The node that address belongs to, when the plan named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_node: Option<String>,
    pub mtu: u32,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ListenerDetail {
    pub endpoint: SocketAddrV4,
    pub protocol: String,
    pub netns: String,
    pub listening: bool,
    /// The listening socket's local address (`0.0.0.0:8080`, `[::]:8080`), when one matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound: Option<SocketAddr>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConnectDetail {
    pub protocol: String,
    pub target: SocketAddrV4,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// refused, timed out, no route to host...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The local address of the probe socket: matches the conntrack entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<SocketAddrV4>,
}
