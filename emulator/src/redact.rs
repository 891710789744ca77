//! What the request log may keep of a body: no secret values.

use serde_json::Value;

fn is_sensitive_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    k.contains("secret")
        || k.contains("token")
        || k.contains("password")
        || k == "authorization"
        || k == "bindpass"
        || k == "clientkeycertificate"
        || k.ends_with("jwt")
}

/// A JSON body with every value whose key names a secret replaced, for the request log.
pub(crate) fn redact(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    if is_sensitive_key(k) && !v.is_null() {
                        (k.clone(), Value::String("[REDACTED]".into()))
                    } else {
                        (k.clone(), redact(v))
                    }
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        other => other.clone(),
    }
}
