//! Which CNI built a node's pod network, and in which of its modes: what node inspection and
//! every trace report about the node.

use serde::{Deserialize, Serialize};

/// Which CNI the node's links, routes and CNI config files look like, and the objects that say
/// so.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CniFingerprint {
    /// `flannel`, `calico`, `cilium`, `kube-router`, `weave`, `kindnet`, `bridge`, `docker`, or
    /// `unknown`. A string, not an enum: a newer agent may name a CNI this version does not know.
    pub name: String,
    /// How it carries traffic between the nodes, when the node shows it (flannel `vxlan` or
    /// `host-gw`, Calico `routed`, `ipip` or `vxlan`...). Absent from older agents' reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<CniVariant>,
    /// The links, routes and files it was told by ("flannel.1 (vxlan VNI 1, port 8472)").
    pub evidence: Vec<String>,
}

impl CniFingerprint {
    /// `flannel vxlan`, `calico routed`, `bridge`: name and variant in one phrase.
    pub fn label(&self) -> String {
        match &self.variant {
            Some(v) => format!("{} {v}", self.name),
            None => self.name.clone(),
        }
    }
}

/// How a CNI carries pod traffic between the nodes.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum CniVariant {
    /// A VXLAN device (flannel.1, vxlan.calico, cilium_vxlan).
    #[serde(rename = "vxlan")]
    Vxlan,
    /// A Geneve device (cilium_geneve).
    #[serde(rename = "geneve")]
    Geneve,
    /// IP-in-IP (Calico's tunl0).
    #[serde(rename = "ipip")]
    IpIp,
    /// Plain routes to the other nodes' pod CIDRs through their node IPs (Calico and kube-router
    /// by BGP, Cilium's native routing).
    #[serde(rename = "routed")]
    Routed,
    /// flannel's host-gw backend: flannel's routes through the node IPs, no flannel.1.
    #[serde(rename = "host-gw")]
    HostGw,
    /// A variant this version does not know (a newer agent wrote it).
    #[serde(other)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    Unknown,
}

impl std::fmt::Display for CniVariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CniVariant::Vxlan => "vxlan",
            CniVariant::Geneve => "geneve",
            CniVariant::IpIp => "ipip",
            CniVariant::Routed => "routed",
            CniVariant::HostGw => "host-gw",
            CniVariant::Unknown => "(a variant this version does not know)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_report_without_a_variant_and_a_newer_variant_both_read() {
        let old: CniFingerprint =
            serde_json::from_str(r#"{"name":"flannel","evidence":["flannel.1 (vxlan)"]}"#)
                .expect("an older agent's fingerprint reads");
        assert_eq!((old.variant, old.label()), (None, "flannel".to_string()));
        let newer: CniFingerprint =
            serde_json::from_str(r#"{"name":"calico","variant":"bpf","evidence":[]}"#)
                .expect("an unknown variant reads");
        assert_eq!(newer.variant, Some(CniVariant::Unknown));
        let routed = CniFingerprint {
            name: "calico".into(),
            variant: Some(CniVariant::Routed),
            evidence: vec![],
        };
        let json = serde_json::to_string(&routed).expect("serializes");
        assert!(json.contains(r#""variant":"routed""#), "{json}");
        assert_eq!(routed.label(), "calico routed");
        let back: CniFingerprint = serde_json::from_str(&json).expect("reads back");
        assert_eq!(back, routed);
    }
}
