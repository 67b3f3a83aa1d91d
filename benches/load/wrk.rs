//! Drives a server with `wrk` (one thread, as in the issue's measurements) and reads back
//! req/s, p50, p99 and how many answers were not a 200 free of GraphQL errors.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::Command;

/// One HTTP request the load repeats.
#[derive(Clone)]
pub(crate) struct Shot {
    pub method: &'static str,
    /// Path and query string.
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<String>,
}

/// What one wrk run measured.
pub(crate) struct Measured {
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub requests: u64,
    /// Answers that were not a 200, or whose body held `"errors"`.
    pub bad: u64,
    /// The first such answer (status and the start of the body), for the failure message.
    pub first_bad: String,
}

fn lua_string(text: &str) -> String {
    let mut out = String::from("\"");
    for byte in text.bytes() {
        match byte {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(byte as char);
            }
            0x20..=0x7e => out.push(byte as char),
            other => {
                let _ = write!(out, "\\{other:03}");
            }
        }
    }
    out.push('"');
    out
}

fn script(shot: &Shot) -> String {
    let mut lua = format!("wrk.method = {}\n", lua_string(shot.method));
    let _ = writeln!(lua, "wrk.path = {}", lua_string(&shot.path));
    if let Some(body) = &shot.body {
        let _ = writeln!(lua, "wrk.body = {}", lua_string(body));
    }
    for (name, value) in &shot.headers {
        let _ = writeln!(
            lua,
            "wrk.headers[{}] = {}",
            lua_string(name),
            lua_string(value)
        );
    }
    lua.push_str(
        r#"
bad = 0
first_bad = ""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    bad = bad + 1
    if first_bad == "" then first_bad = status .. " " .. string.sub(body, 1, 300) end
  end
end
function done(summary, latency, requests)
  local total_bad = 0
  local example = ""
  for _, thread in ipairs(threads) do
    total_bad = total_bad + thread:get("bad")
    if example == "" then example = thread:get("first_bad") end
  end
  io.write(string.format("GPO_FIRST_BAD %s\n", string.gsub(example, "\n", " ")))
  io.write(string.format("GPO_RPS %f\n", summary.requests / (summary.duration / 1e6)))
  io.write(string.format("GPO_P50 %f\n", latency:percentile(50) / 1000))
  io.write(string.format("GPO_P99 %f\n", latency:percentile(99) / 1000))
  io.write(string.format("GPO_REQUESTS %d\n", summary.requests))
  io.write(string.format("GPO_BAD %d\n", total_bad + summary.errors.status))
end
"#,
    );
    lua
}

/// Runs `shot` against `address` with `connections` for `seconds`.
pub(crate) fn run(address: SocketAddr, shot: &Shot, connections: u32, seconds: u32) -> Measured {
    let dir = std::env::temp_dir().join(format!("gpo-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let path = dir.join("shot.lua");
    std::fs::write(&path, script(shot)).expect("the wrk script");
    let output = Command::new("wrk")
        .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s")])
        .arg("-s")
        .arg(&path)
        .arg(format!("http://{address}"))
        .output()
        .expect("wrk runs (install it with `apt-get install wrk`, or run benches/load.sh)");
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |name: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("wrk printed no {name}:\n{text}"))
    };
    Measured {
        requests_per_second: field("GPO_RPS"),
        p50_ms: field("GPO_P50"),
        p99_ms: field("GPO_P99"),
        requests: field("GPO_REQUESTS") as u64,
        bad: field("GPO_BAD") as u64,
        first_bad: text
            .lines()
            .find_map(|line| line.strip_prefix("GPO_FIRST_BAD"))
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}
