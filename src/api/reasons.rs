//! Every reason a user can see, defined once: the reasons of the `Ready`, `Reconciling` and
//! `Stalled` conditions (also the Event sent when the Ready reason changes, and the `reason` label
//! of `infisical_oidc_operator_reconcile_errors_total`), and the reasons of the Events a pass
//! records for what it did. The README's reason tables and the Argo CD health check are checked
//! against these lists (`tests/reasons.rs`), so a reason cannot be added, renamed or dropped in
//! one place only.

// Where a resource stands when nothing failed.
/// Infisical matches the spec.
pub const SYNCED: &str = "Synced";
/// `spec.suspend: true`.
pub const SUSPENDED: &str = "Suspended";
/// `managementPolicy: Observe`, and Manage would change nothing.
pub const OBSERVING: &str = "Observing";
/// `managementPolicy: Observe`, and Manage would create the configuration.
pub const WOULD_CREATE: &str = "WouldCreate";
/// `managementPolicy: Observe`, and Manage would update it.
pub const WOULD_UPDATE: &str = "WouldUpdate";

// Failures (`Error::reason`).
pub const SECRET_NOT_FOUND: &str = "SecretNotFound";
pub const SECRET_KEY_MISSING: &str = "SecretKeyMissing";
pub const CONFIG_MAP_NOT_FOUND: &str = "ConfigMapNotFound";
pub const CONFIG_MAP_KEY_MISSING: &str = "ConfigMapKeyMissing";
pub const SERVICE_ACCOUNT_NOT_FOUND: &str = "ServiceAccountNotFound";
pub const SERVICE_ACCOUNT_NOT_ALLOWED: &str = "ServiceAccountNotAllowed";
pub const INVALID_SPEC: &str = "InvalidSpec";
pub const HOST_NOT_ALLOWED: &str = "HostNotAllowed";
pub const INVALID_CA_BUNDLE: &str = "InvalidCABundle";
pub const ADOPTION_REQUIRED: &str = "AdoptionRequired";
pub const OWNERSHIP_CONFLICT: &str = "OwnershipConflict";
pub const ID_MISMATCH: &str = "IdMismatch";
pub const ORGANIZATION_CHANGED: &str = "OrganizationChanged";
pub const TOKEN_EXPIRED: &str = "TokenExpired";
pub const TOKEN_WITHOUT_EXPIRY: &str = "TokenWithoutExpiry";
pub const IDP_HOST_UNRESOLVABLE: &str = "IdpHostUnresolvable";
pub const IDP_HOST_LOOKUP_FAILED: &str = "IdpHostLookupFailed";
pub const IDP_PREFLIGHT_FAILED: &str = "IdpPreflightFailed";
/// The LDAP preflight: the directory refused the bind DN and password.
pub const LDAP_BIND_REFUSED: &str = "LdapBindRefused";
/// The LDAP preflight: no connection to the directory.
pub const LDAP_UNREACHABLE: &str = "LdapUnreachable";
/// The LDAP preflight: the TLS handshake with the directory failed.
pub const LDAP_TLS_FAILED: &str = "LdapTlsFailed";
/// The LDAP preflight: a search base does not exist or cannot be read.
pub const LDAP_SEARCH_BASE_NOT_FOUND: &str = "LdapSearchBaseNotFound";
pub const IDP_CERTIFICATE_INVALID: &str = "IdpCertificateInvalid";
pub const IDP_CERTIFICATE_EXPIRED: &str = "IdpCertificateExpired";
pub const MALFORMED_RESOURCE: &str = "MalformedResource";
pub const PLAN_RESTRICTED: &str = "PlanRestricted";
pub const LOGIN_LOCKED: &str = "LoginLocked";
pub const REJECTED_BY_INFISICAL: &str = "RejectedByInfisical";
pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
pub const PERMISSION_DENIED: &str = "PermissionDenied";
pub const ORGANIZATION_NOT_FOUND: &str = "OrganizationNotFound";
pub const VALIDATION_FAILED: &str = "ValidationFailed";
pub const RATE_LIMITED: &str = "RateLimited";
pub const INFISICAL_UNAVAILABLE: &str = "InfisicalUnavailable";
pub const INFISICAL_UNREACHABLE: &str = "InfisicalUnreachable";
pub const UNEXPECTED_RESPONSE: &str = "UnexpectedResponse";
pub const KUBERNETES_FORBIDDEN: &str = "KubernetesForbidden";
pub const KUBERNETES_CONFLICT: &str = "KubernetesConflict";
pub const KUBERNETES_REJECTED: &str = "KubernetesRejected";
pub const KUBERNETES_ERROR: &str = "KubernetesError";
pub const NOT_LEADER: &str = "NotLeader";
pub const DEACTIVATE_FAILED: &str = "DeactivateFailed";
pub const RECONCILE_PANICKED: &str = "ReconcilePanicked";

// Events for what a pass did.
pub const CREATED: &str = "Created";
pub const UPDATED: &str = "Updated";
pub const SECRET_ROTATED: &str = "SecretRotated";
pub const DRIFT_CORRECTED: &str = "DriftCorrected";
pub const ADOPTED: &str = "Adopted";
pub const DEACTIVATED: &str = "Deactivated";
pub const IDP_PREFLIGHT_WARNING: &str = "IdpPreflightWarning";
pub const DRIFT_DETECTED: &str = "DriftDetected";
pub const SSO_ENFORCEMENT_RESET: &str = "SsoEnforcementReset";
/// Also the reason of the `TokenExpiring` condition.
pub const TOKEN_EXPIRING: &str = "TokenExpiring";
/// Also the reason of the `IdpCertificateExpiring` condition (SAML).
pub const IDP_CERTIFICATE_EXPIRING: &str = "IdpCertificateExpiring";

/// Every reason the `Ready` condition (and `Reconciling` or `Stalled` beside it) can carry.
pub const READY_REASONS: &[&str] = &[
    SYNCED,
    SUSPENDED,
    OBSERVING,
    WOULD_CREATE,
    WOULD_UPDATE,
    SECRET_NOT_FOUND,
    SECRET_KEY_MISSING,
    CONFIG_MAP_NOT_FOUND,
    CONFIG_MAP_KEY_MISSING,
    SERVICE_ACCOUNT_NOT_FOUND,
    SERVICE_ACCOUNT_NOT_ALLOWED,
    INVALID_SPEC,
    HOST_NOT_ALLOWED,
    INVALID_CA_BUNDLE,
    ADOPTION_REQUIRED,
    OWNERSHIP_CONFLICT,
    ID_MISMATCH,
    ORGANIZATION_CHANGED,
    TOKEN_EXPIRED,
    TOKEN_WITHOUT_EXPIRY,
    IDP_HOST_UNRESOLVABLE,
    IDP_HOST_LOOKUP_FAILED,
    IDP_PREFLIGHT_FAILED,
    LDAP_BIND_REFUSED,
    LDAP_UNREACHABLE,
    LDAP_TLS_FAILED,
    LDAP_SEARCH_BASE_NOT_FOUND,
    IDP_CERTIFICATE_INVALID,
    IDP_CERTIFICATE_EXPIRED,
    MALFORMED_RESOURCE,
    PLAN_RESTRICTED,
    LOGIN_LOCKED,
    REJECTED_BY_INFISICAL,
    AUTHENTICATION_FAILED,
    PERMISSION_DENIED,
    ORGANIZATION_NOT_FOUND,
    VALIDATION_FAILED,
    RATE_LIMITED,
    INFISICAL_UNAVAILABLE,
    INFISICAL_UNREACHABLE,
    UNEXPECTED_RESPONSE,
    KUBERNETES_FORBIDDEN,
    KUBERNETES_CONFLICT,
    KUBERNETES_REJECTED,
    KUBERNETES_ERROR,
    NOT_LEADER,
    DEACTIVATE_FAILED,
    RECONCILE_PANICKED,
];

/// Every reason of an Event recorded for what a pass did (beside the Event of a new Ready
/// reason, which carries that reason).
pub const EVENT_REASONS: &[&str] = &[
    CREATED,
    UPDATED,
    SECRET_ROTATED,
    DRIFT_CORRECTED,
    ADOPTED,
    DEACTIVATED,
    DEACTIVATE_FAILED,
    IDP_PREFLIGHT_WARNING,
    DRIFT_DETECTED,
    SSO_ENFORCEMENT_RESET,
    TOKEN_EXPIRING,
    IDP_CERTIFICATE_EXPIRING,
];
