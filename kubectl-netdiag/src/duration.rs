//! Durations as kubectl writes them: `30s`, `2m`, `1h`, `1m30s`, `500ms`, `1.5s`, or a bare number
//! of seconds, parsed in whole milliseconds with checked arithmetic and bounds, so that no input
//! can overflow or panic: an out-of-range value is a usage error (exit 2) that names the range.

use std::time::Duration;

/// The longest duration any flag takes: a day.
pub const MAX_ANY: Duration = Duration::from_secs(24 * 3600);
/// `trace --timeout`: what a NetProbe's `spec.timeoutSeconds` allows.
pub const TIMEOUT_MIN: Duration =
    Duration::from_secs(netdiag_crds::probe::MIN_TIMEOUT_SECONDS as u64);
pub const TIMEOUT_MAX: Duration =
    Duration::from_secs(netdiag_crds::probe::MAX_TIMEOUT_SECONDS as u64);

/// Parse `30s`, `2m`, `1h30m`, `500ms`, `1.5s` or `45` (seconds), at most [`MAX_ANY`].
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    parse_within(s, Duration::ZERO, MAX_ANY)
}

/// `trace --timeout`: 1s to 10m.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    parse_within(s, TIMEOUT_MIN, TIMEOUT_MAX)
}

/// Parse and check `min <= d <= max`; the error names the bound that was crossed.
pub fn parse_within(s: &str, min: Duration, max: Duration) -> Result<Duration, String> {
    let d = parse_millis(s, max)?;
    if d < min {
        return Err(format!("{s:?} is below the {} minimum", human(min)));
    }
    Ok(d)
}

/// `10m`, `1s`, `500ms`, `24h`: the shortest exact form of a bound.
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        0 => "0s".into(),
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        ms if ms % 1000 == 0 => format!("{}s", ms / 1000),
        ms => format!("{ms}ms"),
    }
}

fn parse_millis(s: &str, max: Duration) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration: expected e.g. 30s, 2m or 1h".into());
    }
    let too_long = || format!("{s:?} is above the {} maximum", human(max));
    let max_ms = max.as_millis();
    if s.bytes().all(|b| b.is_ascii_digit()) {
        let ms = s
            .parse::<u128>()
            .ok()
            .and_then(|secs| secs.checked_mul(1000))
            .filter(|ms| *ms <= max_ms)
            .ok_or_else(too_long)?;
        return Ok(millis(ms));
    }
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(|| format!("{s:?} has a number without a unit: use s, m or h (30s, 2m)"))?;
        if digits == 0 {
            return Err(format!(
                "{s:?} is not a duration: expected e.g. 30s, 2m or 1h30m"
            ));
        }
        let number = &rest[..digits];
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let unit_ms: u128 = match unit {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            other => {
                return Err(format!("{s:?}: unknown unit {other:?}; use ms, s, m or h"));
            }
        };
        let part = scaled(number, unit_ms)
            .ok_or_else(|| format!("{s:?}: {number:?} is not a number"))?
            .ok_or_else(too_long)?;
        total = total
            .checked_add(part)
            .filter(|t| *t <= max_ms)
            .ok_or_else(too_long)?;
    }
    Ok(millis(total))
}

/// `number` (decimal, e.g. `1.25`) times `unit_ms`, in whole milliseconds: `None` when it is
/// not a number, `Some(None)` when it overflows.
fn scaled(number: &str, unit_ms: u128) -> Option<Option<u128>> {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Digits beyond a millisecond's resolution cannot matter: keep at most 12.
    let frac = &frac[..frac.len().min(12)];
    let whole = if int.is_empty() {
        Some(0)
    } else {
        int.parse::<u128>().ok()
    };
    let Some(whole) = whole.and_then(|w| w.checked_mul(unit_ms)) else {
        return Some(None);
    };
    let frac_ms = if frac.is_empty() {
        0
    } else {
        let digits: u128 = frac.parse().unwrap_or(0);
        digits * unit_ms / 10u128.pow(frac.len() as u32)
    };
    Some(whole.checked_add(frac_ms))
}

fn millis(ms: u128) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_forms_parse() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration(".5m"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn bad_durations_say_what_is_expected() {
        for bad in ["", "s", "30x", "3 0s", "1.2.3s", "m5", ".s", "-1s"] {
            let e = parse_duration(bad).expect_err(bad);
            assert!(
                e.contains("duration") || e.contains("unit") || e.contains("number"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn huge_values_are_errors_not_panics() {
        for huge in [
            "99999999999999999999s",
            "9999999999999999h",
            "340282366920938463463374607431768211456",
            "99999999999999999999999999999999999999999h",
            "25h",
            "23h61m",
        ] {
            let e = parse_duration(huge).expect_err(huge);
            assert!(e.contains("above the 24h maximum"), "{huge}: {e}");
        }
    }

    #[test]
    fn the_timeout_range_names_its_bounds() {
        assert_eq!(
            parse_timeout("500ms"),
            Err("\"500ms\" is below the 1s minimum".to_string())
        );
        assert_eq!(
            parse_timeout("11m"),
            Err("\"11m\" is above the 10m maximum".to_string())
        );
        assert_eq!(parse_timeout("10m"), Ok(TIMEOUT_MAX));
        assert_eq!(parse_timeout("1s"), Ok(TIMEOUT_MIN));
    }
}
