//! `spec.source`: a pod or a node, exactly one, as the CRD's schema and CEL admit it and as the
//! controller's `validate_spec` accepts it (the two must agree case by case).

mod common;

use common::*;
use serde_json::{Value, json};

fn with_source(source: Value) -> Value {
    let mut spec = good_spec();
    spec["source"] = source;
    spec
}

#[test]
fn a_node_source_is_admitted() {
    let spec = with_source(json!({"node": "kind-worker"}));
    assert_eq!(admission_errors(&probe(spec.clone())), Vec::<String>::new());
    assert_eq!(controller_accepts(&spec), Ok(()));
}

#[test]
fn a_pod_and_a_node_together_are_refused_naming_the_source() {
    let spec = with_source(json!({"pod": "curl1", "node": "kind-worker"}));
    let errors = admission_errors(&probe(spec.clone()));
    assert!(
        errors
            .iter()
            .any(|e| e.contains("spec.source must set exactly one of pod or node")),
        "{errors:?}"
    );
    let controller = controller_accepts(&spec).expect_err("both sources");
    assert!(
        controller.contains("spec.source: must set exactly one"),
        "{controller}"
    );
}

#[test]
fn an_empty_source_is_refused_naming_the_source() {
    let spec = with_source(json!({}));
    let errors = admission_errors(&probe(spec.clone()));
    assert!(
        errors.iter().any(|e| e.contains("spec.source")),
        "{errors:?}"
    );
    assert!(controller_accepts(&spec).is_err());
}

#[test]
fn the_source_column_shows_a_pod_or_a_node() {
    let crd = crd();
    assert_eq!(
        crd["spec"]["versions"][0]["additionalPrinterColumns"][0]["jsonPath"],
        ".spec.source.*"
    );
}

#[test]
fn the_schema_and_the_controller_agree_on_sources() {
    let label_253 = subdomain_253();
    let cases = [
        ("pod", json!({"pod": "curl1"})),
        (
            "node",
            json!({"node": "ip-10-0-1-7.eu-west-1.compute.internal"}),
        ),
        ("both", json!({"pod": "curl1", "node": "node-a"})),
        ("neither", json!({})),
        ("node with a capital", json!({"node": "Node-a"})),
        ("node -a", json!({"node": "-a"})),
        ("node a..b", json!({"node": "a..b"})),
        ("empty node", json!({"node": ""})),
        ("253-character node", json!({ "node": label_253 })),
        (
            "254-character node",
            json!({ "node": format!("{label_253}x") }),
        ),
    ];
    let disagree = disagreements(cases.map(|(what, source)| (what, with_source(source))));
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
}
