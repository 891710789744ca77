//! Answers as Infisical writes them: the error envelope (`backend/src/server/plugins/error-handler.ts`),
//! the zod 422, JSON bodies, and the request-log attribution every handler attaches. Imports no
//! handler, so every handler (and the wiring) can share it.
#![allow(clippy::result_large_err)]

use axum::Json;
use axum::body::Bytes;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::random::random_alnum;

/// Attribution attached to API responses for the request log.
#[derive(Debug, Clone, Default)]
pub(crate) struct Meta {
    pub identity_id: Option<String>,
    pub org_id: Option<String>,
}

pub(crate) fn req_id() -> String {
    format!("req-{}", random_alnum(14))
}

/// Infisical's error envelope.
pub(crate) fn error_body(
    status: u16,
    error: &str,
    message: impl Into<Value>,
    details: Option<Value>,
) -> Value {
    let mut v = json!({
        "reqId": req_id(),
        "statusCode": status,
        "message": message.into(),
        "error": error,
    });
    if let Some(d) = details {
        v["details"] = d;
    }
    v
}

pub(crate) fn err(status: u16, error: &str, message: impl Into<Value>) -> Response {
    json_resp(status, error_body(status, error, message, None))
}

pub(crate) fn json_resp(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(body)).into_response()
}

pub(crate) fn validation_failure(issues: Vec<Value>) -> Response {
    json_resp(
        422,
        json!({
            "reqId": req_id(),
            "statusCode": 422,
            "error": "ValidationFailure",
            "message": issues,
        }),
    )
}

fn with_meta(mut resp: Response, meta: Meta) -> Response {
    resp.extensions_mut().insert(meta);
    resp
}

pub(crate) fn finish(result: Result<Response, Response>, meta: Meta) -> Response {
    with_meta(result.unwrap_or_else(|e| e), meta)
}

pub(crate) fn unauthorized(message: impl Into<Value>) -> Response {
    err(401, "UnauthorizedError", message)
}

pub(crate) fn parse_body(body: &Bytes) -> Result<Option<Value>, Response> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(None);
    }
    serde_json::from_slice(body).map(Some).map_err(|_| {
        err(
            400,
            "BadRequest",
            "Body is not valid JSON but content-type is set to 'application/json'",
        )
    })
}

pub(crate) fn pick(cfg: &Map<String, Value>, keys: &[&str]) -> Value {
    let mut m = Map::new();
    for k in keys {
        m.insert(
            (*k).to_string(),
            cfg.get(*k).cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(m)
}

pub(crate) async fn not_found(method: axum::http::Method, uri: Uri) -> Response {
    err(
        404,
        "Not Found",
        format!("Route {}:{} not found", method, uri.path()),
    )
}

pub(crate) fn token_response(token: String, expires_in: u64, max_ttl: u64) -> Response {
    json_resp(
        200,
        json!({
            "accessToken": token,
            "expiresIn": expires_in,
            "accessTokenMaxTTL": max_ttl,
            "tokenType": "Bearer",
        }),
    )
}

pub(crate) fn query_values(uri: &Uri, key: &str) -> Vec<String> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// The `organizationId` query parameter of the config GET routes, as `z.string().trim()` reads
/// it: absent → 422 `Required`; given twice (Fastify makes an array) → 422 `Expected string`.
pub(crate) fn organization_id_query(uri: &Uri) -> Result<String, Response> {
    let values = query_values(uri, "organizationId");
    match values.as_slice() {
        [one] => Ok(one.trim().to_string()),
        [] => Err(validation_failure(vec![crate::validate::invalid_type(
            &["organizationId"],
            "string",
            "undefined",
        )])),
        _ => Err(validation_failure(vec![crate::validate::invalid_type(
            &["organizationId"],
            "string",
            "array",
        )])),
    }
}
