//! The machine formats: pretty JSON and YAML, as `kubectl get -o json|yaml` prints them.

use serde::Serialize;

/// A value could not be encoded (a map with non-string keys, a float that is not finite).
#[derive(Debug, thiserror::Error)]
#[error("cannot encode the output as {format}: {message}")]
pub struct EncodeError {
    pub format: &'static str,
    pub message: String,
}

/// Pretty JSON with a trailing newline, as `kubectl get -o json` prints it.
pub fn json<T: Serialize>(v: &T) -> Result<String, EncodeError> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| EncodeError {
            format: "JSON",
            message: e.to_string(),
        })
}

/// YAML, as `kubectl get -o yaml` prints it.
pub fn yaml<T: Serialize>(v: &T) -> Result<String, EncodeError> {
    serde_saphyr::to_string(v).map_err(|e| EncodeError {
        format: "YAML",
        message: e.to_string(),
    })
}
