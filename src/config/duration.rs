//! Durations on the command line and in the environment: parsed once, by clap, into a bounded
//! [`Duration`], so a typo or an absurd value is a clear start-up error instead of a panic in
//! `Duration::from_secs_f64` or a timer that never fires.
//!
//! Accepted forms: plain seconds (`30`, `2.5`), or a number with one unit: `ms`, `s`, `m`, `h`
//! (`500ms`, `1.5s`, `2m`, `1h`).

use std::time::Duration;

/// What every error message shows the operator.
const FORMS: &str =
    "seconds such as `30` or `2.5`, or a number with a unit: `500ms`, `30s`, `2m`, `1h`";

/// Parses one duration, without bounds.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let seconds_per_unit = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("`{text}` is not a duration: expected {FORMS}")),
    };
    // Only digits and one dot reach here, so "inf", "NaN", "-1" and "1e20" were refused above.
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: expected {FORMS}"))?;
    // Non-negative by construction; only an overflow fails here, and the bounds refuse it.
    Ok(Duration::try_from_secs_f64(value * seconds_per_unit).unwrap_or(Duration::MAX))
}

/// A clap value parser for durations between `min` and `max` inclusive.
pub fn between(
    min: Duration,
    max: Duration,
) -> impl Fn(&str) -> Result<Duration, String> + Clone + Send + Sync + 'static {
    move |text| {
        let duration = parse(text)?;
        if duration < min || duration > max {
            return Err(format!(
                "`{text}` is out of range: allowed from {} to {}",
                show(min),
                show(max)
            ));
        }
        Ok(duration)
    }
}

/// A duration as the operator would write it.
fn show(duration: Duration) -> String {
    let (millis, secs) = (duration.as_millis(), duration.as_secs());
    if millis % 1000 != 0 {
        format!("{millis}ms")
    } else if secs >= 3600 && secs % 3600 == 0 {
        format!("{}h", secs / 3600)
    } else if secs >= 60 && secs % 60 == 0 {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn plain_seconds_keep_working() {
        assert_eq!(parse("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn units_are_understood() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse(" 10 s "), Ok(Duration::from_secs(10)));
    }

    #[test]
    fn nonsense_is_an_error_never_a_panic() {
        for text in [
            "inf", "NaN", "-1", "1e20", "", "s", "5 days", "1.2.3", "0x10", "∞", "10sec",
        ] {
            let error = parse(text).expect_err(text);
            assert!(error.contains("not a duration"), "{text}: {error}");
        }
    }

    #[test]
    fn huge_values_are_refused_by_the_bounds() {
        let parser = between(Duration::from_millis(100), Duration::from_secs(600));
        let error = parser("99999999999999999999").expect_err("too long");
        assert!(
            error.contains("out of range: allowed from 100ms to 10m"),
            "{error}"
        );
        assert!(parser("50ms").is_err());
        assert_eq!(parser("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parser("10m"), Ok(Duration::from_secs(600)));
        assert!(parser("601").is_err());
    }

    #[test]
    fn every_duration_flag_parses_plain_seconds_and_units() {
        let config = crate::Config::try_parse_from([
            "gpo-gateway",
            "--graph-connect-timeout=2.5",
            "--graph-timeout=2m",
            "--poll-interval=500ms",
            "--keepalive=20",
            "--shutdown-timeout=0",
            "--header-read-timeout=3s",
            "--body-read-timeout=1.5",
            "--request-timeout=1h",
        ])
        .expect("valid durations");
        assert_eq!(config.graph_connect_timeout, Duration::from_millis(2500));
        assert_eq!(config.graph_timeout, Duration::from_secs(120));
        assert_eq!(config.poll_interval, Duration::from_millis(500));
        assert_eq!(config.keepalive, Duration::from_secs(20));
        assert_eq!(config.shutdown_timeout, Duration::ZERO);
        assert_eq!(config.header_read_timeout, Duration::from_secs(3));
        assert_eq!(config.body_read_timeout, Duration::from_millis(1500));
        assert_eq!(config.request_timeout, Duration::from_secs(3600));
    }

    #[test]
    fn duration_flags_refuse_nonsense_and_out_of_range_values_with_the_flag_named() {
        for (flag, value, says) in [
            ("--keepalive", "inf", "not a duration"),
            ("--graph-timeout", "1e20", "not a duration"),
            ("--graph-timeout", "601", "allowed from 100ms to 10m"),
            ("--poll-interval", "10ms", "allowed from 50ms to 1h"),
            ("--shutdown-timeout", "-1", "not a duration"),
            ("--header-read-timeout", "0", "allowed from 100ms to 5m"),
            ("--body-read-timeout", "NaN", "not a duration"),
            ("--request-timeout", "2h", "allowed from 100ms to 1h"),
        ] {
            let error = crate::Config::try_parse_from(["gpo-gateway", &format!("{flag}={value}")])
                .expect_err(flag)
                .to_string();
            assert!(
                error.contains(flag) && error.contains(says),
                "{flag}={value}: {error}"
            );
        }
    }

    #[test]
    fn connection_and_load_caps_must_be_at_least_one() {
        for flag in [
            "--max-connections",
            "--max-connections-per-address",
            "--max-in-flight",
        ] {
            assert!(crate::Config::try_parse_from(["gpo-gateway", flag, "0"]).is_err());
            assert!(crate::Config::try_parse_from(["gpo-gateway", flag, "1"]).is_ok());
        }
    }
}
