//! NetProbe builders: `NetProbe::test("p")` is a probe from pod curl1 in `default` with the
//! metadata the API server sets; the target methods pick one of the four targets.

use netdiag_crds::Protocol;
use netdiag_crds::probe::{
    AddressTarget, DnsTarget, NetProbe, NetProbeSpec, PodTarget, PortRef, ProbeSource, ProbeTarget,
    ServiceTarget,
};
use serde_json::Value;

/// The UID `NetProbe::test` gives a probe; agent pods and plan ConfigMaps are named after it.
pub const TEST_UID: &str = "0a1b2c3d-1111-4222-8333-444455556666";

/// A port as tests write it: a name (`"http"`) or a number (`5678`).
pub trait PortArg {
    fn port_ref(self) -> PortRef;
}

impl PortArg for &str {
    fn port_ref(self) -> PortRef {
        PortRef::Name(self.to_string())
    }
}

impl PortArg for i32 {
    fn port_ref(self) -> PortRef {
        PortRef::Number(self)
    }
}

pub trait NetProbeTestExt: Sized {
    /// NetProbe `name` in `default`, from pod `curl1`, UID [`TEST_UID`], generation 1, to a DNS
    /// name `x` until a target method says otherwise.
    fn test(name: &str) -> Self;
    fn in_namespace(self, namespace: &str) -> Self;
    fn with_uid(self, uid: &str) -> Self;
    fn with_generation(self, generation: i64) -> Self;
    fn source_pod(self, pod: &str) -> Self;
    /// Service `name` of the probe's namespace, at a named or numbered Service port.
    fn service_target(self, name: &str, port: impl PortArg) -> Self;
    /// Service `name` of the probe's namespace, whose one port needs no naming.
    fn service_target_any_port(self, name: &str) -> Self;
    fn pod_target(self, name: &str, port: impl PortArg) -> Self;
    fn address_target(self, ip: &str, port: i32, protocol: Protocol) -> Self;
    fn dns_target(self, name: &str) -> Self;
    /// The whole spec from YAML (for specs the methods do not cover, invalid ones included).
    fn spec_yaml(self, yaml: &str) -> Self;
    /// A status as the controller would have written it (JSON in the CRD's camelCase).
    fn with_status(self, status: Value) -> Self;
}

fn target(service: Option<ServiceTarget>, pod: Option<PodTarget>) -> ProbeTarget {
    ProbeTarget {
        service,
        pod,
        ..ProbeTarget::default()
    }
}

impl NetProbeTestExt for NetProbe {
    fn test(name: &str) -> Self {
        let spec = NetProbeSpec {
            source: ProbeSource {
                pod: Some("curl1".into()),
                node: None,
            },
            target: ProbeTarget::default(),
            checks: None,
            dns_name: None,
            timeout_seconds: None,
            interval_seconds: None,
            ttl_seconds_after_finished: None,
        };
        let mut p = NetProbe::new(name, spec).dns_target("x");
        p.metadata.namespace = Some("default".into());
        p.metadata.uid = Some(TEST_UID.into());
        p.metadata.generation = Some(1);
        p
    }

    fn in_namespace(mut self, namespace: &str) -> Self {
        self.metadata.namespace = Some(namespace.into());
        self
    }

    fn with_uid(mut self, uid: &str) -> Self {
        self.metadata.uid = Some(uid.into());
        self
    }

    fn with_generation(mut self, generation: i64) -> Self {
        self.metadata.generation = Some(generation);
        self
    }

    fn source_pod(mut self, pod: &str) -> Self {
        self.spec.source.pod = Some(pod.into());
        self.spec.source.node = None;
        self
    }

    fn service_target(mut self, name: &str, port: impl PortArg) -> Self {
        self.spec.target = target(
            Some(ServiceTarget {
                name: name.into(),
                namespace: None,
                port: Some(port.port_ref()),
            }),
            None,
        );
        self
    }

    fn service_target_any_port(mut self, name: &str) -> Self {
        self.spec.target = target(
            Some(ServiceTarget {
                name: name.into(),
                namespace: None,
                port: None,
            }),
            None,
        );
        self
    }

    fn pod_target(mut self, name: &str, port: impl PortArg) -> Self {
        self.spec.target = target(
            None,
            Some(PodTarget {
                name: name.into(),
                namespace: None,
                port: port.port_ref(),
            }),
        );
        self
    }

    fn address_target(mut self, ip: &str, port: i32, protocol: Protocol) -> Self {
        self.spec.target = ProbeTarget {
            address: Some(AddressTarget {
                ip: ip.into(),
                port,
                protocol,
                node: None,
            }),
            ..ProbeTarget::default()
        };
        self
    }

    fn dns_target(mut self, name: &str) -> Self {
        self.spec.target = ProbeTarget {
            dns: Some(DnsTarget { name: name.into() }),
            ..ProbeTarget::default()
        };
        self
    }

    fn spec_yaml(mut self, yaml: &str) -> Self {
        self.spec = serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("spec {yaml}: {e}"));
        self
    }

    fn with_status(mut self, status: Value) -> Self {
        self.status =
            Some(serde_json::from_value(status).unwrap_or_else(|e| panic!("status: {e}")));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_probe_serializes_like_the_yaml_it_replaces() {
        let built = NetProbe::test("p").service_target("echo", "http");
        let yaml = NetProbe::test("p")
            .spec_yaml("{source: {pod: curl1}, target: {service: {name: echo, port: http}}}");
        assert_eq!(built.spec, yaml.spec);
        assert_eq!(built.metadata.uid.as_deref(), Some(TEST_UID));
        let a = NetProbe::test("p").address_target("10.96.0.10", 53, Protocol::UDP);
        let json = serde_json::to_value(&a.spec).expect("json");
        assert_eq!(
            json["target"],
            serde_json::json!({"address": {"ip": "10.96.0.10", "port": 53, "protocol": "UDP"}})
        );
    }
}
