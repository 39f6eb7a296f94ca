//! The ValidatingAdmissionPolicy in config/admission/ (issue: a probe must not reveal what its
//! author may not read), evaluated client-side the way the API server would: `object`,
//! `request`, `variables` and an `authorizer` that answers from a table of what the requesting
//! user may do. kube-cel evaluates VAP expressions but has no `authorizer` (it needs an API
//! server), so this test binds one of its own with the same call chain:
//! `authorizer.group(G).resource(R).namespace(NS).name(N).check(VERB).allowed()`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use kube_cel::KubeCelExt as _;
use kube_cel::cel::extractors::This;
use kube_cel::cel::objects::{Key, Map};
use kube_cel::cel::{Context, Program, Value as Cel};
use serde_json::{Value, json};

type Answer = Result<Cel, kube_cel::cel::ExecutionError>;

/// What the requesting user may do: (group, resource, namespace, name or "" for any, verb).
type Grants = &'static [(
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
)];

fn policy() -> Value {
    policy_file("policy.yaml")
}

fn policy_file(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../config/admission")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn to_cel(v: &Value) -> Cel {
    match v {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(n) => n
            .as_i64()
            .map(Cel::Int)
            .or_else(|| n.as_u64().map(Cel::UInt))
            .unwrap_or_else(|| Cel::Float(n.as_f64().unwrap_or_default())),
        Value::String(s) => Cel::String(Arc::new(s.clone())),
        Value::Array(a) => Cel::List(Arc::new(a.iter().map(to_cel).collect())),
        Value::Object(o) => {
            let m: HashMap<Key, Cel> = o
                .iter()
                .map(|(k, v)| (Key::String(Arc::new(k.clone())), to_cel(v)))
                .collect();
            Cel::Map(Map { map: Arc::new(m) })
        }
    }
}

fn get(map: &Cel, key: &str) -> String {
    match map {
        Cel::Map(m) => match m.map.get(&Key::String(Arc::new(key.to_string()))) {
            Some(Cel::String(s)) => s.to_string(),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

fn with(map: &Cel, key: &str, value: Cel) -> Cel {
    let mut m: HashMap<Key, Cel> = match map {
        Cel::Map(m) => (*m.map).clone(),
        _ => HashMap::new(),
    };
    m.insert(Key::String(Arc::new(key.to_string())), value);
    Cel::Map(Map { map: Arc::new(m) })
}

/// The `authorizer` chain: each call adds one field to a map; `check` decides.
fn bind_authorizer(ctx: &mut Context<'_>, grants: Grants) {
    for field in ["group", "resource", "namespace", "name"] {
        ctx.add_function(
            field,
            move |This(this): This<Cel>, v: Arc<String>| -> Answer {
                Ok(with(&this, field, Cel::String(v)))
            },
        );
    }
    ctx.add_function(
        "check",
        move |This(this): This<Cel>, verb: Arc<String>| -> Answer {
            let allowed = grants.iter().any(|(g, r, ns, name, v)| {
                *g == get(&this, "group")
                    && *r == get(&this, "resource")
                    && *ns == get(&this, "namespace")
                    && (name.is_empty() || *name == get(&this, "name"))
                    && *v == verb.as_str()
            });
            Ok(with(&this, "allowed", Cel::Bool(allowed)))
        },
    );
    ctx.add_function("allowed", |This(this): This<Cel>| -> bool {
        matches!(&this, Cel::Map(m) if m.map.get(&Key::String(Arc::new("allowed".into()))) == Some(&Cel::Bool(true)))
    });
    ctx.add_variable_from_value("authorizer", to_cel(&json!({})));
}

fn eval(ctx: &Context<'_>, expr: &str) -> Cel {
    let program =
        Program::compile(expr).unwrap_or_else(|e| panic!("does not compile: {expr}: {e}"));
    program
        .execute(ctx)
        .unwrap_or_else(|e| panic!("does not evaluate: {expr}: {e}"))
}

/// Admit or deny `spec` created in `namespace` by a user with `grants`: the messages of the
/// failed validations, as the API server would return them.
fn admit(namespace: &str, spec: Value, grants: Grants) -> Vec<String> {
    let object = json!({"apiVersion": "netdiag.dev/v1alpha1", "kind": "NetProbe",
                        "metadata": {"name": "p", "namespace": namespace}, "spec": spec});
    evaluate(&policy(), object, namespace, grants)
}

/// A cluster-scoped NodeInspection with `spec`, through its own policy.
fn admit_inspection(spec: Value, grants: Grants) -> Vec<String> {
    let object = json!({"apiVersion": "netdiag.dev/v1alpha1", "kind": "NodeInspection",
                        "metadata": {"name": "i"}, "spec": spec});
    evaluate(&policy_file("inspection_policy.yaml"), object, "", grants)
}

/// The messages of `policy`'s failed validations for `object`.
fn evaluate(policy: &Value, object: Value, namespace: &str, grants: Grants) -> Vec<String> {
    let mut ctx = Context::default();
    ctx.register_all();
    ctx.add_variable_from_value("object", to_cel(&object));
    ctx.add_variable_from_value(
        "request",
        to_cel(&json!({"namespace": namespace, "operation": "CREATE", "userInfo": {"username": "alice"}})),
    );
    bind_authorizer(&mut ctx, grants);
    let mut variables = HashMap::new();
    for v in policy["spec"]["variables"].as_array().into_iter().flatten() {
        let value = eval(&ctx, v["expression"].as_str().unwrap_or_default());
        variables.insert(
            Key::String(Arc::new(v["name"].as_str().unwrap_or_default().into())),
            value,
        );
        ctx.add_variable_from_value(
            "variables",
            Cel::Map(Map {
                map: Arc::new(variables.clone()),
            }),
        );
    }
    let mut denied = Vec::new();
    for v in policy["spec"]["validations"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if eval(&ctx, v["expression"].as_str().unwrap_or_default()) != Cel::Bool(true) {
            if let Some(message) = v["message"].as_str() {
                denied.push(message.to_string());
                continue;
            }
            match eval(&ctx, v["messageExpression"].as_str().unwrap_or_default()) {
                Cel::String(s) => denied.push(s.to_string()),
                other => panic!("messageExpression gave {other:?}"),
            }
        }
    }
    denied
}

const READS_DEFAULT: Grants = &[
    ("", "services", "default", "", "get"),
    ("", "pods", "default", "", "get"),
    ("discovery.k8s.io", "endpointslices", "default", "", "list"),
];

#[test]
fn a_service_the_author_can_read_is_admitted() {
    let denied = admit(
        "default",
        json!({"source": {"pod": "curl"}, "target": {"service": {"name": "echo", "port": 80}}}),
        READS_DEFAULT,
    );
    assert_eq!(denied, Vec::<String>::new());
}

#[test]
fn a_service_in_a_namespace_the_author_cannot_read_is_denied_by_name() {
    let denied = admit(
        "default",
        json!({"source": {"pod": "curl"},
               "target": {"service": {"name": "kube-dns", "namespace": "kube-system", "port": "dns"}}}),
        READS_DEFAULT,
    );
    assert_eq!(denied.len(), 2, "{denied:?}");
    assert!(
        denied[0].starts_with("you may not get Service kube-system/kube-dns"),
        "{denied:?}"
    );
    assert!(
        denied[1].contains("list EndpointSlices in namespace kube-system"),
        "{denied:?}"
    );
}

#[test]
fn a_pod_target_needs_get_on_that_pod_and_list_on_endpointslices() {
    const ONLY_THAT_POD: Grants = &[("", "pods", "shop", "web-1", "get")];
    let spec = json!({"source": {"pod": "curl"},
                      "target": {"pod": {"name": "web-1", "namespace": "shop", "port": 8080}}});
    let denied = admit("default", spec.clone(), ONLY_THAT_POD);
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert!(denied[0].contains("EndpointSlices in namespace shop"));
    const ANOTHER_POD: Grants = &[
        ("", "pods", "shop", "web-2", "get"),
        ("discovery.k8s.io", "endpointslices", "shop", "", "list"),
    ];
    let denied = admit("default", spec, ANOTHER_POD);
    assert_eq!(denied, vec!["you may not get pod shop/web-1, so a NetProbe may not target it (check: kubectl auth can-i get pods -n shop)".to_string()]);
}

#[test]
fn dns_and_address_targets_need_no_object_rights() {
    for target in [
        json!({"dns": {"name": "echo.default.svc.cluster.local"}}),
        json!({"address": {"ip": "10.96.0.10", "port": 53, "protocol": "UDP"}}),
    ] {
        let denied = admit(
            "default",
            json!({"source": {"pod": "curl"}, "target": target}),
            &[],
        );
        assert_eq!(denied, Vec::<String>::new());
    }
}

#[test]
fn a_node_source_needs_get_on_that_node() {
    const THAT_NODE: Grants = &[("", "nodes", "", "worker-1", "get")];
    const ANOTHER_NODE: Grants = &[("", "nodes", "", "worker-2", "get")];
    let spec = json!({"source": {"node": "worker-1"},
                      "target": {"address": {"ip": "10.96.0.10", "port": 53, "protocol": "UDP"}}});
    assert_eq!(
        admit("default", spec.clone(), THAT_NODE),
        Vec::<String>::new()
    );
    assert_eq!(
        admit("default", spec, ANOTHER_NODE),
        vec!["you may not get node worker-1, so a NetProbe may not start from it (check: kubectl auth can-i get nodes/worker-1)".to_string()]
    );
}

#[test]
fn the_policy_is_bound_and_matches_netprobes_only() {
    let p = policy();
    let rules = &p["spec"]["matchConstraints"]["resourceRules"];
    assert_eq!(rules[0]["resources"], json!(["netprobes"]));
    assert_eq!(p["spec"]["failurePolicy"], "Fail");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/admission/binding.yaml");
    let binding: Value = serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap_or_default())
        .unwrap_or_else(|e| panic!("binding: {e}"));
    assert_eq!(binding["spec"]["policyName"], p["metadata"]["name"]);
    assert_eq!(binding["spec"]["validationActions"], json!(["Deny"]));
}

#[test]
fn a_node_inspection_needs_list_on_pods_in_every_namespace() {
    const CLUSTER_PODS: Grants = &[("", "pods", "", "", "list")];
    const ONE_NAMESPACE: Grants = &[("", "pods", "default", "", "list")];
    let spec = json!({"node": "worker-1"});
    assert_eq!(
        admit_inspection(spec.clone(), CLUSTER_PODS),
        Vec::<String>::new()
    );
    let denied = admit_inspection(spec, ONE_NAMESPACE);
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert!(
        denied[0].starts_with("you may not list pods in every namespace"),
        "{denied:?}"
    );
}

#[test]
fn a_service_inspection_also_needs_that_services_endpointslices() {
    const CLUSTER_PODS: Grants = &[("", "pods", "", "", "list")];
    let spec = json!({"service": {"namespace": "shop", "name": "web"}});
    let denied = admit_inspection(spec.clone(), CLUSTER_PODS);
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert!(
        denied[0].contains("EndpointSlices in namespace shop"),
        "{denied:?}"
    );
    const BOTH: Grants = &[
        ("", "pods", "", "", "list"),
        ("discovery.k8s.io", "endpointslices", "shop", "", "list"),
    ];
    assert_eq!(admit_inspection(spec, BOTH), Vec::<String>::new());
}
