//! Evidence of the probe's own packets on one node: the rules they met (nf_tables tracing),
//! the counters of legacy rules they moved, and what they looked like on the wire. What the
//! seeds find by hand with `nft monitor trace`, `iptables -Z` and `tcpdump`, for one connection.

use serde::{Deserialize, Serialize};

/// Everything one node saw of the probe's packets.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    pub node: String,
    /// The rules the traced packets met, in the order they met them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rule_trace: Vec<TracedRule>,
    /// DROP and REJECT rules of the legacy iptables backend whose counters the probe moved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counters: Vec<CounterDelta>,
    /// The probe's packets per interface.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capture: Vec<InterfaceCapture>,
    /// The captured packets as a pcap file, base64 (headers only, bounded in size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcap: Option<String>,
}

impl Evidence {
    pub fn is_empty(&self) -> bool {
        self.rule_trace.is_empty()
            && self.counters.is_empty()
            && self.capture.is_empty()
            && self.pcap.is_none()
    }

    /// The pcapng bytes of [`Evidence::pcap`], when there are any.
    pub fn pcap_bytes(&self) -> Result<Option<Vec<u8>>, crate::pcapng::PcapError> {
        self.pcap
            .as_deref()
            .map(|text| {
                crate::base64::decode(text).ok_or(crate::pcapng::PcapError {
                    offset: 0,
                    what: "base64 that does not decode",
                })
            })
            .transpose()
    }
}

/// One rule (or chain policy) a traced packet met.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TracedRule {
    /// The kernel's id of the traced packet: rules of one packet share it.
    pub packet: u32,
    /// `ip`, `inet`, `ip6`, `bridge`...
    pub family: String,
    pub table: String,
    pub chain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<u64>,
    /// The rule's text, when it was looked up (only for the rule that decided).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// `continue`, `jump X`, `accept`, `drop`, `return`, or `policy accept|drop`.
    pub verdict: String,
}

/// A legacy rule's counters before and after the connect.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CounterDelta {
    pub table: String,
    pub chain: String,
    /// As `iptables -S` prints it.
    pub rule: String,
    /// Packets the rule counted while the probe ran (other traffic can move it too).
    pub packets: u64,
}

/// The probe's packets as seen on one interface.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct InterfaceCapture {
    pub interface: String,
    /// What the interface is on the path: `host veth`, `bridge`, `uplink`, `overlay`.
    pub role: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packets: Vec<CapturedPacket>,
    /// Why nothing could be captured here (no CAP_NET_RAW, the interface went away).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One captured packet, summarised.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CapturedPacket {
    /// Milliseconds since the capture started.
    pub at_ms: f64,
    /// `in` or `out` on the interface.
    pub direction: String,
    /// Like tcpdump's line: `10.244.1.2.41234 > 10.96.45.10.80: Flags [S]`, `ARP who-has ...`.
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_mac: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst_mac: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u8>,
    /// `tcp`, `udp`, `icmp` or `arp` (None from older agents, and for other frames). A
    /// string, so a newer agent's value is read, not refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The source and destination on the wire here, `10.244.1.2:41234` (ICMP and ARP: the IP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst: Option<String>,
    /// TCP flags in tcpdump's letters: `S`, `S.`, `R.`, `F.`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_flags: Option<String>,
    /// ICMP type and code (an error about the probe's packet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_code: Option<u8>,
}

/// An ICMP error's name, as tcpdump words it: `port unreachable`, `time exceeded`.
pub fn icmp_name(kind: u8, code: u8) -> String {
    match (kind, code) {
        (3, 0) => "net unreachable".into(),
        (3, 1) => "host unreachable".into(),
        (3, 3) => "port unreachable".into(),
        (3, 4) => "fragmentation needed".into(),
        (3, 9 | 10 | 13) => "administratively prohibited".into(),
        (3, c) => format!("destination unreachable (code {c})"),
        (11, _) => "time exceeded".into(),
        (t, c) => format!("type {t} code {c}"),
    }
}
