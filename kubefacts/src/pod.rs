//! Pod facts: phase, readiness, the state `kubectl get pods` shows, declared container ports.

use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::Pod;

/// The pod's IPv4 address: `status.podIP` when it is one, else the IPv4 of `status.podIPs` (a
/// dual-stack pod whose primary family is IPv6). `None` before the sandbox is up, and for an
/// IPv6-only pod.
pub fn ipv4(pod: &Pod) -> Option<Ipv4Addr> {
    let status = pod.status.as_ref()?;
    let primary = status.pod_ip.iter().map(String::as_str);
    let all = status.pod_ips.iter().flatten().map(|p| p.ip.as_str());
    primary.chain(all).find_map(|ip| ip.parse().ok())
}

/// The pod's phase (`Running`, `Pending`...), `Unknown` when the status has none.
pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Unknown")
}

/// Being deleted: it has a deletion timestamp (`kubectl get pods` says Terminating).
pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// Running, not terminating, and its `Ready` condition is True.
pub fn is_ready(pod: &Pod) -> bool {
    !is_terminating(pod)
        && phase(pod) == "Running"
        && pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Whether a pod can be a trace's source: Running and not terminating. Ready is not required:
/// a pod failing its readiness probe is exactly one you may want to trace from.
pub fn can_be_source(pod: &Pod) -> bool {
    !is_terminating(pod) && phase(pod) == "Running"
}

/// Why a pod is not running, the way `kubectl get pods` shows it: `Pending`,
/// `Pending, CrashLoopBackOff`, `Terminating`...
pub fn state(pod: &Pod) -> String {
    if is_terminating(pod) {
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

/// One declared container port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerPort {
    pub name: Option<String>,
    pub port: i32,
    /// `TCP` unless declared otherwise.
    pub protocol: String,
}

/// Every container port the pod declares, in order.
pub fn declared_ports(pod: &Pod) -> Vec<ContainerPort> {
    pod.spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .map(|p| ContainerPort {
            name: p.name.clone(),
            port: p.container_port,
            protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).expect("a pod")
    }

    fn running(ready: &str) -> serde_json::Value {
        json!({"metadata": {"name": "p"}, "status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": ready}]}})
    }

    #[test]
    fn a_running_pod_with_ready_true_is_ready() {
        assert!(is_ready(&pod(running("True"))));
        assert!(!is_ready(&pod(running("False"))));
    }

    #[test]
    fn a_terminating_pod_is_neither_ready_nor_a_source() {
        let mut v = running("True");
        v["metadata"]["deletionTimestamp"] = json!("2026-12-01T10:00:00Z");
        let p = pod(v);
        assert!(!is_ready(&p));
        assert!(!can_be_source(&p));
        assert_eq!(state(&p), "Terminating");
    }

    #[test]
    fn a_not_ready_running_pod_can_still_be_a_source() {
        assert!(can_be_source(&pod(running("False"))));
    }

    #[test]
    fn a_waiting_container_shows_its_reason_and_no_status_is_unknown() {
        let p = pod(
            json!({"metadata": {"name": "p"}, "status": {"phase": "Pending",
            "containerStatuses": [{"name": "c", "ready": false, "restartCount": 3, "image": "i", "imageID": "",
                "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}),
        );
        assert_eq!(state(&p), "Pending, CrashLoopBackOff");
        assert_eq!(phase(&pod(json!({"metadata": {"name": "p"}}))), "Unknown");
    }

    #[test]
    fn declared_ports_default_to_tcp() {
        let p = pod(
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c",
            "ports": [{"name": "http", "containerPort": 8080}, {"containerPort": 53, "protocol": "UDP"}]}]}}),
        );
        assert_eq!(
            declared_ports(&p),
            vec![
                ContainerPort {
                    name: Some("http".into()),
                    port: 8080,
                    protocol: "TCP".into()
                },
                ContainerPort {
                    name: None,
                    port: 53,
                    protocol: "UDP".into()
                },
            ]
        );
    }
}
