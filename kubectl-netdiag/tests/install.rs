//! `install` and `uninstall`: what they embed is exactly `kubectl kustomize config/`, and
//! uninstall deletes only objects netdiag owns, asking before it deletes the CRD.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::ctx;
use kubectl_netdiag::error::Error;
use kubectl_netdiag::install::{self, Consent, UninstallOptions};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-netdiag");

fn kubectl() -> Option<PathBuf> {
    netdiag_testkit::bin::tool_or_skip("kubectl", "kubectl")
}

/// Objects keyed by kind/namespace/name, for a comparison that ignores order.
fn keyed(objects: Vec<Value>) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = objects
        .into_iter()
        .filter(|o| o.is_object())
        .map(|o| {
            let key = format!(
                "{}/{}/{}",
                o["kind"].as_str().unwrap_or_default(),
                o["metadata"]["namespace"].as_str().unwrap_or_default(),
                o["metadata"]["name"].as_str().unwrap_or_default()
            );
            (key, o)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn yaml_docs(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple(text).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"))
}

#[test]
fn install_applies_exactly_what_kubectl_kustomize_config_builds() {
    let Some(kubectl) = kubectl() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let kustomized = Command::new(&kubectl)
        .arg("kustomize")
        .arg(root.join("config"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run kubectl kustomize: {e}"));
    assert!(
        kustomized.status.success(),
        "kubectl kustomize config/ failed: {}",
        String::from_utf8_lossy(&kustomized.stderr)
    );
    let ours = Command::new(BIN)
        .args(["install", "--dry-run", "-o", "yaml"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
    assert!(
        ours.status.success(),
        "{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    let expected = keyed(yaml_docs(&String::from_utf8_lossy(&kustomized.stdout)));
    let got = keyed(yaml_docs(&String::from_utf8_lossy(&ours.stdout)));
    let names = |v: &[(String, Value)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&got),
        names(&expected),
        "install and kustomize list different objects"
    );
    for ((key, g), (_, e)) in got.iter().zip(&expected) {
        if let Some(at) = first_difference(g, e, String::new()) {
            panic!("{key} differs between install and kubectl kustomize config/ at {at}");
        }
    }
    assert!(
        !got.iter().any(|(k, _)| k.contains("argocd")),
        "the Argo CD example must never be installed"
    );
}

/// The first JSON pointer where two documents differ, numbers compared by value (kustomize
/// writes `0.0` as `0`).
fn first_difference(a: &Value, b: &Value, at: String) -> Option<String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            (x.as_f64() != y.as_f64()).then(|| format!("{at}: {x} != {y}"))
        }
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(v), Some(w)) => first_difference(v, w, format!("{at}/{k}")),
                (v, w) => Some(format!(
                    "{at}/{k}: present {} != {}",
                    v.is_some(),
                    w.is_some()
                )),
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (v, w))| first_difference(v, w, format!("{at}/{i}"))),
        _ => (a != b).then(|| format!("{at}: {a} != {b}")),
    }
}

fn labelled(o: &Value, uid: &str) -> Value {
    let mut o = o.clone();
    o["metadata"]["uid"] = json!(uid);
    o
}

fn unlabelled(o: &Value) -> Value {
    let mut o = labelled(o, "someone-else");
    if let Some(labels) = o["metadata"]["labels"].as_object_mut() {
        labels.remove("app.kubernetes.io/part-of");
    }
    o
}

/// The API path of an installed object.
fn path_of(o: &Value) -> String {
    let api_version = o["apiVersion"].as_str().unwrap_or("v1");
    let kind = o["kind"].as_str().unwrap_or_default();
    let name = o["metadata"]["name"].as_str().unwrap_or_default();
    let base = if api_version.contains('/') {
        format!("/apis/{api_version}")
    } else {
        format!("/api/{api_version}")
    };
    let plural = match kind {
        "Namespace" => "namespaces",
        "CustomResourceDefinition" => "customresourcedefinitions",
        "ServiceAccount" => "serviceaccounts",
        "ClusterRole" => "clusterroles",
        "ClusterRoleBinding" => "clusterrolebindings",
        "Role" => "roles",
        "RoleBinding" => "rolebindings",
        "Deployment" => "deployments",
        "ValidatingAdmissionPolicy" => "validatingadmissionpolicies",
        "ValidatingAdmissionPolicyBinding" => "validatingadmissionpolicybindings",
        other => panic!("the test does not know the plural of {other}"),
    };
    match o["metadata"]["namespace"].as_str() {
        Some(ns)
            if !matches!(
                kind,
                "Namespace"
                    | "ClusterRole"
                    | "ClusterRoleBinding"
                    | "ValidatingAdmissionPolicy"
                    | "ValidatingAdmissionPolicyBinding"
            ) =>
        {
            format!("{base}/namespaces/{ns}/{plural}/{name}")
        }
        _ => format!("{base}/{plural}/{name}"),
    }
}

/// Where uninstall lists every NetProbe, to count what it would delete.
const PROBES: &str = "/apis/netdiag.dev/v1alpha1/netprobes";

fn probe_list(namespaces: &[&str]) -> Value {
    let items: Vec<Value> = namespaces
        .iter()
        .enumerate()
        .map(|(i, ns)| {
            json!({"apiVersion": "netdiag.dev/v1alpha1", "kind": "NetProbe",
                              "metadata": {"name": format!("p{i}"), "namespace": ns}})
        })
        .collect();
    json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadataList",
           "metadata": {}, "items": items})
}

#[tokio::test]
async fn uninstall_deletes_only_labelled_objects_after_confirmation_with_a_uid_precondition() {
    let objects = install::objects(None).unwrap_or_else(|e| panic!("{e}"));
    let (ctx, mut api) = ctx();
    let served = objects.clone();
    let server = tokio::spawn(async move {
        api.expect("GET", PROBES)
            .await
            .ok(&probe_list(&["default", "default", "team-a"]));
        let mut deleted = Vec::new();
        for (i, o) in served.iter().rev().enumerate() {
            let path = path_of(o);
            let read = api.expect("GET", &path).await;
            // The ClusterRoleBinding exists but was made by someone else: it must stay.
            if o["kind"] == "ClusterRoleBinding" {
                read.ok(&unlabelled(o));
                continue;
            }
            let uid = format!("uid-{i}");
            read.ok(&labelled(o, &uid));
            let delete = api.expect("DELETE", &path).await;
            assert_eq!(delete.body["preconditions"]["uid"], json!(uid), "{path}");
            delete.success();
            deleted.push(path);
        }
        api.done().await;
        deleted
    });
    let mut prompts = Vec::new();
    let mut ask = |p: &str| {
        prompts.push(p.to_string());
        Ok("delete\n".to_string())
    };
    let lines = install::uninstall(
        &ctx,
        &objects,
        UninstallOptions::default(),
        Consent::Ask(&mut ask),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let deleted = server.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(deleted.len(), objects.len() - 1);
    assert!(deleted.iter().all(|p| !p.contains("argocd")));
    assert_eq!(prompts.len(), 1);
    assert!(
        prompts[0].contains("3 NetProbes (namespaces: default, team-a)"),
        "{}",
        prompts[0]
    );
    let text = lines.join("\n");
    assert!(
        text.contains("ClusterRoleBinding/netdiag-controller kept: it has no label"),
        "{text}"
    );
}

#[tokio::test]
async fn uninstall_without_a_terminal_or_yes_deletes_nothing() {
    let objects = install::objects(None).unwrap_or_else(|e| panic!("{e}"));
    let (ctx, mut api) = ctx();
    let server = tokio::spawn(async move {
        api.expect("GET", PROBES)
            .await
            .ok(&probe_list(&["default"]));
        api.done().await;
    });
    let err = install::uninstall(
        &ctx,
        &objects,
        UninstallOptions::default(),
        Consent::Unavailable,
    )
    .await
    .err()
    .unwrap_or_else(|| panic!("uninstall went ahead without consent"));
    server.await.unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(err, Error::ConfirmationNeeded { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("1 NetProbe"), "{msg}");
    assert!(msg.contains("--yes"), "{msg}");
}

#[tokio::test]
async fn a_declined_confirmation_deletes_nothing() {
    let objects = install::objects(None).unwrap_or_else(|e| panic!("{e}"));
    let (ctx, mut api) = ctx();
    let server = tokio::spawn(async move {
        api.expect("GET", PROBES).await.ok(&probe_list(&[]));
        api.done().await;
    });
    let mut ask = |_: &str| Ok("no\n".to_string());
    let err = install::uninstall(
        &ctx,
        &objects,
        UninstallOptions::default(),
        Consent::Ask(&mut ask),
    )
    .await
    .err()
    .unwrap_or_else(|| panic!("uninstall went ahead after 'no'"));
    server.await.unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(err, Error::Declined), "{err}");
}

#[tokio::test]
async fn keep_crd_and_dry_run_delete_nothing_and_leave_the_crd() {
    let objects = install::objects(None).unwrap_or_else(|e| panic!("{e}"));
    let (ctx, mut api) = ctx();
    let served = objects.clone();
    let server = tokio::spawn(async move {
        for o in served.iter().rev() {
            if o["kind"] == "CustomResourceDefinition" {
                continue;
            }
            api.expect("GET", &path_of(o)).await.not_found();
        }
        api.done().await;
    });
    let opts = UninstallOptions {
        dry_run: true,
        keep_crd: true,
    };
    let lines = install::uninstall(&ctx, &objects, opts, Consent::Unavailable)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    server.await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("CustomResourceDefinition/netprobes.netdiag.dev kept"))
    );
}

#[tokio::test]
async fn a_failure_half_way_through_install_says_what_was_applied_and_how_to_finish() {
    let objects = install::objects(None).unwrap_or_else(|e| panic!("{e}"));
    let (ctx, mut api) = ctx();
    let served = objects.clone();
    let server = tokio::spawn(async move {
        for o in served.iter().take(2) {
            api.expect("PATCH", &path_of(o)).await.ok(o);
        }
        api.expect("PATCH", &path_of(&served[2]))
            .await
            .status(500, "InternalError", "etcd is sad");
        api.done().await;
    });
    let err = install::apply(&ctx, &objects, false)
        .await
        .err()
        .unwrap_or_else(|| panic!("install did not fail"));
    server.await.unwrap_or_else(|e| panic!("{e}"));
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "install stopped at {}",
            install::describe(&objects[2])
        )),
        "{msg}"
    );
    assert!(
        msg.contains(&format!(
            "applied before it: {}, {}",
            install::describe(&objects[0]),
            install::describe(&objects[1])
        )),
        "{msg}"
    );
    assert!(msg.contains("run `kubectl netdiag install` again"), "{msg}");
    assert!(msg.contains("kubectl netdiag uninstall"), "{msg}");
}
