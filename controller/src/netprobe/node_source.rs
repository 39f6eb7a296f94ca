//! Which NetProbes may start from a node (pure): the controller's `--node-source-namespaces`.
//!
//! A connect from a node's host network carries the node's identity: it reaches the kubelet,
//! the cloud's metadata service and the other nodes as the node does. A NetProbe is namespaced,
//! and its author must not gain that by writing `source.node`. So node sources are off unless
//! the cluster's administrator lists the namespaces where they may be used; RBAC on who may
//! create NetProbes in those namespaces then decides who gains node identity, and the default
//! install (no namespace listed) grants it to nobody.

use std::collections::BTreeSet;

use netdiag_crds::SourceRef;
use netdiag_crds::validate::is_dns_label;

use crate::netprobe::spec::ValidSpec;

/// The flag that allows node sources, and its environment variable.
pub const FLAG: &str = "--node-source-namespaces";
pub const ENV: &str = "NETDIAG_NODE_SOURCE_NAMESPACES";
/// The status reason of a refused node source.
pub const NOT_ALLOWED: &str = "NodeSourceNotAllowed";

/// Where node sources are allowed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum NodeSourcePolicy {
    /// Nowhere: the default.
    #[default]
    Nowhere,
    /// In every namespace (`*`).
    Everywhere,
    /// In these namespaces only.
    In(BTreeSet<String>),
}

/// Why a `--node-source-namespaces` value cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "{0:?} is not a namespace name (lower-case letters, digits and '-'): list namespaces as NS[,NS...], or give * for every namespace"
    )]
    BadNamespace(String),
    #[error("* means every namespace and stands alone: give either * or a list of namespaces")]
    StarWithOthers,
}

/// A node source the policy refuses: the message says which flag allows it and why it is off.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "source node/{node} is not allowed in namespace {namespace}: node sources are off {scope}. A connect from a node's host network carries the node's identity (it reaches the kubelet, cloud metadata and the other nodes), so the controller runs node sources only for the namespaces its {FLAG} flag ({ENV}) lists, none by default; to allow them here, a cluster administrator adds {namespace} to it (then RBAC on who may create NetProbes in {namespace} decides who gains node identity), or trace from a pod instead"
)]
pub struct NodeSourceNotAllowed {
    pub namespace: String,
    pub node: String,
    /// `everywhere (the default)` or `here (the flag lists a, b)`.
    scope: String,
}

impl NodeSourcePolicy {
    /// Parse the flag's value: empty = nowhere, `*` = everywhere, else `NS[,NS...]`.
    pub fn parse(value: &str) -> Result<Self, PolicyError> {
        let names: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        if names.contains(&"*") {
            return match names.as_slice() {
                ["*"] => Ok(NodeSourcePolicy::Everywhere),
                _ => Err(PolicyError::StarWithOthers),
            };
        }
        if let Some(bad) = names.iter().find(|n| !is_dns_label(n)) {
            return Err(PolicyError::BadNamespace((*bad).to_string()));
        }
        Ok(if names.is_empty() {
            NodeSourcePolicy::Nowhere
        } else {
            NodeSourcePolicy::In(names.into_iter().map(String::from).collect())
        })
    }

    /// Whether a NetProbe in `namespace` may start from a node.
    pub fn allows(&self, namespace: &str) -> bool {
        match self {
            NodeSourcePolicy::Nowhere => false,
            NodeSourcePolicy::Everywhere => true,
            NodeSourcePolicy::In(names) => names.contains(namespace),
        }
    }

    /// The flag's value, as `--help` and the start-up log show it.
    pub fn describe(&self) -> String {
        match self {
            NodeSourcePolicy::Nowhere => "none".to_string(),
            NodeSourcePolicy::Everywhere => "*".to_string(),
            NodeSourcePolicy::In(names) => names.iter().cloned().collect::<Vec<_>>().join(","),
        }
    }

    /// Refuse a node source this policy does not allow in `namespace`; a pod source passes.
    pub fn check(&self, namespace: &str, spec: &ValidSpec) -> Result<(), NodeSourceNotAllowed> {
        let Some(SourceRef::Node(node)) = spec.get().source.kind() else {
            return Ok(());
        };
        if self.allows(namespace) {
            return Ok(());
        }
        let scope = match self {
            NodeSourcePolicy::In(names) => format!(
                "here ({FLAG} lists {})",
                names.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
            _ => "everywhere (the default)".to_string(),
        };
        Err(NodeSourceNotAllowed {
            namespace: namespace.to_string(),
            node: node.to_string(),
            scope,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netdiag_crds::{NetProbeSpec, ProbeSource};

    fn spec(source: ProbeSource) -> ValidSpec {
        let spec: NetProbeSpec = serde_json::from_value(serde_json::json!({
            "source": source,
            "target": {"address": {"ip": "10.96.0.1", "port": 443}}
        }))
        .expect("spec");
        ValidSpec::new(&spec).expect("valid")
    }

    #[test]
    fn the_flag_parses_to_nowhere_everywhere_or_a_list() {
        assert_eq!(NodeSourcePolicy::parse(""), Ok(NodeSourcePolicy::Nowhere));
        assert_eq!(
            NodeSourcePolicy::parse(" , "),
            Ok(NodeSourcePolicy::Nowhere)
        );
        assert_eq!(
            NodeSourcePolicy::parse("*"),
            Ok(NodeSourcePolicy::Everywhere)
        );
        let listed = NodeSourcePolicy::parse("netops, platform").expect("list");
        assert_eq!(listed.describe(), "netops,platform");
        assert!(listed.allows("netops") && listed.allows("platform"));
        assert!(!listed.allows("default"));
        assert_eq!(
            NodeSourcePolicy::parse("netops,*"),
            Err(PolicyError::StarWithOthers)
        );
        assert_eq!(
            NodeSourcePolicy::parse("Net_Ops"),
            Err(PolicyError::BadNamespace("Net_Ops".into()))
        );
    }

    #[test]
    fn a_node_source_is_refused_by_default_naming_the_flag_and_why() {
        let node = spec(ProbeSource::node("node-a"));
        let e = NodeSourcePolicy::default()
            .check("default", &node)
            .expect_err("off by default");
        let msg = e.to_string();
        for part in [
            "source node/node-a",
            "namespace default",
            "off everywhere (the default)",
            "--node-source-namespaces",
            "NETDIAG_NODE_SOURCE_NAMESPACES",
            "node's identity",
        ] {
            assert!(msg.contains(part), "{part:?} missing: {msg}");
        }
        // A pod source never needs the flag.
        let pod = spec(ProbeSource::pod("curl"));
        assert_eq!(NodeSourcePolicy::default().check("default", &pod), Ok(()));
    }

    #[test]
    fn a_node_source_runs_only_in_a_listed_namespace_or_with_star() {
        let node = spec(ProbeSource::node("node-a"));
        let listed = NodeSourcePolicy::parse("netops").expect("list");
        assert_eq!(listed.check("netops", &node), Ok(()));
        let e = listed.check("default", &node).expect_err("unlisted");
        assert!(
            e.to_string()
                .contains("off here (--node-source-namespaces lists netops)"),
            "{e}"
        );
        assert_eq!(NodeSourcePolicy::Everywhere.check("default", &node), Ok(()));
    }
}
