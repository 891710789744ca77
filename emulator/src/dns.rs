//! The URL guard on the IdP URLs and the resolver behind it.
//!
//! Follows Infisical's `blockLocalAndPrivateIpAddresses`
//! (`backend/src/lib/validator/validate-url.ts`, the version that calls
//! `dns.lookup(hostname, { all: true })`) with `isPrivateIp` from `backend/src/lib/ip/ipRange.ts`,
//! as called by `createOidcCfg` and `updateOidcCfg` in
//! `backend/src/ee/services/oidc/oidc-config-service.ts` for `discoveryURL`, `jwksUri`,
//! `tokenEndpoint` and `userinfoEndpoint`. Errors render as `backend/src/server/plugins/error-handler.ts`
//! does.
//!
//! The resolver is steerable: the emulator's hosts table (config `hosts`, control surface
//! `/__emulator/hosts`), then the built-in table ([`crate::default_hosts`]), then the system
//! resolver (`tokio::net::lookup_host`). Tests never need the network.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;

use crate::reply::err;
use crate::types::HostAnswer;

/// How long a system lookup may take before it counts as failed (Node's `dns.lookup` would
/// eventually fail with `EAI_AGAIN`, which escapes as a 500 the same way).
const SYSTEM_LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) const LOCAL_IPS_MSG: &str = "Local IPs not allowed as URL";
pub(crate) const NO_ADDRESS_MSG: &str = "Could not resolve hostname to any IP address";
pub(crate) const USER_INFO_MSG: &str =
    "URLs with user credentials (e.g., user:pass@) are not allowed";

/// A snapshot of the guard's settings, taken under the state lock so resolution can run
/// without it.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    pub enabled: bool,
    pub allow_internal_ip_connections: bool,
    pub allowed_internal_hosts: Vec<String>,
    pub hosts: Arc<BTreeMap<String, HostAnswer>>,
    pub defaults: Option<Arc<BTreeMap<String, HostAnswer>>>,
}

/// What a lookup produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup {
    Addresses(Vec<IpAddr>),
    /// The lookup failed (`ENOTFOUND`, timeout, ...).
    Failed,
}

/// Exact name first, then the longest matching `*.suffix` (a wildcard never matches the apex).
fn table_get<'a>(table: &'a BTreeMap<String, HostAnswer>, name: &str) -> Option<&'a HostAnswer> {
    if let Some(a) = table.get(name) {
        return Some(a);
    }
    let mut rest = name;
    while let Some(idx) = rest.find('.') {
        rest = &rest[idx + 1..];
        if let Some(a) = table.get(&format!("*.{rest}")) {
            return Some(a);
        }
    }
    None
}

impl Guard {
    /// Answer from the emulator's tables, if any: the configured table wins over the built-in one.
    pub fn table_answer(&self, name: &str) -> Option<HostAnswer> {
        let name = name.to_ascii_lowercase();
        let name = name.strip_suffix('.').unwrap_or(&name);
        table_get(&self.hosts, name)
            .or_else(|| self.defaults.as_deref().and_then(|d| table_get(d, name)))
            .cloned()
    }

    /// `dns.lookup(hostname, { all: true })`.
    pub async fn lookup(&self, hostname: &str) -> Lookup {
        if let Some(answer) = self.table_answer(hostname) {
            return match answer {
                HostAnswer::Addresses(a) => Lookup::Addresses(a),
                HostAnswer::Empty => Lookup::Addresses(Vec::new()),
                HostAnswer::Nxdomain => Lookup::Failed,
            };
        }
        // Node resolves a falsy hostname to an empty list.
        if hostname.is_empty() {
            return Lookup::Addresses(Vec::new());
        }
        // `new URL()` keeps the brackets of an IPv6 literal in `hostname`, `isIP("[::1]")` is 0,
        // and getaddrinfo does not accept brackets: Infisical's lookup fails (ENOTFOUND). Decided
        // here rather than by the system resolver, which would parse the literal.
        if hostname.starts_with('[') {
            return Lookup::Failed;
        }
        match tokio::time::timeout(
            SYSTEM_LOOKUP_TIMEOUT,
            tokio::net::lookup_host((hostname, 0)),
        )
        .await
        {
            Ok(Ok(addrs)) => {
                let mut out: Vec<IpAddr> = Vec::new();
                for a in addrs {
                    if !out.contains(&a.ip()) {
                        out.push(a.ip());
                    }
                }
                Lookup::Addresses(out)
            }
            Ok(Err(_)) | Err(_) => Lookup::Failed,
        }
    }

    pub(crate) fn allow_listed(&self, url: &url::Url) -> bool {
        let host_str = url.host_str().unwrap_or("").to_ascii_lowercase();
        let bare = host_str.trim_start_matches('[').trim_end_matches(']');
        let with_port = url
            .port_or_known_default()
            .map(|p| format!("{host_str}:{p}"));
        self.allowed_internal_hosts.iter().any(|a| {
            let a = a.to_ascii_lowercase();
            a == host_str || a == bare || with_port.as_deref() == Some(a.as_str())
        })
    }

    /// Infisical's `blockLocalAndPrivateIpAddresses(url)` for one URL.
    pub async fn check(&self, raw: &str) -> Result<(), Response> {
        // `if (appCfg.isDevelopmentMode) return;`
        if !self.enabled {
            return Ok(());
        }
        // `new URL(url)` throws a TypeError on garbage: not an Infisical error class, so the
        // error handler answers its generic 500.
        let Ok(url) = url::Url::parse(raw) else {
            return Err(internal_error());
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(err(400, "BadRequest", USER_INFO_MSG));
        }
        let entries: Vec<IpAddr> = match url.host() {
            // `isIP(validUrl.hostname)`: only IPv4 literals, see `lookup` for IPv6.
            Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
            host => {
                let hostname = match host {
                    Some(url::Host::Domain(d)) => d.to_string(),
                    Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
                    _ => String::new(),
                };
                if hostname == "localhost" || hostname == "host.docker.internal" {
                    return Err(err(400, "BadRequest", LOCAL_IPS_MSG));
                }
                match self.lookup(&hostname).await {
                    Lookup::Addresses(a) if !a.is_empty() => a,
                    Lookup::Addresses(_) => return Err(err(400, "BadRequest", NO_ADDRESS_MSG)),
                    // Not caught in validate-url.ts: the DNS error reaches the error handler's
                    // catch-all.
                    Lookup::Failed => return Err(internal_error()),
                }
            }
        };
        let internal = entries.iter().any(|ip| is_private_ip(*ip));
        // `isInternalIp && !appCfg.ALLOW_INTERNAL_IP_CONNECTIONS`; the per-host allow-list is the
        // same switch scoped to the listed hosts.
        if internal && !self.allow_internal_ip_connections && !self.allow_listed(&url) {
            return Err(err(400, "BadRequest", LOCAL_IPS_MSG));
        }
        Ok(())
    }

    /// The four URL fields in the order the service checks them; the first failure wins.
    pub async fn check_all(&self, urls: &[String]) -> Result<(), Response> {
        for u in urls {
            // `if (discoveryURL) { ... }`: empty strings are skipped.
            if !u.is_empty() {
                self.check(u).await?;
            }
        }
        Ok(())
    }
}

/// The error handler's catch-all (`backend/src/server/plugins/error-handler.ts`):
/// `{reqId, statusCode: 500, error: "InternalServerError", message: "Something went wrong"}`.
pub(crate) fn internal_error() -> Response {
    err(500, "InternalServerError", "Something went wrong")
}

fn v4_in(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn v6_in(ip: Ipv6Addr, net: Ipv6Addr, prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    (u128::from(ip) & mask) == (u128::from(net) & mask)
}

/// `isPrivateIp` (`backend/src/lib/ip/ipRange.ts`): anything but plain unicast. Note the
/// reserved ranges include the RFC 5737 documentation networks (192.0.2.0/24, 198.51.100.0/24,
/// 203.0.113.0/24) and every IPv4-mapped IPv6 address.
pub(crate) fn is_private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => [
            ([0, 0, 0, 0], 8),          // unspecified
            ([255, 255, 255, 255], 32), // broadcast
            ([224, 0, 0, 0], 4),        // multicast
            ([169, 254, 0, 0], 16),     // linkLocal
            ([127, 0, 0, 0], 8),        // loopback
            ([100, 64, 0, 0], 10),      // carrierGradeNat
            ([10, 0, 0, 0], 8),         // private
            ([172, 16, 0, 0], 12),
            ([192, 168, 0, 0], 16),
            ([192, 0, 0, 0], 24), // reserved
            ([192, 0, 2, 0], 24),
            ([192, 88, 99, 0], 24),
            ([198, 18, 0, 0], 15),
            ([198, 51, 100, 0], 24),
            ([203, 0, 113, 0], 24),
            ([240, 0, 0, 0], 4),
        ]
        .iter()
        .any(|(net, prefix)| v4_in(v4, *net, *prefix)),
        IpAddr::V6(v6) => [
            (Ipv6Addr::UNSPECIFIED, 128),
            (Ipv6Addr::LOCALHOST, 128),
            (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8), // multicast
            (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10), // linkLocal
            (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7), // uniqueLocal
            (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96), // ipv4Mapped
            (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // reserved
            (Ipv6Addr::new(0x2001, 0x2, 0, 0, 0, 0, 0, 0), 48),
            (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64),
        ]
        .iter()
        .any(|(net, prefix)| v6_in(v6, *net, *prefix)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_ranges_follow_ip_range_ts() {
        for s in [
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "127.0.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "fc00::1",
            "fd12::1",
            "ff02::1",
            "::ffff:8.8.8.8",
            "2001:db8::1",
            "2001:2::1",
            "100::1",
        ] {
            assert!(is_private_ip(ip(s)), "{s}");
        }
        for s in [
            "93.184.215.14",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
            "2001:4860::8888",
        ] {
            assert!(!is_private_ip(ip(s)), "{s}");
        }
    }

    #[test]
    fn table_exact_then_longest_wildcard() {
        let mut t = BTreeMap::new();
        t.insert("*.example.com".to_string(), HostAnswer::Nxdomain);
        t.insert("*.idp.example.com".to_string(), HostAnswer::Empty);
        t.insert(
            "a.idp.example.com".to_string(),
            HostAnswer::Addresses(vec![ip("10.0.0.1")]),
        );
        assert_eq!(table_get(&t, "example.com"), None);
        assert_eq!(table_get(&t, "x.example.com"), Some(&HostAnswer::Nxdomain));
        assert_eq!(table_get(&t, "b.idp.example.com"), Some(&HostAnswer::Empty));
        assert_eq!(
            table_get(&t, "a.idp.example.com"),
            Some(&HostAnswer::Addresses(vec![ip("10.0.0.1")]))
        );
    }
}
