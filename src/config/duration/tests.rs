use clap::Parser;

use super::*;

#[test]
fn plain_seconds_keep_working() {
    assert_eq!(parse("30"), Ok(Duration::from_secs(30)));
    assert_eq!(parse("2.5"), Ok(Duration::from_millis(2500)));
    assert_eq!(parse("0"), Ok(Duration::ZERO));
    assert_eq!(parse(" 7 "), Ok(Duration::from_secs(7)));
}

#[test]
fn units_are_understood() {
    assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
    assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
    assert_eq!(parse(" 10 s "), Ok(Duration::from_secs(10)));
    assert_eq!(parse("1h 30m"), Ok(Duration::from_secs(5400)));
    assert_eq!(parse("90sec"), Ok(Duration::from_secs(90)));
}

#[test]
fn nonsense_is_an_error_never_a_panic() {
    for text in [
        "inf",
        "NaN",
        "-1",
        "1e20",
        "",
        " ",
        "s",
        "1.2.3",
        "0x10",
        "∞",
        "10 parsecs",
        ".",
        "5 days ago",
    ] {
        let error = parse(text).expect_err(text);
        assert!(error.contains("not a duration"), "{text}: {error}");
        assert!(error.contains("`500ms`"), "{text}: {error}");
    }
}

#[test]
fn huge_values_are_refused_by_the_bounds_or_the_parser() {
    let parser = between(Duration::from_millis(100), Duration::from_secs(600));
    let error = parser("99999999999").expect_err("too long");
    assert!(
        error.contains("out of range: allowed from 100ms to 10m"),
        "{error}"
    );
    // Beyond what a Duration holds: refused by the parser, never an overflow.
    assert!(parser("99999999999999999999999").is_err());
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
        "--store-processing-delay=250ms",
        "--idempotency-wait=1m 30s",
    ])
    .expect("valid durations");
    assert_eq!(
        config.graph.graph_connect_timeout,
        Duration::from_millis(2500)
    );
    assert_eq!(config.graph.graph_timeout, Duration::from_secs(120));
    assert_eq!(config.graph.poll_interval, Duration::from_millis(500));
    assert_eq!(config.http.keepalive, Duration::from_secs(20));
    assert_eq!(config.connections.shutdown_timeout, Duration::ZERO);
    assert_eq!(
        config.connections.header_read_timeout,
        Duration::from_secs(3)
    );
    assert_eq!(
        config.connections.body_read_timeout,
        Duration::from_millis(1500)
    );
    assert_eq!(config.http.request_timeout, Duration::from_secs(3600));
    assert_eq!(
        config.store.store_processing_delay,
        Duration::from_millis(250)
    );
    assert_eq!(config.idempotency.wait, Duration::from_secs(90));
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
        ("--redis-timeout", "20s", "allowed from 1ms to 10s"),
        ("--tenant-budget-window", "soon", "not a duration"),
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
