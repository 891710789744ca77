//! Connection handling: accept loop (plain or TLS), outage switch, fault injection, request log.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request};
use axum::response::Response;
use axum::routing::{get, post};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::redact::redact;
use crate::reply::{Meta, error_body, json_resp, not_found};
use crate::state::{Inner, Shared};
use crate::types::{Fault, FaultKind, LoggedRequest, TlsFiles};
use crate::{control_http, control_sso_http};
use crate::{identity_api, k8s, ldap, oidc, saml};

const MAX_BODY: usize = 4 * 1024 * 1024;

/// Returned by the connection service to make hyper close the connection without a response.
#[derive(Debug)]
pub(crate) struct Abort;

impl std::fmt::Display for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection aborted by the emulator")
    }
}

impl std::error::Error for Abort {}

pub(crate) fn app(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/status", get(identity_api::status))
        .route(
            "/api/v1/auth/universal-auth/login",
            post(identity_api::login).fallback(not_found),
        )
        .route(
            "/api/v1/auth/kubernetes-auth/login",
            post(k8s::login).fallback(not_found),
        )
        .route(
            "/api/v1/auth/token/renew",
            post(identity_api::renew).fallback(not_found),
        )
        .route(
            "/api/v1/auth/token/revoke",
            post(identity_api::revoke).fallback(not_found),
        )
        .route(
            "/api/v1/identities/details",
            get(identity_api::identity_details).fallback(not_found),
        )
        .route(
            "/api/v1/sso/oidc/config",
            get(oidc::get)
                .post(oidc::post)
                .patch(oidc::patch)
                .fallback(not_found),
        )
        .route(
            "/api/v1/sso/config",
            get(saml::get)
                .post(saml::post)
                .patch(saml::patch)
                .fallback(not_found),
        )
        .route(
            "/api/v1/ldap/config",
            get(ldap::get)
                .post(ldap::post)
                .patch(ldap::patch)
                .fallback(not_found),
        )
        .merge(control_http::router())
        .merge(control_sso_http::router())
        .fallback(not_found)
        .with_state(shared)
}

pub(crate) fn tls_acceptor(tls: &TlsFiles) -> std::io::Result<TlsAcceptor> {
    let bad = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
    let certs = rustls_pemfile::certs(&mut &tls.cert_pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("invalid certificate PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad("no certificate found in PEM".into()));
    }
    let key = rustls_pemfile::private_key(&mut &tls.key_pem[..])
        .map_err(|e| bad(format!("invalid key PEM: {e}")))?
        .ok_or_else(|| bad("no private key found in PEM".into()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad(e.to_string()))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(cfg)))
}

fn take_fault(inner: &mut Inner, method: &Method, path: &str) -> Option<FaultKind> {
    let idx = inner.faults.iter().position(|f: &Fault| {
        f.count > 0
            && f.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
            && f.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
    })?;
    let fault = &mut inner.faults[idx];
    fault.count -= 1;
    let kind = fault.kind.clone();
    if fault.count == 0 {
        inner.faults.remove(idx);
    }
    Some(kind)
}

fn fault_status_response(status: u16, body: Option<Value>) -> Response {
    if let Some(body) = body {
        return json_resp(status, body);
    }
    if status == 429 {
        let mut resp = json_resp(
            429,
            error_body(
                429,
                "RateLimitExceeded",
                "Rate limit exceeded. Please try again in 1 seconds",
                None,
            ),
        );
        let h = resp.headers_mut();
        h.insert("retry-after", HeaderValue::from(1u32));
        h.insert("x-ratelimit-limit", HeaderValue::from(1u32));
        h.insert("x-ratelimit-remaining", HeaderValue::from(0u32));
        h.insert("x-ratelimit-reset", HeaderValue::from(1u32));
        return resp;
    }
    json_resp(
        status,
        error_body(status, "InternalServerError", "Something went wrong", None),
    )
}

async fn handle(
    shared: Arc<Shared>,
    router: Router,
    req: Request<Incoming>,
) -> Result<Response, Abort> {
    let path = req.uri().path().to_string();
    if path.starts_with("/__emulator/") {
        let resp = router.oneshot(req.map(Body::new)).await;
        let resp: Response = match resp {
            Ok(r) => r,
            Err(e) => match e {},
        };
        return Ok(resp);
    }
    let arrived = crate::clock::unix_micros();
    let method = req.method().clone();
    let path_q = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let (parts, body) = req.into_parts();
    let user_agent = parts
        .headers
        .get(hyper::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = match axum::body::to_bytes(Body::new(body), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return Err(Abort),
    };
    let logged_body = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .map(|v| redact(&v));
    let log = |status: u16, meta: Option<&Meta>| {
        tracing::info!(method = %method, path = %path_q, status, "request");
        shared.lock().log_request(LoggedRequest {
            seq: 0,
            method: method.to_string(),
            path: path_q.clone(),
            identity_id: meta.and_then(|m| m.identity_id.clone()),
            org_id: meta.and_then(|m| m.org_id.clone()),
            status,
            body: logged_body.clone(),
            user_agent: user_agent.clone(),
            at_unix_micros: arrived,
        });
    };

    let fault = {
        let mut inner = shared.lock();
        if inner.outage {
            None
        } else {
            Some(take_fault(&mut inner, &method, &path))
        }
    };
    let Some(fault) = fault else {
        log(0, None);
        tracing::info!("outage: closing connection without a response");
        return Err(Abort);
    };
    match &fault {
        Some(FaultKind::Status { status, body }) => {
            let resp = fault_status_response(*status, body.clone());
            log(resp.status().as_u16(), None);
            return Ok(resp);
        }
        Some(FaultKind::ConnectionReset) => {
            log(0, None);
            return Err(Abort);
        }
        Some(FaultKind::Delay { millis }) => {
            tokio::time::sleep(Duration::from_millis(*millis)).await;
        }
        _ => {}
    }
    let req = Request::from_parts(parts, Body::from(bytes));
    let resp: Response = match router.oneshot(req).await {
        Ok(r) => r,
        Err(e) => match e {},
    };
    let meta = resp.extensions().get::<Meta>().cloned();
    match fault {
        Some(FaultKind::CommitThenStatus { status }) => {
            let resp = fault_status_response(status, None);
            log(resp.status().as_u16(), meta.as_ref());
            Ok(resp)
        }
        Some(FaultKind::CommitThenDrop) => {
            log(0, meta.as_ref());
            Err(Abort)
        }
        Some(FaultKind::CommitThenDelay { millis }) => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            log(resp.status().as_u16(), meta.as_ref());
            Ok(resp)
        }
        _ => {
            log(resp.status().as_u16(), meta.as_ref());
            Ok(resp)
        }
    }
}

pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let router = app(shared.clone());
    let mut conns: JoinSet<()> = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            res = listener.accept() => {
                let (stream, _peer) = match res {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                let router = router.clone();
                let tls = tls.clone();
                conns.spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        handle(shared.clone(), router.clone(), req)
                    });
                    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    let result = match tls {
                        Some(acceptor) => {
                            match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                                Ok(Ok(s)) => builder.serve_connection(TokioIo::new(s), svc).await,
                                Ok(Err(e)) => {
                                    tracing::debug!(error = %e, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => return,
                            }
                        }
                        None => builder.serve_connection(TokioIo::new(stream), svc).await,
                    };
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection closed with error");
                    }
                });
            }
        }
    }
    conns.abort_all();
}
