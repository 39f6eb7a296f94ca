//! The NetProbe a trace creates (pure), and how its outcome maps to an exit status.

use std::collections::BTreeMap;
use std::time::Duration;

use kube::api::ObjectMeta;
use netdiag_crds::{
    Check, NetProbe, NetProbeSpec, NetProbeStatus, Phase, ProbeSource, ProbeTarget, TargetRef,
};

/// Label put on NetProbes the plugin creates, so they can be told apart from GitOps ones.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "kubectl-netdiag");

/// What `trace` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeRequest {
    pub namespace: String,
    /// The pod, or the node, the trace starts from.
    pub source: ProbeSource,
    pub target: ProbeTarget,
    pub checks: Option<Vec<Check>>,
    pub timeout: Duration,
    pub dns_name: Option<String>,
}

/// The NetProbe to create: a generated name that says what it traces, the spec, and our label.
pub fn build(req: &ProbeRequest) -> NetProbe {
    let spec = NetProbeSpec {
        source: req.source.clone(),
        target: req.target.clone(),
        checks: req.checks.clone(),
        dns_name: req.dns_name.clone(),
        // Rounded up, within the CRD's bounds: the caller checked the range.
        timeout_seconds: Some(req.timeout.as_secs_f64().ceil() as i32),
        interval_seconds: None,
        ttl_seconds_after_finished: None,
    };
    let mut probe = NetProbe::new("", spec);
    probe.metadata = ObjectMeta {
        generate_name: Some(generate_name(req.source.name(), &req.target)),
        namespace: Some(req.namespace.clone()),
        labels: Some(BTreeMap::from([(
            MANAGED_BY.0.to_string(),
            MANAGED_BY.1.to_string(),
        )])),
        ..Default::default()
    };
    probe
}

/// `curl-to-echo-`: readable in `kubectl get netprobes`, at most 52 characters so the API
/// server's 5 random characters keep the name within 57 (room below the 63 of a label value).
pub fn generate_name(source: &str, target: &ProbeTarget) -> String {
    let target = match target.kind() {
        Some(TargetRef::Service(s)) => s.name.clone(),
        Some(TargetRef::Pod(p)) => p.name.clone(),
        Some(TargetRef::Address(a)) => a.ip.replace('.', "-"),
        Some(TargetRef::Dns(d)) => format!("dns-{}", d.name.trim_end_matches('.')),
        None => "target".into(),
    };
    let raw = format!("{}-to-{}", short(source, 20), short(&target, 24));
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    let name = name.trim_matches('-');
    let name = if name.is_empty() { "netprobe" } else { name };
    format!("{name}-")
}

fn short(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// How a finished probe ends the process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Reachable,
    /// Exit 1: the path has a failure.
    FailureFound,
    /// Exit 2: the probe itself could not run; the message says why.
    ProbeFailed(String),
}

impl Outcome {
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Reachable => 0,
            Outcome::FailureFound => 1,
            Outcome::ProbeFailed(_) => 2,
        }
    }
}

/// Judge a finished status: a failure anywhere on the path (or an unreachable target) is exit 1;
/// a Failed phase with no path at all means the probe could not run.
pub fn outcome(status: &NetProbeStatus) -> Outcome {
    let reachable = status.reachable();
    if status.first_failure.is_some() || reachable == Some(false) {
        return Outcome::FailureFound;
    }
    if status.phase == Some(Phase::Failed) {
        let message = status
            .condition("Completed")
            .and_then(|c| c.message.clone())
            .or_else(|| status.summary.clone())
            .unwrap_or_else(|| "the controller marked it Failed without saying why".into());
        return Outcome::ProbeFailed(message);
    }
    Outcome::Reachable
}

#[cfg(test)]
mod tests {
    use super::*;
    use netdiag_crds::probe::ServiceTarget;

    fn svc(name: &str) -> ProbeTarget {
        ProbeTarget {
            service: Some(ServiceTarget {
                name: name.into(),
                namespace: None,
                port: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn generated_names_say_what_is_traced_and_stay_short() {
        assert_eq!(
            generate_name("curl-5d8f", &svc("echo")),
            "curl-5d8f-to-echo-"
        );
        let long = generate_name(&"a".repeat(200), &svc(&"b".repeat(63)));
        assert!(long.len() <= 52, "{long}");
        assert!(long.ends_with('-') && !long.ends_with("--"));
        let dns = ProbeTarget {
            dns: Some(netdiag_crds::probe::DnsTarget {
                name: "Echo.default.svc.".into(),
            }),
            ..Default::default()
        };
        assert_eq!(
            generate_name("web.1", &dns),
            "web-1-to-dns-echo-default-svc-"
        );
    }

    #[test]
    fn build_rounds_the_timeout_up_and_labels_the_probe() {
        let p = build(&ProbeRequest {
            namespace: "shop".into(),
            source: ProbeSource::pod("curl"),
            target: svc("echo"),
            checks: Some(vec![Check::Path]),
            timeout: Duration::from_millis(1500),
            dns_name: None,
        });
        assert_eq!(p.spec.timeout_seconds, Some(2));
        assert_eq!(p.metadata.namespace.as_deref(), Some("shop"));
        assert_eq!(p.metadata.name, None);
        assert_eq!(
            p.metadata.labels.and_then(|l| l.get(MANAGED_BY.0).cloned()),
            Some(MANAGED_BY.1.to_string())
        );
        assert!(netdiag_crds::validate::validate_spec(&p.spec).is_ok());
    }

    #[test]
    fn failed_phase_without_path_is_a_probe_error_not_a_network_failure() {
        let s = NetProbeStatus {
            phase: Some(Phase::Failed),
            summary: Some("source pod curl not found".into()),
            ..Default::default()
        };
        assert_eq!(
            outcome(&s),
            Outcome::ProbeFailed("source pod curl not found".into())
        );
        assert_eq!(outcome(&s).exit_code(), 2);
    }
}
