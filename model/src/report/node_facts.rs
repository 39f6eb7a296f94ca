//! What a trace says about each node it ran on, beside the hops: the CNI and the Service proxy
//! mode, so a reader of the path knows which data plane the hops describe.

use serde::{Deserialize, Serialize};

use crate::inspect::CniFingerprint;

/// One node's facts in a trace report (`nodeFacts`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TraceNodeFacts {
    pub node: String,
    /// Which CNI built the node's pod network; absent when the node's links could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cni: Option<CniFingerprint>,
    /// The Service proxy mode (`iptables (nf_tables)`, `nftables`, `ipvs`...), when the run
    /// read the node's Service rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_mode: Option<String>,
}

impl TraceNodeFacts {
    /// `node-a: flannel vxlan, kube-proxy iptables`: the facts in one line, for the renderers.
    pub fn line(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.cni {
            parts.push(format!("CNI {}", c.label()));
        }
        if let Some(m) = &self.proxy_mode {
            parts.push(format!("proxy {m}"));
        }
        if parts.is_empty() {
            parts.push("nothing read".into());
        }
        format!("{}: {}", self.node, parts.join(", "))
    }
}

/// The facts of every node of `reports`, each node once (its first report's), in report order.
pub fn collect<'a>(facts: impl IntoIterator<Item = &'a TraceNodeFacts>) -> Vec<TraceNodeFacts> {
    let mut out: Vec<TraceNodeFacts> = Vec::new();
    for f in facts {
        if !out.iter().any(|o| o.node == f.node) {
            out.push(f.clone());
        }
    }
    out
}
