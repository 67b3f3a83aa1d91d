//! Start-up only: read configuration, build the app, serve until SIGINT/SIGTERM, drain.

use std::time::Duration;

use clap::Parser;
use gpo_gateway::Config;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let config = Config::parse();
    let app = match gpo_gateway::app(&config) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("gpo-gateway: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("gpo-gateway: cannot listen on {}: {e}", config.listen);
            return std::process::ExitCode::FAILURE;
        }
    };
    let address = listener.local_addr().unwrap_or(config.listen);
    let backend = match config.backend {
        gpo_gateway::BackendKind::Store => "in-process store",
        gpo_gateway::BackendKind::Graph => config.graph_url.as_str(),
    };
    println!(
        "gpo-gateway {} serving {backend}\n  playground: http://{}/\n  endpoint:   http://{}/graphql",
        env!("CARGO_PKG_VERSION"),
        address,
        address
    );

    let state = app.state.clone();
    let drain = Duration::from_secs_f64(config.shutdown_timeout.max(0.0));
    let shutdown = async move {
        shutdown_signal().await;
        tracing::info!(?drain, "shutting down: draining in-flight requests");
        state.set_draining();
        // Bound the drain: long-lived WebSockets must not keep the process alive forever.
        tokio::spawn(async move {
            tokio::time::sleep(drain).await;
            tracing::warn!("drain time is up; exiting with requests still open");
            std::process::exit(0);
        });
    };
    if let Err(e) = axum::serve(listener, app.router)
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("gpo-gateway: server error: {e}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
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
