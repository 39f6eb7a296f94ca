//! The CRD as the API server would apply it, shared by the schema tests: the structural schema
//! and its CEL rules evaluated client-side (jsonschema, kube-cel), and the controller's view.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use netdiag_crds::NetProbe;
use serde_json::{Value, json};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn crd() -> Value {
    use kube::CustomResourceExt;
    serde_json::to_value(NetProbe::crd()).expect("CRD serializes")
}

pub fn schema() -> Value {
    crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

/// What `kubectl apply` would refuse: structural schema errors (types, required fields, enums,
/// patterns) plus failed CEL rules, as "field: message" lines.
pub fn admission_errors(object: &Value) -> Vec<String> {
    let schema = schema();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&schema)
        .expect("the openAPIV3Schema is a valid JSON schema");
    let mut errors: Vec<String> = validator
        .iter_errors(object)
        .map(|e| {
            format!(
                "{}: {e}",
                e.instance_path()
                    .to_string()
                    .trim_start_matches('/')
                    .replace('/', ".")
            )
        })
        .collect();
    if let Err(cel) = kube_cel::Validator::new().validate(&schema, object, None) {
        errors.extend(cel.into_vec().into_iter().map(|e| e.to_string()));
    }
    errors
}

pub fn probe(spec: Value) -> Value {
    json!({
        "apiVersion": "netdiag.dev/v1alpha1",
        "kind": "NetProbe",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": spec,
    })
}

pub fn good_spec() -> Value {
    json!({"source": {"pod": "curl1"}, "target": {"service": {"name": "echo-service", "port": "http"}}})
}

/// What the controller makes of a NetProbe the API server admitted: decoded, then validated.
pub fn controller_accepts(spec: &Value) -> Result<(), String> {
    let spec: netdiag_crds::NetProbeSpec =
        serde_json::from_value(spec.clone()).map_err(|e| format!("decode: {e}"))?;
    netdiag_crds::validate::validate_spec(&spec).map_err(|e| e.to_string())
}

/// A 253-character DNS subdomain of four labels: the longest name a pod or node may have.
pub fn subdomain_253() -> String {
    [
        "a".repeat(63),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(61),
    ]
    .join(".")
}

/// The cases where the CRD's schema and the controller's validation disagree (one admits what
/// the other refuses), each with what both said: the two must agree case by case.
pub fn disagreements<'a>(cases: impl IntoIterator<Item = (&'a str, Value)>) -> Vec<String> {
    let mut disagree = Vec::new();
    for (what, spec) in cases {
        let schema = admission_errors(&probe(spec.clone()));
        let controller = controller_accepts(&spec);
        if schema.is_empty() != controller.is_ok() {
            disagree.push(format!(
                "{what}: schema {}, controller {}",
                if schema.is_empty() {
                    "admits".to_string()
                } else {
                    format!("refuses ({})", schema.join("; "))
                },
                match &controller {
                    Ok(()) => "accepts".to_string(),
                    Err(e) => format!("refuses ({e})"),
                }
            ));
        }
    }
    disagree
}
