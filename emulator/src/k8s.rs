//! Kubernetes Auth: `POST /api/v1/auth/kubernetes-auth/login` with a real TokenReview.
//!
//! Follows Infisical's `backend/src/server/routes/v1/identity-kubernetes-auth-router.ts` (body
//! schema, answer), `backend/src/services/identity-kubernetes-auth/identity-kubernetes-auth-service.ts`
//! (`login`: `tokenReviewCallbackRaw`, the review checks, token issuing),
//! `identity-kubernetes-auth-error-handlers.ts` (`handleAxiosError`: the named transport and HTTP
//! errors), `identity-kubernetes-auth-fns.ts` (`withKubernetesHostScheme`,
//! `getKubernetesServerName`, `extractK8sUsername`, `redactCredentialsFromText`) and
//! `backend/src/lib/validator/safe-request.ts` (`validateAndPinUrl`: the SSRF guard in front of
//! the POST, and pinning the connection to the addresses it validated). Errors render as
//! `backend/src/server/plugins/error-handler.ts` does. See `docs/infisical-contract.md`, section 4a.
//!
//! The TokenReview is a real HTTPS (or HTTP) POST, made with reqwest over rustls (aws-lc-rs),
//! HTTP/1.1 only as Node's `https` module speaks it, no redirects (`maxRedirects: 0`), no proxy.
//! Certificate failures are classified the way OpenSSL names them for Node, so the same
//! certificate produces the same error name and message as Infisical's.
//!
//! Handlers short-circuit with `Err(Response)`, as in `api.rs`.
#![allow(clippy::result_large_err)]

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use rustls::DigitallySignedStruct;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use serde_json::{Value, json};

use crate::dns::{Guard, LOCAL_IPS_MSG, Lookup, NO_ADDRESS_MSG, USER_INFO_MSG, is_private_ip};
use crate::rate_limit::{Class, rate_limit};
use crate::reply::{self, Meta, err};
use crate::state::{Shared, TOKEN_REVIEW_LOG_CAPACITY};
use crate::tokens;
use crate::types::{KubernetesAuthSeed, LoggedRequest, TokenReviewRecord};
use crate::validate::{self, K8S_LOGIN_FIELDS};

/// `TOKEN_REVIEW_MAX_RESPONSE_BYTES` (axios `maxContentLength`).
const TOKEN_REVIEW_MAX_RESPONSE_BYTES: usize = 64 * 1024;
const TOKEN_REVIEW_PATH: &str = "/apis/authentication.k8s.io/v1/tokenreviews";

pub(crate) const MSG_NO_K8S_AUTH: &str =
    "Kubernetes auth method not found for identity, did you configure Kubernetes auth?";
const MSG_NO_HOST: &str = "Kubernetes host is required when token review mode is set to API";
/// `COMMON_KUBERNETES_MESSAGES` in `identity-kubernetes-auth-error-handlers.ts`.
const DEFAULT_401: &str = "Token reviewer JWT is invalid or expired. Please verify the token reviewer JWT is correct and has not expired.";
const DEFAULT_403: &str = "Token reviewer JWT does not have permission to perform TokenReviews. Ensure the service account has the 'system:auth-delegator' ClusterRole binding.";
/// `serviceName` of the `KubernetesApiServer` error context.
const SERVICE: &str = "Kubernetes API server";

/// An Infisical error (class status, `error` = the error's `name`, `message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fail {
    pub status: u16,
    pub error: String,
    pub message: String,
}

impl Fail {
    fn new(status: u16, error: &str, message: impl Into<String>) -> Fail {
        Fail {
            status,
            error: error.to_string(),
            message: message.into(),
        }
    }

    /// `BadRequestError` (default name `BadRequest`).
    fn bad(error: &str, message: impl Into<String>) -> Fail {
        Fail::new(400, error, message)
    }

    /// `UnauthorizedError` (default name `UnauthorizedError`).
    fn unauthorized(error: &str, message: impl Into<String>) -> Fail {
        Fail::new(401, error, message)
    }

    /// `handleAxiosGenericError`: `KubernetesConnectionError`.
    fn connection(host: &str, reason: impl std::fmt::Display) -> Fail {
        Fail::bad(
            "KubernetesConnectionError",
            format!("Failed to communicate with {SERVICE} at {host}: {reason}"),
        )
    }

    /// The service's catch-all: any error that is not a known error class (a `TypeError` from
    /// reading an unexpected review answer, picomatch's pattern error) becomes
    /// `KubernetesAuthLoginError` with the error's message.
    fn login_error(message: impl Into<String>) -> Fail {
        Fail::bad("KubernetesAuthLoginError", message)
    }

    fn response(&self) -> Response {
        err(self.status, &self.error, self.message.clone())
    }
}

/// `withKubernetesHostScheme`: `https://` unless the host starts with `http://` or `https://`
/// (case-sensitive, as the RE2 `^https?://` is).
pub(crate) fn with_scheme(host: &str) -> String {
    if host.starts_with("https://") || host.starts_with("http://") {
        host.to_string()
    } else {
        format!("https://{host}")
    }
}

// ---------------------------------------------------------------------------------------------
// picomatch

/// `picomatch.isMatch(value, pattern)` for the forms allow-lists use: `*`, `?`, `[...]`
/// (`!`/`^` negation, ranges), `{a,b}` alternatives (nested), `\` escapes, a leading `!`
/// negating the pattern, and dotfile semantics (`*`, `?` and classes never match a leading
/// `.`). Extglobs (`@(a|b)`, `+(..)`) and POSIX classes are not supported. An empty pattern is
/// picomatch's `TypeError`.
pub(crate) fn picomatch_is_match(value: &str, pattern: &str) -> Result<bool, String> {
    if pattern.is_empty() {
        return Err("Expected pattern to be a non-empty string".to_string());
    }
    let mut p = pattern;
    let mut negated = false;
    while let Some(rest) = p.strip_prefix('!') {
        if rest.starts_with('(') {
            break;
        }
        negated = !negated;
        p = rest;
    }
    let value: Vec<char> = value.chars().collect();
    let matched = expand_braces(p)
        .iter()
        .any(|alt| glob_match(&glob_tokens(alt), &value, 0, 0));
    Ok(matched != negated)
}

#[derive(Debug, Clone)]
enum Tok {
    Lit(char),
    /// `*` (and `**`: there is no `/` in a namespace or name).
    Star,
    One,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

fn glob_tokens(p: &str) -> Vec<Tok> {
    let chars: Vec<char> = p.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                out.push(Tok::Lit(chars[i + 1]));
                i += 2;
            }
            '*' => {
                while i < chars.len() && chars[i] == '*' {
                    i += 1;
                }
                out.push(Tok::Star);
            }
            '?' => {
                out.push(Tok::One);
                i += 1;
            }
            '[' => match parse_class(&chars, i) {
                Some((tok, next)) => {
                    out.push(tok);
                    i = next;
                }
                None => {
                    out.push(Tok::Lit('['));
                    i += 1;
                }
            },
            c => {
                out.push(Tok::Lit(c));
                i += 1;
            }
        }
    }
    out
}

fn parse_class(chars: &[char], start: usize) -> Option<(Tok, usize)> {
    let mut i = start + 1;
    let negated = matches!(chars.get(i), Some('!') | Some('^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    while i < chars.len() {
        let c = chars[i];
        if c == ']' && !first {
            return Some((Tok::Class { negated, ranges }, i + 1));
        }
        first = false;
        let lo = if c == '\\' && i + 1 < chars.len() {
            i += 1;
            chars[i]
        } else {
            c
        };
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&h| h != ']') {
            ranges.push((lo, chars[i + 2]));
            i += 3;
        } else {
            ranges.push((lo, lo));
            i += 1;
        }
    }
    None
}

fn segment_start(value: &[char], pos: usize) -> bool {
    pos == 0 || value[pos - 1] == '/'
}

fn glob_match(toks: &[Tok], value: &[char], ti: usize, vi: usize) -> bool {
    let Some(tok) = toks.get(ti) else {
        return vi == value.len();
    };
    let wildcard_ok =
        |pos: usize| value[pos] != '/' && !(value[pos] == '.' && segment_start(value, pos));
    match tok {
        Tok::Lit(c) => value.get(vi) == Some(c) && glob_match(toks, value, ti + 1, vi + 1),
        Tok::One => vi < value.len() && wildcard_ok(vi) && glob_match(toks, value, ti + 1, vi + 1),
        Tok::Class { negated, ranges } => {
            vi < value.len()
                && wildcard_ok(vi)
                && ranges
                    .iter()
                    .any(|(lo, hi)| *lo <= value[vi] && value[vi] <= *hi)
                    != *negated
                && glob_match(toks, value, ti + 1, vi + 1)
        }
        Tok::Star => {
            let mut end = vi;
            loop {
                if glob_match(toks, value, ti + 1, end) {
                    return true;
                }
                if end < value.len() && wildcard_ok(end) {
                    end += 1;
                } else {
                    return false;
                }
            }
        }
    }
}

/// `{a,b}` alternatives, nested; unbalanced or comma-less braces stay literal.
fn expand_braces(p: &str) -> Vec<String> {
    let chars: Vec<char> = p.chars().collect();
    let mut depth = 0usize;
    let mut open = None;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '{' => {
                if depth == 0 {
                    open = Some(i);
                }
                depth += 1;
            }
            '}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    let start = open.expect("open brace");
                    let inner: String = chars[start + 1..i].iter().collect();
                    let parts = split_top_level_commas(&inner);
                    if parts.len() > 1 {
                        let prefix: String = chars[..start].iter().collect();
                        let suffix: String = chars[i + 1..].iter().collect();
                        return parts
                            .iter()
                            .flat_map(|part| expand_braces(&format!("{prefix}{part}{suffix}")))
                            .collect();
                    }
                    open = None;
                }
            }
            _ => {}
        }
        i += 1;
    }
    vec![p.to_string()]
}

fn split_top_level_commas(s: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut depth = 0usize;
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '{' {
            depth += 1;
        } else if c == '}' {
            depth = depth.saturating_sub(1);
        } else if c == ',' && depth == 0 {
            parts.push(String::new());
            continue;
        }
        parts.last_mut().expect("part").push(c);
    }
    parts
}

/// `list.split(",").map(trim).some(entry => entry === target || picomatch.isMatch(target, entry))`.
fn allowed(list: &str, target: &str) -> Result<bool, Fail> {
    for entry in list.split(',').map(str::trim) {
        if entry == target || picomatch_is_match(target, entry).map_err(Fail::login_error)? {
            return Ok(true);
        }
    }
    Ok(false)
}

// ---------------------------------------------------------------------------------------------
// Redaction

/// `redactCredentialsFromText`: the known secrets, then anything JWT-like
/// (`eyJ[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){0,2}`), become `[REDACTED]`.
pub(crate) fn redact_credentials(text: &str, secrets: &[&str]) -> String {
    let mut s = text.to_string();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        s = s.replace(secret, "[REDACTED]");
    }
    let b = s.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        if b[i..].starts_with(b"eyJ") {
            let mut j = i + 3;
            while j < b.len() && word(b[j]) {
                j += 1;
            }
            if j - (i + 3) >= 8 {
                for _ in 0..2 {
                    if j < b.len() && b[j] == b'.' {
                        j += 1;
                        while j < b.len() && word(b[j]) {
                            j += 1;
                        }
                    }
                }
                out.push_str(&s[copied..i]);
                out.push_str("[REDACTED]");
                copied = j;
                i = j;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&s[copied..]);
    out
}

// ---------------------------------------------------------------------------------------------
// Certificates

/// What OpenSSL (and so Node) reports for a certificate the API server presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CertFailure {
    /// `DEPTH_ZERO_SELF_SIGNED_CERT`: the server's own certificate is self-signed.
    DepthZeroSelfSigned,
    /// `SELF_SIGNED_CERT_IN_CHAIN`: the chain sent ends in an untrusted self-signed root.
    SelfSignedInChain,
    /// `UNABLE_TO_VERIFY_LEAF_SIGNATURE`: the issuer of the certificate is unknown.
    UnableToVerifyLeaf,
    /// `UNABLE_TO_GET_ISSUER_CERT_LOCALLY`: the chain sent ends in an unknown issuer.
    UnableToGetIssuerLocally,
    /// `CERT_HAS_EXPIRED`.
    Expired,
    /// `CERT_NOT_YET_VALID`.
    NotYetValid,
    /// `ERR_TLS_CERT_ALTNAME_INVALID` (`tls.checkServerIdentity`), with Node's reason.
    NameMismatch(String),
    /// Anything else rustls refused, with its description.
    Other(String),
}

impl CertFailure {
    /// `handleAxiosNetworkError` for the certificate codes it knows; the others reach
    /// `handleAxiosGenericError` with Node's message.
    fn fail(&self, host: &str) -> Fail {
        match self {
            CertFailure::DepthZeroSelfSigned | CertFailure::SelfSignedInChain => Fail::bad(
                "KubernetesCertificateError",
                format!(
                    "SSL certificate verification failed for {SERVICE} at {host}. The server uses a self-signed certificate. Please provide the CA certificate in the configuration."
                ),
            ),
            CertFailure::UnableToVerifyLeaf | CertFailure::Expired => Fail::bad(
                "KubernetesCertificateError",
                format!(
                    "SSL certificate verification failed for {SERVICE} at {host}. Verify the CA certificate is correct and the server certificate is valid."
                ),
            ),
            CertFailure::UnableToGetIssuerLocally => {
                Fail::connection(host, "unable to get local issuer certificate")
            }
            CertFailure::NotYetValid => Fail::connection(host, "certificate is not yet valid"),
            CertFailure::NameMismatch(reason) => Fail::connection(
                host,
                format!("Hostname/IP does not match certificate's altnames: {reason}"),
            ),
            CertFailure::Other(m) => Fail::connection(host, m),
        }
    }
}

/// One DER TLV: (tag, content, the whole element, the rest).
type Tlv<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

fn der_tlv(b: &[u8]) -> Option<Tlv<'_>> {
    let tag = *b.first()?;
    let l0 = *b.get(1)?;
    let (len, header) = if l0 < 0x80 {
        (l0 as usize, 2)
    } else {
        let n = (l0 & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *b.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    if end > b.len() {
        return None;
    }
    Some((tag, &b[header..end], &b[..end], &b[end..]))
}

/// The DER `issuer` and `subject` Names of a certificate.
fn issuer_and_subject(cert: &[u8]) -> Option<(&[u8], &[u8])> {
    let (_, certificate, _, _) = der_tlv(cert)?;
    let (_, tbs, _, _) = der_tlv(certificate)?;
    let mut items = tbs;
    let (tag, _, _, rest) = der_tlv(items)?;
    if tag == 0xa0 {
        items = rest; // [0] version
    }
    let (_, _, _, rest) = der_tlv(items)?; // serialNumber
    let (_, _, _, rest) = der_tlv(rest)?; // signature
    let (_, _, issuer, rest) = der_tlv(rest)?;
    let (_, _, _, rest) = der_tlv(rest)?; // validity
    let (_, _, subject, _) = der_tlv(rest)?;
    Some((issuer, subject))
}

/// Which untrusted-chain error OpenSSL reports for what the server presented.
fn classify_unknown_issuer(end_entity: &[u8], intermediates: &[CertificateDer<'_>]) -> CertFailure {
    let Some((issuer, subject)) = issuer_and_subject(end_entity) else {
        return CertFailure::UnableToVerifyLeaf;
    };
    if issuer == subject {
        return CertFailure::DepthZeroSelfSigned;
    }
    let mut used = vec![false; intermediates.len()];
    let mut wanted = issuer.to_vec();
    let mut depth = 1;
    loop {
        let next = intermediates.iter().enumerate().find_map(|(i, c)| {
            let (iss, sub) = issuer_and_subject(c)?;
            (!used[i] && sub == wanted.as_slice()).then(|| (i, iss.to_vec(), iss == sub))
        });
        match next {
            Some((i, iss, self_signed)) => {
                if self_signed {
                    return CertFailure::SelfSignedInChain;
                }
                used[i] = true;
                wanted = iss;
                depth += 1;
            }
            None => break,
        }
    }
    if depth == 1 {
        CertFailure::UnableToVerifyLeaf
    } else {
        CertFailure::UnableToGetIssuerLocally
    }
}

/// `tls.checkServerIdentity`'s reason, from the names rustls says the certificate presented.
fn name_mismatch(expected: &ServerName<'_>, presented: &[String]) -> CertFailure {
    let names: Vec<String> = presented
        .iter()
        .map(|p| {
            if let Some(d) = p
                .strip_prefix("DnsName(\"")
                .and_then(|r| r.strip_suffix("\")"))
            {
                format!("DNS:{d}")
            } else if let Some(ip) = p
                .strip_prefix("IpAddress(")
                .and_then(|r| r.strip_suffix(')'))
            {
                format!("IP Address:{ip}")
            } else {
                p.clone()
            }
        })
        .collect();
    let reason = match expected {
        ServerName::IpAddress(ip) => {
            let ip: IpAddr = (*ip).into();
            let ips: Vec<&str> = names
                .iter()
                .filter_map(|n| n.strip_prefix("IP Address:"))
                .collect();
            format!("IP: {ip} is not in the cert's list: {}", ips.join(", "))
        }
        other => format!(
            "Host: {}. is not in the cert's altnames: {}",
            other.to_str(),
            names.join(", ")
        ),
    };
    CertFailure::NameMismatch(reason)
}

fn classify_rustls(
    e: &rustls::Error,
    end_entity: Option<(&[u8], &[CertificateDer<'_>])>,
    expected: Option<&ServerName<'_>>,
) -> CertFailure {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => match end_entity {
                Some((ee, chain)) => classify_unknown_issuer(ee, chain),
                None => CertFailure::UnableToVerifyLeaf,
            },
            C::Expired | C::ExpiredContext { .. } => CertFailure::Expired,
            C::NotValidYet | C::NotValidYetContext { .. } => CertFailure::NotYetValid,
            C::NotValidForNameContext {
                expected,
                presented,
            } => name_mismatch(expected, presented),
            C::NotValidForName => match expected {
                Some(n) => name_mismatch(n, &[]),
                None => CertFailure::NameMismatch(String::new()),
            },
            other => CertFailure::Other(format!("{other:?}")),
        },
        other => CertFailure::Other(other.to_string()),
    }
}

/// Node's `ca` + `rejectUnauthorized`: verify against the given CAs only (`roots`; `None` when
/// `caCert` held no certificate), or not at all; failures are classified into `failure`.
#[derive(Debug)]
struct Verifier {
    verify: bool,
    roots: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    failure: Arc<Mutex<Option<CertFailure>>>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if !self.verify {
            return Ok(ServerCertVerified::assertion());
        }
        let result = match &self.roots {
            Some(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        };
        if let Err(e) = &result {
            let class = classify_rustls(e, Some((end_entity, intermediates)), Some(server_name));
            *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(class);
        }
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn tls_config(
    ca_pem: &str,
    verify: bool,
    failure: Arc<Mutex<Option<CertFailure>>>,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut ca_pem.as_bytes()).flatten() {
        let _ = roots.add(cert);
    }
    let roots = if roots.is_empty() {
        None
    } else {
        Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| e.to_string())?,
        )
    };
    let verifier = Arc::new(Verifier {
        verify,
        roots,
        provider: provider.clone(),
        failure,
    });
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // Node's https agent offers no ALPN: HTTP/1.1.
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

// ---------------------------------------------------------------------------------------------
// The TokenReview

pub(crate) struct ReviewRequest {
    /// `kubernetesHost` as configured (also the `target` of the error messages).
    pub host: String,
    pub ca_cert: String,
    pub verify: bool,
    /// `Authorization: Bearer` value: the reviewer JWT, or the caller's JWT.
    pub bearer: String,
    pub jwt: String,
    pub audience: String,
    pub guard: Guard,
    pub timeout: Duration,
}

pub(crate) struct ReviewResponse {
    pub url: String,
    /// The TokenReview body that was (or would have been) sent.
    pub body: Value,
    /// Whether a connection to the API server was attempted.
    pub attempted: bool,
    pub status: Option<u16>,
    /// The answer's `data` (parsed JSON, or the text when it is not JSON), or the error.
    pub result: Result<Value, Fail>,
}

/// `tokenReviewCallbackRaw`: `safeRequest.post(url, body, {ca, rejectUnauthorized, servername,
/// timeout, maxContentLength})` and its `.catch` (`handleAxiosError` for axios errors, the
/// known error classes as they are, anything else `KubernetesTokenReviewError`).
pub(crate) async fn review(req: &ReviewRequest) -> ReviewResponse {
    let url_str = format!("{}{TOKEN_REVIEW_PATH}", with_scheme(&req.host));
    let mut spec = json!({"token": req.jwt});
    if !req.audience.is_empty() {
        spec["audiences"] = json!([req.audience]);
    }
    let body = json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": spec,
    });
    let mut out = ReviewResponse {
        url: url_str.clone(),
        body,
        attempted: false,
        status: None,
        result: Ok(Value::Null),
    };
    if req.host.is_empty() {
        out.result = Err(Fail::bad("BadRequest", MSG_NO_HOST));
        return out;
    }
    let secrets = [req.jwt.as_str(), req.bearer.as_str()];
    out.result = async {
        // `new URL()` throws a TypeError: not an axios error, not a known class.
        let url = url::Url::parse(&url_str)
            .map_err(|_| Fail::bad("KubernetesTokenReviewError", "Invalid URL"))?;
        let addrs = resolve(req, &url).await?;
        let port = url.port_or_known_default().unwrap_or(443);
        let failure = Arc::new(Mutex::new(None));
        let mut builder = reqwest::Client::builder()
            .http1_only()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_max_idle_per_host(0);
        if url.scheme() == "https" && (!req.verify || !req.ca_cert.is_empty()) {
            let cfg = tls_config(&req.ca_cert, req.verify, failure.clone())
                .map_err(|e| Fail::bad("KubernetesTokenReviewError", e))?;
            builder = builder.tls_backend_preconfigured(cfg);
        }
        if let Some(url::Host::Domain(d)) = url.host() {
            let pinned: Vec<SocketAddr> =
                addrs.iter().map(|ip| SocketAddr::new(*ip, port)).collect();
            builder = builder.resolve_to_addrs(d, &pinned);
        }
        let client = builder
            .build()
            .map_err(|e| Fail::bad("KubernetesTokenReviewError", e.to_string()))?;
        out.attempted = true;
        let started = Instant::now();
        let send = async {
            let resp = client
                .post(url.clone())
                .header("content-type", "application/json")
                .header("accept", "application/json, text/plain, */*")
                .header("authorization", format!("Bearer {}", req.bearer))
                .body(serde_json::to_vec(&out.body).unwrap_or_default())
                .send()
                .await?;
            let status = resp.status();
            let mut resp = resp;
            let mut bytes = Vec::new();
            let mut too_big = false;
            while let Some(chunk) = resp.chunk().await? {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > TOKEN_REVIEW_MAX_RESPONSE_BYTES {
                    too_big = true;
                    break;
                }
            }
            Ok::<_, reqwest::Error>((status, bytes, too_big))
        };
        let answer = tokio::time::timeout(req.timeout, send).await;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "token review"
        );
        let (status, bytes, too_big) = match answer {
            // The `AbortSignal.timeout` created with the config fires first: axios `canceled`.
            Err(_) => return Err(Fail::connection(&req.host, "canceled")),
            Ok(Err(e)) => {
                let class = failure.lock().unwrap_or_else(|p| p.into_inner()).take();
                return Err(match class {
                    Some(c) => c.fail(&req.host),
                    None => transport_fail(&e, &req.host),
                });
            }
            Ok(Ok(r)) => r,
        };
        out.status = Some(status.as_u16());
        if too_big {
            return Err(Fail::connection(
                &req.host,
                format!("maxContentLength size of {TOKEN_REVIEW_MAX_RESPONSE_BYTES} exceeded"),
            ));
        }
        // axios' default `transitional.silentJSONParsing`: JSON when it parses, else the text.
        let data = if bytes.is_empty() {
            Value::String(String::new())
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        if status.is_success() {
            return Ok(data);
        }
        Err(http_fail(
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            &data,
            &secrets,
        ))
    }
    .await;
    out
}

/// `validateAndPinUrl` (when the URL guard is on; off is Infisical's development mode, where
/// the name is resolved at connect time and a failure is axios' `ENOTFOUND`).
async fn resolve(req: &ReviewRequest, url: &url::Url) -> Result<Vec<IpAddr>, Fail> {
    let guard = &req.guard;
    let not_found = || {
        Fail::bad(
            "KubernetesHostNotFound",
            format!(
                "Failed to resolve {SERVICE} hostname: {}. Verify the hostname is correct.",
                req.host
            ),
        )
    };
    if guard.enabled && (!url.username().is_empty() || url.password().is_some()) {
        return Err(Fail::bad("BadRequest", USER_INFO_MSG));
    }
    let addrs = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
        Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
        Some(url::Host::Domain(d)) => {
            let name = d.strip_suffix('.').unwrap_or(d);
            if guard.enabled && (name == "localhost" || name == "host.docker.internal") {
                return Err(Fail::bad("BadRequest", LOCAL_IPS_MSG));
            }
            match guard.lookup(name).await {
                Lookup::Addresses(a) if !a.is_empty() => a,
                Lookup::Addresses(_) if guard.enabled => {
                    return Err(Fail::bad("BadRequest", NO_ADDRESS_MSG));
                }
                // `dns.lookup` rejects before axios runs: not an axios error.
                Lookup::Failed if guard.enabled => {
                    return Err(Fail::bad(
                        "KubernetesTokenReviewError",
                        format!("getaddrinfo ENOTFOUND {name}"),
                    ));
                }
                _ => return Err(not_found()),
            }
        }
        None => return Err(Fail::bad("KubernetesTokenReviewError", "Invalid URL")),
    };
    if guard.enabled
        && addrs.iter().any(|ip| is_private_ip(*ip))
        && !guard.allow_internal_ip_connections
        && !guard.allow_listed(url)
    {
        return Err(Fail::bad("BadRequest", LOCAL_IPS_MSG));
    }
    // `sortV4First`.
    let mut addrs = addrs;
    addrs.sort_by_key(|ip| ip.is_ipv6());
    Ok(addrs)
}

/// `handleAxiosHttpError` for a non-2xx answer; the message (the Status object's `message`, or
/// a text body) is passed through `redactCredentialsFromText`.
fn http_fail(status: u16, reason: &str, data: &Value, secrets: &[&str]) -> Fail {
    let message = match data {
        Value::Object(m) => match m.get("message") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | Some(Value::Bool(false)) | None => String::new(),
            Some(Value::Number(n)) if n.as_f64() == Some(0.0) => String::new(),
            Some(other) => other.to_string(),
        },
        Value::String(s) => s.clone(),
        _ => String::new(),
    };
    let message = redact_credentials(&message, secrets);
    match status {
        401 => Fail::unauthorized(
            "KubernetesTokenReviewerUnauthorized",
            if message.is_empty() {
                DEFAULT_401.to_string()
            } else {
                message
            },
        ),
        403 => Fail::unauthorized(
            "KubernetesTokenReviewerForbidden",
            if message.is_empty() {
                DEFAULT_403.to_string()
            } else {
                message
            },
        ),
        _ if !message.is_empty() => Fail::bad("KubernetesTokenReviewRequestError", message),
        _ => Fail::bad(
            "KubernetesTokenReviewRequestError",
            format!(
                "Kubernetes returned HTTP {status}: {}",
                if reason.is_empty() {
                    "Unknown error"
                } else {
                    reason
                }
            ),
        ),
    }
}

/// The rustls error inside (possibly nested) `io::Error`s, as hyper-rustls wraps it.
fn rustls_in(io: &std::io::Error) -> Option<&rustls::Error> {
    let inner = io.get_ref()?;
    if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    inner.downcast_ref::<std::io::Error>().and_then(rustls_in)
}

/// `handleAxiosNetworkError` / `handleAxiosGenericError` for an error without an answer.
fn transport_fail(e: &reqwest::Error, host: &str) -> Fail {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut innermost = e.to_string();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return Fail::bad(
                        "KubernetesConnectionRefused",
                        format!(
                            "Failed to connect to {SERVICE} at {host}: Connection refused. Verify the host URL and ensure the {} is accessible.",
                            SERVICE.to_lowercase()
                        ),
                    );
                }
                std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::BrokenPipe => {
                    return Fail::connection(host, "socket hang up");
                }
                _ => {}
            }
            if let Some(tls) = rustls_in(io) {
                return classify_rustls(tls, None, None).fail(host);
            }
        }
        if let Some(tls) = s.downcast_ref::<rustls::Error>() {
            return classify_rustls(tls, None, None).fail(host);
        }
        if let Some(h) = s.downcast_ref::<hyper::Error>()
            && (h.is_incomplete_message() || h.is_closed())
        {
            return Fail::connection(host, "socket hang up");
        }
        innermost = s.to_string();
        source = s.source();
    }
    Fail::connection(host, innermost)
}

// ---------------------------------------------------------------------------------------------
// The answer

/// JavaScript's `String(value)` for the messages of the `TypeError`s below.
fn js_string(v: Option<&Value>) -> String {
    match v {
        None => "undefined".into(),
        Some(Value::Null) => "null".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(_)) => String::new(),
        Some(Value::Object(_)) => "[object Object]".into(),
        Some(other) => other.to_string(),
    }
}

fn js_truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

fn cannot_read(of: Option<&Value>, prop: &str) -> Fail {
    Fail::login_error(format!(
        "Cannot read properties of {} (reading '{prop}')",
        js_string(of)
    ))
}

/// The review checks of `login` after the TokenReview, in the service's order; returns the
/// service account's (namespace, name).
pub(crate) fn check_review(
    data: &Value,
    auth: &KubernetesAuthSeed,
) -> Result<(String, String), Fail> {
    let st = match data {
        Value::Null => return Err(cannot_read(Some(data), "status")),
        Value::Object(m) => m.get("status"),
        _ => None,
    };
    let st = match st {
        Some(Value::Object(m)) => m,
        // `"error" in data.status`: `in` needs an object.
        Some(Value::Array(_)) => {
            return Err(Fail::unauthorized(
                "KubernetesTokenReviewError",
                "Kubernetes token not authenticated",
            ));
        }
        other => {
            return Err(Fail::login_error(format!(
                "Cannot use 'in' operator to search for 'error' in {}",
                js_string(other)
            )));
        }
    };
    if st.contains_key("error") {
        return Err(Fail::unauthorized(
            "KubernetesTokenReviewError",
            js_string(st.get("error")),
        ));
    }
    if !js_truthy(st.get("authenticated")) {
        return Err(Fail::unauthorized(
            "KubernetesTokenReviewError",
            "Kubernetes token not authenticated",
        ));
    }
    let user = st.get("user");
    let username = match user {
        Some(Value::Object(u)) => u.get("username"),
        Some(Value::Null) | None => return Err(cannot_read(user, "username")),
        Some(_) => None,
    };
    let username = match username {
        Some(Value::String(s)) => s.as_str(),
        None => return Err(cannot_read(None, "split")),
        Some(Value::Null) => return Err(cannot_read(username, "split")),
        Some(_) => return Err(Fail::login_error("username.split is not a function")),
    };
    // `extractK8sUsername` (`identity-kubernetes-auth-fns.ts`).
    let parts: Vec<&str> = username.split(':').collect();
    if parts.len() != 4 || parts[0] != "system" || parts[1] != "serviceaccount" {
        return Err(Fail::bad(
            "KubernetesUsernameParseError",
            format!(
                "Invalid Kubernetes service account username format: \"{username}\". Expected format: system:serviceaccount:<namespace>:<name>"
            ),
        ));
    }
    let (namespace, name) = (parts[2].to_string(), parts[3].to_string());
    if !auth.allowed_namespaces.is_empty() && !allowed(&auth.allowed_namespaces, &namespace)? {
        return Err(Fail::unauthorized(
            "UnauthorizedError",
            "Access denied: K8s namespace not allowed.",
        ));
    }
    if !auth.allowed_names.is_empty() && !allowed(&auth.allowed_names, &name)? {
        return Err(Fail::unauthorized(
            "UnauthorizedError",
            "Access denied: K8s name not allowed.",
        ));
    }
    if !auth.allowed_audience.is_empty() {
        let audiences = st.get("audiences");
        let found = match audiences {
            Some(Value::Array(a)) => a
                .iter()
                .any(|x| x.as_str() == Some(auth.allowed_audience.as_str())),
            Some(Value::Null) | None => return Err(cannot_read(audiences, "some")),
            Some(_) => {
                return Err(Fail::login_error(
                    "data.status.audiences.some is not a function",
                ));
            }
        };
        if !found {
            return Err(Fail::unauthorized(
                "UnauthorizedError",
                "Access denied: K8s audience not allowed.",
            ));
        }
    }
    Ok((namespace, name))
}

// ---------------------------------------------------------------------------------------------
// The handler

/// `POST /api/v1/auth/kubernetes-auth/login`: body validation -> `identityKubernetesAuthDAL
/// .findOne({identityId})` (a non-UUID is the Postgres cast's 500 `Find one`; none -> 404) ->
/// TokenReview -> review checks -> `organizationSlug` (no sub-organisations here: another slug
/// is 404) -> token. No lockout (Universal Auth only).
pub(crate) async fn login(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let mut meta = Meta::default();
    let r = async {
        let body = reply::parse_body(&body)?;
        rate_limit(&sh, Class::Write, "POST /api/v1/auth/kubernetes-auth/login")?;
        let v = validate::parse_object(body.as_ref(), K8S_LOGIN_FIELDS)
            .map_err(reply::validation_failure)?;
        let identity_id = v["identityId"].as_str().unwrap_or("");
        let jwt = v["jwt"].as_str().unwrap_or("").to_string();
        let org_slug = v
            .get("organizationSlug")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let Ok(uuid) = uuid::Uuid::parse_str(identity_id) else {
            return Err(err(500, "Find one", "Something went wrong"));
        };
        let (identity, auth, org, guard, timeout) = {
            let inner = sh.lock();
            let identity = inner
                .identities
                .get(&uuid.hyphenated().to_string())
                .filter(|i| i.kubernetes_auth.is_some())
                .cloned()
                .ok_or_else(|| err(404, "NotFound", MSG_NO_K8S_AUTH))?;
            meta.identity_id = Some(identity.id.clone());
            meta.org_id = Some(identity.org_id.clone());
            // `org.rootOrgId` of an org `findById` did not find: a TypeError, outside the
            // service's try block.
            let org = inner
                .orgs
                .get(&identity.org_id)
                .cloned()
                .ok_or_else(crate::dns::internal_error)?;
            let auth = identity.kubernetes_auth.clone().expect("checked");
            (
                identity,
                auth,
                org,
                inner.guard(),
                inner.token_review_timeout,
            )
        };
        let reviewer = auth.token_reviewer_jwt.clone().filter(|j| !j.is_empty());
        let ca_cert = auth.ca_cert.clone().unwrap_or_default();
        let verify = auth.verify_tls_certificate.unwrap_or(!ca_cert.is_empty());
        let req = ReviewRequest {
            host: auth.kubernetes_host.clone(),
            ca_cert,
            verify,
            bearer: reviewer.clone().unwrap_or_else(|| jwt.clone()),
            jwt: jwt.clone(),
            audience: auth.allowed_audience.clone(),
            guard,
            timeout,
        };
        let started = Instant::now();
        let review = review(&req).await;
        let data = review.result.clone().ok();
        let result = review
            .result
            .clone()
            .and_then(|data| check_review(&data, &auth))
            .and_then(|(ns, name)| match &org_slug {
                Some(slug) if *slug != org.slug => Err(Fail::new(
                    404,
                    "NotFound",
                    format!("Sub organization with slug {slug} not found"),
                )),
                _ => Ok((ns, name)),
            });
        let answer = match result {
            Ok((namespace, name)) => {
                let mut inner = sh.lock();
                let (token, _lifetime) = sh.issue_token_with(
                    &mut inner,
                    &identity,
                    tokens::KUBERNETES_AUTH,
                    "",
                    auth.access_token_ttl,
                    auth.access_token_max_ttl,
                    json!({"kubernetes": {"namespace": namespace, "name": name}}),
                );
                // The router answers the configured TTL, not the issued lifetime.
                Ok(reply::token_response(
                    token,
                    auth.access_token_ttl,
                    auth.access_token_max_ttl,
                ))
            }
            Err(f) => Err(f),
        };
        if review.attempted {
            let review_status = data.as_ref().and_then(|d| d.get("status"));
            let record = TokenReviewRecord {
                seq: 0,
                identity_id: identity.id.clone(),
                kubernetes_host: auth.kubernetes_host.clone(),
                url: review.url.clone(),
                reviewer: if reviewer.is_some() {
                    "tokenReviewerJwt"
                } else {
                    "callerJwt"
                }
                .to_string(),
                audiences: review.body["spec"]["audiences"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
                status: review.status,
                authenticated: review_status
                    .and_then(|s| s.get("authenticated"))
                    .and_then(Value::as_bool),
                username: review_status
                    .and_then(|s| s.get("user"))
                    .and_then(|u| u.get("username"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                login_status: answer.as_ref().map(|_| 200).unwrap_or_else(|f| f.status),
                outcome: answer
                    .as_ref()
                    .map(|_| "ok".to_string())
                    .unwrap_or_else(|f| f.error.clone()),
                elapsed_ms: started.elapsed().as_millis() as u64,
            };
            tracing::info!(
                kubernetes_host = %record.kubernetes_host,
                status = record.status.unwrap_or(0),
                outcome = %record.outcome,
                "token review"
            );
            let mut inner = sh.lock();
            inner.token_reviews_sent += 1;
            let record = TokenReviewRecord {
                seq: inner.token_reviews_sent,
                ..record
            };
            while inner.token_reviews.len() >= TOKEN_REVIEW_LOG_CAPACITY {
                inner.token_reviews.pop_front();
            }
            inner.token_reviews.push_back(record);
            // The outbound request in the request log, its token redacted like every secret.
            inner.log_request(LoggedRequest {
                seq: 0,
                method: "POST".into(),
                path: review.url.clone(),
                identity_id: Some(identity.id.clone()),
                org_id: Some(identity.org_id.clone()),
                status: review.status.unwrap_or(0),
                body: Some(crate::redact::redact(&review.body)),
                user_agent: None,
                at_unix_micros: 0,
            });
        }
        answer.map_err(|f| f.response())
    }
    .await;
    reply::finish(r, meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picomatch_subset() {
        let m = |v: &str, p: &str| picomatch_is_match(v, p).unwrap();
        assert!(m("team-a", "team-*"));
        assert!(!m("teams", "team-*"));
        assert!(m("web", "w?b"));
        assert!(m("app1", "app[0-9]"));
        assert!(!m("appx", "app[0-9]"));
        assert!(m("appx", "app[!0-9]"));
        assert!(m("prod", "{dev,prod}"));
        assert!(m("prod-eu", "{dev,prod}-{eu,us}"));
        assert!(!m("kube-system", "!kube-*"));
        assert!(m("apps", "!kube-*"));
        assert!(m("a*b", "a\\*b"));
        assert!(!m("axb", "a\\*b"));
        assert!(!m(".hidden", "*"));
        assert!(m("anything", "*"));
        assert!(picomatch_is_match("x", "").is_err());
    }

    #[test]
    fn allow_lists() {
        assert!(allowed("apps, team-*", "team-x").unwrap());
        assert!(!allowed("apps, team-*", "kube-system").unwrap());
        // An empty entry reaches picomatch (after the equality test) and throws.
        assert!(allowed("apps,", "apps").unwrap());
        assert_eq!(
            allowed("apps,", "other").unwrap_err().error,
            "KubernetesAuthLoginError"
        );
    }

    #[test]
    fn redaction() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXZpZXdlciJ9.cmV2aWV3ZXItc2lnbmF0dXJl";
        assert_eq!(
            redact_credentials(&format!("rejected credentials: Bearer {jwt}"), &[]),
            "rejected credentials: Bearer [REDACTED]"
        );
        assert_eq!(
            redact_credentials("x secret y", &["secret"]),
            "x [REDACTED] y"
        );
        assert_eq!(redact_credentials("eyJshort", &[]), "eyJshort");
    }

    #[test]
    fn scheme() {
        assert_eq!(with_scheme("k8s:6443"), "https://k8s:6443");
        assert_eq!(with_scheme("http://k8s"), "http://k8s");
        assert_eq!(with_scheme("HTTPS://k8s"), "https://HTTPS://k8s");
    }

    #[test]
    fn review_answers() {
        let auth = KubernetesAuthSeed {
            allowed_namespaces: "apps".into(),
            allowed_names: "web".into(),
            allowed_audience: "infisical".into(),
            ..Default::default()
        };
        let ok = json!({"status": {"authenticated": true, "user": {"username": "system:serviceaccount:apps:web"}, "audiences": ["infisical"]}});
        assert_eq!(
            check_review(&ok, &auth).unwrap(),
            ("apps".to_string(), "web".to_string())
        );
        let e = |d: Value| check_review(&d, &auth).unwrap_err();
        assert_eq!(
            e(json!("not json")).message,
            "Cannot use 'in' operator to search for 'error' in undefined"
        );
        assert_eq!(e(json!({"status": {"error": "boom"}})).message, "boom");
        assert_eq!(
            e(json!({"status": {"authenticated": true}})).message,
            "Cannot read properties of undefined (reading 'username')"
        );
        assert_eq!(
            e(json!({"status": {"authenticated": true, "user": {"username": "admin"}}})).error,
            "KubernetesUsernameParseError"
        );
        assert_eq!(
            e(json!({"status": {"authenticated": true, "user": {"username": "system:serviceaccount:apps:web"}}})).message,
            "Cannot read properties of undefined (reading 'some')"
        );
    }
}
