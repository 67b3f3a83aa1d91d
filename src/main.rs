//! Start-up only: read configuration, build the app, serve until SIGINT/SIGTERM, drain.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use gpo_gateway::Config;
use gpo_gateway::http::serve::{ConnectionLimits, Drained, serve};
use tracing_subscriber::EnvFilter;

/// Exit status when the drain time ran out with requests still being served.
const EXIT_DRAIN_CUT_OFF: u8 = 3;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let config = Config::parse();
    if let Some(path) = &config.export_store {
        return match gpo_gateway::backend::store::export_store(&config, path) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("gpo-gateway: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let app = match gpo_gateway::app(&config) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("gpo-gateway: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("gpo-gateway: cannot listen on {}: {e}", config.listen);
            return ExitCode::FAILURE;
        }
    };
    let address = listener.local_addr().unwrap_or(config.listen);
    let backend = match config.backend {
        gpo_gateway::BackendKind::Store => "in-process store",
        gpo_gateway::BackendKind::Graph => config.graph_url.as_str(),
    };
    // A closed stdout (a supervisor that stopped reading) must not take the server down.
    let _ = writeln!(
        std::io::stdout(),
        "gpo-gateway {} serving {backend}\n  playground: http://{address}/\n  endpoint:   http://{address}/graphql",
        env!("CARGO_PKG_VERSION"),
    );

    let state = app.state.clone();
    let drain = config.shutdown_timeout;
    let shutdown = async move {
        shutdown_signal().await;
        tracing::info!(?drain, "shutting down: draining in-flight requests");
        state.set_draining();
    };
    let limits = ConnectionLimits::from_config(&config);
    match serve(listener, app.router, limits, shutdown, drain).await {
        Drained::Clean => {
            tracing::info!("drained: every request finished");
            ExitCode::SUCCESS
        }
        Drained::CutOff { connections } => {
            tracing::error!(
                connections,
                ?drain,
                "drain time is up; exiting with requests still in flight"
            );
            ExitCode::from(EXIT_DRAIN_CUT_OFF)
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
