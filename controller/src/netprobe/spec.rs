//! Step 1 of the pipeline, validate (pure, no client required): a spec that passed
//! [`netdiag_crds::validate::validate_spec`] becomes a [`ValidSpec`]. Resolve and plan take only
//! a `ValidSpec`, so an unchecked spec cannot reach them.

use netdiag_crds::NetProbeSpec;
use netdiag_crds::validate::{SpecErrors, timeout_seconds, validate_spec};

/// A NetProbe spec that passed every rule the CRD schema states.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidSpec(NetProbeSpec);

impl ValidSpec {
    /// Check a spec; the error lists every wrong field.
    pub fn new(spec: &NetProbeSpec) -> Result<Self, SpecErrors> {
        validate_spec(spec)?;
        Ok(ValidSpec(spec.clone()))
    }

    pub fn get(&self) -> &NetProbeSpec {
        &self.0
    }

    /// The run's budget in seconds, agent pods included.
    pub fn timeout_seconds(&self) -> i64 {
        i64::from(timeout_seconds(&self.0))
    }
}
