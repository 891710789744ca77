//! How the operator reconciles: the flags (or a test) set these once, and every pass reads them.

use std::sync::Arc;
use std::time::Duration;

use super::idp_hosts::IdpResolver;
use crate::api::{OidcSsoConfig, PreflightPolicy};
use crate::infisical::AllowedHosts;

#[derive(Clone, Debug)]
pub struct Settings {
    pub allowed_hosts: AllowedHosts,
    pub default_resync: Duration,
    /// Longest wait between retries of a transient failure.
    pub max_backoff: Duration,
    /// First wait after a transient failure.
    pub base_backoff: Duration,
    /// While resources wait out a transient failure of an Infisical instance, how often that
    /// instance's `/api/status` is checked; once it answers, they are retried at once.
    pub recovery_probe_interval: Duration,
    /// The IdP preflight for resources that do not set `spec.preflight`.
    pub default_preflight: PreflightPolicy,
    /// Resolves IdP hosts before a create or an endpoint change.
    pub idp_resolver: IdpResolver,
    /// Called at the start of every pass. Only tests set it, to make a pass fail in ways real
    /// inputs cannot (a panic); the operator binary never does.
    pub before_pass: Option<BeforePass>,
}

/// See [`Settings::before_pass`].
#[derive(Clone)]
pub struct BeforePass(pub Arc<dyn Fn(&OidcSsoConfig) + Send + Sync>);

impl Settings {
    /// Runs the test hook, if any, on an `OidcSsoConfig` (the only kind tests set it for).
    pub fn before_pass<R: 'static>(&self, resource: &R) {
        let any: &dyn std::any::Any = resource;
        if let Some(hook) = &self.before_pass
            && let Some(resource) = any.downcast_ref::<OidcSsoConfig>()
        {
            (hook.0)(resource);
        }
    }
}

impl std::fmt::Debug for BeforePass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BeforePass")
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            allowed_hosts: AllowedHosts::new([
                "app.infisical.com",
                "us.infisical.com",
                "eu.infisical.com",
            ]),
            default_resync: Duration::from_secs(600),
            max_backoff: Duration::from_secs(300),
            base_backoff: Duration::from_secs(2),
            recovery_probe_interval: Duration::from_secs(10),
            idp_resolver: IdpResolver::default(),
            default_preflight: PreflightPolicy::Enforce,
            before_pass: None,
        }
    }
}
