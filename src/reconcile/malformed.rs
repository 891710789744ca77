//! A stored object that does not match the schema this operator understands: reported on the
//! object itself (Stalled `MalformedResource`, through the one status writer), once per
//! generation and error, and then left until it changes. Other resources are unaffected.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::core::error_boundary::InvalidObject;
use kube::runtime::controller::Action;

use super::context::Context;
use crate::api::conditions::{Health, conditions_for};
use crate::api::{CommonStatus, SsoResource};
use crate::error::{Error, Result};

pub async fn report_malformed<R: SsoResource>(
    ctx: &Context,
    invalid: &InvalidObject,
) -> Result<Action> {
    let meta = &invalid.metadata;
    let (Some(namespace), Some(name)) = (&meta.namespace, &meta.name) else {
        return Ok(Action::await_change());
    };
    let memory = ctx.memory.of(meta);
    let reported = (meta.generation.unwrap_or_default(), invalid.error.clone());
    if memory.read().reported_malformed.as_deref() == Some(&reported) {
        // Already on the object: writing again would only trigger another pass.
        return Ok(Action::await_change());
    }
    let kind = R::kind(&());
    tracing::warn!(%namespace, %name, %kind, error = %invalid.error, "malformed resource");
    let error = Error::MalformedResource(invalid.error.clone());
    ctx.metrics.reconcile_error(error.reason());
    let health = Health::Stalled {
        reason: error.reason(),
        message: error.to_string(),
    };
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    // The object cannot be read as our type, so nothing else of its status is known: this status
    // holds the conditions only.
    let status = CommonStatus {
        observed_generation: meta.generation,
        conditions: conditions_for(&[], &health, reported.0, &now),
        ..CommonStatus::default()
    };
    super::status::write::<R>(ctx, meta, &status).await?;
    memory.update(|m| m.reported_malformed = Some(Box::new(reported)));
    Ok(Action::await_change())
}
