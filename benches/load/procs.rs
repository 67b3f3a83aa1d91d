//! The servers under test, each its own process so that its memory is its own: the release
//! gateway binary in each mode and, when its npm packages are installed, Apollo Server.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use crate::wrk::Shot;

/// A server process, killed when dropped.
pub(crate) struct Server {
    pub name: &'static str,
    pub address: SocketAddr,
    child: Child,
}

impl Server {
    /// The gateway binary that `cargo bench` built, on a free loopback port.
    pub(crate) fn gateway(name: &'static str, args: &[&str]) -> Server {
        Server::gateway_at(env!("CARGO_BIN_EXE_gpo-gateway"), name, args)
    }

    /// The gateway binary at `bin` (another build, for an A/B in one run), as [`gateway`](Self::gateway).
    pub(crate) fn gateway_at(bin: &str, name: &'static str, args: &[&str]) -> Server {
        let mut command = Command::new(bin);
        // Every load comes from one address, and a run's 32 connections may still be closing
        // when the next run opens its own: the per-address cap is raised as behind a proxy.
        command
            .args(["--listen", "127.0.0.1:0"])
            .args(["--max-connections-per-address", "512"])
            .args(args);
        Server::start(name, command).expect("the gateway starts")
    }

    /// Apollo Server 5 over an in-memory Map (`benches/apollo`), when `npm ci` was run there.
    pub(crate) fn apollo() -> Option<Server> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/apollo");
        if !std::path::Path::new(dir).join("node_modules").exists() {
            eprintln!(
                "Apollo Server comparison skipped: run `npm ci` in benches/apollo (benches/load.sh does)"
            );
            return None;
        }
        let mut command = Command::new("node");
        command.current_dir(dir).arg("server.mjs");
        Some(Server::start("Apollo Server 5", command).expect("Apollo Server starts"))
    }

    /// Starts `command` and waits for the line where it prints its `http://ADDRESS/` URL.
    fn start(name: &'static str, mut command: Command) -> std::io::Result<Server> {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().expect("a piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let address = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("{name} exited before printing its address"))?;
            // The gateway's first line names its upstream ("serving http://…" in graph
            // mode): its own address is on the lines after.
            if line.contains(" serving ") {
                continue;
            }
            let found = line.split("http://").nth(1).and_then(|rest| {
                rest.split('/')
                    .next()
                    .and_then(|a| a.parse::<SocketAddr>().ok())
            });
            if let Some(address) = found {
                break address;
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Server {
            name,
            address,
            child,
        })
    }

    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|line| {
                line.strip_prefix(field)?
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or(0)
    }

    /// Resident memory now, in KiB.
    pub(crate) fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// The most resident memory the process has had, in KiB.
    pub(crate) fn peak_rss_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `shot` once and returns the body, which must be a 200 without GraphQL errors.
pub(crate) async fn send(client: &reqwest::Client, address: SocketAddr, shot: &Shot) -> String {
    let url = format!("http://{address}{}", shot.path);
    let method = reqwest::Method::from_bytes(shot.method.as_bytes()).expect("a method");
    let mut request = client.request(method, url);
    for (name, value) in &shot.headers {
        request = request.header(*name, value);
    }
    if let Some(body) = &shot.body {
        request = request.body(body.clone());
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status();
    let body = response.text().await.expect("a body");
    assert!(
        status.is_success() && !body.contains("\"errors\""),
        "set-up request failed: {status} {body}"
    );
    body
}

/// Issue 21's lever 5 beside the row it would replace: `store: by id` served by a gateway
/// started with `--runtime per-core` (a current-thread runtime and listener per core).
impl crate::Bench {
    pub(crate) fn run_per_core(&mut self, lookup: &Shot) {
        let per_core = Server::gateway("store, per-core runtime", &["--runtime", "per-core"]);
        let name = "store: by id (per-core runtime)";
        self.run(name, per_core.address, lookup, Some("store: by id"));
    }
}
