//! config/: every manifest parses; the CRD copy is the generated one; RBAC grants exactly what
//! the code calls; the Deployment and namespace follow the security posture; the samples are
//! valid NetProbes that fit the CRD schema. The Argo CD health check is tested in argocd.rs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use netdiag_controller::rbac::{PERMISSIONS, Scope};
use netdiag_crds::NetProbe;
use serde_json::{Value, json};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

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

fn docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn config(rel: &str) -> Value {
    let mut d = docs(&repo().join("config").join(rel));
    assert_eq!(d.len(), 1, "{rel}: one document");
    d.remove(0)
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
fn the_crd_in_config_is_byte_identical_to_the_generated_one() {
    let generated = std::fs::read(repo().join("crds/netprobe.yaml")).expect("crds/netprobe.yaml");
    let copy =
        std::fs::read(repo().join("config/crd/netprobe.yaml")).expect("config/crd/netprobe.yaml");
    assert!(
        generated == copy,
        "config/crd/netprobe.yaml is stale: run `cp crds/netprobe.yaml config/crd/netprobe.yaml`"
    );
}

type Rule = (Scope, String, String, String);

fn rules_of(doc: &Value, scope: Scope) -> BTreeSet<Rule> {
    let mut out = BTreeSet::new();
    for rule in doc["rules"].as_array().expect("rules") {
        assert!(rule.get("resourceNames").is_none() && rule.get("nonResourceURLs").is_none());
        for g in rule["apiGroups"].as_array().expect("apiGroups") {
            for r in rule["resources"].as_array().expect("resources") {
                for v in rule["verbs"].as_array().expect("verbs") {
                    let (g, r, v) = (
                        g.as_str().expect("s"),
                        r.as_str().expect("s"),
                        v.as_str().expect("s"),
                    );
                    assert!(
                        g != "*" && r != "*" && v != "*",
                        "no wildcards: {g} {r} {v}"
                    );
                    out.insert((scope, g.to_string(), r.to_string(), v.to_string()));
                }
            }
        }
    }
    out
}

#[test]
fn rbac_grants_exactly_what_the_code_calls() {
    let cluster = config("rbac/cluster_role.yaml");
    let role = config("rbac/role.yaml");
    assert_eq!(
        role["metadata"]["namespace"], "netdiag-system",
        "the Role is in the controller's namespace"
    );
    let mut granted = rules_of(&cluster, Scope::Cluster);
    granted.extend(rules_of(&role, Scope::OwnNamespace));
    let needed: BTreeSet<Rule> = PERMISSIONS
        .iter()
        .flat_map(|p| {
            p.verbs.iter().map(move |v| {
                (
                    p.scope,
                    p.api_group.to_string(),
                    p.resource.to_string(),
                    v.to_string(),
                )
            })
        })
        .collect();
    let extra: Vec<_> = granted.difference(&needed).collect();
    let missing: Vec<_> = needed.difference(&granted).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "granted but unused: {extra:?}\nneeded but not granted: {missing:?}"
    );
    // Nothing cluster-wide may create or delete pods: agent pods live in netdiag-system only.
    assert!(
        !granted
            .iter()
            .any(|(s, g, r, v)| *s == Scope::Cluster && g.is_empty() && r == "pods" && v != "get")
    );
    // Nor touch ConfigMaps: the plans live in netdiag-system only.
    assert!(
        !granted
            .iter()
            .any(|(s, _, r, _)| *s == Scope::Cluster && r == "configmaps")
    );
    for binding in ["rbac/cluster_role_binding.yaml", "rbac/role_binding.yaml"] {
        let b = config(binding);
        assert_eq!(
            b["subjects"],
            json!([{"kind": "ServiceAccount", "name": "netdiag-controller", "namespace": "netdiag-system"}]),
            "{binding}"
        );
        assert_eq!(b["roleRef"]["name"], "netdiag-controller");
    }
    assert_eq!(
        config("rbac/service_account.yaml")["metadata"]["name"],
        "netdiag-controller"
    );
}

/// Every resource type the code opens an `Api` on, and every API verb it calls, has a rule.
#[test]
fn every_api_the_source_touches_is_in_the_permission_table() {
    fn read_rs(dir: &Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).expect("src") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                read_rs(&p, out);
            } else if p.extension().and_then(|e| e.to_str()) == Some("rs") {
                out.push_str(&std::fs::read_to_string(&p).expect("read"));
            }
        }
    }
    let mut src = String::new();
    read_rs(&repo().join("controller/src"), &mut src);
    let types = [
        ("Pod", "pods"),
        ("ConfigMap", "configmaps"),
        ("Service", "services"),
        ("EndpointSlice", "endpointslices"),
        ("NetProbe", "netprobes"),
        // The watch reads NetProbes untyped (decode::api_resource), so one bad object cannot
        // stop it.
        ("DynamicObject", "netprobes"),
    ];
    let mut seen = 0;
    let mut rest = src.as_str();
    while let Some(i) = rest.find("Api<") {
        let after = &rest[i + 4..];
        let ty: String = after.chars().take_while(|c| c.is_alphanumeric()).collect();
        if !ty.is_empty() && ty != "K" {
            let resource = types
                .iter()
                .find(|(t, _)| *t == ty)
                .map(|(_, r)| *r)
                .unwrap_or_else(|| panic!("Api<{ty}> is used but has no entry in this test's type table nor in rbac.rs"));
            assert!(
                PERMISSIONS.iter().any(|p| p.resource == resource),
                "Api<{ty}> but no permission on {resource}"
            );
            seen += 1;
        }
        rest = after;
    }
    assert!(seen >= 5, "found {seen} Api<..> uses");
    let has = |res: &str, verb: &str| {
        PERMISSIONS
            .iter()
            .any(|p| p.resource == res && p.verbs.contains(&verb))
    };
    for (call, res, verb) in [
        (".logs(", "pods/log", "get"),
        (".patch_status(", "netprobes/status", "patch"),
        ("Recorder::new", "events", "create"),
        ("LeaseManagerBuilder", "leases", "patch"),
        ("get_opt(", "pods", "get"),
        (".create(&PostParams", "pods", "create"),
        ("config_maps.create(", "configmaps", "create"),
        (".replace(&name, &PostParams", "configmaps", "update"),
        ("config_maps.delete(", "configmaps", "delete"),
        ("Controller::for_stream_with", "netprobes", "watch"),
    ] {
        assert!(
            src.contains(call),
            "the source no longer calls {call}: update this test and rbac.rs"
        );
        assert!(has(res, verb), "{call} needs {verb} on {res}");
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
