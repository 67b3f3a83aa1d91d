//! Durations on the command line and in the environment: parsed once, by clap, into a bounded
//! [`Duration`], so a typo or an absurd value is a clear start-up error naming the flag instead
//! of a panic or a timer that never fires.
//!
//! `humantime` reads the units (`500ms`, `1.5s`, `2m`, `1h`, `1h 30m`); what it does not know is
//! the form scripts have used since the first release, bare seconds (`30`, `2.5`), so a bare
//! number is read as seconds here before it is handed over.

use std::time::Duration;

/// What every error message shows the operator.
const FORMS: &str =
    "seconds such as `30` or `2.5`, or a number with a unit: `500ms`, `30s`, `2m`, `1h`";

/// `n` milliseconds, for writing bounds.
pub(crate) const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `n` seconds, for writing bounds.
pub(crate) const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Parses one duration, without bounds.
pub fn parse(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let bare_seconds =
        !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let parsed = if bare_seconds {
        humantime::parse_duration(&format!("{trimmed}s"))
    } else {
        humantime::parse_duration(trimmed)
    };
    parsed.map_err(|e| format!("`{trimmed}` is not a duration ({e}): expected {FORMS}"))
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
                "`{}` is out of range: allowed from {} to {}",
                text.trim(),
                humantime::format_duration(min),
                humantime::format_duration(max)
            ));
        }
        Ok(duration)
    }
}

#[cfg(test)]
mod tests;
