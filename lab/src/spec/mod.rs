//! The lab's declarative spec: nodes, pods, Services and cluster DNS, loadable from YAML or JSON.
//!
//! Pure: parsing and validation only. A [`LabSpec`] that passed [`LabSpec::validate`] is what the
//! builder plans from, so the builder never meets a pod on an unknown node or an IP outside its
//! node's pod CIDR.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use netdiag_model::Protocol;
use serde::{Deserialize, Serialize};

pub use super::cidr::Ipv4Net;
pub use cni::Cni;

mod cni;
mod default;

/// The whole lab: a small cluster's data plane.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabSpec {
    /// The pod network of the whole cluster (kube-proxy's `--cluster-cidr`).
    pub cluster_cidr: Ipv4Net,
    /// Where ClusterIPs come from; each node routes it to the cluster network.
    pub service_cidr: Ipv4Net,
    /// The network the nodes share (kind's docker network).
    pub node_network: Ipv4Net,
    pub nodes: Vec<NodeSpec>,
    pub pods: Vec<PodSpec>,
    pub services: Vec<ServiceSpec>,
    pub dns: DnsSpec,
    /// Which kube-proxy mode programs the nodes' Service rules (`iptables` when absent).
    #[serde(default)]
    pub proxy_mode: ProxyMode,
    /// Hairpin mode on every pod's bridge port, as kubelet's `--hairpin-mode hairpin-veth`
    /// sets it (`true` when absent), so a pod can reach itself through a Service it backs.
    /// `false` builds the lab as a node whose kubelet does not.
    #[serde(default = "hairpin_default")]
    pub hairpin: bool,
    /// Which CNI's shape the pod network takes (`bridge` when absent).
    #[serde(default)]
    pub cni: Cni,
}

fn hairpin_default() -> bool {
    true
}

/// The kube-proxy mode whose rules the lab loads into every node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ProxyMode {
    /// KUBE-SERVICES and its chains in the nat and filter tables, loaded with
    /// `iptables-restore`.
    #[default]
    Iptables,
    /// `table ip kube-proxy` with its maps and chains, loaded with `nft -f`.
    Nftables,
}

impl ProxyMode {
    /// The name kube-proxy's `--proxy-mode` and `/proxyMode` use.
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyMode::Iptables => "iptables",
            ProxyMode::Nftables => "nftables",
        }
    }
}

impl std::fmt::Display for ProxyMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSpec {
    pub name: String,
    pub pod_cidr: Ipv4Net,
    /// The node's address on the node network.
    pub ip: Ipv4Addr,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodSpec {
    /// Unique across the lab (it names the pod's network namespace).
    pub name: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    pub node: String,
    pub ip: Ipv4Addr,
    /// TCP ports the pod's process serves (accept, write `<pod name>\n`, close).
    #[serde(default)]
    pub tcp: Vec<u16>,
    /// UDP ports the pod's process echoes on.
    #[serde(default)]
    pub udp: Vec<u16>,
}

fn default_namespace() -> String {
    "default".into()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceSpec {
    #[serde(default = "default_namespace")]
    pub namespace: String,
    pub name: String,
    pub cluster_ip: Ipv4Addr,
    pub ports: Vec<ServicePortSpec>,
    /// The pods (by name) behind the Service: its ready endpoints.
    pub endpoints: Vec<String>,
    /// Local: a node sends NodePort traffic from outside the cluster only to its own endpoints,
    /// and drops it when it has none (pods' traffic still reaches every endpoint, unmasqueraded:
    /// from a pod on another node the reply bypasses the node and is lost).
    #[serde(default, skip_serializing_if = "TrafficPolicy::is_cluster")]
    pub external_traffic_policy: TrafficPolicy,
}

/// A Service's `externalTrafficPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrafficPolicy {
    #[default]
    Cluster,
    Local,
}

impl TrafficPolicy {
    fn is_cluster(&self) -> bool {
        *self == TrafficPolicy::Cluster
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServicePortSpec {
    #[serde(default)]
    pub name: Option<String>,
    pub port: u16,
    #[serde(default)]
    pub protocol: Protocol,
    pub target_port: u16,
    #[serde(default)]
    pub node_port: Option<u16>,
}

/// Cluster DNS: kube-dns (a dnsmasq in `pod`, behind the Service with `cluster_ip`) and
/// nodelocaldns (a dnsmasq on every node at `node_local`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DnsSpec {
    pub pod: String,
    pub cluster_ip: Ipv4Addr,
    pub node_local: Ipv4Addr,
    pub domain: String,
}

/// A spec that cannot be built, and what to change.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read the lab spec {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the lab spec {path} is neither valid YAML nor JSON for a lab spec: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid lab spec: {0}")]
    Invalid(String),
}

/// Names become network namespace and file names: keep them short and plain.
pub fn valid_object_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 20
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// The name of the namespace that joins the nodes; no node or pod may take it.
pub const CLUSTER_NETWORK_NAME: &str = "net";

impl LabSpec {
    /// Read a spec from a YAML or JSON file (JSON is YAML, so one parser serves both).
    pub fn load(path: &Path) -> Result<LabSpec, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let spec: LabSpec = serde_saphyr::from_str(&text).map_err(|e| SpecError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        spec.validate()?;
        Ok(spec)
    }

    pub fn node(&self, name: &str) -> Option<&NodeSpec> {
        self.nodes.iter().find(|n| n.name == name)
    }

    pub fn pod(&self, name: &str) -> Option<&PodSpec> {
        self.pods.iter().find(|p| p.name == name)
    }

    pub fn pod_by_ip(&self, ip: Ipv4Addr) -> Option<&PodSpec> {
        self.pods.iter().find(|p| p.ip == ip)
    }

    /// The pods scheduled on `node`, in spec order.
    pub fn pods_on<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a PodSpec> + 'a {
        self.pods.iter().filter(move |p| p.node == node)
    }

    /// The `<svc>.<ns>.svc.<domain>` name of a Service.
    pub fn service_fqdn(&self, svc: &ServiceSpec) -> String {
        format!("{}.{}.svc.{}", svc.name, svc.namespace, self.dns.domain)
    }

    /// Check everything the builder relies on; the message says what to change.
    pub fn validate(&self) -> Result<(), SpecError> {
        let bad = |m: String| Err(SpecError::Invalid(m));
        if self.nodes.is_empty() {
            return bad("the lab needs at least one node".into());
        }
        let mut names = BTreeSet::new();
        for name in self
            .nodes
            .iter()
            .map(|n| &n.name)
            .chain(self.pods.iter().map(|p| &p.name))
        {
            if !valid_object_name(name) {
                return bad(format!(
                    "name {name:?}: use 1-20 lower-case letters, digits or '-' (it names a network namespace)"
                ));
            }
            if name == CLUSTER_NETWORK_NAME {
                return bad(format!(
                    "name {name:?} is reserved for the namespace joining the nodes"
                ));
            }
            if !names.insert(name.as_str()) {
                return bad(format!(
                    "name {name:?} is used twice: node and pod names must be unique across the lab"
                ));
            }
        }
        let mut node_ips = BTreeSet::new();
        for n in &self.nodes {
            if !self.node_network.contains(n.ip) || !node_ips.insert(n.ip) {
                return bad(format!(
                    "node {}: IP {} must be unique and inside the node network {}",
                    n.name, n.ip, self.node_network
                ));
            }
            if n.pod_cidr.prefix < 16 || n.pod_cidr.prefix > 28 {
                return bad(format!(
                    "node {}: pod CIDR {} must be a /16 to /28",
                    n.name, n.pod_cidr
                ));
            }
            if let Some(other) = self.nodes.iter().find(|o| {
                o.name != n.name
                    && (o.pod_cidr.contains(n.pod_cidr.addr)
                        || n.pod_cidr.contains(o.pod_cidr.addr))
            }) {
                return bad(format!(
                    "node {}: pod CIDR {} overlaps node {}'s {}",
                    n.name, n.pod_cidr, other.name, other.pod_cidr
                ));
            }
            if !self.cluster_cidr.contains(n.pod_cidr.addr) {
                return bad(format!(
                    "node {}: pod CIDR {} is outside the cluster CIDR {}",
                    n.name, n.pod_cidr, self.cluster_cidr
                ));
            }
        }
        let mut pod_ips = BTreeSet::new();
        for p in &self.pods {
            let Some(node) = self.node(&p.node) else {
                return bad(format!("pod {}: no node named {:?}", p.name, p.node));
            };
            if !node.pod_cidr.contains(p.ip) || p.ip == node.pod_cidr.nth(1) {
                return bad(format!(
                    "pod {}: IP {} must be inside node {}'s pod CIDR {} and not its gateway {}",
                    p.name,
                    p.ip,
                    node.name,
                    node.pod_cidr,
                    node.pod_cidr.nth(1)
                ));
            }
            if !pod_ips.insert(p.ip) {
                return bad(format!("pod {}: IP {} is used twice", p.name, p.ip));
            }
            if !valid_object_name(&p.namespace) {
                return bad(format!(
                    "pod {}: namespace {:?} is not a valid name",
                    p.name, p.namespace
                ));
            }
        }
        for s in &self.services {
            let id = format!("service {}/{}", s.namespace, s.name);
            if !self.service_cidr.contains(s.cluster_ip) {
                return bad(format!(
                    "{id}: ClusterIP {} is outside the service CIDR {}",
                    s.cluster_ip, self.service_cidr
                ));
            }
            if s.ports.is_empty() {
                return bad(format!("{id}: needs at least one port"));
            }
            for port in &s.ports {
                if port.port == 0 || port.target_port == 0 {
                    return bad(format!("{id}: port and targetPort must not be 0"));
                }
            }
            for e in &s.endpoints {
                if self.pod(e).is_none() {
                    return bad(format!("{id}: endpoint pod {e:?} is not in the lab"));
                }
            }
        }
        let Some(dns_pod) = self.pod(&self.dns.pod) else {
            return bad(format!(
                "dns: no pod named {:?} to run kube-dns",
                self.dns.pod
            ));
        };
        if !self
            .services
            .iter()
            .any(|s| s.cluster_ip == self.dns.cluster_ip && s.endpoints.contains(&dns_pod.name))
        {
            return bad(format!(
                "dns: no Service with ClusterIP {} selects pod {}",
                self.dns.cluster_ip, dns_pod.name
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
