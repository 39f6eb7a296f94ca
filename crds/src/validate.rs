//! Spec validation in Rust: the same rules the CRD schema carries as CEL and patterns, so the
//! controller refuses a bad spec that reached it some other way (an older CRD, a test), and
//! says which field is wrong.

use crate::probe::{
    DEFAULT_TIMEOUT_SECONDS, MAX_INTERVAL_SECONDS, MAX_PORT, MAX_TIMEOUT_SECONDS,
    MAX_TTL_SECONDS_AFTER_FINISHED, MIN_INTERVAL_SECONDS, MIN_PORT, MIN_TIMEOUT_SECONDS,
    NetProbeSpec, PortRef, SourceRef, TargetRef,
};

/// One wrong field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// JSON path of the field, e.g. `spec.target.service.port`.
    pub field: String,
    pub message: String,
}

/// Every wrong field of a spec.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid NetProbe spec: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct SpecErrors(pub Vec<FieldError>);

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Check a spec against every rule the schema states. Returns all errors at once.
pub fn validate_spec(spec: &NetProbeSpec) -> Result<(), SpecErrors> {
    let mut errors = Vec::new();
    match spec.source.kind() {
        None => errors.push(err("spec.source", "must set exactly one of pod or node")),
        Some(SourceRef::Pod(p)) if !is_dns_label_or_subdomain(p) => errors.push(err(
            "spec.source.pod",
            format!("{p:?} is not a valid pod name"),
        )),
        Some(SourceRef::Node(n)) if !is_dns_label_or_subdomain(n) => errors.push(err(
            "spec.source.node",
            format!("{n:?} is not a valid node name"),
        )),
        Some(_) => {}
    }
    match spec.target.kind() {
        None => errors.push(err(
            "spec.target",
            "must set exactly one of service, pod, address or dns",
        )),
        Some(TargetRef::Service(s)) => {
            if !is_service_name(&s.name) {
                errors.push(err(
                    "spec.target.service.name",
                    format!("{:?} is not a valid Service name", s.name),
                ));
            }
            check_namespace(
                &mut errors,
                "spec.target.service.namespace",
                s.namespace.as_deref(),
            );
            if let Some(p) = &s.port {
                check_port(&mut errors, "spec.target.service.port", p);
            }
        }
        Some(TargetRef::Pod(p)) => {
            if !is_dns_label_or_subdomain(&p.name) {
                errors.push(err(
                    "spec.target.pod.name",
                    format!("{:?} is not a valid pod name", p.name),
                ));
            }
            check_namespace(
                &mut errors,
                "spec.target.pod.namespace",
                p.namespace.as_deref(),
            );
            check_port(&mut errors, "spec.target.pod.port", &p.port);
        }
        Some(TargetRef::Address(a)) => {
            if a.ip.parse::<std::net::Ipv4Addr>().is_err() {
                errors.push(err(
                    "spec.target.address.ip",
                    format!("{:?} is not an IPv4 address", a.ip),
                ));
            }
            check_port(
                &mut errors,
                "spec.target.address.port",
                &PortRef::Number(a.port),
            );
            if a.protocol == netdiag_model::Protocol::Unknown {
                errors.push(err(
                    "spec.target.address.protocol",
                    "is not known to this controller (TCP or UDP): upgrade netdiag",
                ));
            }
        }
        Some(TargetRef::Dns(d)) => {
            if !is_dns_name(&d.name) {
                errors.push(err(
                    "spec.target.dns.name",
                    format!("{:?} is not a DNS name", d.name),
                ));
            }
        }
    }
    if spec
        .checks
        .iter()
        .flatten()
        .any(|c| *c == netdiag_model::Check::Unknown)
    {
        errors.push(err(
            "spec.checks",
            "lists a check this controller does not know (Path, Connect, Conntrack, DNS, Evidence, MTU): upgrade netdiag",
        ));
    }
    if let Some(name) = &spec.dns_name
        && !is_dns_name(name)
    {
        errors.push(err("spec.dnsName", format!("{name:?} is not a DNS name")));
    }
    if let Some(t) = spec.timeout_seconds
        && !(MIN_TIMEOUT_SECONDS..=MAX_TIMEOUT_SECONDS).contains(&t)
    {
        errors.push(err(
            "spec.timeoutSeconds",
            format!("must be between {MIN_TIMEOUT_SECONDS} and {MAX_TIMEOUT_SECONDS}, got {t}"),
        ));
    }
    if let Some(i) = spec.interval_seconds
        && !(MIN_INTERVAL_SECONDS..=MAX_INTERVAL_SECONDS).contains(&i)
    {
        errors.push(err(
            "spec.intervalSeconds",
            format!(
                "must be between {MIN_INTERVAL_SECONDS} and {MAX_INTERVAL_SECONDS} (a week), got {i}"
            ),
        ));
    }
    if let Some(ttl) = spec.ttl_seconds_after_finished {
        if !(0..=MAX_TTL_SECONDS_AFTER_FINISHED).contains(&ttl) {
            errors.push(err(
                "spec.ttlSecondsAfterFinished",
                format!(
                    "must be between 0 and {MAX_TTL_SECONDS_AFTER_FINISHED} (30 days), got {ttl}"
                ),
            ));
        }
        if spec.interval_seconds.is_some() {
            errors.push(err(
                "spec.ttlSecondsAfterFinished",
                "applies only to one-shot probes: remove it or spec.intervalSeconds",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(SpecErrors(errors))
    }
}

/// The effective timeout of a spec.
pub fn timeout_seconds(spec: &NetProbeSpec) -> i32 {
    spec.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS)
}

fn check_namespace(errors: &mut Vec<FieldError>, field: &str, ns: Option<&str>) {
    if let Some(ns) = ns
        && !is_dns_label(ns)
    {
        errors.push(err(field, format!("{ns:?} is not a valid namespace name")));
    }
}

fn check_port(errors: &mut Vec<FieldError>, field: &str, port: &PortRef) {
    match port {
        PortRef::Number(n) if !(MIN_PORT..=MAX_PORT).contains(n) => errors.push(err(
            field,
            format!("must be between {MIN_PORT} and {MAX_PORT}, got {n}"),
        )),
        PortRef::Name(name) if !is_port_name(name) => errors.push(err(
            field,
            format!("{name:?} is not a port name (at most 15 lower-case letters, digits and '-')"),
        )),
        _ => {}
    }
}

/// RFC 1123 label: what Service and namespace names must be.
/// A DNS subdomain (RFC 1123) as the schema checks names of pods and nodes: the one pattern
/// every name field of the CRDs uses, so the API server and [`is_dns_label_or_subdomain`] agree.
pub const DNS_SUBDOMAIN_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$";

pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1035 label: what Service names must be (a label that starts with a letter, since a
/// Service's name becomes a DNS name and an environment variable prefix).
pub fn is_service_name(s: &str) -> bool {
    is_dns_label(s) && s.starts_with(|c: char| c.is_ascii_lowercase())
}

/// RFC 1123 subdomain: what pod names must be.
pub fn is_dns_label_or_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// An IANA_SVC_NAME: what a port name must be.
pub fn is_port_name(s: &str) -> bool {
    is_dns_label(s) && s.len() <= 15 && s.bytes().any(|b| b.is_ascii_lowercase())
}

/// A DNS name to resolve: labels of letters, digits, '-' and '_', an optional trailing dot.
pub fn is_dns_name(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{AddressTarget, ProbeSource, ProbeTarget, ServiceTarget};
    use netdiag_model::Protocol;

    fn spec() -> NetProbeSpec {
        NetProbeSpec {
            source: ProbeSource::pod("curl1"),
            target: ProbeTarget {
                service: Some(ServiceTarget {
                    name: "echo".into(),
                    namespace: None,
                    port: Some(PortRef::Name("http".into())),
                }),
                ..Default::default()
            },
            checks: None,
            dns_name: None,
            timeout_seconds: None,
            interval_seconds: None,
            ttl_seconds_after_finished: None,
        }
    }

    fn fields(spec: &NetProbeSpec) -> Vec<String> {
        match validate_spec(spec) {
            Ok(()) => vec![],
            Err(SpecErrors(e)) => e.into_iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn a_newer_crds_protocol_or_check_is_refused_by_name() {
        let s: NetProbeSpec = serde_json::from_value(serde_json::json!({
            "source": {"pod": "curl1"},
            "target": {"address": {"ip": "10.96.0.10", "port": 53, "protocol": "SCTP"}},
            "checks": ["Path", "Firewall"]
        }))
        .unwrap_or_else(|_| spec());
        assert_eq!(
            fields(&s),
            vec!["spec.target.address.protocol", "spec.checks"]
        );
    }

    #[test]
    fn a_plain_service_probe_is_valid() {
        assert_eq!(validate_spec(&spec()), Ok(()));
    }

    #[test]
    fn two_targets_are_refused_naming_the_target() {
        let mut s = spec();
        s.target.address = Some(AddressTarget {
            ip: "10.96.0.10".into(),
            port: 53,
            protocol: Protocol::UDP,
            node: None,
        });
        assert_eq!(fields(&s), vec!["spec.target"]);
    }

    #[test]
    fn a_source_is_a_pod_or_a_node_never_both_nor_neither() {
        let mut s = spec();
        s.source = ProbeSource::node("kind-worker");
        assert_eq!(validate_spec(&s), Ok(()));
        s.source.pod = Some("curl1".into());
        assert_eq!(fields(&s), vec!["spec.source"]);
        s.source = ProbeSource::default();
        assert_eq!(fields(&s), vec!["spec.source"]);
        s.source = ProbeSource::node("Node_A");
        assert_eq!(fields(&s), vec!["spec.source.node"]);
        s.source = ProbeSource::pod("-curl");
        assert_eq!(fields(&s), vec!["spec.source.pod"]);
    }

    #[test]
    fn port_70000_is_refused_naming_the_port() {
        let mut s = spec();
        if let Some(t) = s.target.service.as_mut() {
            t.port = Some(PortRef::Number(70000));
        }
        let e = validate_spec(&s).unwrap_err();
        assert_eq!(e.0[0].field, "spec.target.service.port");
        assert!(e.to_string().contains("65535"), "{e}");
    }

    #[test]
    fn timeouts_and_intervals_out_of_bounds_are_refused() {
        let mut s = spec();
        s.timeout_seconds = Some(-5);
        s.interval_seconds = Some(10);
        assert_eq!(
            fields(&s),
            vec!["spec.timeoutSeconds", "spec.intervalSeconds"]
        );
    }

    #[test]
    fn intervals_and_ttls_past_their_maximum_are_refused() {
        let mut s = spec();
        s.interval_seconds = Some(MAX_INTERVAL_SECONDS + 1);
        assert_eq!(fields(&s), vec!["spec.intervalSeconds"]);
        s.interval_seconds = Some(i32::MAX);
        assert_eq!(fields(&s), vec!["spec.intervalSeconds"]);
        s.interval_seconds = None;
        s.ttl_seconds_after_finished = Some(MAX_TTL_SECONDS_AFTER_FINISHED + 1);
        assert_eq!(fields(&s), vec!["spec.ttlSecondsAfterFinished"]);
        s.ttl_seconds_after_finished = Some(MAX_TTL_SECONDS_AFTER_FINISHED);
        assert_eq!(validate_spec(&s), Ok(()));
    }

    #[test]
    fn names_are_checked() {
        assert!(is_dns_label("echo-service"));
        assert!(!is_dns_label("Echo"));
        assert!(!is_dns_label("-a"));
        assert!(is_dns_label_or_subdomain("curl1-647585685b-5pdj4"));
        assert!(is_dns_name("echo.default.svc.cluster.local."));
        assert!(!is_dns_name("a..b"));
        assert!(!is_port_name("12"));
        assert!(is_port_name("dns-tcp"));
    }
}
