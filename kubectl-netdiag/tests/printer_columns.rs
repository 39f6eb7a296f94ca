//! `kubectl get nprobe` (the CRD's printer columns) and `kubectl netdiag get` show the same
//! columns in the same order, wide ones as `priority: 1`, and every value kubectl would print
//! is in the plugin's cell. The CRD's JSONPaths are evaluated here the way the API server's
//! table converter does (k8s.io/client-go/util/jsonpath with missing keys allowed, first
//! result), over the subset they use: `.field`, `.*`, `['a','b']` and `[?(@.field=="value")]`.

use k8s_openapi::jiff::Timestamp;
use kube::CustomResourceExt as _;
use kubectl_netdiag::list::{GET_COLUMNS, age};
use netdiag_crds::NetProbe;
use serde_json::{Value, json};

struct Printed {
    header: String,
    wide: bool,
    json_path: String,
    kind: String,
}

fn crd_columns() -> Vec<Printed> {
    let crd = NetProbe::crd();
    let version = &crd.spec.versions[0];
    version
        .additional_printer_columns
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|c| Printed {
            header: c.name.to_uppercase(),
            wide: c.priority.unwrap_or(0) > 0,
            json_path: c.json_path,
            kind: c.type_,
        })
        .collect()
}

/// The JSONPath's values in `v`, in kubectl's order.
fn eval(path: &str, v: &Value) -> Vec<Value> {
    let mut current = vec![v.clone()];
    let mut rest = path;
    while !rest.is_empty() {
        let next: Vec<Value>;
        if let Some(r) = rest.strip_prefix("[?(@.") {
            let end = r.find(")]").unwrap();
            let (field, want) = r[..end].split_once("==").unwrap();
            let want: Value = serde_json::from_str(want).unwrap();
            next = current
                .iter()
                .filter_map(Value::as_array)
                .flatten()
                .filter(|item| item.get(field) == Some(&want))
                .cloned()
                .collect();
            rest = &r[end + 2..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').unwrap();
            let keys: Vec<&str> = r[..end]
                .split(',')
                .map(|k| k.trim().trim_matches('\''))
                .collect();
            next = keys
                .iter()
                .flat_map(|k| current.iter().filter_map(|c| c.get(*k)).cloned())
                .collect();
            rest = &r[end + 1..];
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let field = &r[..end];
            next = if field == "*" {
                current
                    .iter()
                    .filter_map(Value::as_object)
                    .flat_map(|o| o.values().cloned())
                    .collect()
            } else {
                current
                    .iter()
                    .filter_map(|c| c.get(field))
                    .cloned()
                    .collect()
            };
            rest = &r[end..];
        } else {
            panic!("JSONPath {path:?} uses syntax this test does not know at {rest:?}");
        }
        current = next;
    }
    current
}

/// What kubectl prints for a column: the first value, dates as ages; None for `<none>`.
fn kubectl_cell(col: &Printed, probe: &Value, now: Timestamp) -> Option<String> {
    let first = eval(&col.json_path, probe).into_iter().next()?;
    Some(match (col.kind.as_str(), &first) {
        ("date", Value::String(s)) => age(s.parse::<Timestamp>().unwrap(), now),
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    })
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every fixture, each also as just created (no status yet), and one of each target kind.
fn probes() -> Vec<Value> {
    let mut all = Vec::new();
    for name in ["healthy", "failing", "dns_failure", "periodic", "newer"] {
        let full = fixture(name);
        let mut fresh = full.clone();
        fresh.as_object_mut().unwrap().remove("status");
        all.extend([full, fresh]);
    }
    for target in [
        json!({"pod": {"name": "echo-1", "port": 8080}}),
        json!({"address": {"ip": "10.96.0.10", "port": 53, "protocol": "UDP"}}),
        json!({"dns": {"name": "echo.default.svc.cluster.local"}}),
        json!({"service": {"name": "api", "namespace": "shop", "port": 443}}),
    ] {
        let mut p = fixture("healthy");
        p.as_object_mut().unwrap().remove("status");
        p["spec"]["target"] = target;
        all.push(p);
    }
    // A node source shows as node/NAME; kubectl's `.spec.source.*` gives the name.
    let mut p = fixture("healthy");
    p.as_object_mut().unwrap().remove("status");
    p["spec"]["source"] = json!({"node": "kind-worker"});
    all.push(p);
    all
}

#[test]
fn the_plugins_get_columns_are_the_crds_printer_columns() {
    let crd: Vec<(String, bool)> = crd_columns()
        .into_iter()
        .map(|c| (c.header, c.wide))
        .collect();
    let plugin: Vec<(String, bool)> = GET_COLUMNS
        .iter()
        .map(|c| (c.header.to_string(), c.wide))
        .collect();
    assert_eq!(crd, plugin);
    assert!(plugin.iter().any(|(_, wide)| *wide), "no -o wide columns");
}

#[test]
fn every_value_kubectl_prints_is_in_the_plugins_cell_and_target_needs_no_status() {
    let now: Timestamp = "2026-11-23T10:00:00Z".parse().unwrap();
    let columns = crd_columns();
    for value in probes() {
        let probe: NetProbe = serde_json::from_value(value.clone()).unwrap();
        for (col, ours) in columns.iter().zip(GET_COLUMNS) {
            let theirs = kubectl_cell(col, &value, now);
            let cell = ours.cell(&probe, now);
            if col.header == "TARGET" || col.header == "SOURCE" {
                assert!(theirs.is_some(), "{} empty for {value}", col.header);
            }
            if let Some(theirs) = theirs {
                assert!(
                    cell.contains(&theirs),
                    "{}: kubectl shows {theirs:?}, the plugin {cell:?}",
                    col.header
                );
            }
        }
    }
}
