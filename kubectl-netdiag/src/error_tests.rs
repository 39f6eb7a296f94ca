use super::*;

fn status(code: u16, message: &str, name: Option<&str>) -> kube::Error {
    let mut v = serde_json::json!({"status": "Failure", "code": code, "message": message,
                                   "reason": "NotFound", "metadata": {}});
    if let Some(n) = name {
        v["details"] = serde_json::json!({"name": n, "kind": "netprobes"});
    }
    match serde_json::from_value(v) {
        Ok(s) => kube::Error::Api(Box::new(s)),
        Err(e) => panic!("status fixture: {e}"),
    }
}

#[test]
fn a_404_without_a_name_on_netprobes_means_the_crd_is_missing() {
    let e = api(
        "list",
        "netprobes",
        Some("default"),
        status(
            404,
            "the server could not find the requested resource",
            None,
        ),
    );
    assert!(matches!(e, Error::CrdMissing), "{e:?}");
}

#[test]
fn a_404_naming_a_netprobe_or_a_namespace_is_not_a_missing_crd() {
    let e = api(
        "get",
        "netprobes",
        Some("default"),
        status(404, "netprobes.netdiag.dev \"x\" not found", Some("x")),
    );
    assert!(matches!(e, Error::Api { .. }), "{e:?}");
    let e = api(
        "create",
        "netprobes",
        Some("nope"),
        status(404, "namespaces \"nope\" not found", None),
    );
    assert!(matches!(e, Error::Api { .. }), "{e:?}");
    let e = api(
        "get",
        "pods",
        Some("default"),
        status(404, "pods \"x\" not found", Some("x")),
    );
    assert!(matches!(e, Error::Api { .. }), "{e:?}");
}

#[test]
fn forbidden_at_cluster_scope_says_so() {
    let e = api(
        "apply",
        "customresourcedefinitions",
        None,
        status(403, "nope", None),
    );
    let msg = e.to_string();
    assert!(
        msg.contains("may not apply customresourcedefinitions at cluster scope"),
        "{msg}"
    );
    assert!(
        msg.contains("kubectl auth can-i apply customresourcedefinitions\n")
            || msg.ends_with("customresourcedefinitions"),
        "{msg}"
    );
}

#[test]
fn forbidden_does_not_say_forbidden_twice() {
    let e = api(
        "get",
        "pods",
        Some("default"),
        status(
            403,
            "pods \"x\" is forbidden: User \"u\" cannot get resource",
            None,
        ),
    );
    let msg = e.to_string();
    assert_eq!(msg.matches("forbidden").count(), 1, "{msg}");
}
