//! RBAC: config/rbac/ grants exactly the permissions rbac.rs lists, and every API the source
//! touches has one.

use std::collections::BTreeSet;
use std::path::Path;

use netdiag_controller::rbac::{PERMISSIONS, Scope};
use netdiag_testkit::files::{config, repo};
use serde_json::{Value, json};

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
    // (Reading them is needed: a NetProbe's source, a NodeInspection's node.)
    assert!(!granted.iter().any(|(s, g, r, v)| *s == Scope::Cluster
        && g.is_empty()
        && r == "pods"
        && !["get", "list"].contains(&v.as_str())));
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
        ("Node", "nodes"),
        ("NetProbe", "netprobes"),
        ("Node", "nodes"),
        ("NodeInspection", "nodeinspections"),
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
        ("Api::<NodeInspection>::all", "nodeinspections", "watch"),
        ("fields(&format!(\"spec.nodeName", "pods", "list"),
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
