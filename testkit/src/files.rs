//! The workspace's own files, for tests that check what is checked in (manifests under
//! `config/`, generated files) against the code.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The workspace root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every YAML document of a file.
pub fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The one document of a file under `config/` (`config("manager/deployment.yaml")`).
pub fn config(rel: &str) -> Value {
    let mut docs = yaml_docs(&repo().join("config").join(rel));
    assert_eq!(docs.len(), 1, "config/{rel}: one document");
    docs.remove(0)
}
