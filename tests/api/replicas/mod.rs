//! Several replicas sharing one Redis, against one fake Graph: persisted queries registered on
//! one replica are known to the other, the tenant budget holds across both, a 429 on one
//! pauses the other, and losing Redis degrades the gateway without stopping it.
//!
//! Each test starts its own `redis-server` (the Debian package; `.ci/run` installs it) on a
//! free port, without persistence, as a child process killed when the test ends; the
//! replicas are in-process apps.

mod apq;
mod budget;
mod idempotency;
mod key_store;
mod keys;
mod logs;
mod outage;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gpo_gateway::{BackendKind, Config};

use crate::support::helpers::{Mode, TOKEN, TestApp, config};
use fake_graph::FakeGraph;

/// A `redis-server` child process on a free loopback port.
pub(crate) struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one and waits until it answers PING.
    pub(crate) fn start() -> RedisServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = RedisServer { port, child: None };
        server.restart();
        server
    }

    /// `redis://127.0.0.1:PORT`
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (its data goes with it: no persistence).
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and waits until it answers.
    pub(crate) fn restart(&mut self) {
        self.kill();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (apt-get install redis-server; .ci/run does)");
        self.child = Some(child);
        let started = Instant::now();
        while !self.answers() {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "redis-server answers within 15 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// A plain client, for tests that look into Redis themselves.
    pub(crate) async fn client(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .expect("a URL")
            .get_multiplexed_async_connection()
            .await
            .expect("a connection")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The configuration of one replica of a Graph-mode gateway over `graph` sharing `redis`.
pub(crate) fn replica_config(graph: &FakeGraph, redis: &RedisServer) -> Config {
    let mut config = config();
    config.backend = BackendKind::Graph;
    config.graph.graph_url = graph.base_url();
    share_redis(&mut config, redis);
    config
}

/// Points `config` at `redis`, as every replica is.
fn share_redis(config: &mut Config, redis: &RedisServer) {
    config.redis.redis_url = Some(gpo_gateway::config::Secret(redis.url()));
    // A loaded test machine must not make a live Redis look unreachable (each replica would
    // then count alone, by design); a Redis that is down refuses connections at once anyway.
    config.redis.redis_timeout = Duration::from_secs(2);
}

/// A connection to `redis` as a replica makes one (see `replica_config`).
pub(crate) fn redis_connection(
    redis: &RedisServer,
) -> std::sync::Arc<gpo_gateway::shared_state::Redis> {
    let mut config = config();
    share_redis(&mut config, redis);
    gpo_gateway::shared_state::Redis::new(&config.redis)
        .expect("a Redis URL")
        .expect("configured")
}

/// A request for the persisted query `hash`, with its text `query` or without.
pub(crate) fn with_hash(query: Option<&str>, hash: &str) -> serde_json::Value {
    let mut body = serde_json::json!({
        "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } }
    });
    if let Some(query) = query {
        body["query"] = serde_json::json!(query);
    }
    body
}

/// A replica built from `config`, as `main` builds one.
pub(crate) fn replica(graph: &FakeGraph, config: &Config) -> TestApp {
    let app = gpo_gateway::app(config).expect("the gateway builds");
    TestApp {
        router: app.router,
        mode: Mode::Graph,
        graph: Some(graph.clone()),
        store: None,
        token: Some(TOKEN.to_owned()),
    }
}

/// Two replicas of `config` (made by `tune` from the default replica configuration).
pub(crate) async fn two_replicas(
    redis: &RedisServer,
    tune: impl Fn(&mut Config),
) -> (FakeGraph, TestApp, TestApp) {
    let graph = FakeGraph::spawn().await;
    let mut config = replica_config(&graph, redis);
    tune(&mut config);
    let a = replica(&graph, &config);
    let b = replica(&graph, &config);
    (graph, a, b)
}
