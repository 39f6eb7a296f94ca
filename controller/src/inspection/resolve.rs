//! Step 2 of a NodeInspection, resolve (API reads): the node it names, or the Service it names
//! with its ready endpoints per port and every node of the cluster; and, to join the report,
//! the Pods the API places on a node.

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::ListParams;
use kube::{Api, Client, ResourceExt};
use netdiag_crds::inspection::InspectionMode;

use super::join::ExpectedPort;
use super::reconcile::InspectionError;

/// Label EndpointSlices carry with their Service's name.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// What an inspection runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// Sorted; one agent pod each.
    pub nodes: Vec<String>,
    /// Service mode: each Service port, its address and ready endpoints.
    pub expected: Vec<ExpectedPort>,
    /// Service mode: `svc/NAMESPACE/NAME`.
    pub service: Option<String>,
}

impl Resolved {
    /// The Service addresses the agents read rules for (`--service`).
    pub fn addresses(&self) -> Vec<String> {
        self.expected.iter().map(|p| p.address.clone()).collect()
    }

    pub fn display(&self) -> Option<String> {
        self.service.clone()
    }
}

/// Why an inspection cannot run: its status says so (a stable reason, and what to do).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unusable {
    pub reason: &'static str,
    pub message: String,
}

fn read_err(what: String) -> impl FnOnce(kube::Error) -> InspectionError {
    move |source| InspectionError::Read { what, source }
}

/// Resolve `mode`; an object that does not exist is `Ok(Err(..))`, a failed read an error.
pub async fn resolve(
    client: &Client,
    mode: InspectionMode<'_>,
) -> Result<Result<Resolved, Unusable>, InspectionError> {
    match mode {
        InspectionMode::Node(node) => {
            let nodes: Api<Node> = Api::all(client.clone());
            match nodes
                .get_opt(node)
                .await
                .map_err(read_err(format!("node {node}")))?
            {
                Some(_) => Ok(Ok(Resolved {
                    nodes: vec![node.to_string()],
                    expected: Vec::new(),
                    service: None,
                })),
                None => Ok(Err(Unusable {
                    reason: "NodeNotFound",
                    message: format!("no node named {node}: `kubectl get nodes` lists them"),
                })),
            }
        }
        InspectionMode::Service(svc) => {
            let (ns, name) = (svc.namespace.as_str(), svc.name.as_str());
            let shown = format!("svc/{ns}/{name}");
            let services: Api<Service> = Api::namespaced(client.clone(), ns);
            let Some(service) = services
                .get_opt(name)
                .await
                .map_err(read_err(format!("Service {ns}/{name}")))?
            else {
                return Ok(Err(Unusable {
                    reason: "ServiceNotFound",
                    message: format!(
                        "no Service {ns}/{name}: `kubectl get svc -n {ns}` lists them"
                    ),
                }));
            };
            let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), ns);
            let slices = slices
                .list(&ListParams::default().labels(&format!("{SERVICE_NAME_LABEL}={name}")))
                .await
                .map_err(read_err(format!("EndpointSlices of Service {ns}/{name}")))?
                .items;
            let expected = match expected_ports(&service, &slices) {
                Ok(e) => e,
                Err(message) => {
                    return Ok(Err(Unusable {
                        reason: "HeadlessService",
                        message: format!("{shown}: {message}"),
                    }));
                }
            };
            let nodes: Api<Node> = Api::all(client.clone());
            let mut names: Vec<String> = nodes
                .list(&ListParams::default())
                .await
                .map_err(read_err("the cluster's nodes".into()))?
                .items
                .iter()
                .map(|n| n.name_any())
                .collect();
            names.sort();
            Ok(Ok(Resolved {
                nodes: names,
                expected,
                service: Some(shown),
            }))
        }
    }
}

/// Each Service port: `80/TCP`, `CLUSTERIP:80/tcp` and its ready endpoints. Pure. A Service
/// without a ClusterIP has no rules to compare.
pub fn expected_ports(
    service: &Service,
    slices: &[EndpointSlice],
) -> Result<Vec<ExpectedPort>, String> {
    let ip = service
        .spec
        .as_ref()
        .and_then(|s| s.cluster_ip.as_deref())
        .filter(|ip| !ip.is_empty() && *ip != "None")
        .ok_or("it is headless (no ClusterIP): kube-proxy programs no rules for it")?;
    Ok(netdiag_kube::service::ports(service)
        .iter()
        .map(|p| ExpectedPort {
            label: format!("{}/{}", p.port, p.protocol),
            address: format!("{ip}:{}/{}", p.port, p.protocol.to_ascii_lowercase()),
            endpoints: netdiag_kube::endpoints::for_port(slices, p.slice_name())
                .ready
                .iter()
                .map(|e| format!("{}:{}", e.ip, e.port))
                .collect(),
        })
        .collect())
}

/// The Pods the API places on `node`, in every namespace (`spec.nodeName=NODE`).
pub async fn pods_on(client: &Client, node: &str) -> Result<Vec<Pod>, InspectionError> {
    let pods: Api<Pod> = Api::all(client.clone());
    Ok(pods
        .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
        .await
        .map_err(read_err(format!("the Pods on node {node}")))?
        .items)
}
