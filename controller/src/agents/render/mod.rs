//! `netdiag-controller render-agent-pod`: the exact agent pod and its plan ConfigMap for a
//! NetProbe file and a node, without a cluster (a NodeInspection file: its pod, [`inspection`]). Values that only the cluster knows (the source
//! pod's IP, a Service's ClusterIP and endpoints) are shown as placeholders in the plan, unless
//! the objects are given (`--objects`, [`objects`]); everything that decides what runs on the
//! node (image, command, privileges, mounts, node, deadline) is exact either way.

pub mod inspection;
pub mod objects;

use netdiag_crds::{NetProbe, PortRef, SourceRef, TargetRef};
use netdiag_model::PlanRole;

use crate::agents::pod::{self, AgentObjects, AgentSettings, PodError, ProbeRef};
use crate::netprobe::node_source::{self, NodeSourcePolicy};
use crate::netprobe::plan::{self, NodePlan};
use crate::netprobe::resolve::{
    self, ReadyEndpoint, Resolved, ResolvedPod, ResolvedService, ResolvedTarget, SourcePod,
};
use crate::netprobe::spec::ValidSpec;
use objects::{Objects, ObjectsError};

/// Placeholder for an address the cluster fills in: the unspecified address, which no pod,
/// Service or DNS server has, so the rendered plan still reads as a plan.
pub const PLACEHOLDER_IP: std::net::Ipv4Addr = std::net::Ipv4Addr::UNSPECIFIED;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("reading {path} failed: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a NetProbe or NodeInspection manifest: {source}")]
    Parse {
        path: String,
        #[source]
        source: serde_saphyr::Error,
    },
    #[error(transparent)]
    Invalid(#[from] netdiag_crds::validate::SpecErrors),
    #[error(transparent)]
    InvalidInspection(#[from] netdiag_crds::inspection::InspectionSpecError),
    #[error(transparent)]
    Pod(#[from] PodError),
    #[error(transparent)]
    Objects(#[from] ObjectsError),
    #[error(
        "the source of this NetProbe is node/{node}: the controller runs its source agent on {node}, not on {asked} (use --node {node}, or --role endpoint)"
    )]
    NodeSourceElsewhere { node: String, asked: String },
    #[error("the controller would refuse this NetProbe: {0} (render with {flag} to see the pod it would make where allowed)", flag = node_source::FLAG)]
    NodeSourceNotAllowed(#[from] node_source::NodeSourceNotAllowed),
    #[error("printing the pod as YAML failed: {0}")]
    Yaml(#[from] serde_saphyr::ser::Error),
}

/// A port number when the spec gives one; a named port resolves at run time (shown as 0).
fn port_number(p: Option<&PortRef>) -> u16 {
    match p {
        Some(PortRef::Number(n)) => u16::try_from(*n).unwrap_or(0),
        _ => 0,
    }
}

/// Resolved facts with placeholders, for rendering only.
fn placeholder_facts(
    probe_ns: &str,
    spec: &ValidSpec,
    node: &str,
    cluster_domain: &str,
) -> Resolved {
    let s = spec.get();
    let ph = || PLACEHOLDER_IP;
    let target = match s.target.kind() {
        Some(TargetRef::Service(t)) => ResolvedTarget::Service(ResolvedService {
            namespace: t.namespace.clone().unwrap_or_else(|| probe_ns.to_string()),
            name: t.name.clone(),
            cluster_ip: ph(),
            port: port_number(t.port.as_ref()),
            port_name: String::new(),
            protocol: Default::default(),
            // Two endpoints: the endpoint node is learnt from the source report.
            endpoints: vec![
                ReadyEndpoint {
                    ip: ph(),
                    port: 0,
                    node: None,
                },
                ReadyEndpoint {
                    ip: ph(),
                    port: 0,
                    node: None,
                },
            ],
        }),
        Some(TargetRef::Pod(t)) => ResolvedTarget::Pod(ResolvedPod {
            namespace: t.namespace.clone().unwrap_or_else(|| probe_ns.to_string()),
            name: t.name.clone(),
            ip: ph(),
            node: node.to_string(),
            port: port_number(Some(&t.port)),
            protocol: Default::default(),
        }),
        // ValidSpec has exactly one target.
        other => other
            .and_then(resolve::fixed_target)
            .unwrap_or(ResolvedTarget::Dns {
                name: String::new(),
            }),
    };
    let dns_name = resolve::dns_name_for(spec, probe_ns, cluster_domain);
    // A pod source is shown on the node asked for; a node source is on itself.
    let source_node = match s.source.kind() {
        Some(SourceRef::Node(n)) => n,
        _ => node,
    };
    Resolved {
        source: SourcePod {
            namespace: probe_ns.to_string(),
            name: s.source.name().to_string(),
            ip: ph(),
            node: source_node.to_string(),
            ready: true,
            is_node: matches!(s.source.kind(), Some(SourceRef::Node(_))),
        },
        target,
        nodes: Vec::new(),
        dns_servers: if dns_name.is_some() {
            vec![netdiag_model::DnsServer {
                address: std::net::SocketAddrV4::new(ph(), 53),
                role: "kube-dns".into(),
            }]
        } else {
            Vec::new()
        },
        dns_name,
    }
}

/// The endpoint an endpoint-role render checks on `node`: the target pod, a ready endpoint of
/// the Service on that node (the controller takes the one DNAT chose), or a placeholder.
fn endpoint_on(resolved: &Resolved, node: &str) -> netdiag_model::Endpoint {
    let placeholder = netdiag_model::Endpoint::new(PLACEHOLDER_IP, 0);
    match &resolved.target {
        ResolvedTarget::Pod(p) if p.ip != PLACEHOLDER_IP => {
            netdiag_model::Endpoint::new(p.ip, p.port)
        }
        ResolvedTarget::Service(s) => s
            .endpoints
            .iter()
            .find(|e| e.node.as_deref() == Some(node))
            .map(ReadyEndpoint::endpoint)
            .unwrap_or(placeholder),
        _ => placeholder,
    }
}

/// The plan ConfigMap and pod the controller would create for `probe` on `node` in the given
/// role: from `objects` when given (as the controller resolves them), else from placeholders.
pub fn render_objects(
    settings: &AgentSettings,
    probe: &NetProbe,
    node: &str,
    role: PlanRole,
    cluster_domain: &str,
    objects: Option<&Objects>,
) -> Result<AgentObjects, RenderError> {
    let spec = ValidSpec::new(&probe.spec)?;
    let ns = probe
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    // A node source's source agent runs on that node and nowhere else.
    if let (Some(SourceRef::Node(source)), PlanRole::Source | PlanRole::Unknown) =
        (spec.get().source.kind(), role)
        && source != node
    {
        return Err(RenderError::NodeSourceElsewhere {
            node: source.to_string(),
            asked: node.to_string(),
        });
    }
    let resolved = match objects {
        Some(o) => o.resolve(&ns, &spec, cluster_domain)?,
        None => placeholder_facts(&ns, &spec, node, cluster_domain),
    };
    let id = ProbeRef {
        namespace: ns,
        name: probe
            .metadata
            .name
            .clone()
            .unwrap_or_else(|| "netprobe".to_string()),
        uid: probe
            .metadata
            .uid
            .clone()
            .unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".to_string()),
        generation: probe.metadata.generation.unwrap_or(1),
        run: probe.status.as_ref().and_then(|s| s.runs).unwrap_or(0) + 1,
    };
    // The runs the controller starts together, as it plans them (a watching endpoint pod
    // included); an endpoint run it would plan only after the source's report is made up here.
    let planned = plan::initial_plans(&spec, &resolved, Some(&id))
        .into_iter()
        .find(|p| match role {
            PlanRole::Endpoint => p.role == PlanRole::Endpoint && p.node == node,
            // The command line offers only source and endpoint.
            PlanRole::Source | PlanRole::Unknown => p.role == PlanRole::Source,
        });
    let node_plan = match (role, planned) {
        (_, Some(run)) => run,
        (PlanRole::Source | PlanRole::Unknown, None) => plan::source_plan(&spec, &resolved),
        (PlanRole::Endpoint, None) => {
            let mut p = plan::source_plan(&spec, &resolved);
            p.role = PlanRole::Endpoint;
            p.plan.role = PlanRole::Endpoint;
            p.plan.dns_name = None;
            p.plan.dns_servers = Vec::new();
            p.plan.expected_endpoints = Vec::new();
            p.plan.target_is_service = false;
            p.plan.endpoint = Some(endpoint_on(&resolved, node));
            p
        }
    };
    let node_plan = NodePlan {
        node: node.to_string(),
        ..node_plan
    };
    Ok(pod::agent_objects(
        settings,
        &id,
        &node_plan,
        spec.timeout_seconds(),
    )?)
}

/// What `render-agent-pod` is asked for.
#[derive(Clone, Copy, Debug)]
pub struct RenderRequest<'a> {
    /// The NetProbe manifest.
    pub probe_path: &'a str,
    pub node: &'a str,
    pub role: PlanRole,
    pub cluster_domain: &'a str,
    /// A file of the API objects the probe names (`--objects`), instead of placeholders.
    pub objects_path: Option<&'a str>,
    /// Where node sources are allowed, as the controller is told (`--node-source-namespaces`).
    pub node_sources: &'a NodeSourcePolicy,
}

/// Read a NetProbe manifest and print its plan ConfigMap and agent pod as YAML documents, with
/// a header saying what the cluster fills in.
pub fn render_file(
    settings: &AgentSettings,
    req: &RenderRequest<'_>,
) -> Result<String, RenderError> {
    let path = req.probe_path;
    let text = std::fs::read_to_string(path).map_err(|source| RenderError::Read {
        path: path.to_string(),
        source,
    })?;
    if inspection::is_inspection(&text) {
        return inspection::render_inspection(settings, path, &text, req.node);
    }
    let probe: NetProbe = serde_saphyr::from_str(&text).map_err(|source| RenderError::Parse {
        path: path.to_string(),
        source,
    })?;
    let probe_ns = probe.metadata.namespace.as_deref().unwrap_or("default");
    // The audit shows what the controller would do: a node source it refuses gets no pod.
    req.node_sources
        .check(probe_ns, &ValidSpec::new(&probe.spec)?)?;
    let objects = req
        .objects_path
        .map(|p| Objects::load(p, probe_ns))
        .transpose()?;
    let out = render_objects(
        settings,
        &probe,
        req.node,
        req.role,
        req.cluster_domain,
        objects.as_ref(),
    )?;
    let facts = match req.objects_path {
        Some(p) => format!("# The plan's addresses and endpoints are resolved from {p}.\n"),
        None => format!(
            "# The address {PLACEHOLDER_IP} and port 0 in the plan are filled from the API at run time:\n\
             # the source pod's (or node's) IP, the Service's ClusterIP, endpoints and kube-dns address\n\
             # (--objects FILE resolves them from objects instead).\n"
        ),
    };
    let header = format!(
        "# The agent pod netdiag-controller creates for this NetProbe on node {node} ({role} role),\n\
         # after the ConfigMap holding its plan, which the pod mounts read-only at {dir}.\n\
         {facts}\
         # Why each privilege (not privileged: true):\n\
         #   hostNetwork  kube-proxy rules, conntrack, routes and veths live in the node's netns\n\
         #   hostPID      pod netns are found via /proc/<pid>/ns/net of the node's processes\n\
         #   NET_ADMIN    read iptables/nftables rules and conntrack over netlink\n\
         #   NET_RAW      legacy iptables talks to the kernel over a raw socket\n\
         #   SYS_ADMIN    setns(2) into the source pod's netns for connect and DNS\n\
         #   SYS_PTRACE   open /proc/<pid>/ns/net and /proc/<pid>/root of other pods' processes\n\
         #   /run/xtables.lock is writable: iptables -w opens and flocks it, shared with kube-proxy\n",
        node = req.node,
        role = pod::role_str(req.role),
        dir = crate::agents::pod_spec::PLAN_DIR,
    );
    Ok(format!(
        "{header}{}---\n{}",
        serde_saphyr::to_string(&out.config_map)?,
        serde_saphyr::to_string(&out.pod)?
    ))
}
