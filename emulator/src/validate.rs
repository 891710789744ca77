//! A tiny subset of zod's object parsing semantics, enough to reproduce Infisical's 422 issue arrays.

use serde_json::{Map, Value, json};

pub(crate) const CONFIGURATION_TYPES: &[&str] = &["custom", "discoveryURL"];
pub(crate) const JWT_ALGORITHMS: &[&str] = &["RS256", "HS256", "RS512", "EdDSA"];

#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// `z.string()`, optionally `.trim()`, optionally a min/max length.
    Str {
        trim: bool,
        min: Option<usize>,
        max: Option<usize>,
    },
    /// `z.string().trim()` + the `allowedEmailDomains` transform.
    Domains,
    Bool,
    /// `z.nativeEnum(...)`.
    Enum(&'static [&'static str]),
    /// `slugSchema({min, max})` (`backend/src/server/lib/schemas.ts`): `z.string().toLowerCase()
    /// .trim().min(min).max(max)` + a refinement that the value is its own slugify.
    Slug {
        min: usize,
        max: usize,
    },
}

#[derive(Clone, Copy)]
pub(crate) struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    /// Default applied when the key is absent (zod `.default()`); `None` = stays absent.
    pub default: Option<Default>,
}

#[derive(Clone, Copy)]
pub(crate) enum Default {
    Str(&'static str),
    Bool(bool),
}

pub(crate) fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}

pub(crate) fn invalid_type(path: &[&str], expected: &str, received: &str) -> Value {
    let message = if received == "undefined" {
        "Required".to_string()
    } else {
        format!("Expected {expected}, received {received}")
    };
    json!({
        "code": "invalid_type",
        "expected": expected,
        "received": received,
        "path": path,
        "message": message,
    })
}

fn join_values(options: &[&str]) -> String {
    options
        .iter()
        .map(|o| format!("'{o}'"))
        .collect::<Vec<_>>()
        .join(" | ")
}

pub(crate) fn normalise_domains(s: &str) -> String {
    s.split(',').map(str::trim).collect::<Vec<_>>().join(", ")
}

/// Parse `input` as an object with `fields`. Unknown keys are stripped. Returns the parsed object
/// (with defaults and transforms applied) or the list of issues.
pub(crate) fn parse_object(
    input: Option<&Value>,
    fields: &[Field],
) -> Result<Map<String, Value>, Vec<Value>> {
    let obj = match input {
        Some(Value::Object(o)) => o,
        other => {
            return Err(vec![invalid_type(&[], "object", type_name(other))]);
        }
    };
    let mut out = Map::new();
    let mut issues = Vec::new();
    for f in fields {
        let v = obj.get(f.name);
        let Some(v) = v else {
            match (f.default, f.required) {
                (Some(Default::Str(s)), _) => {
                    out.insert(f.name.into(), json!(s));
                }
                (Some(Default::Bool(b)), _) => {
                    out.insert(f.name.into(), json!(b));
                }
                (None, true) => {
                    let expected = match f.kind {
                        Kind::Str { .. } | Kind::Domains | Kind::Slug { .. } => {
                            "string".to_string()
                        }
                        Kind::Bool => "boolean".to_string(),
                        Kind::Enum(opts) => join_values(opts),
                    };
                    issues.push(invalid_type(&[f.name], &expected, "undefined"));
                }
                (None, false) => {}
            }
            continue;
        };
        match f.kind {
            Kind::Str { trim, min, max } => match v {
                Value::String(s) => {
                    let s = if trim {
                        s.trim().to_string()
                    } else {
                        s.clone()
                    };
                    let len = s.chars().count();
                    if let Some(min) = min
                        && len < min
                    {
                        issues.push(json!({
                            "code": "too_small", "minimum": min, "type": "string", "inclusive": true,
                            "exact": false, "path": [f.name],
                            "message": format!("String must contain at least {min} character(s)"),
                        }));
                        continue;
                    }
                    if let Some(max) = max
                        && len > max
                    {
                        issues.push(json!({
                            "code": "too_big", "maximum": max, "type": "string", "inclusive": true,
                            "exact": false, "path": [f.name],
                            "message": format!("String must contain at most {max} character(s)"),
                        }));
                        continue;
                    }
                    out.insert(f.name.into(), json!(s));
                }
                other => issues.push(invalid_type(&[f.name], "string", type_name(Some(other)))),
            },
            Kind::Slug { min, max } => match v {
                Value::String(s) => {
                    let (value, mut found) = slug_issues(f.name, s, min, max);
                    if found.is_empty() {
                        out.insert(f.name.into(), json!(value));
                    }
                    issues.append(&mut found);
                }
                other => issues.push(invalid_type(&[f.name], "string", type_name(Some(other)))),
            },
            Kind::Domains => match v {
                Value::String(s) => {
                    out.insert(f.name.into(), json!(normalise_domains(s.trim())));
                }
                other => issues.push(invalid_type(&[f.name], "string", type_name(Some(other)))),
            },
            Kind::Bool => match v {
                Value::Bool(b) => {
                    out.insert(f.name.into(), json!(b));
                }
                other => issues.push(invalid_type(&[f.name], "boolean", type_name(Some(other)))),
            },
            Kind::Enum(opts) => match v {
                Value::String(s) if opts.contains(&s.as_str()) => {
                    out.insert(f.name.into(), json!(s));
                }
                Value::String(_) | Value::Number(_) => {
                    let shown = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    issues.push(json!({
                        "received": v,
                        "code": "invalid_enum_value",
                        "options": opts,
                        "path": [f.name],
                        "message": format!("Invalid enum value. Expected {}, received '{shown}'", join_values(opts)),
                    }));
                }
                other => issues.push(invalid_type(
                    &[f.name],
                    &join_values(opts),
                    type_name(Some(other)),
                )),
            },
        }
    }
    if issues.is_empty() {
        Ok(out)
    } else {
        Err(issues)
    }
}

/// `slugSchema`: the checks run in order on the lowercased, trimmed value and each failure is
/// reported (zod marks the string dirty, not aborted, so the refinement runs too). `slugify(v,
/// {lowercase: true, separator: "-"}) === v` holds exactly for `[a-z0-9]+(-[a-z0-9]+)*` (or "").
pub(crate) fn slug_issues(name: &str, raw: &str, min: usize, max: usize) -> (String, Vec<Value>) {
    let v = raw.to_lowercase().trim().to_string();
    let len = v.encode_utf16().count();
    let mut issues = Vec::new();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if len < min {
        issues.push(json!({
            "code": "too_small", "minimum": min, "type": "string", "inclusive": true,
            "exact": false, "message": format!("Slug field must be at least {min} character{}", plural(min)),
            "path": [name],
        }));
    }
    if len > max {
        issues.push(json!({
            "code": "too_big", "maximum": max, "type": "string", "inclusive": true,
            "exact": false, "message": format!("Slug field must be at most {max} character{}", plural(max)),
            "path": [name],
        }));
    }
    let is_slug = v.is_empty()
        || v.split('-').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if !is_slug {
        issues.push(json!({
            "code": "custom",
            "message": "Slug field can only contain letters, numbers, and hyphens",
            "path": [name],
        }));
    }
    (v, issues)
}

const fn s(name: &'static str, required: bool, default: Option<Default>) -> Field {
    Field {
        name,
        kind: Kind::Str {
            trim: true,
            min: None,
            max: None,
        },
        required,
        default,
    }
}

const EMPTY: Option<Default> = Some(Default::Str(""));

/// POST /api/v1/sso/oidc/config body schema (key order as in Infisical's router).
pub(crate) const CREATE_FIELDS: &[Field] = &[
    Field {
        name: "allowedEmailDomains",
        kind: Kind::Domains,
        required: false,
        default: EMPTY,
    },
    Field {
        name: "configurationType",
        kind: Kind::Enum(CONFIGURATION_TYPES),
        required: true,
        default: None,
    },
    s("issuer", false, EMPTY),
    s("discoveryURL", false, EMPTY),
    s("authorizationEndpoint", false, EMPTY),
    s("jwksUri", false, EMPTY),
    s("tokenEndpoint", false, EMPTY),
    s("userinfoEndpoint", false, EMPTY),
    s("clientId", true, None),
    s("clientSecret", true, None),
    Field {
        name: "isActive",
        kind: Kind::Bool,
        required: true,
        default: None,
    },
    s("organizationId", true, None),
    Field {
        name: "manageGroupMemberships",
        kind: Kind::Bool,
        required: false,
        default: Some(Default::Bool(false)),
    },
    Field {
        name: "jwtSignatureAlgorithm",
        kind: Kind::Enum(JWT_ALGORITHMS),
        required: false,
        default: Some(Default::Str("RS256")),
    },
];

/// PATCH schema: create schema `.partial()` (no defaults) merged with required untrimmed `organizationId`.
pub(crate) fn update_fields() -> Vec<Field> {
    CREATE_FIELDS
        .iter()
        .map(|f| {
            if f.name == "organizationId" {
                Field {
                    name: "organizationId",
                    kind: Kind::Str {
                        trim: false,
                        min: None,
                        max: None,
                    },
                    required: true,
                    default: None,
                }
            } else {
                Field {
                    required: false,
                    default: None,
                    ..*f
                }
            }
        })
        .collect()
}

/// The create `superRefine`.
pub(crate) fn refine_create(v: &Map<String, Value>) -> Vec<Value> {
    let empty = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").is_empty();
    let mut issues = Vec::new();
    match v.get("configurationType").and_then(Value::as_str) {
        Some("custom") => {
            for (k, msg) in [
                ("issuer", "Issuer is required"),
                (
                    "authorizationEndpoint",
                    "Authorization endpoint is required",
                ),
                ("jwksUri", "JWKS URI is required"),
                ("tokenEndpoint", "Token endpoint is required"),
                ("userinfoEndpoint", "Userinfo endpoint is required"),
            ] {
                if empty(k) {
                    issues.push(json!({"code": "custom", "message": msg, "path": [k]}));
                }
            }
        }
        Some("discoveryURL") if empty("discoveryURL") => {
            issues.push(json!({"code": "custom", "message": "Discovery URL is required", "path": ["discoveryURL"]}));
        }
        _ => {}
    }
    issues
}

pub(crate) const LOGIN_FIELDS: &[Field] = &[
    s("clientId", true, None),
    s("clientSecret", true, None),
    Field {
        name: "organizationSlug",
        kind: Kind::Str {
            trim: false,
            min: Some(1),
            max: Some(64),
        },
        required: false,
        default: None,
    },
];

pub(crate) const TOKEN_FIELDS: &[Field] = &[s("accessToken", true, None)];

/// `POST /api/v1/auth/kubernetes-auth/login` (`identity-kubernetes-auth-router.ts`):
/// `{identityId: z.string().trim(), jwt: z.string().trim(), organizationSlug:
/// slugSchema().optional()}`; a plain `z.object`, so unknown keys are stripped, not refused.
pub(crate) const K8S_LOGIN_FIELDS: &[Field] = &[
    s("identityId", true, None),
    s("jwt", true, None),
    Field {
        name: "organizationSlug",
        kind: Kind::Slug { min: 1, max: 32 },
        required: false,
        default: None,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(slug_issues("s", " Acme-1 ", 1, 32).1.is_empty());
        assert_eq!(slug_issues("s", " Acme-1 ", 1, 32).0, "acme-1");
        for bad in ["a b", "a--b", "-a", "a-", "a_b", "ü"] {
            assert_eq!(slug_issues("s", bad, 1, 32).1.len(), 1, "{bad}");
        }
        let (_, empty) = slug_issues("s", "", 1, 32);
        assert_eq!(empty.len(), 1);
        assert_eq!(
            empty[0]["message"],
            "Slug field must be at least 1 character"
        );
        let (_, long) = slug_issues("s", &"a".repeat(33), 1, 32);
        assert_eq!(
            long[0]["message"],
            "Slug field must be at most 32 characters"
        );
    }

    #[test]
    fn domains() {
        assert_eq!(normalise_domains("a.com,b.com"), "a.com, b.com");
        assert_eq!(normalise_domains(" a.com ,  b.com "), "a.com, b.com");
        assert_eq!(normalise_domains(""), "");
    }
}
