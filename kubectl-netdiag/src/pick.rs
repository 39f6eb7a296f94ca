//! Pure choices over API objects: which pod of a workload to trace from, whether a pod is
//! running, how a label selector reads, which Service port and how many ready endpoints.

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use netdiag_crds::PortRef;

/// A label selector in `kubectl get -l` syntax, or `None` when it selects nothing specific.
pub fn selector_string(sel: &LabelSelector) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    if let Some(labels) = &sel.match_labels {
        parts.extend(labels.iter().map(|(k, v)| format!("{k}={v}")));
    }
    for e in sel.match_expressions.iter().flatten() {
        let values = e.values.clone().unwrap_or_default().join(",");
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({values})", e.key),
            "NotIn" => format!("{} notin ({values})", e.key),
            "Exists" => e.key.clone(),
            "DoesNotExist" => format!("!{}", e.key),
            other => format!("{} {other} ({values})", e.key),
        });
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join(","))
    }
}

/// Running, not terminating, and Ready.
pub fn is_ready(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && phase(pod) == "Running"
        && pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Unknown")
}

/// Why a pod is not running, the way `kubectl get pods` shows it: `Pending`,
/// `CrashLoopBackOff`, `Terminating`...
pub fn state(pod: &Pod) -> String {
    if pod.metadata.deletion_timestamp.is_some() {
        return "Terminating".into();
    }
    let waiting = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .find_map(|c| {
            c.state
                .as_ref()
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.clone())
        });
    match waiting {
        Some(reason) => format!("{}, {reason}", phase(pod)),
        None => phase(pod).to_string(),
    }
}

/// Whether a pod can be a trace's source: Running and not terminating (Ready is not required:
/// a pod failing its readiness probe is exactly one you may want to trace from).
pub fn can_be_source(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none() && phase(pod) == "Running"
}

/// The pod to trace from among a workload's pods: ready ones first, then the oldest (the one
/// most likely to stay), then by name so the choice is stable.
pub fn pick_pod(pods: &[Pod]) -> Option<&Pod> {
    pods.iter().filter(|p| can_be_source(p)).min_by(|a, b| {
        is_ready(b)
            .cmp(&is_ready(a))
            .then_with(|| {
                let ta = a.metadata.creation_timestamp.as_ref().map(|t| t.0);
                let tb = b.metadata.creation_timestamp.as_ref().map(|t| t.0);
                ta.cmp(&tb)
            })
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    })
}

/// The Service port a `svc/NAME[:PORT]` means, as `(name, port)`. With no PORT the Service must
/// have exactly one port.
pub fn service_port(svc: &Service, port: Option<&PortRef>) -> Result<ServicePort, PortChoice> {
    let ports: Vec<ServicePort> = svc
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .into_iter()
        .flatten()
        .map(|p| ServicePort {
            name: p.name.clone().filter(|n| !n.is_empty()),
            port: p.port,
            protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
        })
        .collect();
    let found = match port {
        Some(PortRef::Number(n)) => ports.iter().find(|p| p.port == *n),
        Some(PortRef::Name(n)) => ports.iter().find(|p| p.name.as_deref() == Some(n)),
        None if ports.len() == 1 => ports.first(),
        None if ports.is_empty() => return Err(PortChoice::None),
        None => return Err(PortChoice::Ambiguous(list(&ports))),
    };
    found
        .cloned()
        .ok_or_else(|| PortChoice::Missing(list(&ports)))
}

/// One Service port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePort {
    pub name: Option<String>,
    pub port: i32,
    pub protocol: String,
}

impl std::fmt::Display for ServicePort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{n} {}/{}", self.port, self.protocol),
            None => write!(f, "{}/{}", self.port, self.protocol),
        }
    }
}

/// Why no Service port could be chosen; each carries the list of ports there are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortChoice {
    None,
    Ambiguous(String),
    Missing(String),
}

fn list(ports: &[ServicePort]) -> String {
    if ports.is_empty() {
        return "none".into();
    }
    ports
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Ready and not-ready endpoint addresses for a Service port across its EndpointSlices.
/// An endpoint with no `ready` condition counts as ready, as kube-proxy treats it.
pub fn count_endpoints(slices: &[EndpointSlice], port_name: Option<&str>) -> (usize, usize) {
    let mut ready = 0;
    let mut not_ready = 0;
    for s in slices {
        // A slice serves the port when it lists it by the Service port's name ("" when unnamed);
        // a slice with no ports at all serves none.
        let serves = s
            .ports
            .iter()
            .flatten()
            .any(|p| p.name.as_deref().unwrap_or("") == port_name.unwrap_or(""));
        if !serves {
            continue;
        }
        for e in &s.endpoints {
            let is_ready = e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
            if is_ready {
                ready += e.addresses.len();
            } else {
                not_ready += e.addresses.len();
            }
        }
    }
    (ready, not_ready)
}

/// A pod's declared container ports, as `(name, port, protocol)`.
pub fn container_ports(pod: &Pod) -> Vec<(Option<String>, i32, String)> {
    pod.spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .map(|p| {
            (
                p.name.clone(),
                p.container_port,
                p.protocol.clone().unwrap_or_else(|| "TCP".into()),
            )
        })
        .collect()
}
