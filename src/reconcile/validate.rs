//! Step 2: check the spec the way Infisical would. The common fields are checked here (the
//! instance, `hostAPI`, against the operator's allow-list; `resyncInterval`'s bounds), the
//! kind's own fields by its rules (`kind::SsoKind::desired`).
//!
//! It runs in two parts around dereference: what needs no Secret first ([`target`]), so that no
//! Secret is read for a spec that cannot work; then, with the Secrets' values, the desired state
//! ([`checked`]): an expired static token, the kind's rules, and an organisation that changed
//! under a recorded configuration. Each part's values are computed once and handed on.

use std::time::{Duration, SystemTime};

use crate::api::{CommonSpec, SsoResource};
use crate::error::{Error, Result, truncated};
use crate::infisical::{AllowedHosts, BaseUrl, Credentials};

use super::dereference::Inputs;
use super::kind::SsoKind;

pub use super::oidc::desired::{Desired, desired_state};

/// Shortest `resyncInterval`: each drift check is a read in the organisation's Infisical budget.
pub const MIN_RESYNC_INTERVAL: Duration = Duration::from_secs(30);
/// Longest `resyncInterval`: drift in a login configuration should not go unseen for longer.
pub const MAX_RESYNC_INTERVAL: Duration = Duration::from_secs(24 * 3600);

/// How far ahead a static token's expiry is reported (condition `TokenExpiring`, Warning Event).
pub const TOKEN_EXPIRY_WARNING: Duration = Duration::from_secs(7 * 86_400);

/// Where and how often: the part of the spec checked before any Secret is read.
#[derive(Clone, Debug)]
pub struct Target {
    /// `hostAPI`, parsed once (its host and instance key with it).
    pub base: BaseUrl,
    pub resync: Duration,
}

/// The spec checked whole: where, how often, and what Infisical should hold.
#[derive(Debug)]
pub struct Checked<K: SsoKind> {
    pub base: BaseUrl,
    pub resync: Duration,
    pub desired: K::Desired,
    /// A static access token that expires within [`TOKEN_EXPIRY_WARNING`]: when.
    pub token_expires: Option<SystemTime>,
}

/// The common fields: `hostAPI`, then `resyncInterval` (parsed once per pass, by the caller, for
/// the retry policy too).
pub fn target(
    spec: &CommonSpec,
    allowed: &AllowedHosts,
    resync: Result<Duration>,
) -> Result<Target> {
    let base = base_url(spec, allowed)?;
    Ok(Target {
        base,
        resync: resync?,
    })
}

/// With the Secrets' values: the static token's expiry, the kind's rules, and the organisation.
pub fn checked<K: SsoKind>(
    resource: &K::Resource,
    target: Target,
    inputs: &Inputs,
) -> Result<Checked<K>> {
    let token_expires = static_token_expiry(&inputs.credentials)?;
    let desired = K::desired(resource.spec(), &inputs.values)?;
    // The CRD makes organizationId immutable, but a cluster may not enforce CEL: never follow a
    // changed id into another organisation with this resource's recorded configuration.
    let requested = K::organization_id(&desired);
    if let Some(recorded) = resource.status().and_then(|s| s.org_id.as_deref())
        && !recorded.eq_ignore_ascii_case(requested)
    {
        return Err(Error::OrganizationChanged {
            recorded: recorded.to_string(),
            requested: requested.to_string(),
        });
    }
    Ok(Checked {
        base: target.base,
        resync: target.resync,
        desired,
        token_expires,
    })
}

/// An expired static token stops the pass before Infisical is called (Stalled `TokenExpired`);
/// one that expires within [`TOKEN_EXPIRY_WARNING`] is returned, to be reported.
fn static_token_expiry(credentials: &Credentials) -> Result<Option<SystemTime>> {
    let Some(expires) = credentials.static_token_expiry() else {
        return Ok(None);
    };
    match expires.duration_since(SystemTime::now()) {
        Err(_) | Ok(Duration::ZERO) => Err(Error::TokenExpired {
            expired_at: k8s_openapi::jiff::Timestamp::try_from(expires)
                .map(|t| t.to_string())
                .unwrap_or_else(|_| "an unknown time".into()),
        }),
        Ok(left) if left <= TOKEN_EXPIRY_WARNING => Ok(Some(expires)),
        Ok(_) => Ok(None),
    }
}

/// The instance base URL, checked against the allow-list.
pub fn base_url(spec: &CommonSpec, allowed: &AllowedHosts) -> Result<BaseUrl> {
    BaseUrl::parse(&spec.host_api, allowed)
}

/// `resyncInterval`, or the operator default; between 30 seconds and 24 hours.
pub fn resync_interval(spec: &CommonSpec, default: Duration) -> Result<Duration> {
    parse_resync_interval(spec.resync_interval.as_deref(), default)
}

/// [`resync_interval`] from the field's text alone.
pub fn parse_resync_interval(text: Option<&str>, default: Duration) -> Result<Duration> {
    let Some(text) = text else {
        return Ok(default);
    };
    let invalid = || {
        Error::invalid_spec(
            "spec.resyncInterval",
            format!(
                "{:?} is not a duration between 30s and 24h, like 30s, 10m or 1h",
                truncated(text, 40)
            ),
        )
    };
    let parsed = parse_duration(text).ok_or_else(invalid)?;
    if !(MIN_RESYNC_INTERVAL..=MAX_RESYNC_INTERVAL).contains(&parsed) {
        return Err(invalid());
    }
    Ok(parsed)
}

/// Go-style durations as used across Kubernetes (`1h30m`, `45s`, `500ms`, `1.5h`), to the
/// nanosecond. `None` for anything else, including a value too large to represent: user input
/// never reaches an arithmetic that can panic.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total_nanos: u128 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (whole, fraction) = match rest[..number_len].split_once('.') {
            Some((w, f)) => (w, f),
            None => (&rest[..number_len], ""),
        };
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return None;
        }
        rest = &rest[number_len..];
        let (unit_nanos, len): (u128, usize) = if rest.starts_with("ms") {
            (1_000_000, 2)
        } else if rest.starts_with('s') {
            (1_000_000_000, 1)
        } else if rest.starts_with('m') {
            (60_000_000_000, 1)
        } else if rest.starts_with('h') {
            (3_600_000_000_000, 1)
        } else {
            return None;
        };
        rest = &rest[len..];
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut nanos = whole.checked_mul(unit_nanos)?;
        // Digits past the nanosecond cannot change the result; 30 of them fit in a u128 below.
        let mut scale = unit_nanos;
        for digit in fraction.bytes().take(30) {
            scale /= 10;
            nanos = nanos.checked_add(u128::from(digit - b'0') * scale)?;
        }
        total_nanos = total_nanos.checked_add(nanos)?;
    }
    let secs = u64::try_from(total_nanos / 1_000_000_000).ok()?;
    Some(Duration::new(secs, (total_nanos % 1_000_000_000) as u32))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use crate::api::OidcSsoConfigSpec;

    pub fn spec() -> OidcSsoConfigSpec {
        serde_json::from_value(serde_json::json!({
            "organizationId": " 7c1e0000-0000-4000-8000-000000000001 ",
            "authentication": {"universalAuth": {"credentialsRef": {"name": "creds"}}},
            "configurationType": "discoveryURL",
            "discoveryURL": " https://idp.example.com/.well-known/openid-configuration ",
            "clientId": " infisical ",
            "clientSecretRef": {"name": "idp", "key": "clientSecret"},
            "allowedEmailDomains": ["example.com", " example.org "]
        }))
        .unwrap()
    }

    #[test]
    fn hostile_durations_are_refused_without_panicking() {
        for text in [
            "99999999999999999999h",
            "10000000000000000000s10000000000000000000s",
            "3000000000000000h",
            "1.5.5s",
            ".s",
            "18446744073709551616ms",
        ] {
            let mut s = spec();
            s.resync_interval = Some(text.into());
            let message = resync_interval(&s, Duration::from_secs(600))
                .unwrap_err()
                .to_string();
            assert!(message.contains("spec.resyncInterval"), "{text}: {message}");
        }
        assert_eq!(parse_duration("99999999999999999999h"), None);
        assert_eq!(
            parse_duration("0.000000001s"),
            Some(Duration::from_nanos(1))
        );
        assert_eq!(parse_duration(".5m"), Some(Duration::from_secs(30)));
        let mut s = spec();
        s.resync_interval = Some("25h".into());
        assert!(resync_interval(&s, Duration::from_secs(600)).is_err());
        s.resync_interval = Some("24h".into());
        assert_eq!(
            resync_interval(&s, Duration::from_secs(600)).unwrap(),
            MAX_RESYNC_INTERVAL
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("x"), None);
        let mut s = spec();
        s.resync_interval = Some("5s".into());
        assert!(resync_interval(&s, Duration::from_secs(600)).is_err());
        s.resync_interval = None;
        assert_eq!(
            resync_interval(&s, Duration::from_secs(600)).unwrap(),
            Duration::from_secs(600)
        );
    }
}
