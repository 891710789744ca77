//! Wall-clock readings and Infisical's date format.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

pub(crate) fn now_secs() -> u64 {
    since_epoch().as_secs()
}

pub(crate) fn unix_micros() -> u64 {
    since_epoch().as_micros() as u64
}

/// For lockout expiry arithmetic.
pub(crate) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// `new Date().toISOString()`: `2026-05-24T05:18:03.924Z`.
pub(crate) fn iso8601_now() -> String {
    iso8601(since_epoch())
}

/// A time since the epoch as `Date.prototype.toISOString` writes it (how Infisical's routers
/// serialise `createdAt`, `updatedAt`, `lastUsed`).
pub(crate) fn iso8601(since_epoch: Duration) -> String {
    let secs = since_epoch.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since_epoch.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_matches_to_iso_string() {
        assert_eq!(iso8601(Duration::ZERO), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso8601(Duration::from_millis(1_779_599_883_924)),
            "2026-05-24T05:18:03.924Z"
        );
        assert_eq!(
            iso8601(Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
    }
}
