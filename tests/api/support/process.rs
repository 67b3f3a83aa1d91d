//! Starting and stopping the real binary: start it on a free port and read where it serves
//! from its banner, then stop it with SIGTERM and collect its log.

use std::io::{BufRead, BufReader, Lines, Read};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Starts the binary with `args`; returns it and the address it serves on.
pub(crate) fn start(args: &[&str]) -> (Child, String) {
    start_with_env(args, &[])
}

/// Starts the binary with `args` and the environment variables `env`.
pub(crate) fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    let (child, addr, _) = start_reading(args, env);
    (child, addr)
}

/// Starts the binary; also returns the rest of its standard output, line by line.
pub(crate) fn start_reading(
    args: &[&str],
    env: &[(&str, &str)],
) -> (Child, String, Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gpo-gateway"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let banner = lines.next().expect("a banner").expect("text");
    assert!(banner.starts_with("gpo-gateway"), "{banner}");
    let playground = lines.next().expect("a line").expect("text");
    let url = playground
        .split_whitespace()
        .last()
        .expect("the playground URL")
        .to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with('/'),
        "{playground}"
    );
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    (child, addr, lines)
}

/// Sends SIGTERM and waits (at most 10 s) for the exit; returns its status and the log.
pub(crate) async fn terminate(mut child: Child) -> (ExitStatus, String) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut log = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut log)
        .expect("log");
    (exit, log)
}
