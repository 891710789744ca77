//! Minimal HS256 JWT signing and verification (jsonwebtoken-compatible error semantics).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub(crate) fn sign(key: &[u8], payload: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).expect("json"));
    let signing_input = format!("{header}.{body}");
    let mut mac = HmacSha256::new_from_slice(key).expect("hmac key");
    mac.update(signing_input.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JwtError {
    Malformed,
    InvalidAlgorithm,
    InvalidSignature,
    Expired,
}

/// Decode without verifying (like `jwt.decode`).
pub(crate) fn decode(token: &str) -> Result<(Value, Value), JwtError> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(JwtError::Malformed);
    }
    let dec = |s: &str| -> Result<Value, JwtError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .map_err(|_| JwtError::Malformed)?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)?;
        if v.is_object() {
            Ok(v)
        } else {
            Err(JwtError::Malformed)
        }
    };
    Ok((dec(parts[0])?, dec(parts[1])?))
}

/// Verify signature and expiry; returns the payload.
pub(crate) fn verify(key: &[u8], token: &str, now: u64) -> Result<Value, JwtError> {
    let (header, payload) = decode(token)?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(JwtError::InvalidAlgorithm);
    }
    let idx = token.rfind('.').ok_or(JwtError::Malformed)?;
    let sig = URL_SAFE_NO_PAD
        .decode(&token[idx + 1..])
        .map_err(|_| JwtError::InvalidSignature)?;
    let mut mac = HmacSha256::new_from_slice(key).expect("hmac key");
    mac.update(&token.as_bytes()[..idx]);
    mac.verify_slice(&sig)
        .map_err(|_| JwtError::InvalidSignature)?;
    if let Some(exp) = payload.get("exp").and_then(Value::as_u64)
        && now >= exp
    {
        return Err(JwtError::Expired);
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roundtrip_and_errors() {
        let t = sign(b"k", &json!({"a":1,"exp":100}));
        assert_eq!(verify(b"k", &t, 99).unwrap()["a"], 1);
        assert_eq!(verify(b"k", &t, 100), Err(JwtError::Expired));
        assert_eq!(verify(b"x", &t, 1), Err(JwtError::InvalidSignature));
        assert_eq!(verify(b"k", "abc", 1), Err(JwtError::Malformed));
    }
}
