//! Embed the cluster manifests in the binary: exactly the files `kubectl apply -k config/` reads,
//! found by following `resources:` from `config/kustomization.yaml` down, in kustomization order,
//! plus the labels that kustomization sets. No glob: a file under `config/` that no kustomization
//! lists (the Argo CD example, the samples) is never installed, and so never uninstalled.
//!
//! Only the kustomize features netdiag's manifests use are understood (`resources` and `labels`
//! without selectors). A kustomization using anything else fails the build, because embedding it
//! without that feature would install something other than what `kubectl apply -k` does.
//! `kubectl-netdiag/tests/kustomize.rs` compares the result with `kubectl kustomize config/`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Kustomization {
    #[allow(dead_code)]
    api_version: Option<String>,
    #[allow(dead_code)]
    kind: Option<String>,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    labels: Vec<LabelSet>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LabelSet {
    pairs: BTreeMap<String, String>,
    #[serde(default)]
    include_selectors: bool,
    #[serde(default)]
    include_templates: bool,
}

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let config = root.join("config");
    println!("cargo::rerun-if-changed={}", config.display());

    let mut files = Vec::new();
    let mut labels = BTreeMap::new();
    if let Err(message) = walk(&config, &root, true, &mut files, &mut labels) {
        // A build script reports failure by panicking; the message says what to change.
        panic!("embedding config/ for `kubectl netdiag install`: {message}");
    }

    let mut out = String::from(
        "/// The manifests `kubectl apply -k config/` applies, in kustomization order:\n\
         /// (path in the repository, content).\n\
         pub const MANIFESTS: &[(&str, &str)] = &[\n",
    );
    for (rel, path) in &files {
        out.push_str(&format!(
            "    ({rel:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    out.push_str("];\n\n/// The labels `config/kustomization.yaml` puts on every object.\n");
    out.push_str("pub const LABELS: &[(&str, &str)] = &[\n");
    for (k, v) in &labels {
        out.push_str(&format!("    ({k:?}, {v:?}),\n"));
    }
    out.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    if let Err(e) = fs::write(out_dir.join("manifests.rs"), out) {
        panic!("cannot write manifests.rs into OUT_DIR: {e}");
    }
}

/// Follow one kustomization directory: its resources in order (files, or directories holding
/// their own kustomization). Labels are taken from the top kustomization only: a nested
/// `labels:` would apply to part of the tree, which this embedding does not model.
fn walk(
    dir: &Path,
    root: &Path,
    top: bool,
    files: &mut Vec<(String, PathBuf)>,
    labels: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    let file = dir.join("kustomization.yaml");
    println!("cargo::rerun-if-changed={}", file.display());
    let text =
        fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let k: Kustomization = serde_saphyr::from_str(&text).map_err(|e| {
        format!(
            "{}: {e} (only `resources` and `labels` are supported; see kubectl-netdiag/build.rs)",
            file.display()
        )
    })?;
    for set in &k.labels {
        if !top {
            return Err(format!(
                "{}: `labels` is only supported in config/kustomization.yaml",
                file.display()
            ));
        }
        if set.include_selectors || set.include_templates {
            return Err(format!(
                "{}: labels with includeSelectors or includeTemplates are not supported",
                file.display()
            ));
        }
        labels.extend(set.pairs.clone());
    }
    for r in &k.resources {
        let path = dir.join(r);
        if path.is_dir() {
            walk(&path, root, false, files, labels)?;
        } else if path.is_file() {
            println!("cargo::rerun-if-changed={}", path.display());
            let rel = path
                .strip_prefix(root)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| path.display().to_string());
            files.push((rel, path));
        } else {
            return Err(format!(
                "{} lists {r:?}, which is neither a file nor a directory (remote resources are not supported)",
                file.display()
            ));
        }
    }
    Ok(())
}
