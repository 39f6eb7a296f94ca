//! Fixtures and builders shared by the controller's tests.
#![allow(dead_code)]

pub mod flow;
pub mod inspection;
pub mod render;
pub mod verifier;

use std::path::PathBuf;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;
use netdiag_crds::{NetProbe, NetProbeSpec};
use netdiag_model::NodeReport;
use serde::de::DeserializeOwned;

/// The workspace root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every YAML document of a file.
pub fn config_docs(path: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The one document of a file under config/.
pub fn config(rel: &str) -> serde_json::Value {
    let mut d = config_docs(&repo().join("config").join(rel));
    assert_eq!(d.len(), 1, "{rel}: one document");
    d.remove(0)
}

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
    let spec: NetProbeSpec =
        serde_saphyr::from_str(spec_yaml).unwrap_or_else(|e| panic!("spec: {e}"));
    let mut p = NetProbe::new(name, spec);
    p.metadata.namespace = Some(ns.to_string());
    p.metadata.uid = Some("0a1b2c3d-1111-4222-8333-444455556666".to_string());
    p.metadata.generation = Some(1);
    p
}
