//! Decoding each watched NetProbe on its own (pure, no client required), so one object that
//! does not fit the Rust types cannot stop the others.
//!
//! The controller watches NetProbes as untyped objects and decodes each one here. A typed
//! watcher fails the whole list when one stored object does not decode (an `intervalSeconds`
//! of 2147483648 written before the CRD bounded it): then no probe is reconciled. Here a bad
//! spec becomes an [`Undecodable`] that the reconciler marks `InvalidSpec`, and a bad status
//! (only the controller writes it) is dropped and rewritten by the next run.

use kube::api::{ApiResource, DynamicObject};
use netdiag_crds::{NetProbe, NetProbeSpec, NetProbeStatus, ProbeTarget};
use serde_json::Value;

use crate::netprobe::schedule::INVALID_SPEC;
use crate::netprobe::status::COMPLETED;

/// The API resource the untyped watch uses: NetProbes.
pub fn api_resource() -> ApiResource {
    ApiResource::erase::<NetProbe>(&())
}

/// A NetProbe whose spec does not decode.
#[derive(Clone, Debug, PartialEq)]
pub struct Undecodable {
    /// Which field is wrong and how, e.g. "spec.intervalSeconds: invalid value: integer
    /// `2147483648`, expected i32".
    pub message: String,
    /// The target in short form when that part decodes, for `kubectl get`.
    pub target: Option<String>,
    /// The status it has, when that decodes.
    pub status: NetProbeStatus,
    /// Its status already says InvalidSpec for this generation: nothing to write.
    pub already_marked: bool,
}

/// What one watched object is.
#[derive(Clone, Debug)]
pub enum Decoded {
    Probe(Box<NetProbe>),
    Undecodable(Box<Undecodable>),
}

fn decode_at<T: serde::de::DeserializeOwned>(prefix: &str, v: &Value) -> Result<T, String> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            prefix.to_string()
        } else {
            format!("{prefix}.{path}")
        };
        format!("{field}: {}", e.into_inner())
    })
}

/// Whether a raw status already carries InvalidSpec for this generation.
fn marked_invalid(status: &Value, generation: Option<i64>) -> bool {
    let same_generation = status["observedGeneration"].as_i64() == generation;
    let invalid = status["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == COMPLETED && c["reason"] == INVALID_SPEC)
    });
    same_generation && invalid
}

/// Decode one watched object.
pub fn decode(obj: &DynamicObject) -> Decoded {
    let raw_status = obj.data.get("status").cloned().unwrap_or(Value::Null);
    let status: Option<NetProbeStatus> = match &raw_status {
        Value::Null => None,
        v => match decode_at("status", v) {
            Ok(s) => Some(s),
            Err(why) => {
                // Only the controller writes status: start over rather than stop.
                tracing::warn!(
                    probe = %key(obj),
                    why,
                    "ignoring a NetProbe status that does not decode; the next run rewrites it"
                );
                None
            }
        },
    };
    let spec_value = obj.data.get("spec").cloned().unwrap_or(Value::Null);
    match decode_at::<NetProbeSpec>("spec", &spec_value) {
        Ok(spec) => Decoded::Probe(Box::new(NetProbe {
            metadata: obj.metadata.clone(),
            spec,
            status,
        })),
        Err(message) => {
            let namespace = obj.metadata.namespace.as_deref().unwrap_or_default();
            let target = spec_value
                .get("target")
                .and_then(|t| serde_json::from_value::<ProbeTarget>(t.clone()).ok())
                .map(|t| t.display(namespace));
            Decoded::Undecodable(Box::new(Undecodable {
                message,
                target,
                already_marked: marked_invalid(&raw_status, obj.metadata.generation),
                status: status.unwrap_or_default(),
            }))
        }
    }
}

fn key(obj: &DynamicObject) -> String {
    format!(
        "{}/{}",
        obj.metadata.namespace.as_deref().unwrap_or_default(),
        obj.metadata.name.as_deref().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(spec: Value, status: Value) -> DynamicObject {
        let mut v = json!({
            "apiVersion": "netdiag.dev/v1alpha1",
            "kind": "NetProbe",
            "metadata": {"name": "p", "namespace": "default", "generation": 2, "uid": "u"},
            "spec": spec,
        });
        if !status.is_null() {
            v["status"] = status;
        }
        serde_json::from_value(v).expect("a DynamicObject")
    }

    fn good() -> Value {
        json!({"source": {"pod": "curl1"}, "target": {"service": {"name": "echo"}}})
    }

    #[test]
    fn a_good_object_decodes_as_a_netprobe() {
        let Decoded::Probe(p) = decode(&object(good(), Value::Null)) else {
            panic!("not decoded");
        };
        assert_eq!(p.spec.source.pod.as_deref(), Some("curl1"));
        assert_eq!(p.metadata.generation, Some(2));
    }

    #[test]
    fn an_interval_past_i32_is_undecodable_naming_the_field() {
        let mut spec = good();
        spec["intervalSeconds"] = json!(2_147_483_648_i64);
        let Decoded::Undecodable(u) = decode(&object(spec, Value::Null)) else {
            panic!("decoded");
        };
        assert!(
            u.message.starts_with("spec.intervalSeconds: "),
            "{}",
            u.message
        );
        assert!(u.message.contains("2147483648"), "{}", u.message);
        assert_eq!(u.target.as_deref(), Some("svc/echo"));
        assert!(!u.already_marked);
    }

    #[test]
    fn an_undecodable_object_already_marked_for_its_generation_needs_no_write() {
        let mut spec = good();
        spec["ttlSecondsAfterFinished"] = json!("soon");
        let marked = json!({"observedGeneration": 2, "conditions": [
            {"type": "Completed", "status": "True", "reason": "InvalidSpec"}]});
        let Decoded::Undecodable(u) = decode(&object(spec.clone(), marked)) else {
            panic!("decoded");
        };
        assert!(u.already_marked);
        let older = json!({"observedGeneration": 1, "conditions": [
            {"type": "Completed", "status": "True", "reason": "InvalidSpec"}]});
        let Decoded::Undecodable(u) = decode(&object(spec, older)) else {
            panic!("decoded");
        };
        assert!(!u.already_marked);
    }

    #[test]
    fn a_status_that_does_not_decode_is_dropped_not_fatal() {
        let Decoded::Probe(p) = decode(&object(good(), json!({"runs": "many"}))) else {
            panic!("not decoded");
        };
        assert_eq!(p.status, None);
    }
}
