//! Builders for the objects the mock API server answers with, as extension traits on the real
//! types: `NetProbe::test("p").service_target("echo", "http")`, `Pod::test("curl").ip(..)`.
//! Each `test(name)` starts from what a kind cluster would hold in namespace `default` and the
//! methods state only what a test needs to differ. Method names avoid `kube::ResourceExt`'s
//! (`namespace`, `uid`, `labels`...), which tests also import.

mod core;
mod netprobe;
mod slices;

pub use self::core::{NodeTestExt, PodTestExt, ServiceTestExt};
pub use self::netprobe::{NetProbeTestExt, PortArg, TEST_UID};
pub use self::slices::EndpointSliceTestExt;

/// The builder traits and the types they build, for `use netdiag_testkit::api::prelude::*`.
pub mod prelude {
    pub use super::{
        EndpointSliceTestExt, NetProbeTestExt, NodeTestExt, PodTestExt, ServiceTestExt, TEST_UID,
    };
    pub use k8s_openapi::api::core::v1::{Node, Pod, Service};
    pub use k8s_openapi::api::discovery::v1::EndpointSlice;
    pub use netdiag_crds::NetProbe;
}

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// Metadata of `name` in namespace `default`.
fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some("default".to_string()),
        ..ObjectMeta::default()
    }
}

/// `meta` with one more label.
fn label(meta: &mut ObjectMeta, key: &str, value: &str) {
    meta.labels
        .get_or_insert_with(Default::default)
        .insert(key.to_string(), value.to_string());
}
