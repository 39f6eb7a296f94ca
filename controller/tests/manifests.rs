//! config/: every manifest parses; the CRD copy is the generated one; the Deployment and
//! namespace follow the security posture; the samples are valid NetProbes that fit the CRD
//! schema. RBAC is tested in rbac.rs, the Argo CD health check in argocd.rs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use netdiag_crds::NetProbe;
use netdiag_testkit::files::{config, repo, yaml_docs as docs};
use serde_json::{Value, json};

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().and_then(|e| e.to_str()) == Some("yaml") {
            out.push(path);
        }
    }
}

#[test]
fn every_manifest_parses_and_every_kustomization_lists_existing_files() {
    let mut files = Vec::new();
    yaml_files(&repo().join("config"), &mut files);
    assert!(files.len() >= 15, "{files:?}");
    let mut listed = BTreeSet::new();
    for f in &files {
        for doc in docs(f) {
            let kind = doc["kind"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: no kind", f.display()));
            assert!(
                doc["apiVersion"].is_string(),
                "{}: no apiVersion",
                f.display()
            );
            if kind == "Kustomization" {
                let dir = f.parent().expect("parent");
                for r in doc["resources"].as_array().expect("resources") {
                    let target = dir.join(r.as_str().expect("string"));
                    assert!(
                        target.exists(),
                        "{} lists missing {}",
                        f.display(),
                        target.display()
                    );
                    listed.insert(target.canonicalize().expect("canonical"));
                }
            }
        }
    }
    // Every manifest is reachable from a kustomization, except the Argo CD example.
    for f in &files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name == "kustomization.yaml" || f.starts_with(repo().join("config/argocd")) {
            continue;
        }
        let canon = f.canonicalize().expect("canonical");
        let by_dir = canon.parent().is_some_and(|d| listed.contains(d));
        assert!(
            listed.contains(&canon) || by_dir,
            "{} is in no kustomization",
            f.display()
        );
    }
    let root = config("kustomization.yaml");
    let res: Vec<&str> = root["resources"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        res,
        ["namespace.yaml", "crd", "rbac", "manager", "admission"]
    );
}

#[test]
fn the_crds_in_config_are_byte_identical_to_the_generated_ones() {
    for file in ["netprobe.yaml", "nodeinspection.yaml"] {
        let generated = std::fs::read(repo().join("crds").join(file)).expect("crds/ file");
        let copy = std::fs::read(repo().join("config/crd").join(file)).expect("config/crd/ file");
        assert!(
            generated == copy,
            "config/crd/{file} is stale: run `cp crds/{file} config/crd/{file}`"
        );
    }
}

#[test]
fn the_namespace_admits_the_privileged_agents() {
    let ns = config("namespace.yaml");
    assert_eq!(ns["metadata"]["name"], "netdiag-system");
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
}

#[test]
fn the_deployment_spells_out_the_default_limits() {
    let d = config("manager/deployment.yaml");
    let args = d["spec"]["template"]["spec"]["containers"][0]["args"].clone();
    let value = |flag: &str| -> usize {
        args.as_array()
            .expect("args")
            .iter()
            .filter_map(|a| a.as_str()?.strip_prefix(&format!("{flag}=")))
            .next()
            .unwrap_or_else(|| panic!("the Deployment does not set {flag}"))
            .parse()
            .expect("a number")
    };
    let defaults = netdiag_controller::netprobe::admission::Limits::default();
    assert_eq!(value("--max-agent-pods"), defaults.max_agent_pods);
    assert_eq!(
        value("--max-agent-pods-per-node"),
        defaults.max_agent_pods_per_node
    );
    assert_eq!(
        value("--max-runs-per-namespace-per-minute"),
        defaults.max_runs_per_namespace_per_minute
    );
}

#[test]
fn the_controller_deployment_is_unprivileged_and_probed() {
    let d = config("manager/deployment.yaml");
    assert_eq!(d["metadata"]["namespace"], "netdiag-system");
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "netdiag-controller");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert!(pod.get("hostNetwork").is_none() && pod.get("hostPID").is_none());
    let c = &pod["containers"][0];
    let sc = &c["securityContext"];
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert!(sc["capabilities"].get("add").is_none());
    assert!(sc.get("privileged").is_none_or(|p| p == false));
    for k in ["requests", "limits"] {
        assert!(
            c["resources"][k]["cpu"].is_string() && c["resources"][k]["memory"].is_string(),
            "{k}"
        );
    }
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["ports"][0]["name"], "metrics");
    assert_eq!(c["ports"][0]["containerPort"], 8080);
    assert!(
        c["args"]
            .as_array()
            .expect("args")
            .iter()
            .any(|a| a == "--metrics-addr=0.0.0.0:8080")
    );
    let image = format!("ghcr.io/netdiag/netdiag:{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(
        c["image"],
        image.as_str(),
        "the image tag follows the crate version"
    );
    let env = c["env"].as_array().expect("env");
    let agent = env
        .iter()
        .find(|e| e["name"] == "NETDIAG_AGENT_IMAGE")
        .expect("agent image env");
    assert_eq!(agent["value"], image.as_str());
    assert!(env.iter().any(|e| e["name"] == "POD_NAMESPACE"
        && e["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"));
}

/// Every key of `value` is a property the schema declares, recursively (what `kubectl apply`
/// with pruning would keep). Enums are checked too.
fn fits(schema: &Value, value: &Value, path: &str) {
    if let Some(allowed) = schema["enum"].as_array() {
        assert!(
            allowed.contains(value),
            "{path}: {value} not in {allowed:?}"
        );
    }
    match value {
        Value::Object(map) => {
            if schema.get("x-kubernetes-int-or-string").is_some() {
                panic!("{path}: an object where a port is expected");
            }
            let props = schema["properties"].as_object();
            for (k, v) in map {
                let Some(sub) = props.and_then(|p| p.get(k)) else {
                    panic!("{path}.{k} is not in the CRD schema")
                };
                fits(sub, v, &format!("{path}.{k}"));
            }
            for req in schema["required"].as_array().into_iter().flatten() {
                let req = req.as_str().expect("string");
                assert!(map.contains_key(req), "{path}: missing required {req}");
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                fits(&schema["items"], v, &format!("{path}[{i}]"));
            }
        }
        _ => {}
    }
}

#[test]
fn every_sample_is_a_valid_netprobe_that_fits_the_generated_schema() {
    let crd = config("crd/netprobe.yaml");
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    assert!(schema.is_object(), "the CRD has a spec schema");
    let mut kinds = BTreeSet::new();
    let mut files = Vec::new();
    yaml_files(&repo().join("config/samples"), &mut files);
    for f in files.iter().filter(|f| !f.ends_with("kustomization.yaml")) {
        let doc = docs(f).remove(0);
        assert_eq!(doc["apiVersion"], "netdiag.dev/v1alpha1", "{}", f.display());
        fits(schema, &doc["spec"], "spec");
        let probe: NetProbe =
            serde_json::from_value(doc).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        netdiag_crds::validate::validate_spec(&probe.spec)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let kind = match probe.spec.target.kind() {
            Some(netdiag_crds::TargetRef::Service(_)) => "service",
            Some(netdiag_crds::TargetRef::Pod(_)) => "pod",
            Some(netdiag_crds::TargetRef::Address(_)) => "address",
            Some(netdiag_crds::TargetRef::Dns(_)) => "dns",
            None => "none",
        };
        kinds.insert(kind);
        if probe.spec.interval_seconds.is_some() {
            kinds.insert("periodic");
        }
    }
    assert_eq!(
        kinds,
        BTreeSet::from(["address", "dns", "periodic", "pod", "service"])
    );
}

#[test]
fn the_schema_check_itself_catches_an_unknown_field() {
    let crd = config("crd/netprobe.yaml");
    let schema =
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"].clone();
    let bad = json!({"source": {"pod": "a"}, "target": {"dns": {"name": "x"}}, "image": "evil"});
    let r = std::panic::catch_unwind(|| fits(&schema, &bad, "spec"));
    assert!(r.is_err(), "spec.image must not fit the schema");
}
