//! One HTTP connection pool per Infisical instance (base URL + trusted CAs), with its budget.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::endpoint::BaseUrl;
use super::limiter::{HostBudget, Kind, Priority};
use super::secret::SecretString;
use super::wire::ErrorBody;
use crate::error::{ApiError, Error, Result};
use crate::metrics::Metrics;

/// Knobs shared by every host client.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub reads_per_minute: u32,
    pub writes_per_minute: u32,
    pub max_in_flight: usize,
    /// A 429 asking for at most this long is waited out inline and retried once.
    pub max_inline_retry_wait: Duration,
    /// Sent as `User-Agent`; names the replica, so Infisical's logs tell replicas apart.
    pub user_agent: String,
    /// Checked before every request: only the leader talks to Infisical.
    pub fence: crate::leader::Fence,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            reads_per_minute: 150,
            writes_per_minute: 60,
            max_in_flight: 8,
            max_inline_retry_wait: Duration::from_secs(5),
            user_agent: concat!("infisical-oidc-operator/", env!("CARGO_PKG_VERSION")).into(),
            fence: crate::leader::Fence::default(),
        }
    }
}

pub struct HostClient {
    base: BaseUrl,
    http: reqwest::Client,
    budget: HostBudget,
    settings: HttpSettings,
    metrics: Arc<Metrics>,
}

/// A successful answer: status and body.
pub struct Answer {
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Decode(format!("{e}")))
    }
}

impl HostClient {
    pub fn new(
        base: BaseUrl,
        ca_pem: Option<&[u8]>,
        settings: HttpSettings,
        metrics: Arc<Metrics>,
    ) -> Result<Self> {
        let mut builder = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .connect_timeout(settings.connect_timeout)
            .user_agent(settings.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = ca_pem {
            let certs =
                reqwest::Certificate::from_pem_bundle(pem).map_err(|e| Error::InvalidCaBundle {
                    name: String::new(),
                    key: String::new(),
                    message: format!("{e}"),
                })?;
            if certs.is_empty() {
                return Err(Error::InvalidCaBundle {
                    name: String::new(),
                    key: String::new(),
                    message: "no PEM certificate found".into(),
                });
            }
            builder = builder.tls_certs_only(certs);
        }
        // With a CA bundle, a build failure is the bundle's (a certificate that does not decode):
        // a bad Secret, not an unreachable instance.
        let http = builder.build().map_err(|e| match ca_pem {
            Some(_) => Error::InvalidCaBundle {
                name: String::new(),
                key: String::new(),
                message: chain(&e),
            },
            None => Error::Transport {
                host: base.host().to_string(),
                message: chain(&e),
            },
        })?;
        let budget = HostBudget::new(
            settings.reads_per_minute,
            settings.writes_per_minute,
            settings.max_in_flight,
        );
        Ok(Self {
            base,
            http,
            budget,
            settings,
            metrics,
        })
    }

    pub fn base(&self) -> &BaseUrl {
        &self.base
    }

    /// Sends one request. Non-2xx answers become [`Error::Infisical`]; a short 429 is waited out
    /// and retried once.
    pub async fn send<B: Serialize>(
        &self,
        priority: Priority,
        endpoint: &'static str,
        method: Method,
        path_and_query: &str,
        token: Option<&SecretString>,
        body: Option<&B>,
    ) -> Result<Answer> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .send_once(
                    priority,
                    endpoint,
                    method.clone(),
                    path_and_query,
                    token,
                    body,
                )
                .await;
            match result {
                Err(Error::Infisical(ref api)) if api.status == 429 && attempt == 1 => {
                    let wait = api.retry_after.unwrap_or(Duration::from_secs(1));
                    if wait > self.settings.max_inline_retry_wait {
                        return result;
                    }
                    tracing::debug!(
                        endpoint,
                        wait_ms = wait.as_millis() as u64,
                        "rate limited by Infisical; waiting"
                    );
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    async fn send_once<B: Serialize>(
        &self,
        priority: Priority,
        endpoint: &'static str,
        method: Method,
        path_and_query: &str,
        token: Option<&SecretString>,
        body: Option<&B>,
    ) -> Result<Answer> {
        let kind = if method == Method::GET {
            Kind::Read
        } else {
            Kind::Write
        };
        let _permit = self.budget.admit(kind, priority).await;
        // After the wait for budget, which can be long: as late before the send as possible.
        self.settings.fence.check().map_err(|_| Error::NotLeader)?;
        let mut request = self.http.request(method, self.base.join(path_and_query));
        if let Some(token) = token {
            request = request.bearer_auth(token.expose());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                self.metrics.infisical_request(endpoint, "error");
                return Err(Error::Transport {
                    host: self.base.host().to_string(),
                    message: chain(&e),
                });
            }
        };
        let status = response.status();
        self.metrics.infisical_request(endpoint, status.as_str());
        let retry_after_header = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let body = match response.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) => {
                return Err(Error::Transport {
                    host: self.base.host().to_string(),
                    message: chain(&e),
                });
            }
        };
        let has_body = !body.iter().all(u8::is_ascii_whitespace);
        let not_infisical = |what: String| Error::NotInfisical {
            host: self.base.host().to_string(),
            detail: what,
        };
        if status.is_success() {
            // Infisical answers JSON; an HTML page here is typically Infisical's web app (or
            // another site) at `hostAPI` instead of its API.
            if has_body && !content_type.starts_with("application/json") {
                return Err(not_infisical(format!(
                    "{} {path_and_query} answered {status} with {}",
                    endpoint,
                    describe_content_type(&content_type)
                )));
            }
            return Ok(Answer { body });
        }
        // A 4xx without Infisical's error envelope comes from something else (a proxy, another
        // server). 5xx without it stays an outage: gateways in front of Infisical answer so.
        if status.is_client_error()
            && status != reqwest::StatusCode::TOO_MANY_REQUESTS
            && !is_infisical_envelope(&body)
        {
            return Err(not_infisical(format!(
                "{endpoint} answered {status} with {} and no Infisical error body",
                describe_content_type(&content_type)
            )));
        }
        Err(Error::Infisical(parse_error(
            status.as_u16(),
            &body,
            retry_after_header,
        )))
    }
}

/// Infisical's error envelope: a JSON object with a numeric `statusCode` and a string `error`
/// (its error handler always sets both, and `reqId`).
fn is_infisical_envelope(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| {
        v.get("statusCode").is_some_and(serde_json::Value::is_u64)
            && v.get("error").is_some_and(serde_json::Value::is_string)
    })
}

fn describe_content_type(content_type: &str) -> String {
    if content_type.is_empty() {
        "no content type".into()
    } else {
        format!("content type {content_type}")
    }
}

/// Builds an [`ApiError`] from Infisical's envelope, tolerating bodies that are not JSON.
pub fn parse_error(status: u16, body: &[u8], retry_after_header: Option<Duration>) -> ApiError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let message = match parsed.message {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Array(issues)) => issues
            .iter()
            .map(describe_issue)
            .collect::<Vec<_>>()
            .join("; "),
        Some(other) => other.to_string(),
        None => String::from_utf8_lossy(body).chars().take(200).collect(),
    };
    let retry_after = if status == 429 {
        retry_after_header.or_else(|| seconds_in_message(&message))
    } else {
        None
    };
    ApiError {
        status,
        error: parsed.error.unwrap_or_else(|| "Unknown".into()),
        message,
        req_id: parsed.req_id,
        retry_after,
    }
}

/// A zod issue as `path: message`; values are never included (zod messages only name types).
fn describe_issue(issue: &serde_json::Value) -> String {
    let message = issue
        .get("message")
        .and_then(|m| m.as_str())
        .unwrap_or("invalid");
    let path = issue
        .get("path")
        .and_then(|p| p.as_array())
        .map(|p| {
            p.iter()
                .map(|s| {
                    s.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| s.to_string())
                })
                .collect::<Vec<_>>()
                .join(".")
        })
        .unwrap_or_default();
    if path.is_empty() {
        message.to_string()
    } else {
        format!("{path}: {message}")
    }
}

/// "Rate limit exceeded. Please try again in 12 seconds" → 12 s.
fn seconds_in_message(message: &str) -> Option<Duration> {
    let rest = message.split("try again in ").nth(1)?;
    let number: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    number.parse().ok().map(Duration::from_secs)
}

/// An error's message with its causes ("connection refused" lives in a source).
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_envelope() {
        let body = br#"{"reqId":"req-abcdefghijklmn","statusCode":403,"message":"You are not allowed to create on sso","error":"PermissionDenied","details":[]}"#;
        let err = parse_error(403, body, None);
        assert_eq!(err.error, "PermissionDenied");
        assert_eq!(err.message, "You are not allowed to create on sso");
        assert_eq!(err.req_id.as_deref(), Some("req-abcdefghijklmn"));
    }

    #[test]
    fn flattens_zod_issues() {
        let body = br#"{"reqId":"req-1","statusCode":422,"error":"ValidationFailure","message":[{"code":"custom","message":"Issuer is required","path":["issuer"]},{"code":"custom","message":"JWKS URI is required","path":["jwksUri"]}]}"#;
        let err = parse_error(422, body, None);
        assert_eq!(
            err.message,
            "issuer: Issuer is required; jwksUri: JWKS URI is required"
        );
    }

    #[test]
    fn rate_limit_wait_from_header_or_message() {
        let body = br#"{"reqId":"r","statusCode":429,"message":"Rate limit exceeded. Please try again in 7 seconds","error":"RateLimitExceeded"}"#;
        assert_eq!(
            parse_error(429, body, None).retry_after,
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_error(429, body, Some(Duration::from_secs(3))).retry_after,
            Some(Duration::from_secs(3))
        );
    }

    #[test]
    fn non_json_bodies_still_produce_an_error() {
        let err = parse_error(502, b"<html>bad gateway</html>", None);
        assert_eq!(err.status, 502);
        assert_eq!(err.error, "Unknown");
        assert!(err.message.contains("bad gateway"));
    }
}
