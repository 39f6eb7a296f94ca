//! Service facts: its ports, and which one a `svc/NAME[:PORT]` or a NetProbe's
//! `target.service.port` means.

use k8s_openapi::api::core::v1::Service;

/// One Service port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePort {
    /// `None` for a single unnamed port (EndpointSlices then name it "").
    pub name: Option<String>,
    pub port: i32,
    /// `TCP` unless the Service says otherwise.
    pub protocol: String,
}

impl ServicePort {
    /// The name EndpointSlices give this port: the Service port's name, "" when unnamed.
    pub fn slice_name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }
}

/// As `kubectl describe svc` lists it: `http 80/TCP`, or `80/TCP` when unnamed.
impl std::fmt::Display for ServicePort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{n} {}/{}", self.port, self.protocol),
            None => write!(f, "{}/{}", self.port, self.protocol),
        }
    }
}

/// Which port is wanted: by number, by name, or (none) the only one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WantedPort<'a> {
    Number(i32),
    Name(&'a str),
}

/// Why no Service port could be chosen. [`ports`] lists what there is, for the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortError {
    /// No port was named and the Service has none.
    NoPorts,
    /// No port was named and the Service has several.
    Ambiguous { count: usize },
    /// The Service has no port with this number.
    NoSuchNumber(i32),
    /// The Service has no port with this name.
    NoSuchName(String),
}

/// The Service's ports, in order.
/// The Service's IPv4 ClusterIP: `spec.clusterIP` when it is one, else the IPv4 of
/// `spec.clusterIPs` (dual-stack, IPv6 primary). `None` for headless and IPv6-only Services.
pub fn cluster_ipv4(svc: &Service) -> Option<std::net::Ipv4Addr> {
    let spec = svc.spec.as_ref()?;
    let primary = spec.cluster_ip.iter().map(String::as_str);
    let all = spec.cluster_ips.iter().flatten().map(String::as_str);
    primary.chain(all).find_map(|ip| ip.parse().ok())
}

pub fn ports(svc: &Service) -> Vec<ServicePort> {
    svc.spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .into_iter()
        .flatten()
        .map(|p| ServicePort {
            name: p.name.clone().filter(|n| !n.is_empty()),
            port: p.port,
            protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
        })
        .collect()
}

/// The port `wanted` means on this Service; with none wanted, the Service's only port.
pub fn choose_port(
    svc: &Service,
    wanted: Option<WantedPort<'_>>,
) -> Result<ServicePort, PortError> {
    let all = ports(svc);
    let found = match wanted {
        Some(WantedPort::Number(n)) => all.iter().find(|p| p.port == n),
        Some(WantedPort::Name(n)) => all.iter().find(|p| p.name.as_deref() == Some(n)),
        None => match all.as_slice() {
            [one] => Some(one),
            [] => return Err(PortError::NoPorts),
            many => return Err(PortError::Ambiguous { count: many.len() }),
        },
    };
    found.cloned().ok_or(match wanted {
        Some(WantedPort::Number(n)) => PortError::NoSuchNumber(n),
        Some(WantedPort::Name(n)) => PortError::NoSuchName(n.to_string()),
        None => PortError::NoPorts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn svc(ports: serde_json::Value) -> Service {
        serde_json::from_value(json!({"metadata": {"name": "echo"}, "spec": {"ports": ports}}))
            .expect("a Service")
    }

    #[test]
    fn a_port_is_chosen_by_number_or_name() {
        let s = svc(
            json!([{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}]),
        );
        assert_eq!(
            choose_port(&s, Some(WantedPort::Number(53))).map(|p| p.to_string()),
            Ok("dns 53/UDP".into())
        );
        assert_eq!(
            choose_port(&s, Some(WantedPort::Name("http"))).map(|p| p.port),
            Ok(80)
        );
        assert_eq!(
            choose_port(&s, Some(WantedPort::Number(81))),
            Err(PortError::NoSuchNumber(81))
        );
        assert_eq!(
            choose_port(&s, Some(WantedPort::Name("x"))),
            Err(PortError::NoSuchName("x".into()))
        );
    }

    #[test]
    fn no_port_named_means_the_only_one() {
        let one = svc(json!([{"port": 8080}]));
        let p = choose_port(&one, None).expect("the only port");
        assert_eq!(
            (p.name.clone(), p.slice_name(), p.to_string()),
            (None, "", "8080/TCP".to_string())
        );
        let two = svc(json!([{"name": "a", "port": 1}, {"name": "b", "port": 2}]));
        assert_eq!(
            choose_port(&two, None),
            Err(PortError::Ambiguous { count: 2 })
        );
        assert_eq!(choose_port(&svc(json!([])), None), Err(PortError::NoPorts));
    }
}
