//! `install` / `uninstall`: exactly the objects `kubectl apply -k config/` applies, embedded at
//! build time (see build.rs), applied with server-side apply ([`apply`]) and removed again only
//! where netdiag owns them ([`uninstall`]).

mod apply;
mod uninstall;

pub use apply::apply;
pub use uninstall::{Consent, UninstallOptions, uninstall};

use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use crate::client::Ctx;
use crate::error::{CONTROLLER_NAMESPACE, Error};

include!(concat!(env!("OUT_DIR"), "/manifests.rs"));

/// The field manager named in `managedFields`.
pub const FIELD_MANAGER: &str = "kubectl-netdiag";

/// The label every installed object carries (set by `config/kustomization.yaml`); `uninstall`
/// deletes nothing without it.
pub const PART_OF_LABEL: (&str, &str) = ("app.kubernetes.io/part-of", "netdiag");

/// Kinds that live at cluster scope among what we install.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "PriorityClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
];

/// Every embedded object, in apply order (the kustomization's), with the kustomization's labels
/// and `--image` applied.
pub fn objects(image: Option<&str>) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for (file, text) in MANIFESTS {
        let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| Error::Manifest {
            file,
            message: e.to_string(),
        })?;
        for mut doc in docs.into_iter().filter(|d| d.is_object()) {
            add_labels(&mut doc);
            if let Some(img) = image {
                set_image(&mut doc, img);
            }
            out.push(doc);
        }
    }
    Ok(out)
}

/// What kustomize's `labels:` (without selectors) does: add to `metadata.labels` only.
fn add_labels(doc: &mut Value) {
    let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let labels = meta
        .entry("labels")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Some(labels) = labels.as_object_mut() {
        for (k, v) in LABELS {
            labels.insert((*k).to_string(), Value::String((*v).to_string()));
        }
    }
}

/// Point a workload's containers, and any `*IMAGE` environment variable in them (the agent
/// image the controller starts), at `image`.
pub fn set_image(doc: &mut Value, image: &str) {
    let is_workload = matches!(
        doc.get("kind").and_then(Value::as_str),
        Some("Deployment" | "DaemonSet" | "StatefulSet")
    );
    if !is_workload {
        return;
    }
    let Some(containers) = doc
        .pointer_mut("/spec/template/spec/containers")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for c in containers {
        c["image"] = Value::String(image.to_string());
        if let Some(env) = c.get_mut("env").and_then(Value::as_array_mut) {
            for var in env {
                let is_image = var
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.ends_with("IMAGE"));
                if is_image && var.get("value").is_some() {
                    var["value"] = Value::String(image.to_string());
                }
            }
        }
    }
}

/// The objects as one multi-document YAML stream, as `kubectl apply -f` takes it.
pub fn to_yaml(objects: &[Value]) -> Result<String, Error> {
    let mut out = String::new();
    for o in objects {
        out.push_str("---\n");
        out.push_str(&crate::output::yaml(o)?);
    }
    Ok(out)
}

/// `kind/name` (with the namespace when namespaced), for messages.
pub fn describe(o: &Value) -> String {
    let name = name_of(o);
    match namespace_of(o) {
        Some(ns) => format!("{}/{name} -n {ns}", kind_of(o)),
        None => format!("{}/{name}", kind_of(o)),
    }
}

fn kind_of(o: &Value) -> &str {
    o.get("kind").and_then(Value::as_str).unwrap_or("?")
}

fn name_of(o: &Value) -> &str {
    o.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?")
}

fn namespace_of(o: &Value) -> Option<String> {
    if CLUSTER_SCOPED.contains(&kind_of(o)) {
        return None;
    }
    Some(
        o.pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or(CONTROLLER_NAMESPACE)
            .to_string(),
    )
}

/// The API for an object, from its apiVersion and kind (no discovery round-trip: the kinds we
/// ship pluralise regularly).
fn api_for(ctx: &Ctx, o: &Value) -> (Api<DynamicObject>, String, Option<String>) {
    let api_version = o.get("apiVersion").and_then(Value::as_str).unwrap_or("v1");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind_of(o)));
    let name = name_of(o).to_string();
    match namespace_of(o) {
        Some(ns) => (
            Api::namespaced_with(ctx.client.clone(), &ns, &ar),
            name,
            Some(ns),
        ),
        None => (Api::all_with(ctx.client.clone(), &ar), name, None),
    }
}

/// The resource named in an RBAC message: the kinds we ship, as `kubectl auth can-i` takes them.
fn resource_word(o: &Value) -> &'static str {
    match kind_of(o) {
        "Namespace" => "namespaces",
        "CustomResourceDefinition" => "customresourcedefinitions",
        "ServiceAccount" => "serviceaccounts",
        "ClusterRole" => "clusterroles",
        "ClusterRoleBinding" => "clusterrolebindings",
        "Role" => "roles",
        "RoleBinding" => "rolebindings",
        "Deployment" => "deployments",
        "Service" => "services",
        "ConfigMap" => "configmaps",
        "ValidatingAdmissionPolicy" => "validatingadmissionpolicies",
        "ValidatingAdmissionPolicyBinding" => "validatingadmissionpolicybindings",
        _ => "objects",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_object_carries_the_part_of_label() {
        let objects = objects(None).unwrap_or_else(|e| panic!("{e}"));
        assert!(!objects.is_empty());
        for o in &objects {
            assert_eq!(
                o.pointer("/metadata/labels/app.kubernetes.io~1part-of")
                    .and_then(Value::as_str),
                Some(PART_OF_LABEL.1),
                "{}",
                describe(o)
            );
        }
    }

    #[test]
    fn every_embedded_object_carries_the_plugins_version() {
        for o in objects(None).unwrap_or_else(|e| panic!("{e}")) {
            assert_eq!(
                o.pointer("/metadata/labels/app.kubernetes.io~1version")
                    .and_then(Value::as_str),
                Some(env!("CARGO_PKG_VERSION")),
                "{}: bump app.kubernetes.io/version in config/kustomization.yaml with Cargo.toml",
                describe(&o)
            );
        }
    }

    #[test]
    fn nothing_outside_the_controller_namespace_is_embedded() {
        for o in objects(None).unwrap_or_else(|e| panic!("{e}")) {
            if let Some(ns) = namespace_of(&o) {
                assert_eq!(ns, CONTROLLER_NAMESPACE, "{}", describe(&o));
            }
        }
    }
}
