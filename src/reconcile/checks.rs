//! The shapes a value in a spec may take, whatever the kind: an organisation id (a UUID), an
//! identity provider's URL (https, http only for loopback, exactly as written), an email domain
//! (one DNS name), and text without control or invisible characters (a paste error that would
//! leave login broken while the value looks right).

use crate::api::MAX_URL_LENGTH;
use crate::error::{Error, Result};
use crate::infisical::is_loopback;

/// `Some(())` for the 8-4-4-4-12 hexadecimal form. Infisical answers other ids with a bare 500.
pub fn uuid_like(text: &str) -> Option<()> {
    let groups: Vec<&str> = text.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    (groups.len() == 5
        && groups
            .iter()
            .zip(lengths)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit())))
    .then_some(())
}

/// What any URL of a spec must be before it is parsed: not too long, and printable ASCII.
/// Infisical stores and uses the text as written, while a URL parser forgives a lot (a dropped
/// zero-width space, `https:host`, backslashes, `@` without credentials): what is checked must be
/// exactly what is sent, as the CRD's rule requires.
pub fn check_url_text(field: &str, value: &str) -> Result<()> {
    if value.len() > MAX_URL_LENGTH {
        return Err(Error::invalid_spec(
            field,
            format!("is longer than {MAX_URL_LENGTH} characters"),
        ));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid_spec(
            field,
            "must be printable ASCII, without whitespace or invisible characters (encode an internationalised host as xn--)",
        ));
    }
    Ok(())
}

/// One IdP URL: https (http for loopback only), a host, no credentials, no whitespace.
pub fn check_idp_url(field: &str, value: &str) -> Result<url::Url> {
    check_url_text(field, value)?;
    let not_https = || {
        Error::invalid_spec(
            field,
            "must be an https URL (http is accepted only for a loopback address)",
        )
    };
    let (scheme, rest) = if let Some(rest) = value.strip_prefix("https://") {
        ("https", rest)
    } else if let Some(rest) = value.strip_prefix("http://") {
        ("http", rest)
    } else {
        return Err(not_https());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('\\') {
        return Err(Error::invalid_spec(field, "has no host"));
    }
    if authority.contains('@') {
        return Err(Error::invalid_spec(
            field,
            "must not contain user credentials",
        ));
    }
    let url = url::Url::parse(value)
        .map_err(|e| Error::invalid_spec(field, format!("is not a valid URL: {e}")))?;
    // Loopback as the CRD spells it (127.x, localhost, [::1]), not the forms a parser also
    // reads as loopback (2130706433, 0x7f.0.0.1).
    let written_host = match authority.strip_prefix('[') {
        Some(v6) => &authority[..v6.find(']').map_or(authority.len(), |end| end + 2)],
        None => authority.split(':').next().unwrap_or_default(),
    };
    let loopback_as_written = written_host == "localhost"
        || written_host == "[::1]"
        || (written_host.starts_with("127.") && written_host.parse::<std::net::Ipv4Addr>().is_ok());
    if scheme == "http" && !(loopback_as_written && url.host_str().is_some_and(is_loopback)) {
        return Err(not_https());
    }
    Ok(url)
}

/// Control characters and the characters that render as nothing (format characters and
/// fillers: soft hyphen, zero-width and bidirectional marks, word joiners, variation selectors,
/// tags, the byte-order mark).
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{ad}' | '\u{34f}' | '\u{61c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
            | '\u{180b}'..='\u{180f}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}' | '\u{3164}' | '\u{fe00}'..='\u{fe0f}' | '\u{feff}'
            | '\u{ffa0}' | '\u{fff0}'..='\u{fff8}' | '\u{e0000}'..='\u{e0fff}')
}

/// One email domain as a DNS name: an optional leading `*.`, then labels that IDNA accepts, of at
/// most 63 octets each and 253 in all once encoded. The entry must already be in canonical form:
/// IDNA silently drops invisible characters (a zero-width space), and Infisical compares the text
/// as written, so such an entry would never match anyone's email.
pub fn check_email_domain(domain: &str) -> std::result::Result<(), &'static str> {
    const ONE_DOMAIN: &str =
        "must be one domain name such as example.com or *.example.com (one list item per domain)";
    if domain.is_empty() {
        return Err("must not be empty");
    }
    if domain.contains([',', '@', ' ', '/', ':']) || domain.contains(char::is_whitespace) {
        return Err(ONE_DOMAIN);
    }
    let name = domain.strip_prefix("*.").unwrap_or(domain);
    if name.contains('*') {
        return Err("may contain `*` only as a leading `*.`");
    }
    for label in name.split('.') {
        if label.starts_with('-') || label.ends_with('-') {
            return Err("has a label that starts or ends with a hyphen");
        }
        // RFC 5891 4.2.3.1: `--` in the third and fourth places is reserved for A-labels.
        if label.get(2..4) == Some("--") && !label.to_ascii_lowercase().starts_with("xn--") {
            return Err("has a label with `--` in its third and fourth places");
        }
    }
    let ascii = idna::domain_to_ascii(name).map_err(|_| ONE_DOMAIN)?;
    let (unicode, errors) = idna::domain_to_unicode(&ascii);
    let written = name.to_lowercase();
    if errors.is_err() || (written != ascii && written != unicode) {
        return Err("contains characters that are invisible or not in canonical form");
    }
    if ascii.len() > 253 {
        return Err("is longer than 253 octets");
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.iter().any(|l| l.is_empty()) {
        return Err(ONE_DOMAIN);
    }
    if labels.iter().any(|l| l.len() > 63) {
        return Err("has a label longer than 63 octets");
    }
    if labels
        .iter()
        .any(|l| l.starts_with('-') || l.ends_with('-'))
    {
        return Err("has a label that starts or ends with a hyphen");
    }
    if !ascii
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err(ONE_DOMAIN);
    }
    Ok(())
}
