//! A NetProbe's target: exactly one of a Service, a pod, an address or a DNS name, and the
//! port forms they take.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use netdiag_model::Protocol;

use crate::probe::{MAX_PORT, MIN_PORT};

/// What to reach. Exactly one field is set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "[has(self.service), has(self.pod), has(self.address), has(self.dns)].filter(x, x).size() == 1",
    "message": "spec.target must set exactly one of service, pod, address or dns"
}]))]
pub struct ProbeTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<PodTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<AddressTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsTarget>,
}

/// A Service, reached through its ClusterIP.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTarget {
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub name: String,
    /// Default: the NetProbe's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub namespace: Option<String>,
    /// The Service port, by number or by name. May be left out when the Service has one port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<PortRef>,
}

/// A pod, reached directly at its IP.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodTarget {
    #[schemars(
        length(min = 1, max = 253),
        regex(
            pattern = crate::validate::DNS_SUBDOMAIN_PATTERN
        )
    )]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub namespace: Option<String>,
    /// A container port, by number or by name.
    pub port: PortRef,
}

/// A literal address, such as a ClusterIP or a node IP.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddressTarget {
    /// An IPv4 address.
    #[schemars(regex(
        pattern = r"^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$"
    ))]
    pub ip: String,
    #[schemars(
        range(min = 1, max = 65535),
        extend("x-kubernetes-validations" = [{"rule": "self >= 1 && self <= 65535", "message": "port must be between 1 and 65535"}])
    )]
    pub port: i32,
    #[serde(default)]
    pub protocol: Protocol,
    /// The node whose address `ip` is, when the target is a NodePort (`kubectl netdiag trace
    /// ... node/NAME:PORT` sets it). A hint, not the target: the controller runs that node's
    /// NodePort rules too while the node still holds `ip`, and traces the address alone when
    /// it does not (the node was replaced or renamed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(
            pattern = crate::validate::DNS_SUBDOMAIN_PATTERN
        )
    )]
    pub node: Option<String>,
}

/// A DNS name, resolved through the source pod's nameservers and cluster DNS.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DnsTarget {
    #[schemars(
        length(min = 1, max = 253),
        regex(
            pattern = r"^[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?)*\.?$"
        )
    )]
    pub name: String,
}

/// A port by number (1-65535) or by name (an IANA_SVC_NAME).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(untagged)]
pub enum PortRef {
    Number(i32),
    Name(String),
}

impl JsonSchema for PortRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PortRef".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "x-kubernetes-int-or-string": true,
            "description": "A port by number (1-65535) or by name.",
            "minimum": MIN_PORT,
            "maximum": MAX_PORT,
            // Applies to strings only: a string is always a name (as Kubernetes reads an
            // int-or-string port), so a quoted "80" is refused here instead of admitted and
            // then failed as a name by the controller.
            "pattern": "^([a-z0-9][-a-z0-9]*)?[a-z]([-a-z0-9]*[a-z0-9])?$",
            "maxLength": 15,
            "x-kubernetes-validations": [{
                "rule": "string(self).matches('^[0-9]+$') ? (int(string(self)) >= 1 && int(string(self)) <= 65535) : (string(self).matches('^([a-z0-9][-a-z0-9]*)?[a-z]([-a-z0-9]*[a-z0-9])?$') && size(string(self)) <= 15)",
                "message": "port must be a number between 1 and 65535 (unquoted) or a port name of at most 15 lower-case letters, digits and '-', with at least one letter"
            }]
        })
    }
}

impl std::fmt::Display for PortRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortRef::Number(n) => write!(f, "{n}"),
            PortRef::Name(n) => f.write_str(n),
        }
    }
}

/// The target with exactly one kind chosen; see [`ProbeTarget::kind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetRef<'a> {
    Service(&'a ServiceTarget),
    Pod(&'a PodTarget),
    Address(&'a AddressTarget),
    Dns(&'a DnsTarget),
}

impl ProbeTarget {
    /// The one target kind that is set, or `None` when zero or several are.
    pub fn kind(&self) -> Option<TargetRef<'_>> {
        let set: Vec<TargetRef<'_>> = [
            self.service.as_ref().map(TargetRef::Service),
            self.pod.as_ref().map(TargetRef::Pod),
            self.address.as_ref().map(TargetRef::Address),
            self.dns.as_ref().map(TargetRef::Dns),
        ]
        .into_iter()
        .flatten()
        .collect();
        match set.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// Short human form, as kubectl would write it: `svc/echo:http`, `pod/web:8080`,
    /// `10.96.0.10:53/udp`, `dns/echo.default.svc.cluster.local`.
    pub fn display(&self, probe_namespace: &str) -> String {
        let ns = |n: &Option<String>| match n {
            Some(n) if n != probe_namespace => format!("{n}/"),
            _ => String::new(),
        };
        match self.kind() {
            Some(TargetRef::Service(s)) => match &s.port {
                Some(p) => format!("svc/{}{}:{p}", ns(&s.namespace), s.name),
                None => format!("svc/{}{}", ns(&s.namespace), s.name),
            },
            Some(TargetRef::Pod(p)) => format!("pod/{}{}:{}", ns(&p.namespace), p.name, p.port),
            Some(TargetRef::Address(a)) => format!("{}:{}/{}", a.ip, a.port, a.protocol),
            Some(TargetRef::Dns(d)) => format!("dns/{}", d.name),
            None => "<invalid target>".to_string(),
        }
    }
}
