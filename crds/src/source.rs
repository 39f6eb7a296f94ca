//! A NetProbe's source: exactly one of a pod in the probe's namespace or a node's host network.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where the traffic starts. Exactly one field is set.
///
/// A node source connects from the node's host network namespace and so carries the node's
/// identity (it reaches the kubelet, cloud metadata and the other nodes as the node does): the
/// controller refuses it unless its `--node-source-namespaces` lists the NetProbe's namespace,
/// and lists none by default.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "has(self.pod) != has(self.node)",
    "message": "spec.source must set exactly one of pod or node"
}]))]
pub struct ProbeSource {
    /// Name of a pod in the NetProbe's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(
            pattern = crate::validate::DNS_SUBDOMAIN_PATTERN
        )
    )]
    pub pod: Option<String>,
    /// Name of a node: the traffic starts from its host network namespace, with the node's
    /// identity. The controller runs it only for namespaces its `--node-source-namespaces`
    /// lists (none by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(
            pattern = crate::validate::DNS_SUBDOMAIN_PATTERN
        )
    )]
    pub node: Option<String>,
}

/// The source with exactly one kind chosen; see [`ProbeSource::kind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceRef<'a> {
    Pod(&'a str),
    Node(&'a str),
}

impl ProbeSource {
    /// A pod source.
    pub fn pod(name: impl Into<String>) -> Self {
        ProbeSource {
            pod: Some(name.into()),
            node: None,
        }
    }

    /// A node source.
    pub fn node(name: impl Into<String>) -> Self {
        ProbeSource {
            pod: None,
            node: Some(name.into()),
        }
    }

    /// The one source kind that is set, or `None` when neither or both are.
    pub fn kind(&self) -> Option<SourceRef<'_>> {
        match (&self.pod, &self.node) {
            (Some(p), None) => Some(SourceRef::Pod(p)),
            (None, Some(n)) => Some(SourceRef::Node(n)),
            _ => None,
        }
    }

    /// The source's name, whichever kind it is (`""` for an invalid source).
    pub fn name(&self) -> &str {
        match self.kind() {
            Some(SourceRef::Pod(n) | SourceRef::Node(n)) => n,
            None => "",
        }
    }

    /// Short human form, as kubectl would write it: `pod/curl`, `node/node-a`.
    pub fn display(&self) -> String {
        match self.kind() {
            Some(SourceRef::Pod(p)) => format!("pod/{p}"),
            Some(SourceRef::Node(n)) => format!("node/{n}"),
            None => "<invalid source>".to_string(),
        }
    }

    /// The source as a merged path names it: `NAMESPACE/POD` for a pod (its namespace is the
    /// probe's), `node/NAME` for a node.
    pub fn path_name(&self, probe_namespace: &str) -> String {
        match self.kind() {
            Some(SourceRef::Pod(p)) => format!("{probe_namespace}/{p}"),
            _ => self.display(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_is_one_kind_and_shows_as_kubectl_writes_it() {
        let pod = ProbeSource::pod("curl");
        assert_eq!(pod.kind(), Some(SourceRef::Pod("curl")));
        assert_eq!(pod.display(), "pod/curl");
        assert_eq!(pod.path_name("shop"), "shop/curl");
        let node = ProbeSource::node("node-a");
        assert_eq!(node.kind(), Some(SourceRef::Node("node-a")));
        assert_eq!(node.display(), "node/node-a");
        assert_eq!(node.path_name("shop"), "node/node-a");
        let both = ProbeSource {
            pod: Some("curl".into()),
            node: Some("node-a".into()),
        };
        assert_eq!(both.kind(), None);
        assert_eq!(ProbeSource::default().kind(), None);
        assert_eq!(ProbeSource::default().name(), "");
    }
}
