//! One error type for the whole operator.
//!
//! Each variant has a stable [`Error::reason`] (condition reason, event reason, metric label) and a
//! [`Error::class`] that decides how the controller retries. Messages never contain secret values:
//! they are built from names, keys, and Infisical's own messages, which do not echo secrets.
//!
//! Over 400 lines, on purpose: the messages are what users read on their objects, and the table
//! of Infisical's answers that pins each one's reason and class (the tests) belongs beside them.

use std::time::Duration;

/// How a failure is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Needs a change to the spec, a Secret, or Infisical: Stalled, slow retry.
    Permanent,
    /// Outage, timeout or 5xx: exponential backoff with jitter.
    Transient,
    /// 429: wait the server's advertised delay.
    RateLimited,
    /// The access token was refused: log in again once, then treat as permanent.
    Auth,
}

/// An error response from Infisical, as parsed from its `{reqId, statusCode, message, error}` body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// Infisical's `error` field (e.g. `PermissionDenied`, `TokenError`, `Create`).
    pub error: String,
    /// Infisical's `message`, flattened to text (422 messages are issue arrays).
    pub message: String,
    pub req_id: Option<String>,
    /// How long Infisical asked us to wait (429 only).
    pub retry_after: Option<Duration>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Infisical answered {} {}: {}",
            self.status, self.error, self.message
        )?;
        if let Some(req_id) = &self.req_id {
            write!(f, " (reqId {req_id})")?;
        }
        Ok(())
    }
}

impl ApiError {
    pub fn is_token_rejected(&self) -> bool {
        self.status == 401 || (self.status == 403 && self.error == "TokenError")
    }

    fn is_plan_restriction(&self) -> bool {
        self.status == 400 && self.message.contains("plan restriction")
    }

    /// Infisical's answer to a login while the identity is locked after repeated failures.
    pub fn is_lockout(&self) -> bool {
        self.status == 401 && self.message.contains("temporarily locked")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Secret {namespace}/{name} not found")]
    SecretNotFound { namespace: String, name: String },

    #[error("Secret {namespace}/{name} has no key {key:?}")]
    SecretKeyMissing {
        namespace: String,
        name: String,
        key: String,
    },

    #[error("ConfigMap {namespace}/{name} not found")]
    ConfigMapNotFound { namespace: String, name: String },

    #[error("ConfigMap {namespace}/{name} has no key {key:?}")]
    ConfigMapKeyMissing {
        namespace: String,
        name: String,
        key: String,
    },

    #[error(
        "ServiceAccount {namespace}/{name} not found (spec.authentication.kubernetesAuth.serviceAccountRef)"
    )]
    ServiceAccountNotFound { namespace: String, name: String },

    #[error(
        "ServiceAccount {namespace}/{name} has not opted in to token requests: annotate it with oidc.infisical-operator.io/allow-token-request=true to let OidcSsoConfigs in this namespace log in to Infisical as it"
    )]
    ServiceAccountNotAllowed { namespace: String, name: String },

    #[error("invalid spec: {field}: {message}")]
    InvalidSpec { field: String, message: String },

    #[error(
        "host {host:?} is not on the operator's allowed hosts ({allowed}); see --allowed-hosts"
    )]
    HostNotAllowed { host: String, allowed: String },

    #[error("CA bundle in Secret {name} key {key:?} is not usable: {message}")]
    InvalidCaBundle {
        name: String,
        key: String,
        message: String,
    },

    #[error(
        "organization already has a {label} configuration {id} that this resource did not create; set spec.adoptionPolicy: Adopt to take it over"
    )]
    AdoptionRequired { label: &'static str, id: String },

    #[error(
        "organization {org} is already managed by {other}; an organization has one {label} configuration, so only one resource of this kind may target it"
    )]
    OwnershipConflict {
        label: &'static str,
        org: String,
        other: String,
    },

    #[error(
        "status.id {recorded} does not match the organization's configuration {found}; the configuration was replaced outside this operator"
    )]
    IdMismatch { recorded: String, found: String },

    #[error(
        "spec.organizationId is {requested} but this resource manages the configuration of organization {recorded}; organizationId is immutable: restore it, or create a new resource for the other organization"
    )]
    OrganizationChanged { recorded: String, requested: String },

    #[error(
        "the static access token expired at {expired_at}; put a new token in the Secret (Infisical machine identity tokens live at most 90 days), or use Universal Auth, which the operator renews itself"
    )]
    TokenExpired { expired_at: String },

    #[error(
        "{answer}: the static access token has no expiry (no exp claim), and Infisical refuses identity access tokens issued without one once its cut-off has passed (LEGACY_IDENTITY_ACCESS_TOKEN_EXPIRATION_ENFORCED_AT, 2026-05-04 by default, plus the 90-day maximum token age). Issue a new token (new ones always expire) and put it in the Secret, or use Universal Auth, which the operator renews itself"
    )]
    TokenWithoutExpiry { answer: ApiError },

    #[error(
        "{field}: the identity provider host {host:?} does not resolve ({detail}); check the URL for a typo. Nothing was sent to Infisical"
    )]
    IdpHostUnresolvable {
        field: String,
        host: String,
        detail: String,
    },

    #[error(
        "{field}: the operator could not look up the identity provider host {host:?}: {detail}. The operator's DNS resolver did not answer, which needs a fix where the operator runs (its pod's DNS settings, or --idp-host-aliases for a name only a private DNS knows); retried at the resync interval. Nothing was sent to Infisical"
    )]
    IdpHostLookupFailed {
        field: String,
        host: String,
        detail: String,
    },

    #[error(
        "IdP preflight failed ({check}): {detail}; nothing was sent to Infisical (spec.preflight: Warn or Skip to go on regardless)"
    )]
    IdpPreflightFailed { check: &'static str, detail: String },

    #[error(
        "LDAP preflight failed ({}): {detail}; nothing was sent to Infisical (spec.preflight: Warn or Skip to go on regardless)",
        .check.reason()
    )]
    LdapPreflightFailed { check: LdapCheck, detail: String },

    #[error(
        "the identity provider's certificate ({field}) is not usable: {detail}; nothing was sent to Infisical, which would only fail at login"
    )]
    IdpCertificateInvalid { field: &'static str, detail: String },

    #[error(
        "the identity provider's certificate ({field}) expired at {not_after}; nothing was sent to Infisical: put the provider's current signing certificate in the spec"
    )]
    IdpCertificateExpired {
        field: &'static str,
        not_after: String,
    },

    #[error("resource cannot be read: {0}")]
    MalformedResource(String),

    #[error("{0}")]
    Infisical(ApiError),

    #[error("cannot reach Infisical at {host}: {message}")]
    Transport { host: String, message: String },

    #[error("unexpected answer from Infisical: {0}")]
    Decode(String),

    #[error(
        "{host} does not answer like Infisical's API ({detail}); check spec.hostAPI: it must be the API's base URL, such as https://us.infisical.com"
    )]
    NotInfisical { host: String, detail: String },

    #[error("Kubernetes API error: {0}")]
    Kube(#[from] kube::Error),

    #[error("deletion policy {policy} could not run: {source}")]
    DeletionPolicyFailed {
        policy: &'static str,
        #[source]
        source: Box<Error>,
    },

    #[error(
        "internal error while reconciling this resource: the pass stopped unexpectedly (a bug in the operator; please report it with the operator's logs)"
    )]
    Panicked,

    #[error("not the leader: this replica may no longer write to Infisical or Kubernetes")]
    NotLeader,
}

impl Error {
    /// Stable, CamelCase: used as condition reason, event reason and metric label.
    pub fn reason(&self) -> &'static str {
        use crate::api::reasons::*;
        match self {
            Self::SecretNotFound { .. } => SECRET_NOT_FOUND,
            Self::SecretKeyMissing { .. } => SECRET_KEY_MISSING,
            Self::ConfigMapNotFound { .. } => CONFIG_MAP_NOT_FOUND,
            Self::ConfigMapKeyMissing { .. } => CONFIG_MAP_KEY_MISSING,
            Self::InvalidSpec { .. } => INVALID_SPEC,
            Self::ServiceAccountNotFound { .. } => SERVICE_ACCOUNT_NOT_FOUND,
            Self::ServiceAccountNotAllowed { .. } => SERVICE_ACCOUNT_NOT_ALLOWED,
            Self::HostNotAllowed { .. } => HOST_NOT_ALLOWED,
            Self::InvalidCaBundle { .. } => INVALID_CA_BUNDLE,
            Self::AdoptionRequired { .. } => ADOPTION_REQUIRED,
            Self::OwnershipConflict { .. } => OWNERSHIP_CONFLICT,
            Self::IdMismatch { .. } => ID_MISMATCH,
            Self::OrganizationChanged { .. } => ORGANIZATION_CHANGED,
            Self::TokenExpired { .. } => TOKEN_EXPIRED,
            Self::TokenWithoutExpiry { .. } => TOKEN_WITHOUT_EXPIRY,
            Self::IdpHostUnresolvable { .. } => IDP_HOST_UNRESOLVABLE,
            Self::IdpHostLookupFailed { .. } => IDP_HOST_LOOKUP_FAILED,
            Self::IdpPreflightFailed { .. } => IDP_PREFLIGHT_FAILED,
            Self::LdapPreflightFailed { check, .. } => check.reason(),
            Self::IdpCertificateInvalid { .. } => IDP_CERTIFICATE_INVALID,
            Self::IdpCertificateExpired { .. } => IDP_CERTIFICATE_EXPIRED,
            Self::MalformedResource(_) => MALFORMED_RESOURCE,
            Self::Infisical(api) => match api.status {
                _ if api.is_plan_restriction() => PLAN_RESTRICTED,
                _ if api.is_lockout() => LOGIN_LOCKED,
                400 => REJECTED_BY_INFISICAL,
                401 => AUTHENTICATION_FAILED,
                403 if api.error == "TokenError" => AUTHENTICATION_FAILED,
                403 => PERMISSION_DENIED,
                404 => ORGANIZATION_NOT_FOUND,
                422 => VALIDATION_FAILED,
                429 => RATE_LIMITED,
                s if s >= 500 => INFISICAL_UNAVAILABLE,
                _ => REJECTED_BY_INFISICAL,
            },
            Self::Transport { .. } => INFISICAL_UNREACHABLE,
            Self::Decode(_) | Self::NotInfisical { .. } => UNEXPECTED_RESPONSE,
            Self::Kube(kube::Error::Api(status)) if status.code == 403 => KUBERNETES_FORBIDDEN,
            Self::Kube(kube::Error::Api(status)) if status.code == 409 => KUBERNETES_CONFLICT,
            Self::Kube(kube::Error::Api(status)) if status.code == 422 => KUBERNETES_REJECTED,
            Self::Kube(kube::Error::Service(e)) if e.is::<crate::leader::NotLeader>() => NOT_LEADER,
            Self::Kube(_) => KUBERNETES_ERROR,
            Self::DeletionPolicyFailed { .. } => DEACTIVATE_FAILED,
            Self::Panicked => RECONCILE_PANICKED,
            Self::NotLeader => NOT_LEADER,
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Infisical(api) => match api.status {
                429 => ErrorClass::RateLimited,
                // Waiting out the lock is the only way through it.
                _ if api.is_lockout() => ErrorClass::RateLimited,
                _ if api.is_token_rejected() => ErrorClass::Auth,
                s if s >= 500 => ErrorClass::Transient,
                _ => ErrorClass::Permanent,
            },
            // Missing RBAC or an object the API server refuses needs a person, not a retry loop.
            Self::Kube(kube::Error::Api(status)) if matches!(status.code, 403 | 422) => {
                ErrorClass::Permanent
            }
            Self::Transport { .. }
            | Self::Decode(_)
            | Self::Kube(_)
            | Self::Panicked
            | Self::NotLeader => ErrorClass::Transient,
            Self::DeletionPolicyFailed { source, .. } => source.class(),
            // The directory may be back in a moment; a refused bind or an untrusted
            // certificate needs a person.
            Self::LdapPreflightFailed {
                check: LdapCheck::Unreachable,
                ..
            } => ErrorClass::Transient,
            _ => ErrorClass::Permanent,
        }
    }

    /// The wait Infisical asked for, for rate-limited errors.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Infisical(api) => api.retry_after,
            Self::DeletionPolicyFailed { source, .. } => source.retry_after(),
            _ => None,
        }
    }

    /// The Infisical instance itself is unreachable or failing (not this request's fault).
    pub fn is_instance_unavailable(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Infisical(api) => api.status >= 500,
            _ => false,
        }
    }

    pub fn invalid_spec(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidSpec {
            field: field.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which step of the LDAP preflight failed; each is a reason of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LdapCheck {
    /// No connection: refused, timed out, or the name does not resolve.
    Unreachable,
    /// The TLS handshake failed: the directory's certificate is not trusted, or it refused the
    /// client certificate (or the lack of one).
    Tls,
    /// The directory refused the bind DN and password.
    BindRefused,
    /// A search base does not exist, or the bind DN cannot read it.
    SearchBaseNotFound,
}

impl LdapCheck {
    pub fn reason(self) -> &'static str {
        use crate::api::reasons::*;
        match self {
            Self::Unreachable => LDAP_UNREACHABLE,
            Self::Tls => LDAP_TLS_FAILED,
            Self::BindRefused => LDAP_BIND_REFUSED,
            Self::SearchBaseNotFound => LDAP_SEARCH_BASE_NOT_FOUND,
        }
    }
}

/// User input quoted in a message, cut after `max` characters.
pub fn truncated(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, error: &str, message: &str) -> Error {
        Error::Infisical(ApiError {
            status,
            error: error.into(),
            message: message.into(),
            req_id: Some("req-abcdefghijklmn".into()),
            retry_after: None,
        })
    }

    #[test]
    fn infisical_statuses_map_to_stable_reasons_and_classes() {
        let cases = [
            (
                api(
                    400,
                    "BadRequest",
                    "Failed to create OIDC SSO configuration due to plan restriction. Upgrade plan to update SSO configuration.",
                ),
                "PlanRestricted",
                ErrorClass::Permanent,
            ),
            (
                api(400, "BadRequest", "Local IPs not allowed as URL"),
                "RejectedByInfisical",
                ErrorClass::Permanent,
            ),
            (
                api(401, "UnauthorizedError", "Token missing"),
                "AuthenticationFailed",
                ErrorClass::Auth,
            ),
            (
                api(
                    403,
                    "TokenError",
                    "Your token has expired. Please re-authenticate.",
                ),
                "AuthenticationFailed",
                ErrorClass::Auth,
            ),
            (
                api(
                    403,
                    "PermissionDenied",
                    "You are not allowed to create on sso",
                ),
                "PermissionDenied",
                ErrorClass::Permanent,
            ),
            (
                api(404, "NotFound", "Organization with ID 'x' not found"),
                "OrganizationNotFound",
                ErrorClass::Permanent,
            ),
            (
                api(422, "ValidationFailure", "Issuer is required"),
                "ValidationFailed",
                ErrorClass::Permanent,
            ),
            (
                api(
                    429,
                    "RateLimitExceeded",
                    "Rate limit exceeded. Please try again in 3 seconds",
                ),
                "RateLimited",
                ErrorClass::RateLimited,
            ),
            (
                api(500, "Create", "Something went wrong"),
                "InfisicalUnavailable",
                ErrorClass::Transient,
            ),
            (
                api(503, "ServiceUnavailable", "down"),
                "InfisicalUnavailable",
                ErrorClass::Transient,
            ),
        ];
        for (err, reason, class) in cases {
            assert_eq!(err.reason(), reason, "{err}");
            assert_eq!(err.class(), class, "{err}");
        }
    }

    #[test]
    fn message_carries_infisical_message_and_req_id() {
        let err = api(
            403,
            "PermissionDenied",
            "You are not allowed to create on sso",
        );
        let text = err.to_string();
        assert!(text.contains("You are not allowed to create on sso"));
        assert!(text.contains("req-abcdefghijklmn"));
    }

    #[test]
    fn a_refused_token_without_expiry_is_named_and_permanent() {
        let Error::Infisical(answer) = api(
            401,
            "UnauthorizedError",
            "Identity access token exceeded max age, please re-authenticate",
        ) else {
            unreachable!()
        };
        let err = Error::TokenWithoutExpiry { answer };
        assert_eq!(err.reason(), "TokenWithoutExpiry");
        assert_eq!(err.class(), ErrorClass::Permanent);
        let text = err.to_string();
        assert!(text.contains("exceeded max age") && text.contains("req-abcdefghijklmn"));
        assert!(text.contains("LEGACY_IDENTITY_ACCESS_TOKEN_EXPIRATION_ENFORCED_AT"));
    }

    #[test]
    fn transport_failures_are_transient() {
        let err = Error::Transport {
            host: "h".into(),
            message: "connection reset".into(),
        };
        assert_eq!(err.class(), ErrorClass::Transient);
        assert_eq!(err.reason(), "InfisicalUnreachable");
    }

    fn kube(code: u16) -> Error {
        Error::Kube(kube::Error::Api(
            kube::core::Status::failure("refused", "Forbidden")
                .with_code(code)
                .boxed(),
        ))
    }

    #[test]
    fn kubernetes_refusals_that_need_a_person_are_permanent() {
        assert_eq!(
            (kube(403).reason(), kube(403).class()),
            ("KubernetesForbidden", ErrorClass::Permanent)
        );
        assert_eq!(kube(422).class(), ErrorClass::Permanent);
        assert_eq!(
            (kube(409).reason(), kube(409).class()),
            ("KubernetesConflict", ErrorClass::Transient)
        );
        assert_eq!(kube(500).class(), ErrorClass::Transient);
    }

    #[test]
    fn a_failed_deletion_policy_keeps_its_causes_class() {
        let denied = Error::DeletionPolicyFailed {
            policy: "Deactivate",
            source: Box::new(api(
                403,
                "PermissionDenied",
                "You are not allowed to edit sso",
            )),
        };
        assert_eq!(
            denied.class(),
            ErrorClass::Permanent,
            "not retried as transient"
        );
        assert_eq!(denied.reason(), "DeactivateFailed");
        assert!(
            denied
                .to_string()
                .contains("You are not allowed to edit sso")
        );
        let outage = Error::DeletionPolicyFailed {
            policy: "Deactivate",
            source: Box::new(api(503, "ServiceUnavailable", "down")),
        };
        assert_eq!(outage.class(), ErrorClass::Transient);
    }
}
