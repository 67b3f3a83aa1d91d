//! `LOAD_ONLY=graph`: graph mode alone (the upstream read called directly, one lookup, 100
//! aliased lookups, at 1 and 32 connections, and each gateway's peak RSS), quick enough to
//! repeat while working on graph mode. `LOAD_COMPARE_BIN=path` runs another gateway binary (a
//! copy of an earlier build) through the same scenarios in the same run, for an A/B on one
//! machine at one moment.

use std::time::Duration;

use crate::{Bench, FILE, OP, Shot, aliased_lookups, by_id, check, numbered_id, peers, procs};

/// The operations of the file the graph lookups read: OP and the hundred aliased ids.
pub(crate) fn operations() -> Vec<String> {
    std::iter::once(OP.to_owned())
        .chain((0..100).map(numbered_id))
        .collect()
}

pub(crate) fn run(seconds: u32) {
    let upstream = peers::upstream(Duration::ZERO, &operations());
    let args = [
        "--backend".to_owned(),
        "graph".to_owned(),
        "--graph-url".to_owned(),
        format!("http://{upstream}/beta"),
        // The gateway's own cost is measured here, not the tenant's Intune budget.
        "--tenant-read-budget".to_owned(),
        "1000000".to_owned(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let this = procs::Server::gateway("graph", &args);
    let compare = std::env::var("LOAD_COMPARE_BIN")
        .ok()
        .map(|bin| procs::Server::gateway_at(&bin, "graph (LOAD_COMPARE_BIN)", &args));
    let direct = Shot {
        method: "GET",
        path: format!(
            "/beta/deviceManagement/groupPolicyUploadedDefinitionFiles/{FILE}?$expand=groupPolicyOperations"
        ),
        headers: vec![],
        body: None,
    };
    let mut bench = Bench {
        seconds,
        rows: Vec::new(),
    };
    const DIRECT: &str = "upstream direct: GET file, $expand";
    bench.run(DIRECT, upstream, &direct, None);
    let gateways: Vec<&procs::Server> = std::iter::once(&this).chain(compare.as_ref()).collect();
    // Each scenario on every gateway in turn, so a change in the machine's load between runs
    // falls on both sides of the comparison.
    let scenarios = [
        ("by id", by_id(FILE, OP)),
        ("100 aliased lookups", aliased_lookups(FILE, 100)),
    ];
    for (scenario, shot) in &scenarios {
        for gateway in &gateways {
            let name = format!("{}: {scenario}", gateway.name);
            bench.run(&name, gateway.address, shot, Some(DIRECT));
        }
    }
    println!("\n## Graph mode ({seconds} s per run, wrk -t1)\n");
    bench.print();
    println!("\n| process | peak RSS MiB |\n|---|---:|");
    for gateway in &gateways {
        println!(
            "| gateway, {} | {:.1} |",
            gateway.name,
            gateway.peak_rss_kib() as f64 / 1024.0
        );
    }
    println!("\n### Targets (issue 21, graph mode)\n");
    for gateway in &gateways {
        let (graph1, direct1) = (
            bench.find(&format!("{}: by id", gateway.name), 1),
            bench.find(DIRECT, 1),
        );
        check(
            &format!("{}: adds <= 0.25 ms p50 at 1 connection", gateway.name),
            graph1.p50_ms - direct1.p50_ms <= 0.25,
            format!("{:+.3} ms", graph1.p50_ms - direct1.p50_ms),
        );
        check(
            &format!("{}: adds <= 1 ms p99 at 1 connection", gateway.name),
            graph1.p99_ms - direct1.p99_ms <= 1.0,
            format!("{:+.3} ms", graph1.p99_ms - direct1.p99_ms),
        );
        let peak = gateway.peak_rss_kib() as f64 / 1024.0;
        check(
            &format!("{}: peak RSS <= 48 MB", gateway.name),
            peak <= 48.0 * 1e6 / 1048576.0,
            format!("{peak:.1} MiB"),
        );
    }
}
