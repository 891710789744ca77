//! Logging setup. Nothing logged anywhere in the operator carries a secret value: secrets live
//! in `SecretString`, whose Debug and Display are redacted.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `filter` takes `RUST_LOG` syntax, e.g. `info` or `info,infisical_oidc_operator=debug`; a
/// filter that does not parse is refused rather than silently replaced. Text logs are coloured
/// only when stderr is a terminal, so files and pipes get plain text.
pub fn init(format: LogFormat, filter: &str) -> Result<(), String> {
    let filter = parse_filter(filter)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    Ok(())
}

/// The log filter, or why it is not one.
pub fn parse_filter(filter: &str) -> Result<EnvFilter, String> {
    // A bare word is a level; a target needs `target=level`. EnvFilter would read `verbose` as a
    // target enabled at every level, and log nothing else.
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    if let Some(word) = filter.split(',').map(str::trim).find(|d| {
        !d.is_empty() && !d.contains('=') && !LEVELS.contains(&d.to_ascii_lowercase().as_str())
    }) {
        return Err(format!(
            "--log-level {filter:?}: {word:?} is not a level (off, error, warn, info, debug, trace); a target needs target=level"
        ));
    }
    EnvFilter::builder()
        .with_regex(false)
        .parse(filter)
        .map_err(|error| {
            format!("--log-level {filter:?} is not a log filter (error, warn, info, debug, trace, or directives like info,infisical_oidc_operator=debug): {error}")
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_bad_filter_is_refused_with_the_reason() {
        assert!(super::parse_filter("info,infisical_oidc_operator=debug").is_ok());
        let message = super::parse_filter("infoo=bogus=x").unwrap_err();
        assert!(message.contains("--log-level"), "{message}");
        assert!(super::parse_filter("verbose").is_err());
    }
}
