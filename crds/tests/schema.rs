//! The CRD as the API server would apply it: the checked-in YAML is current, and the schema (its
//! structure plus its CEL rules, evaluated client-side with kube-cel) refuses bad NetProbes with
//! a message that names the field, and accepts every sample under config/samples.

mod common;

use common::*;
use netdiag_crds::NetProbe;
use serde_json::{Value, json};

#[test]
fn the_checked_in_crd_is_what_the_types_generate() {
    let generated = netdiag_crds::probe::crd_yaml().expect("CRD renders");
    let path = repo().join("crds/netprobe.yaml");
    let on_disk = std::fs::read_to_string(&path).expect("crds/netprobe.yaml exists");
    assert!(
        generated == on_disk,
        "crds/netprobe.yaml is stale: run `cargo run -p netdiag-crds --bin crdgen -- crds/netprobe.yaml config/crd/netprobe.yaml`"
    );
}

#[test]
fn the_checked_in_node_inspection_crd_is_what_the_types_generate() {
    let generated = netdiag_crds::inspection::crd_yaml().expect("CRD renders");
    let on_disk = std::fs::read_to_string(repo().join("crds/nodeinspection.yaml"))
        .expect("crds/nodeinspection.yaml exists");
    assert!(
        generated == on_disk,
        "crds/nodeinspection.yaml is stale: run `cargo run -p netdiag-crds --bin crdgen -- --kind NodeInspection crds/nodeinspection.yaml config/crd/nodeinspection.yaml`"
    );
}

#[test]
fn the_crd_carries_its_names_columns_and_status_subresource() {
    let crd = crd();
    assert_eq!(crd["spec"]["group"], "netdiag.dev");
    assert_eq!(crd["spec"]["scope"], "Namespaced");
    assert_eq!(crd["spec"]["names"]["shortNames"], json!(["nprobe"]));
    assert_eq!(crd["spec"]["names"]["categories"], json!(["netdiag"]));
    let version = &crd["spec"]["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    assert!(version["subresources"]["status"].is_object());
    let columns: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .expect("printer columns")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        columns,
        [
            "Source", "Target", "Phase", "Result", "Runs", "Last Run", "Age", "Interval", "Summary"
        ]
    );
    // Target from the spec: the status is empty until the first run.
    assert_eq!(
        version["additionalPrinterColumns"][1]["jsonPath"],
        ".spec.target.*['name','ip']"
    );
}

#[test]
fn a_good_probe_is_admitted() {
    assert_eq!(admission_errors(&probe(good_spec())), Vec::<String>::new());
}

#[test]
fn two_targets_are_refused_naming_the_target() {
    let mut spec = good_spec();
    spec["target"]["dns"] = json!({"name": "echo.default.svc.cluster.local"});
    let errors = admission_errors(&probe(spec));
    assert!(
        errors
            .iter()
            .any(|e| e.contains("spec.target") && e.contains("exactly one")),
        "{errors:?}"
    );
}

#[test]
fn no_target_at_all_is_refused() {
    let mut spec = good_spec();
    spec["target"] = json!({});
    let errors = admission_errors(&probe(spec));
    assert!(
        errors.iter().any(|e| e.contains("spec.target")),
        "{errors:?}"
    );
}

#[test]
fn port_70000_is_refused_naming_the_port() {
    for target in [
        json!({"service": {"name": "echo", "port": 70000}}),
        json!({"pod": {"name": "echo-1", "port": 70000}}),
        json!({"address": {"ip": "10.96.0.10", "port": 70000, "protocol": "UDP"}}),
    ] {
        let mut spec = good_spec();
        spec["target"] = target.clone();
        let errors = admission_errors(&probe(spec));
        assert!(
            errors
                .iter()
                .any(|e| e.contains("port") && e.contains("65535")),
            "{target}: {errors:?}"
        );
    }
}

#[test]
fn a_bad_port_name_is_refused() {
    let mut spec = good_spec();
    spec["target"]["service"]["port"] = json!("Not_A_Port");
    let errors = admission_errors(&probe(spec));
    assert!(errors.iter().any(|e| e.contains("port")), "{errors:?}");
}

#[test]
fn a_negative_timeout_is_refused_naming_the_field() {
    let mut spec = good_spec();
    spec["timeoutSeconds"] = json!(-1);
    let errors = admission_errors(&probe(spec));
    assert!(
        errors.iter().any(|e| e.contains("timeoutSeconds")),
        "{errors:?}"
    );
}

#[test]
fn an_interval_below_30_seconds_is_refused() {
    let mut spec = good_spec();
    spec["intervalSeconds"] = json!(10);
    let errors = admission_errors(&probe(spec));
    assert!(
        errors.iter().any(|e| e.contains("intervalSeconds")),
        "{errors:?}"
    );
}

#[test]
fn a_probe_without_source_is_refused_naming_the_source() {
    let mut spec = good_spec();
    spec.as_object_mut().expect("object").remove("source");
    let errors = admission_errors(&probe(spec));
    assert!(errors.iter().any(|e| e.contains("source")), "{errors:?}");
}

#[test]
fn an_unknown_protocol_and_a_bad_ip_are_refused() {
    let mut spec = good_spec();
    spec["target"] = json!({"address": {"ip": "10.96.0.300", "port": 53, "protocol": "SCTP"}});
    let errors = admission_errors(&probe(spec));
    assert!(errors.iter().any(|e| e.contains("protocol")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("ip")), "{errors:?}");
}

#[test]
fn every_sample_is_admitted_and_valid() {
    let dir = repo().join("config/samples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("config/samples exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml")
            || path.ends_with("kustomization.yaml")
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable sample");
        let object: Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let errors = admission_errors(&object);
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        let typed: NetProbe =
            serde_json::from_value(object).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        netdiag_crds::validate::validate_spec(&typed.spec)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        seen += 1;
    }
    assert!(
        seen >= 4,
        "expected one sample per target kind in {}, found {seen}",
        dir.display()
    );
}

/// Every integer in `node` (a schema) with its JSON path, recursively.
fn integers(node: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    let is_int = node["type"] == "integer" || node["x-kubernetes-int-or-string"] == true;
    if is_int {
        out.push((path.to_string(), node.clone()));
    }
    if let Some(props) = node["properties"].as_object() {
        for (k, v) in props {
            integers(v, &format!("{path}.{k}"), out);
        }
    }
    if node["items"].is_object() {
        integers(&node["items"], &format!("{path}[]"), out);
    }
}

#[test]
fn every_integer_in_the_spec_has_a_minimum_a_maximum_and_a_cel_bound() {
    let mut found = Vec::new();
    integers(&schema()["properties"]["spec"], "spec", &mut found);
    assert!(found.len() >= 6, "{found:?}");
    for (path, node) in found {
        assert!(node["minimum"].is_number(), "{path} has no minimum");
        assert!(node["maximum"].is_number(), "{path} has no maximum");
        let rules = node["x-kubernetes-validations"].to_string();
        assert!(
            rules.contains("<="),
            "{path} has no upper bound in CEL: {rules}"
        );
    }
}

#[test]
fn the_schema_bounds_are_the_ones_validate_checks() {
    use netdiag_crds::probe::{
        MAX_INTERVAL_SECONDS, MAX_TIMEOUT_SECONDS, MAX_TTL_SECONDS_AFTER_FINISHED,
    };
    let spec = &schema()["properties"]["spec"]["properties"];
    for (field, max) in [
        ("intervalSeconds", MAX_INTERVAL_SECONDS),
        ("timeoutSeconds", MAX_TIMEOUT_SECONDS),
        ("ttlSecondsAfterFinished", MAX_TTL_SECONDS_AFTER_FINISHED),
    ] {
        assert_eq!(
            spec[field]["maximum"].as_f64(),
            Some(f64::from(max)),
            "{field}"
        );
        let rules = spec[field]["x-kubernetes-validations"].to_string();
        assert!(
            rules.contains(&format!("self <= {max}")),
            "{field}: {rules}"
        );
    }
}

#[test]
fn integers_past_i32_are_refused_for_every_integer_field() {
    // The API server does not enforce `format: int32`: only maximum and CEL stop these.
    let huge = json!(2_147_483_648_i64);
    for (field, value) in [
        ("intervalSeconds", huge.clone()),
        ("ttlSecondsAfterFinished", huge.clone()),
        ("timeoutSeconds", huge.clone()),
        ("intervalSeconds", json!(604_801)),
        ("ttlSecondsAfterFinished", json!(2_592_001)),
    ] {
        let mut spec = good_spec();
        spec[field] = value.clone();
        let errors = admission_errors(&probe(spec));
        assert!(
            errors.iter().any(|e| e.contains(field)),
            "{field}={value}: {errors:?}"
        );
    }
    for target in [
        json!({"service": {"name": "echo", "port": huge}}),
        json!({"pod": {"name": "echo-1", "port": huge}}),
        json!({"address": {"ip": "10.96.0.10", "port": huge, "protocol": "UDP"}}),
    ] {
        let mut spec = good_spec();
        spec["target"] = target.clone();
        let errors = admission_errors(&probe(spec));
        assert!(
            errors.iter().any(|e| e.contains("port")),
            "{target}: {errors:?}"
        );
    }
}

#[test]
fn the_schema_and_the_controller_agree_case_by_case() {
    let long_label = "a".repeat(64);
    let label_253 = subdomain_253();
    let label_254 = format!("{label_253}x");
    let svc = |name: &str, port: Value| json!({"source": {"pod": "curl"}, "target": {"service": {"name": name, "port": port}}});
    let pod_src = |pod: &str| json!({"source": {"pod": pod}, "target": {"service": {"name": "echo", "port": 80}}});
    let dns = |name: &str| json!({"source": {"pod": "curl"}, "target": {"dns": {"name": name}}});
    let cases: Vec<(&str, Value)> = vec![
        ("port 80", svc("echo", json!(80))),
        ("port name http", svc("echo", json!("http"))),
        ("quoted port \"80\"", svc("echo", json!("80"))),
        ("quoted port \"0080\"", svc("echo", json!("0080"))),
        ("port 0", svc("echo", json!(0))),
        ("port name with a capital", svc("echo", json!("Http"))),
        (
            "16-character port name",
            svc("echo", json!("abcdefghijklmnop")),
        ),
        ("Service name with a dot", svc("echo.x", json!(80))),
        (
            "Service name starting with a digit",
            svc("1echo", json!(80)),
        ),
        ("63-character Service name", svc(&"a".repeat(63), json!(80))),
        ("64-character Service name", svc(&long_label, json!(80))),
        ("pod a..b", pod_src("a..b")),
        ("pod a.b", pod_src("a.b")),
        ("pod -a", pod_src("-a")),
        ("253-character pod name", pod_src(&label_253)),
        ("254-character pod name", pod_src(&label_254)),
        (
            "pod with a 64-character label",
            pod_src(&format!("{long_label}.b")),
        ),
        ("dns name", dns("echo.default.svc.cluster.local")),
        (
            "dns name with a trailing dot",
            dns("echo.default.svc.cluster.local."),
        ),
        ("dns a..b", dns("a..b")),
        (
            "dns with a 64-character label",
            dns(&format!("{long_label}.svc")),
        ),
        ("dns with an underscore", dns("_http._tcp.echo")),
    ];
    let disagree = disagreements(cases);
    assert!(
        disagree.is_empty(),
        "the CRD and the controller disagree:\n{}",
        disagree.join("\n")
    );
}
