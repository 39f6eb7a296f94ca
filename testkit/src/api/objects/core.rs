//! Pod, Service and Node builders, shaped like a kind cluster's: pods in 10.244.N.0/24 on
//! node-a/node-b, Services in 10.96.0.0/12, nodes at 172.18.0.N.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, Node, NodeAddress, NodeSpec, NodeStatus, Pod, PodCondition, PodSpec, PodStatus,
    Service, ServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{label, meta};

pub trait PodTestExt: Sized {
    /// Pod `name` in `default`: one container `c`, Running and Ready, no IP or node yet.
    fn test(name: &str) -> Self;
    fn in_namespace(self, namespace: &str) -> Self;
    fn ip(self, ip: &str) -> Self;
    fn on_node(self, node: &str) -> Self;
    /// `status.phase`; readiness is left as it is.
    fn phase(self, phase: &str) -> Self;
    /// The Ready condition.
    fn ready(self, ready: bool) -> Self;
    fn label(self, key: &str, value: &str) -> Self;
    /// `metadata.creationTimestamp`, RFC 3339.
    fn created(self, at: &str) -> Self;
}

impl PodTestExt for Pod {
    fn test(name: &str) -> Self {
        Pod {
            metadata: meta(name),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".into(),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
            status: Some(PodStatus {
                phase: Some("Running".into()),
                ..PodStatus::default()
            }),
        }
        .ready(true)
    }

    fn in_namespace(mut self, namespace: &str) -> Self {
        self.metadata.namespace = Some(namespace.into());
        self
    }

    fn ip(mut self, ip: &str) -> Self {
        self.status.get_or_insert_with(Default::default).pod_ip = Some(ip.into());
        self
    }

    fn on_node(mut self, node: &str) -> Self {
        self.spec.get_or_insert_with(Default::default).node_name = Some(node.into());
        self
    }

    fn phase(mut self, phase: &str) -> Self {
        self.status.get_or_insert_with(Default::default).phase = Some(phase.into());
        self
    }

    fn ready(mut self, ready: bool) -> Self {
        let status = self.status.get_or_insert_with(Default::default);
        let conditions = status.conditions.get_or_insert_with(Vec::new);
        conditions.retain(|c| c.type_ != "Ready");
        conditions.push(PodCondition {
            type_: "Ready".into(),
            status: if ready { "True" } else { "False" }.into(),
            ..PodCondition::default()
        });
        self
    }

    fn label(mut self, key: &str, value: &str) -> Self {
        label(&mut self.metadata, key, value);
        self
    }

    fn created(mut self, at: &str) -> Self {
        self.metadata.creation_timestamp = Some(
            serde_json::from_value(serde_json::json!(at))
                .unwrap_or_else(|e| panic!("creation time {at}: {e}")),
        );
        self
    }
}

pub trait ServiceTestExt: Sized {
    /// ClusterIP Service `name` in `default` at `cluster_ip`, no ports yet.
    fn test(name: &str, cluster_ip: &str) -> Self;
    fn in_namespace(self, namespace: &str) -> Self;
    /// A TCP port: `name`, the Service `port`, the pods' `target_port`.
    fn port(self, name: &str, port: i32, target_port: i32) -> Self;
    fn selector(self, key: &str, value: &str) -> Self;
}

impl ServiceTestExt for Service {
    fn test(name: &str, cluster_ip: &str) -> Self {
        Service {
            metadata: meta(name),
            spec: Some(ServiceSpec {
                cluster_ip: Some(cluster_ip.into()),
                type_: Some("ClusterIP".into()),
                ..ServiceSpec::default()
            }),
            status: None,
        }
    }

    fn in_namespace(mut self, namespace: &str) -> Self {
        self.metadata.namespace = Some(namespace.into());
        self
    }

    fn port(mut self, name: &str, port: i32, target_port: i32) -> Self {
        let spec = self.spec.get_or_insert_with(Default::default);
        spec.ports.get_or_insert_with(Vec::new).push(ServicePort {
            name: Some(name.into()),
            port,
            target_port: Some(IntOrString::Int(target_port)),
            protocol: Some("TCP".into()),
            ..ServicePort::default()
        });
        self
    }

    fn selector(mut self, key: &str, value: &str) -> Self {
        let spec = self.spec.get_or_insert_with(Default::default);
        spec.selector
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }
}

pub trait NodeTestExt: Sized {
    /// Node `name` with no address or pod CIDR yet.
    fn test(name: &str) -> Self;
    fn internal_ip(self, ip: &str) -> Self;
    /// One more pod CIDR (`spec.podCIDRs`; the first is also `spec.podCIDR`, as the API keeps it).
    fn pod_cidr(self, cidr: &str) -> Self;
    /// Node `node-X` the way kind numbers them: node-a at 172.18.0.2 with 10.244.1.0/24,
    /// node-b at .3 with 10.244.2.0/24, and so on by the name's last letter.
    fn numbered(name: &str) -> Self;
}

impl NodeTestExt for Node {
    fn test(name: &str) -> Self {
        let mut metadata = meta(name);
        metadata.namespace = None;
        Node {
            metadata,
            spec: None,
            status: None,
        }
    }

    fn internal_ip(mut self, ip: &str) -> Self {
        let status = self.status.get_or_insert_with(NodeStatus::default);
        status
            .addresses
            .get_or_insert_with(Vec::new)
            .push(NodeAddress {
                type_: "InternalIP".into(),
                address: ip.into(),
            });
        self
    }

    fn pod_cidr(mut self, cidr: &str) -> Self {
        let spec = self.spec.get_or_insert_with(NodeSpec::default);
        spec.pod_cidr.get_or_insert_with(|| cidr.into());
        spec.pod_cidrs
            .get_or_insert_with(Vec::new)
            .push(cidr.into());
        self
    }

    fn numbered(name: &str) -> Self {
        let i = name.bytes().last().map_or(0, |b| b.saturating_sub(b'a'));
        Node::test(name)
            .pod_cidr(&format!("10.244.{}.0/24", i + 1))
            .internal_ip(&format!("172.18.0.{}", i + 2))
    }
}
