//! Before a create, or an update that changes an IdP URL Infisical resolves, check that each
//! host resolves. Infisical resolves `discoveryURL`, `jwksUri`, `tokenEndpoint` and
//! `userinfoEndpoint` when a configuration is saved, and a lookup error escapes there as a bare
//! 500: a typo in a host name would read as an outage and be retried for ever. Found here, it is
//! a spec problem with its own reason, and nothing is sent to Infisical.
//!
//! A lookup that gets no answer (a timeout, or the resolver's "try again") is neither: the name
//! may be fine, the operator's DNS is not; it has a reason of its own too, never Infisical's.
//!
//! Whether an address is private is Infisical's decision (it answers 400 "Local IPs not allowed
//! as URL", and a self-hosted instance may allow them): this check only asks that names resolve.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::infisical::wire::UpdateOidcConfig;

use super::oidc::desired::Desired;

/// How IdP host names are resolved: aliases first (hosts(5) entries, `*.suffix` allowed), then
/// the system resolver unless `system` is off.
#[derive(Clone, Debug)]
pub struct IdpResolver {
    aliases: Arc<HashMap<String, Vec<IpAddr>>>,
    system: bool,
}

impl Default for IdpResolver {
    fn default() -> Self {
        Self {
            aliases: Arc::default(),
            system: true,
        }
    }
}

/// Longest wait for one lookup.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

impl IdpResolver {
    /// Aliases from `name → addresses`; `system` false answers every other name as unknown.
    pub fn with_aliases(aliases: HashMap<String, Vec<IpAddr>>, system: bool) -> Self {
        let aliases = aliases
            .into_iter()
            .map(|(name, ips)| (name.to_ascii_lowercase(), ips))
            .collect();
        Self {
            aliases: Arc::new(aliases),
            system,
        }
    }

    /// Parses hosts(5) text: `ADDRESS NAME [NAME...]`, `#` comments.
    pub fn parse_hosts(text: &str) -> std::result::Result<HashMap<String, Vec<IpAddr>>, String> {
        let mut aliases: HashMap<String, Vec<IpAddr>> = HashMap::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            let mut words = line.split_whitespace();
            let Some(address) = words.next() else {
                continue;
            };
            let ip: IpAddr = address
                .parse()
                .map_err(|_| format!("line {}: {address:?} is not an IP address", number + 1))?;
            let names: Vec<&str> = words.collect();
            if names.is_empty() {
                return Err(format!("line {}: no host name after {address}", number + 1));
            }
            for name in names {
                aliases
                    .entry(name.to_ascii_lowercase())
                    .or_default()
                    .push(ip);
            }
        }
        Ok(aliases)
    }

    fn alias(&self, host: &str) -> Option<&Vec<IpAddr>> {
        self.aliases.get(host).or_else(|| {
            self.aliases.iter().find_map(|(pattern, ips)| {
                pattern
                    .strip_prefix("*.")
                    .is_some_and(|suffix| host.ends_with(&format!(".{suffix}")))
                    .then_some(ips)
            })
        })
    }

    /// `Ok(())` when `host` resolves; the error names the field and the host.
    pub(crate) async fn check(&self, field: &str, host: &str) -> Result<()> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if bare.parse::<IpAddr>().is_ok() {
            return Ok(());
        }
        let host = bare.to_ascii_lowercase();
        if let Some(ips) = self.alias(&host) {
            return if ips.is_empty() {
                Err(unresolvable(field, &host, "no addresses"))
            } else {
                Ok(())
            };
        }
        if !self.system {
            return Err(unresolvable(field, &host, "unknown name"));
        }
        let lookup = tokio::time::timeout(
            LOOKUP_TIMEOUT,
            tokio::net::lookup_host((host.as_str(), 443)),
        )
        .await;
        let outcome = match lookup {
            Ok(Ok(addresses)) => Lookup::Answered(addresses.count()),
            Ok(Err(error)) => Lookup::Failed(error),
            Err(_) => Lookup::NoAnswerWithin(LOOKUP_TIMEOUT),
        };
        verdict(field, &host, outcome)
    }
}

/// How a system lookup ended.
#[derive(Debug)]
enum Lookup {
    /// The resolver answered with this many addresses.
    Answered(usize),
    Failed(std::io::Error),
    NoAnswerWithin(Duration),
}

/// What a lookup's outcome means for the spec.
fn verdict(field: &str, host: &str, outcome: Lookup) -> Result<()> {
    match outcome {
        Lookup::Answered(0) => Err(unresolvable(field, host, "no addresses")),
        Lookup::Answered(_) => Ok(()),
        // getaddrinfo's EAI_AGAIN: the resolver did not answer, which says nothing about the
        // name.
        Lookup::Failed(error) if error.to_string().contains("Temporary failure") => {
            Err(lookup_failed(field, host, &error.to_string()))
        }
        Lookup::Failed(error) => Err(unresolvable(field, host, &error.to_string())),
        Lookup::NoAnswerWithin(limit) => Err(lookup_failed(
            field,
            host,
            &format!("no answer within {}s", limit.as_secs()),
        )),
    }
}

/// The lookup itself failed, so the name may well be right: not Infisical's fault (nothing was
/// sent to it), and not the spec's. A resolver that does not answer from the operator's pod is
/// nearly always how that pod is set up (no route to a resolver, a name only a private DNS
/// serves, egress rules), which a person fixes, restarting the pod, which then checks at once;
/// so it is reported as stalled and retried at the resync interval rather than backed off
/// quickly for ever, and a brief DNS outage costs at most one resync interval.
fn lookup_failed(field: &str, host: &str, detail: &str) -> Error {
    Error::IdpHostLookupFailed {
        field: field.to_string(),
        host: host.to_string(),
        detail: detail.to_string(),
    }
}

fn unresolvable(field: &str, host: &str, detail: &str) -> Error {
    Error::IdpHostUnresolvable {
        field: field.to_string(),
        host: host.to_string(),
        detail: detail.to_string(),
    }
}

/// The URL fields Infisical resolves, with their desired values.
fn resolved_fields(desired: &Desired) -> [(&'static str, &str); 4] {
    [
        ("spec.discoveryURL", desired.discovery_url.as_str()),
        ("spec.jwksUri", desired.jwks_uri.as_str()),
        ("spec.tokenEndpoint", desired.token_endpoint.as_str()),
        ("spec.userinfoEndpoint", desired.userinfo_endpoint.as_str()),
    ]
}

/// Checks the hosts a create sends (`patch` `None`), or those an update changes.
pub async fn check(
    resolver: &IdpResolver,
    desired: &Desired,
    patch: Option<&UpdateOidcConfig>,
) -> Result<()> {
    for (field, value) in resolved_fields(desired) {
        let changed = match patch {
            None => true,
            Some(p) => match field {
                "spec.discoveryURL" => p.discovery_url.is_some(),
                "spec.jwksUri" => p.jwks_uri.is_some(),
                "spec.tokenEndpoint" => p.token_endpoint.is_some(),
                _ => p.userinfo_endpoint.is_some(),
            },
        };
        if !changed || value.is_empty() {
            continue;
        }
        let Some(host) = url::Url::parse(value)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
        else {
            continue;
        };
        resolver.check(field, &host).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_files_parse_and_name_bad_lines() {
        let aliases = IdpResolver::parse_hosts(
            "# IdPs\n93.184.215.14 idp.example.com login.example.com\n\n::1 local-idp # loopback\n",
        )
        .unwrap();
        assert_eq!(
            aliases["idp.example.com"],
            vec!["93.184.215.14".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(aliases["local-idp"], vec!["::1".parse::<IpAddr>().unwrap()]);
        assert!(
            IdpResolver::parse_hosts("idp.example.com 1.2.3.4")
                .unwrap_err()
                .contains("line 1")
        );
        assert!(
            IdpResolver::parse_hosts("1.2.3.4")
                .unwrap_err()
                .contains("no host name")
        );
    }

    #[test]
    fn a_resolver_that_does_not_answer_is_named_as_such_never_as_infisical() {
        for outcome in [
            Lookup::NoAnswerWithin(LOOKUP_TIMEOUT),
            Lookup::Failed(std::io::Error::other(
                "failed to lookup address information: Temporary failure in name resolution",
            )),
        ] {
            let error = verdict("spec.discoveryURL", "idp.example.com", outcome).unwrap_err();
            assert_eq!(error.reason(), "IdpHostLookupFailed");
            assert_eq!(error.class(), crate::error::ErrorClass::Permanent);
            assert!(!error.is_instance_unavailable());
            let text = error.to_string();
            assert!(
                text.starts_with("spec.discoveryURL: ") && text.contains("\"idp.example.com\""),
                "{text}"
            );
            assert!(!text.contains("cannot reach Infisical"), "{text}");
        }
        let timed_out = verdict(
            "spec.jwksUri",
            "idp.example.com",
            Lookup::NoAnswerWithin(LOOKUP_TIMEOUT),
        )
        .unwrap_err();
        assert!(
            timed_out.to_string().contains("no answer within 5s"),
            "{timed_out}"
        );
    }

    #[test]
    fn an_answer_decides_whether_the_name_resolves() {
        assert!(verdict("spec.jwksUri", "idp.example.com", Lookup::Answered(2)).is_ok());
        let none = verdict("spec.jwksUri", "idp.example.com", Lookup::Answered(0)).unwrap_err();
        assert_eq!(none.reason(), "IdpHostUnresolvable");
        let unknown = verdict(
            "spec.jwksUri",
            "idp.exmaple.com",
            Lookup::Failed(std::io::Error::other(
                "failed to lookup address information: Name or service not known",
            )),
        )
        .unwrap_err();
        assert_eq!(unknown.reason(), "IdpHostUnresolvable");
    }

    #[tokio::test]
    async fn aliases_and_wildcards_answer_before_the_system() {
        let mut aliases = HashMap::new();
        aliases.insert(
            "*.example.com".to_string(),
            vec!["93.184.215.14".parse().unwrap()],
        );
        let resolver = IdpResolver::with_aliases(aliases, false);
        assert!(
            resolver
                .check("spec.jwksUri", "idp.example.com")
                .await
                .is_ok()
        );
        assert!(resolver.check("spec.jwksUri", "10.0.0.1").await.is_ok());
        let error = resolver
            .check("spec.jwksUri", "idp.exmaple.com")
            .await
            .unwrap_err();
        assert_eq!(error.reason(), "IdpHostUnresolvable");
        assert!(
            error.to_string().contains("spec.jwksUri")
                && error.to_string().contains("idp.exmaple.com")
        );
    }
}
