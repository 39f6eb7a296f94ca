//! Request sequences that tests of both the controller and the plugin repeat, each answered
//! with the objects the test passes: a read of one object, a Service's lookup (the Service,
//! then its EndpointSlices by label), the nodes a trace crosses, a create by `generateName`.

use k8s_openapi::api::core::v1::{Node, Service};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde_json::{Value, json};

use super::objects::NodeTestExt;
use super::server::MockServer;

/// Where `object` is read: `/api/v1/namespaces/NS/pods/NAME`, `/api/v1/nodes/NAME`...
pub fn path_of<K: Resource<DynamicType = ()>>(object: &K) -> String {
    let collection = K::url_path(&(), object.meta().namespace.as_deref());
    format!("{collection}/{}", object.name_any())
}

/// The next request reads `object` (GET on its own path): answer with it.
pub async fn answer_get<K>(api: &mut MockServer, object: &K)
where
    K: Resource<DynamicType = ()> + Serialize,
{
    api.expect("GET", &path_of(object)).await.ok(object);
}

/// A Service's lookup: GET the Service, then the list of its EndpointSlices by the
/// `kubernetes.io/service-name` label, answered with `slices`.
pub async fn answer_service<T: Serialize>(api: &mut MockServer, service: &Service, slices: &[T]) {
    answer_get(api, service).await;
    let namespace = service.namespace().unwrap_or_else(|| "default".into());
    let path = format!("/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices");
    api.expect("GET", &path)
        .await
        .assert_query(&format!(
            "labelSelector=kubernetes.io%2Fservice-name%3D{}",
            service.name_any()
        ))
        .ok_list(slices);
}

/// The reads of the nodes a trace crosses, in order, each answered as kind's nodes are
/// ([`NodeTestExt::numbered`]).
pub async fn answer_nodes(api: &mut MockServer, names: &[impl AsRef<str>]) {
    for name in names {
        answer_get(api, &Node::numbered(name.as_ref())).await;
    }
}

/// The next request creates an object in `collection` by `generateName`: answer 201 with the
/// posted object named `name` (uid `u1`, resourceVersion 1), and return that.
pub async fn answer_create(api: &mut MockServer, collection: &str, name: &str) -> Value {
    let seen = api.expect("POST", collection).await;
    let mut object = seen.body.clone();
    assert!(
        object["metadata"]["generateName"].is_string(),
        "POST {collection}: created by generateName: {object}"
    );
    object["metadata"]["name"] = json!(name);
    object["metadata"]["uid"] = json!("u1");
    object["metadata"]["resourceVersion"] = json!("1");
    seen.created(&object);
    object
}
