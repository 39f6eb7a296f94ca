//! Step 2 of the pipeline, resolve: read the objects a spec names and turn them into the facts the
//! plan needs (pod IPs, nodes, ClusterIP, ports, ready endpoints). The conversions from API
//! objects are pure functions, tested with YAML fixtures; [`resolve`] only fetches.
//!
//! Every way a target can be unusable (source pod missing or not running, headless Service, no
//! ready endpoints, unknown port name...) is a terminal [`ResolveError`] with a stable reason: the
//! probe fails with that reason and no agent pod is started.

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::ListParams;
use kube::{Api, Client};
use netdiag_crds::{SourceRef, TargetRef};

use crate::netprobe::spec::ValidSpec;

mod nodes;
mod objects;
pub use nodes::{nodes_involved, plan_node_from, read_nodes};
pub use objects::{
    dns_name_for, kube_dns_from, pod_target_from, service_from, source_from_node, source_from_pod,
};

/// Where the kube-dns Service lives; its ClusterIP is passed to the agent as a DNS server.
pub const KUBE_DNS_NAMESPACE: &str = "kube-system";
pub const KUBE_DNS_SERVICE: &str = "kube-dns";
/// Label EndpointSlices carry with their Service's name.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// What the plan needs, as the shared planner takes it.
pub use netdiag_model::planner::{
    ReadyEndpoint, Resolved, ResolvedPod, ResolvedService, ResolvedTarget, SourcePod,
};

/// Why a probe's objects cannot be used. All but [`ResolveError::Api`] are terminal: the probe
/// fails with [`ResolveError::reason`] and no agent pod starts.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("source pod {namespace}/{name} not found: create it or fix spec.source.pod")]
    SourcePodNotFound { namespace: String, name: String },
    #[error(
        "source pod {namespace}/{name} is {phase}, not Running: the trace needs its network namespace"
    )]
    SourcePodNotRunning {
        namespace: String,
        name: String,
        phase: String,
    },
    #[error("source pod {namespace}/{name} has no IP yet: wait until its sandbox is up")]
    SourcePodNoIp { namespace: String, name: String },
    #[error(
        "{what} {namespace}/{name} has only IPv6 addresses ({ips}): netdiag traces IPv4 so far"
    )]
    NoIpv4 {
        what: &'static str,
        namespace: String,
        name: String,
        ips: String,
    },
    #[error("source pod {namespace}/{name} is not bound to a node")]
    SourcePodNoNode { namespace: String, name: String },
    #[error("source node {name} not found: fix spec.source.node (`kubectl get nodes` lists them)")]
    SourceNodeNotFound { name: String },
    #[error(
        "source node {name} reports no IPv4 InternalIP or ExternalIP (`kubectl get node {name} -o wide`): the trace needs the address its connect starts from"
    )]
    SourceNodeNoAddress { name: String },
    #[error("spec.source sets neither a pod nor a node")]
    NoSource,
    #[error("Service {namespace}/{name} not found: create it or fix spec.target.service")]
    ServiceNotFound { namespace: String, name: String },
    #[error(
        "Service {namespace}/{name} is headless (clusterIP None): there is no virtual IP to trace; target one of its pods instead"
    )]
    HeadlessService { namespace: String, name: String },
    #[error(
        "Service {namespace}/{name} has no ClusterIP (type {kind}): netdiag traces ClusterIP Services"
    )]
    NoClusterIp {
        namespace: String,
        name: String,
        kind: String,
    },
    #[error("Service {namespace}/{name} has no port named {port:?}; it has: {known}")]
    UnknownPortName {
        namespace: String,
        name: String,
        port: String,
        known: String,
    },
    #[error("Service {namespace}/{name} has no port {port}; it has: {known}")]
    UnknownPort {
        namespace: String,
        name: String,
        port: i32,
        known: String,
    },
    #[error(
        "Service {namespace}/{name} has {count} ports: set spec.target.service.port to one of {known}"
    )]
    AmbiguousPort {
        namespace: String,
        name: String,
        count: usize,
        known: String,
    },
    #[error(
        "Service {namespace}/{name} has no ready endpoints for port {port}: no pod behind it is Ready (check its selector and the pods' readiness probes)"
    )]
    NoReadyEndpoints {
        namespace: String,
        name: String,
        port: String,
    },
    #[error("target pod {namespace}/{name} not found: fix spec.target.pod")]
    TargetPodNotFound { namespace: String, name: String },
    #[error("target pod {namespace}/{name} is {phase}, not Running")]
    TargetPodNotRunning {
        namespace: String,
        name: String,
        phase: String,
    },
    #[error("target pod {namespace}/{name} has no IP or node yet")]
    TargetPodNotPlaced { namespace: String, name: String },
    #[error("target pod {namespace}/{name} declares no container port named {port:?}")]
    UnknownContainerPort {
        namespace: String,
        name: String,
        port: String,
    },
    #[error("spec.target sets no single target kind")]
    NoTarget,
    #[error("reading {what} from the API failed: {source}; retrying")]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
}

impl ResolveError {
    /// The status reason: a stable category for conditions and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            ResolveError::SourcePodNotFound { .. } => "SourcePodNotFound",
            ResolveError::SourcePodNotRunning { .. } => "SourcePodNotRunning",
            ResolveError::SourcePodNoIp { .. } => "SourcePodNoIP",
            ResolveError::SourcePodNoNode { .. } => "SourcePodNotScheduled",
            ResolveError::NoIpv4 { .. } => "NoIPv4Address",
            ResolveError::SourceNodeNotFound { .. } => "SourceNodeNotFound",
            ResolveError::SourceNodeNoAddress { .. } => "SourceNodeNoAddress",
            ResolveError::ServiceNotFound { .. } => "ServiceNotFound",
            ResolveError::HeadlessService { .. } => "HeadlessService",
            ResolveError::NoClusterIp { .. } => "NoClusterIP",
            ResolveError::UnknownPortName { .. } => "UnknownPortName",
            ResolveError::UnknownPort { .. } => "UnknownPort",
            ResolveError::AmbiguousPort { .. } => "AmbiguousPort",
            ResolveError::NoReadyEndpoints { .. } => "NoReadyEndpoints",
            ResolveError::TargetPodNotFound { .. } => "TargetPodNotFound",
            ResolveError::TargetPodNotRunning { .. } => "TargetPodNotRunning",
            ResolveError::TargetPodNotPlaced { .. } => "TargetPodNotPlaced",
            ResolveError::UnknownContainerPort { .. } => "UnknownContainerPort",
            ResolveError::NoTarget | ResolveError::NoSource => "InvalidSpec",
            ResolveError::Api { .. } => "ApiError",
        }
    }

    /// Whether the probe should fail with this reason (rather than be retried).
    pub fn is_terminal(&self) -> bool {
        !matches!(self, ResolveError::Api { .. })
    }

    /// What this failure already says about reachability: a Service with no ready endpoint,
    /// or a target pod that is not running, cannot be reached; the rest says nothing.
    pub fn reachable(&self) -> Option<bool> {
        match self {
            ResolveError::NoReadyEndpoints { .. } | ResolveError::TargetPodNotRunning { .. } => {
                Some(false)
            }
            _ => None,
        }
    }
}

/// The targets that need no API object: an address or a DNS name, as the spec gives them.
pub fn fixed_target(kind: TargetRef<'_>) -> Option<ResolvedTarget> {
    match kind {
        TargetRef::Address(a) => Some(ResolvedTarget::Address {
            // validate_spec checked an IPv4 address and a port of 1..=65535.
            ip: a.ip.parse().ok()?,
            port: u16::try_from(a.port).ok()?,
            protocol: a.protocol,
        }),
        TargetRef::Dns(d) => Some(ResolvedTarget::Dns {
            name: d.name.clone(),
        }),
        TargetRef::Service(_) | TargetRef::Pod(_) => None,
    }
}

/// The node an address target names as its holder (a NodePort's).
pub fn address_node(spec: &ValidSpec) -> Option<&str> {
    match spec.get().target.kind() {
        Some(TargetRef::Address(a)) => a.node.as_deref(),
        _ => None,
    }
}

async fn get_opt<K>(api: &Api<K>, name: &str, what: &str) -> Result<Option<K>, ResolveError>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.get_opt(name).await.map_err(|source| ResolveError::Api {
        what: what.to_string(),
        source,
    })
}

/// Read what a spec names and resolve it. A node source is its Node (the caller checked that
/// the controller allows it, [`crate::netprobe::node_source`]). Source and target pods,
/// Services and EndpointSlices are read in their own namespaces only; a cross-namespace target reveals nothing but that
/// Service's (or pod's) own facts.
pub async fn resolve(
    client: &Client,
    probe_namespace: &str,
    spec: &ValidSpec,
    cluster_domain: &str,
) -> Result<Resolved, ResolveError> {
    let s = spec.get();
    // A node source's own Node is read here, so it is not read again with the others.
    let mut source_node = None;
    let source = match s.source.kind() {
        Some(SourceRef::Pod(name)) => {
            let pods: Api<Pod> = Api::namespaced(client.clone(), probe_namespace);
            let src = get_opt(&pods, name, "the source pod").await?;
            source_from_pod(probe_namespace, name, src.as_ref())?
        }
        Some(SourceRef::Node(name)) => {
            let nodes: Api<Node> = Api::all(client.clone());
            let node = get_opt(&nodes, name, "the source node").await?;
            source_node = node.as_ref().and_then(plan_node_from);
            source_from_node(probe_namespace, name, node.as_ref())?
        }
        // ValidSpec guarantees exactly one source; say so rather than panic if that changes.
        None => return Err(ResolveError::NoSource),
    };
    let target = match s.target.kind() {
        Some(TargetRef::Service(t)) => {
            let ns = t.namespace.as_deref().unwrap_or(probe_namespace);
            let svcs: Api<Service> = Api::namespaced(client.clone(), ns);
            let svc = get_opt(&svcs, &t.name, "the target Service").await?;
            let slices: Vec<EndpointSlice> = if svc.is_some() {
                let api: Api<EndpointSlice> = Api::namespaced(client.clone(), ns);
                let lp = ListParams::default().labels(&format!("{SERVICE_NAME_LABEL}={}", t.name));
                api.list(&lp)
                    .await
                    .map_err(|source| ResolveError::Api {
                        what: format!("EndpointSlices of Service {ns}/{}", t.name),
                        source,
                    })?
                    .items
            } else {
                Vec::new()
            };
            ResolvedTarget::Service(service_from(
                ns,
                &t.name,
                svc.as_ref(),
                &slices,
                t.port.as_ref(),
            )?)
        }
        Some(TargetRef::Pod(t)) => {
            let ns = t.namespace.as_deref().unwrap_or(probe_namespace);
            let api: Api<Pod> = Api::namespaced(client.clone(), ns);
            let pod = get_opt(&api, &t.name, "the target pod").await?;
            ResolvedTarget::Pod(pod_target_from(ns, &t.name, pod.as_ref(), &t.port)?)
        }
        Some(kind @ (TargetRef::Address(_) | TargetRef::Dns(_))) => {
            fixed_target(kind).ok_or(ResolveError::NoTarget)?
        }
        // ValidSpec guarantees exactly one target; say so rather than panic if that changes.
        None => return Err(ResolveError::NoTarget),
    };
    let dns_name = dns_name_for(spec, probe_namespace, cluster_domain);
    let mut dns_servers = Vec::new();
    if dns_name.is_some() {
        let api: Api<Service> = Api::namespaced(client.clone(), KUBE_DNS_NAMESPACE);
        let svc = get_opt(&api, KUBE_DNS_SERVICE, "the kube-dns Service").await?;
        dns_servers.extend(kube_dns_from(svc.as_ref()));
    }
    let mut involved = nodes_involved(&source.node, &target, address_node(spec));
    let mut nodes: Vec<netdiag_model::PlanNode> = Vec::new();
    if let Some(n) = source_node {
        involved.retain(|name| *name != n.name);
        nodes.push(n);
    }
    nodes.extend(read_nodes(client, involved).await);
    Ok(Resolved {
        source,
        target,
        dns_name,
        dns_servers,
        nodes,
    })
}
