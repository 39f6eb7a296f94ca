//! `render-agent-pod --objects FILE`: the API objects a probe names, from a file (what
//! `kubectl get pod/curl svc/echo endpointslices -l kubernetes.io/service-name=echo -o yaml`
//! prints: a `List`, or YAML documents, or JSON), resolved by the same pure functions the
//! reconciler uses, so the rendered plan is the one the controller would write for them.

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;
use netdiag_crds::{SourceRef, TargetRef};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::netprobe::resolve::{
    self, KUBE_DNS_NAMESPACE, KUBE_DNS_SERVICE, ResolveError, Resolved, ResolvedTarget,
    SERVICE_NAME_LABEL,
};
use crate::netprobe::spec::ValidSpec;

#[derive(Debug, thiserror::Error)]
pub enum ObjectsError {
    #[error("reading {path} failed: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not JSON: {source}")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} is not YAML: {source}")]
    Yaml {
        path: String,
        #[source]
        source: serde_saphyr::Error,
    },
    #[error("{path}: the {kind} {name} does not decode: {source}")]
    Object {
        path: String,
        kind: String,
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the objects in {path} do not resolve the probe: {source} (add the object to the file, or leave --objects out for placeholders)"
    )]
    Resolve {
        path: String,
        #[source]
        source: ResolveError,
    },
}

/// The Pods, Services, EndpointSlices and Nodes of a file; other kinds are ignored.
#[derive(Clone, Debug, Default)]
pub struct Objects {
    path: String,
    /// Objects without a namespace are taken to be in this one (the probe's).
    default_namespace: String,
    pods: Vec<Pod>,
    services: Vec<Service>,
    slices: Vec<EndpointSlice>,
    nodes: Vec<Node>,
}

fn documents(path: &str, text: &str) -> Result<Vec<Value>, ObjectsError> {
    let docs: Vec<Value> = if text.trim_start().starts_with(['{', '[']) {
        // JSON first: `kubectl get -o json` of a large Service parses far faster this way.
        let v: Value = serde_json::from_str(text).map_err(|source| ObjectsError::Json {
            path: path.into(),
            source,
        })?;
        match v {
            Value::Array(items) => items,
            one => vec![one],
        }
    } else {
        serde_saphyr::from_multiple(text).map_err(|source| ObjectsError::Yaml {
            path: path.into(),
            source,
        })?
    };
    // A `kind: List` holds its objects in `items`.
    Ok(docs
        .into_iter()
        .flat_map(|d| match d.get("items") {
            Some(Value::Array(items)) if d["kind"] == "List" || d["kind"].is_null() => {
                items.clone()
            }
            _ => vec![d],
        })
        .collect())
}

fn decode<K: DeserializeOwned>(path: &str, kind: &str, doc: Value) -> Result<K, ObjectsError> {
    let name = doc["metadata"]["name"].as_str().unwrap_or("?").to_string();
    serde_json::from_value(doc).map_err(|source| ObjectsError::Object {
        path: path.into(),
        kind: kind.into(),
        name,
        source,
    })
}

impl Objects {
    /// Read a file of objects.
    pub fn load(path: &str, default_namespace: &str) -> Result<Objects, ObjectsError> {
        let text = std::fs::read_to_string(path).map_err(|source| ObjectsError::Read {
            path: path.into(),
            source,
        })?;
        let mut out = Objects {
            path: path.into(),
            default_namespace: default_namespace.into(),
            ..Default::default()
        };
        for doc in documents(path, &text)? {
            match doc["kind"].as_str() {
                Some("Pod") => out.pods.push(decode(path, "Pod", doc)?),
                Some("Service") => out.services.push(decode(path, "Service", doc)?),
                Some("EndpointSlice") => out.slices.push(decode(path, "EndpointSlice", doc)?),
                Some("Node") => out.nodes.push(decode(path, "Node", doc)?),
                _ => {}
            }
        }
        Ok(out)
    }

    fn in_namespace(&self, o: &impl ResourceExt, ns: &str) -> bool {
        o.namespace().as_deref().unwrap_or(&self.default_namespace) == ns
    }

    fn find<'a, K: ResourceExt>(&self, list: &'a [K], ns: &str, name: &str) -> Option<&'a K> {
        list.iter()
            .find(|o| o.name_any() == name && self.in_namespace(*o, ns))
    }

    fn slices_of(&self, ns: &str, service: &str) -> Vec<EndpointSlice> {
        self.slices
            .iter()
            .filter(|s| {
                self.in_namespace(*s, ns)
                    && s.labels().get(SERVICE_NAME_LABEL).map(String::as_str) == Some(service)
            })
            .cloned()
            .collect()
    }

    /// Resolve the probe from these objects, as [`resolve::resolve`] does from the API.
    pub fn resolve(
        &self,
        probe_ns: &str,
        spec: &ValidSpec,
        cluster_domain: &str,
    ) -> Result<Resolved, ObjectsError> {
        self.resolve_facts(probe_ns, spec, cluster_domain)
            .map_err(|source| ObjectsError::Resolve {
                path: self.path.clone(),
                source,
            })
    }

    fn resolve_facts(
        &self,
        probe_ns: &str,
        spec: &ValidSpec,
        cluster_domain: &str,
    ) -> Result<Resolved, ResolveError> {
        let s = spec.get();
        let source = match s.source.kind() {
            Some(SourceRef::Pod(name)) => {
                resolve::source_from_pod(probe_ns, name, self.find(&self.pods, probe_ns, name))
            }
            Some(SourceRef::Node(name)) => {
                let node = self.nodes.iter().find(|n| n.name_any() == name);
                resolve::source_from_node(probe_ns, name, node)
            }
            None => Err(ResolveError::NoSource),
        }?;
        let target = match s.target.kind() {
            Some(TargetRef::Service(t)) => {
                let ns = t.namespace.as_deref().unwrap_or(probe_ns);
                ResolvedTarget::Service(resolve::service_from(
                    ns,
                    &t.name,
                    self.find(&self.services, ns, &t.name),
                    &self.slices_of(ns, &t.name),
                    t.port.as_ref(),
                )?)
            }
            Some(TargetRef::Pod(t)) => {
                let ns = t.namespace.as_deref().unwrap_or(probe_ns);
                ResolvedTarget::Pod(resolve::pod_target_from(
                    ns,
                    &t.name,
                    self.find(&self.pods, ns, &t.name),
                    &t.port,
                )?)
            }
            other => other
                .and_then(resolve::fixed_target)
                .ok_or(ResolveError::NoTarget)?,
        };
        let dns_name = resolve::dns_name_for(spec, probe_ns, cluster_domain);
        let kube_dns = self.find(&self.services, KUBE_DNS_NAMESPACE, KUBE_DNS_SERVICE);
        let dns_servers = match dns_name {
            Some(_) => resolve::kube_dns_from(kube_dns).into_iter().collect(),
            None => Vec::new(),
        };
        // As the controller reads them: the involved nodes the file holds, in the same order.
        let nodes = resolve::nodes_involved(&source.node, &target, resolve::address_node(spec))
            .iter()
            .filter_map(|name| self.nodes.iter().find(|n| n.name_any() == *name))
            .filter_map(resolve::plan_node_from)
            .collect();
        Ok(Resolved {
            source,
            target,
            dns_name,
            dns_servers,
            nodes,
        })
    }
}
