//! `install` / `uninstall`: the CRD and the controller's manifests, embedded from `crds/` and
//! `config/` at build time (see build.rs), applied with server-side apply.

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use crate::client::Ctx;
use crate::error::{self, CONTROLLER_NAMESPACE, Error};

include!(concat!(env!("OUT_DIR"), "/manifests.rs"));

/// The field manager named in `managedFields`.
pub const FIELD_MANAGER: &str = "kubectl-netdiag";

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

/// Every embedded object, in apply order, with `--image` applied.
pub fn objects(image: Option<&str>) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for (file, text) in MANIFESTS {
        let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| Error::Manifest {
            file,
            message: e.to_string(),
        })?;
        for mut doc in docs.into_iter().filter(|d| d.is_object()) {
            if let Some(img) = image {
                set_image(&mut doc, img);
            }
            out.push(doc);
        }
    }
    Ok(out)
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
    let kind = o.get("kind").and_then(Value::as_str).unwrap_or("?");
    let name = o
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    match namespace_of(o) {
        Some(ns) => format!("{kind}/{name} -n {ns}"),
        None => format!("{kind}/{name}"),
    }
}

fn namespace_of(o: &Value) -> Option<String> {
    let kind = o.get("kind").and_then(Value::as_str).unwrap_or_default();
    if CLUSTER_SCOPED.contains(&kind) {
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
    let kind = o.get("kind").and_then(Value::as_str).unwrap_or_default();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    let name = o
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    match namespace_of(o) {
        Some(ns) => (
            Api::namespaced_with(ctx.client.clone(), &ns, &ar),
            name,
            Some(ns),
        ),
        None => (Api::all_with(ctx.client.clone(), &ar), name, None),
    }
}

/// Server-side apply every object; with `dry_run` the API server checks without persisting.
/// Returns one line per object.
pub async fn apply(ctx: &Ctx, objects: &[Value], dry_run: bool) -> Result<Vec<String>, Error> {
    let mut lines = Vec::new();
    let mut pp = PatchParams::apply(FIELD_MANAGER).force();
    pp.dry_run = dry_run;
    for o in objects {
        let (api, name, ns) = api_for(ctx, o);
        api.patch(&name, &pp, &Patch::Apply(o))
            .await
            .map_err(|e| error::api("patch", resource_word(o), ns.as_deref(), e))?;
        let suffix = if dry_run { " (server dry run)" } else { "" };
        lines.push(format!("{} serverside-applied{suffix}", describe(o)));
    }
    Ok(lines)
}

/// Delete every object, last applied first. Missing ones are fine.
pub async fn delete(ctx: &Ctx, objects: &[Value]) -> Result<Vec<String>, Error> {
    let mut lines = Vec::new();
    for o in objects.iter().rev() {
        let (api, name, ns) = api_for(ctx, o);
        match api.delete(&name, &DeleteParams::background()).await {
            Ok(_) => lines.push(format!("{} deleted", describe(o))),
            Err(e) if error::is_not_found(&e) => {
                lines.push(format!("{} not found", describe(o)));
            }
            Err(e) => return Err(error::api("delete", resource_word(o), ns.as_deref(), e)),
        }
    }
    Ok(lines)
}

/// The resource named in an RBAC message: the kinds we ship, as `kubectl auth can-i` takes them.
fn resource_word(o: &Value) -> &'static str {
    match o.get("kind").and_then(Value::as_str).unwrap_or_default() {
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
        _ => "objects",
    }
}
