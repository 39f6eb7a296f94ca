//! Reconciling a watched object: decode it on its own ([`crate::netprobe::decode`]), then
//! reconcile the NetProbe, or mark an object whose spec does not decode `InvalidSpec` so its
//! author sees why, while every other probe goes on.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use kube::api::DynamicObject;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use super::reconcile::{Context, ReconcileError, apply_status, reconcile};
use crate::netprobe::decode::{self, Decoded};
use crate::netprobe::schedule::INVALID_SPEC;
use crate::netprobe::status::{self, Failure, StatusInput};
use crate::runtime::events;

/// The reconcile the controller runs: decode the watched object on its own, then reconcile it,
/// or mark it InvalidSpec when its spec does not decode (see [`crate::netprobe::decode`]).
pub async fn reconcile_object(
    obj: Arc<DynamicObject>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let bad = match decode::decode(&obj) {
        Decoded::Probe(p) => return reconcile(Arc::new(*p), ctx).await,
        Decoded::Undecodable(bad) => bad,
    };
    let _timer = ctx.metrics.reconcile_timer();
    let meta = &obj.metadata;
    let (Some(namespace), Some(name)) = (meta.namespace.as_deref(), meta.name.as_deref()) else {
        return Err(ReconcileError::MissingMetadata {
            field: "metadata.namespace or metadata.name",
        });
    };
    if bad.already_marked {
        return Ok(Action::await_change());
    }
    let generation = meta.generation.ok_or(ReconcileError::MissingMetadata {
        field: "metadata.generation",
    })?;
    tracing::warn!(probe = %format!("{namespace}/{name}"), why = %bad.message, "NetProbe does not decode: marking it InvalidSpec");
    let input = StatusInput {
        previous: &bad.status,
        generation,
        target: bad
            .target
            .clone()
            .unwrap_or_else(|| "<invalid spec>".into()),
        now: Timestamp::now(),
    };
    let failure = Failure::invalid_spec(format!(
        "the spec does not decode: {}; fix that field (the CRD in config/crd bounds every field: apply it so the API server refuses such values)",
        bad.message
    ));
    let next = status::failed(&input, &failure, Vec::new(), None);
    apply_status(&ctx.client, namespace, name, &next).await?;
    ctx.metrics.failure(INVALID_SPEC, "none");
    let reference = obj.object_ref(&decode::api_resource());
    let evs = events::transition(&bad.status, &next);
    events::publish(&ctx.recorder, &reference, &evs).await;
    Ok(Action::await_change())
}

/// Retry a failed reconcile of a watched object after a pause (see [`error_policy`]).
pub fn error_policy_object(
    obj: Arc<DynamicObject>,
    err: &ReconcileError,
    ctx: Arc<Context>,
) -> Action {
    ctx.metrics.reconcile_error(err.category());
    tracing::warn!(probe = %obj.name_any(), error = %err, "reconcile failed; retrying in 15s");
    Action::requeue(Duration::from_secs(15))
}
