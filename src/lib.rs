//! infisical-oidc-operator: keeps an Infisical organisation's OIDC SSO configuration equal to an
//! `OidcSsoConfig` resource.

pub mod api;
pub mod background;
pub mod controller;
pub mod error;
pub mod events;
pub mod infisical;
pub mod leader;
pub mod lifecycle;
pub mod metrics;
pub mod reconcile;
pub mod server;
pub mod telemetry;
