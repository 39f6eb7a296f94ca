//! Embed the cluster manifests in the binary, from the very files in `crds/` and `config/` (not
//! copies): `crds/netprobe.yaml`, then every `config/**/*.yaml` except kustomization files,
//! samples and CRD copies, in the order they must be applied.
//!
//! The list is generated so that a manifest added to `config/` is picked up without editing the
//! plugin; each file's content is still pulled in by `include_str!`, so an edit rebuilds.

use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let root = manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let config = root.join("config");
    let crd = root.join("crds").join("netprobe.yaml");
    println!("cargo::rerun-if-changed={}", config.display());
    println!("cargo::rerun-if-changed={}", crd.display());

    let mut files: Vec<(u8, String, PathBuf)> = Vec::new();
    if crd.is_file() {
        files.push((1, "crds/netprobe.yaml".into(), crd));
    }
    let mut found = Vec::new();
    collect(&config, &mut found);
    for path in found {
        let rel = path
            .strip_prefix(&root)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| path.display().to_string());
        let text = fs::read_to_string(&path).unwrap_or_default();
        // crds/netprobe.yaml is the one source of the CRD; a copy under config/ is skipped.
        if text.contains("kind: CustomResourceDefinition") {
            continue;
        }
        files.push((rank(&text), rel, path));
    }
    files.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));

    let mut out = String::from(
        "/// The embedded manifests, in apply order: (path in the repository, content).\n\
         pub const MANIFESTS: &[(&str, &str)] = &[\n",
    );
    for (_, rel, path) in &files {
        out.push_str(&format!(
            "    ({rel:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    out.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    if let Err(e) = fs::write(out_dir.join("manifests.rs"), out) {
        // A build script reports failure by panicking; say what could not be written.
        panic!("cannot write manifests.rs into OUT_DIR: {e}");
    }
}

/// Apply order: namespaces, then the CRD, accounts, RBAC, config, workloads last.
fn rank(text: &str) -> u8 {
    let has =
        |k: &str| text.contains(&format!("kind: {k}\n")) || text.ends_with(&format!("kind: {k}"));
    if has("Namespace") {
        0
    } else if has("ServiceAccount") {
        2
    } else if has("ClusterRole") || has("Role") || has("ClusterRoleBinding") || has("RoleBinding") {
        3
    } else if has("ConfigMap") || has("Secret") || has("Service") {
        4
    } else if has("Deployment") || has("DaemonSet") {
        6
    } else {
        5
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if path.is_dir() {
            // Samples are example NetProbes for users, not part of the installation.
            if name != "samples" && !name.starts_with('.') {
                collect(&path, out);
            }
        } else if (name.ends_with(".yaml") || name.ends_with(".yml"))
            && !name.starts_with("kustomization")
        {
            out.push(path);
        }
    }
}
