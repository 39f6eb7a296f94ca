//! Pure choices over API objects: which pod of a workload to trace from, how a label selector
//! reads, and (through netdiag_kube, shared with the controller) whether a pod is running,
//! which Service port and how many ready endpoints.

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use netdiag_crds::PortRef;
use netdiag_kube::endpoints;
use netdiag_kube::service::{self, PortError, WantedPort};

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

// Pod readiness, Service ports and ready endpoints are netdiag_kube's: the controller uses the
// same implementation, so a Service this pre-check passes is one the controller can trace.
pub use netdiag_kube::pod::{can_be_source, is_ready, phase, state};
pub use netdiag_kube::service::ServicePort;

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

/// The Service port a `svc/NAME[:PORT]` means. With no PORT the Service must have exactly
/// one port.
pub fn service_port(svc: &Service, port: Option<&PortRef>) -> Result<ServicePort, PortChoice> {
    let wanted = port.map(|p| match p {
        PortRef::Number(n) => WantedPort::Number(*n),
        PortRef::Name(n) => WantedPort::Name(n),
    });
    service::choose_port(svc, wanted).map_err(|e| {
        let available = list(&service::ports(svc));
        match e {
            PortError::NoPorts => PortChoice::None,
            PortError::Ambiguous { .. } => PortChoice::Ambiguous(available),
            PortError::NoSuchNumber(_) | PortError::NoSuchName(_) => PortChoice::Missing(available),
        }
    })
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

/// Ready and not-ready endpoint addresses for a Service port across its EndpointSlices, as
/// [`netdiag_kube::endpoints::for_port`] counts them (IPv4 slices only; absent `ready` is
/// ready; terminating is not).
pub fn count_endpoints(slices: &[EndpointSlice], port_name: Option<&str>) -> (usize, usize) {
    let e = endpoints::for_port(slices, port_name.unwrap_or(""));
    (e.ready.len(), e.not_ready)
}

/// A pod's declared container ports, as `(name, port, protocol)`.
pub fn container_ports(pod: &Pod) -> Vec<(Option<String>, i32, String)> {
    netdiag_kube::pod::declared_ports(pod)
        .into_iter()
        .map(|p| (p.name, p.port, p.protocol))
        .collect()
}
