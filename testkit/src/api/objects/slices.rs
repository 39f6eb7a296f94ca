//! EndpointSlice builders: `EndpointSlice::test("echo-abc", "echo").port("http", 8080)
//! .endpoint("10.244.2.7").on_node("node-b")`.

use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};

use super::{label, meta};

pub trait EndpointSliceTestExt: Sized {
    /// IPv4 slice `name` of Service `service` in `default` (labelled as the EndpointSlice
    /// controller labels it), no ports or endpoints yet.
    fn test(name: &str, service: &str) -> Self;
    fn in_namespace(self, namespace: &str) -> Self;
    fn ipv6(self) -> Self;
    /// A TCP port of the endpoints.
    fn port(self, name: &str, port: i32) -> Self;
    /// A ready endpoint.
    fn endpoint(self, ip: &str) -> Self;
    /// An endpoint that is not ready.
    fn not_ready(self, ip: &str) -> Self;
    /// The last endpoint runs on `node`.
    fn on_node(self, node: &str) -> Self;
    /// The last endpoint is terminating.
    fn terminating(self) -> Self;
}

impl EndpointSliceTestExt for EndpointSlice {
    fn test(name: &str, service: &str) -> Self {
        let mut metadata = meta(name);
        label(&mut metadata, "kubernetes.io/service-name", service);
        EndpointSlice {
            metadata,
            address_type: "IPv4".into(),
            endpoints: Vec::new(),
            ports: None,
        }
    }

    fn in_namespace(mut self, namespace: &str) -> Self {
        self.metadata.namespace = Some(namespace.into());
        self
    }

    fn ipv6(mut self) -> Self {
        self.address_type = "IPv6".into();
        self
    }

    fn port(mut self, name: &str, port: i32) -> Self {
        self.ports.get_or_insert_with(Vec::new).push(EndpointPort {
            name: Some(name.into()),
            port: Some(port),
            protocol: Some("TCP".into()),
            ..EndpointPort::default()
        });
        self
    }

    fn endpoint(self, ip: &str) -> Self {
        with_endpoint(self, ip, true)
    }

    fn not_ready(self, ip: &str) -> Self {
        with_endpoint(self, ip, false)
    }

    fn on_node(mut self, node: &str) -> Self {
        last(&mut self).node_name = Some(node.into());
        self
    }

    fn terminating(mut self) -> Self {
        let conditions = last(&mut self)
            .conditions
            .get_or_insert_with(Default::default);
        conditions.terminating = Some(true);
        self
    }
}

fn with_endpoint(mut slice: EndpointSlice, ip: &str, ready: bool) -> EndpointSlice {
    slice.endpoints.push(Endpoint {
        addresses: vec![ip.into()],
        conditions: Some(EndpointConditions {
            ready: Some(ready),
            ..EndpointConditions::default()
        }),
        ..Endpoint::default()
    });
    slice
}

fn last(slice: &mut EndpointSlice) -> &mut Endpoint {
    slice
        .endpoints
        .last_mut()
        .unwrap_or_else(|| panic!("add an endpoint before saying where it runs"))
}
