//! Fixtures and builders shared by the controller's tests.
#![allow(dead_code)]

pub mod context;
pub mod flow;
pub mod inspection;
pub mod render;

use std::path::PathBuf;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;
use netdiag_crds::NetProbe;
use netdiag_model::NodeReport;
use netdiag_testkit::api::prelude::NetProbeTestExt;
use serde::de::DeserializeOwned;

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn load_all<T: DeserializeOwned>(name: &str) -> Vec<T> {
    let path = fixture_path(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn find<T: kube::Resource + DeserializeOwned>(file: &str, ns: &str, name: &str) -> T {
    load_all::<T>(file)
        .into_iter()
        .find(|o| o.name_any() == name && o.namespace().as_deref() == Some(ns))
        .unwrap_or_else(|| panic!("{file} has no {ns}/{name}"))
}

pub fn pod(ns: &str, name: &str) -> Pod {
    find("pods.yaml", ns, name)
}

pub fn service(ns: &str, name: &str) -> Service {
    find("services.yaml", ns, name)
}

/// The EndpointSlices of one Service, as a label-selected list returns them.
pub fn slices(ns: &str, service: &str) -> Vec<EndpointSlice> {
    load_all::<EndpointSlice>("endpointslices.yaml")
        .into_iter()
        .filter(|s| {
            s.namespace().as_deref() == Some(ns)
                && s.labels()
                    .get("kubernetes.io/service-name")
                    .map(String::as_str)
                    == Some(service)
        })
        .collect()
}

pub fn reports() -> Vec<NodeReport> {
    load_all("reports.yaml")
}

/// A NetProbe from a spec in YAML, with the metadata the API server sets.
pub fn probe(ns: &str, name: &str, spec_yaml: &str) -> NetProbe {
    NetProbe::test(name).in_namespace(ns).spec_yaml(spec_yaml)
}
