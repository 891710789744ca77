//! Where an Infisical API lives, and whether the operator may talk to it.

use std::net::IpAddr;

use url::Url;

use crate::error::{Error, Result};

/// Hosts the operator may send credentials to: exact names, `*.suffix` wildcards, or `*`.
#[derive(Clone, Debug)]
pub struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    pub fn new(patterns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self(
            patterns
                .into_iter()
                .map(|p| p.into().trim().to_ascii_lowercase())
                .filter(|p| !p.is_empty())
                .collect(),
        )
    }

    pub fn allows(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.0.iter().any(|pattern| {
            pattern == "*"
                || *pattern == host
                || pattern
                    .strip_prefix("*.")
                    .is_some_and(|suffix| host.ends_with(&format!(".{suffix}")))
        })
    }
}

impl std::fmt::Display for AllowedHosts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(","))
    }
}

/// The base URL of an Infisical instance, normalised: no trailing `/` or `/api`; with its host
/// and its instance key, read once when it is parsed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BaseUrl {
    url: String,
    host: String,
    instance: String,
}

impl BaseUrl {
    /// Parses `hostAPI`: https, or http for loopback only; the host must be allowed.
    pub fn parse(host_api: &str, allowed: &AllowedHosts) -> Result<Self> {
        let invalid = |message: &str| Error::invalid_spec("spec.hostAPI", message);
        let url = Url::parse(host_api.trim()).map_err(|e| invalid(&format!("not a URL: {e}")))?;
        let host = url
            .host_str()
            .ok_or_else(|| invalid("has no host"))?
            .to_string();
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not contain credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("must not have a query or fragment"));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            "http" => {
                return Err(invalid(
                    "must use https (http is accepted only for loopback addresses)",
                ));
            }
            other => return Err(invalid(&format!("unsupported scheme {other:?}"))),
        }
        if !allowed.allows(host.trim_start_matches('[').trim_end_matches(']')) {
            return Err(Error::HostNotAllowed {
                host,
                allowed: allowed.to_string(),
            });
        }
        Ok(Self {
            instance: instance_of(url.clone()).unwrap_or_else(|| normalised(&url)),
            url: normalised(&url),
            host,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }

    pub fn join(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    /// The host part, for messages and metric labels.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// This instance's [`instance_key`].
    pub fn instance_key(&self) -> &str {
        &self.instance
    }
}

/// The instance a `hostAPI` names, as one string per instance whatever the spelling: scheme and
/// host lower-cased, the default port dropped, no trailing `/` or `/api`, and Infisical Cloud US's
/// two names (`app.` and `us.infisical.com`) as one. Used to decide which resources compete for
/// one organisation; `None` when it is not a URL.
pub fn instance_key(host_api: &str) -> Option<String> {
    instance_of(Url::parse(host_api.trim()).ok()?)
}

fn instance_of(mut url: Url) -> Option<String> {
    if url.host_str() == Some("app.infisical.com") {
        url.set_host(Some("us.infisical.com")).ok()?;
    }
    Some(normalised(&url))
}

/// The URL without a trailing `/` or `/api` (`Url` already lower-cases and drops default ports).
fn normalised(url: &Url) -> String {
    let base = url.as_str().trim_end_matches('/');
    base.strip_suffix("/api").unwrap_or(base).to_string()
}

/// `localhost` or a loopback IP literal (bracketed or not): traffic that never leaves the machine.
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare == "localhost" || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_instance_has_one_key_whatever_the_spelling() {
        let key = instance_key("https://us.infisical.com").unwrap();
        for spelling in [
            "https://us.infisical.com:443/",
            "HTTPS://US.Infisical.com/api",
            "https://app.infisical.com",
            " https://us.infisical.com/api/ ",
        ] {
            assert_eq!(
                instance_key(spelling).as_deref(),
                Some(key.as_str()),
                "{spelling}"
            );
        }
        assert_ne!(instance_key("https://eu.infisical.com"), Some(key.clone()));
        assert_ne!(instance_key("https://us.infisical.com:8443"), Some(key));
        assert_eq!(instance_key("not a url"), None);
    }

    fn cloud() -> AllowedHosts {
        AllowedHosts::new(["us.infisical.com", "*.example.org", "127.0.0.1"])
    }

    #[test]
    fn normalises_trailing_slash_and_api_suffix() {
        for input in [
            "https://us.infisical.com",
            "https://us.infisical.com/",
            "https://us.infisical.com/api",
            "https://us.infisical.com/api/",
        ] {
            assert_eq!(
                BaseUrl::parse(input, &cloud()).unwrap().as_str(),
                "https://us.infisical.com",
                "{input}"
            );
        }
    }

    #[test]
    fn http_only_for_loopback() {
        assert!(BaseUrl::parse("http://127.0.0.1:8080", &cloud()).is_ok());
        let err = BaseUrl::parse("http://us.infisical.com", &cloud()).unwrap_err();
        assert_eq!(err.reason(), "InvalidSpec");
        assert!(err.to_string().contains("spec.hostAPI"));
    }

    #[test]
    fn a_parsed_base_url_knows_its_host_and_instance_key() {
        for input in [
            "https://app.infisical.com/api",
            "https://US.infisical.com:443/",
        ] {
            let base = BaseUrl::parse(input, &AllowedHosts::new(["*"])).unwrap();
            assert_eq!(
                base.host(),
                url::Url::parse(input).unwrap().host_str().unwrap()
            );
            assert_eq!(Some(base.instance_key()), instance_key(input).as_deref());
        }
    }

    #[test]
    fn host_must_be_allowed() {
        assert!(BaseUrl::parse("https://infisical.example.org", &cloud()).is_ok());
        assert!(BaseUrl::parse("https://example.org", &cloud()).is_err());
        let err = BaseUrl::parse("https://evil.test", &cloud()).unwrap_err();
        assert_eq!(err.reason(), "HostNotAllowed");
        assert!(AllowedHosts::new(["*"]).allows("anything.test"));
    }

    #[test]
    fn rejects_credentials_and_garbage() {
        assert!(BaseUrl::parse("https://user:pw@us.infisical.com", &cloud()).is_err());
        assert!(BaseUrl::parse("not a url", &cloud()).is_err());
        assert!(BaseUrl::parse("ftp://us.infisical.com", &cloud()).is_err());
    }
}
