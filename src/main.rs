//! Start-up only: read configuration, set up logs and traces, then run a subcommand or build the
//! app, serve until SIGINT/SIGTERM and drain.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use std::sync::Arc;

use clap::Parser;
use gpo_gateway::Config;
use gpo_gateway::backend::cursor::CursorCodec;
use gpo_gateway::backend::store::Store;
use gpo_gateway::config::connections::RuntimeKind;
use gpo_gateway::config::{Command, StoreConfig};
use gpo_gateway::http::serve::{Drained, SharedLimits, bind_per_core, serve, serve_per_core};

/// Time given to blocking work (a parse, a database write) once serving has ended.
const EXIT_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// Exit status when the drain time ran out with requests still being served.
const EXIT_DRAIN_CUT_OFF: u8 = 3;

fn main() -> ExitCode {
    let config = Config::parse();
    if let Some(command) = &config.command {
        return run_command(command, &config);
    }
    if let Some(path) = &config.store.export_store {
        eprintln!("gpo-gateway: --export-store is deprecated; use `gpo-gateway export-store FILE`");
        return export_store(&config, path);
    }
    // Before the runtime: the trace exporter runs its own blocking HTTP client on a thread.
    let tracing = match gpo_gateway::telemetry::logs::init(config.telemetry.log_format) {
        Ok(tracing) => tracing,
        Err(e) => {
            eprintln!("gpo-gateway: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if config.connections.runtime == RuntimeKind::PerCore {
        // Connections get a runtime per core; this one keeps only the app's background tasks
        // (pollers, Redis, the metrics listener) and the signal handling.
        builder.worker_threads(1);
    }
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("gpo-gateway: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let status = runtime.block_on(serve_until_signal(config));
    // Not a plain drop, which waits for every blocking task: a definition file still being
    // parsed, or a write waiting for another process's database lock, must not hold the exit
    // (an unfinished SQLite transaction is rolled back on the next open).
    runtime.shutdown_timeout(EXIT_GRACE);
    if let Some(tracing) = tracing {
        tracing.shutdown();
    }
    status
}

/// Serves until SIGINT/SIGTERM, then drains.
async fn serve_until_signal(config: Config) -> ExitCode {
    let app = match gpo_gateway::app(&config) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("gpo-gateway: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listen = config.connections.listen;
    let listening = match Listening::bind(listen, config.connections.runtime).await {
        Ok(listening) => listening,
        Err(e) => {
            eprintln!("gpo-gateway: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let address = listening.address;
    let backend = match config.backend {
        gpo_gateway::BackendKind::Store => "in-process store",
        gpo_gateway::BackendKind::Graph => config.graph.graph_url.as_str(),
    };
    // A closed stdout (a supervisor that stopped reading) must not take the server down.
    let _ = writeln!(
        std::io::stdout(),
        "gpo-gateway {} serving {backend}\n  playground: http://{address}/\n  endpoint:   http://{address}/graphql\n  browsers:   {}",
        env!("CARGO_PKG_VERSION"),
        app.state.allowed_origins(),
    );

    if let Some(address) = config.telemetry.metrics_listen
        && let Err(e) = serve_metrics(address, app.metrics.clone()).await
    {
        eprintln!("gpo-gateway: cannot listen for metrics on {address}: {e}");
        return ExitCode::FAILURE;
    }

    let state = app.state.clone();
    let drain = config.connections.shutdown_timeout;
    let shutdown = async move {
        shutdown_signal().await;
        tracing::info!(?drain, "shutting down: draining in-flight requests");
        state.set_draining();
    };
    let metrics = app.state.metrics().clone();
    let drained = match listening.sockets {
        Sockets::Shared(listener) => {
            serve(
                listener,
                app.router,
                config.connections,
                shutdown,
                drain,
                metrics,
            )
            .await
        }
        Sockets::PerCore(sockets) => {
            let limits = SharedLimits::new(config.connections, metrics);
            match serve_per_core(sockets, app.router, limits, shutdown, drain).await {
                Ok(drained) => drained,
                Err(e) => {
                    eprintln!("gpo-gateway: cannot serve on {address}: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    match drained {
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

/// Where connections are accepted: one listener, or one socket per core sharing a port.
struct Listening {
    sockets: Sockets,
    address: SocketAddr,
}

enum Sockets {
    Shared(tokio::net::TcpListener),
    PerCore(Vec<std::net::TcpListener>),
}

impl Listening {
    async fn bind(listen: SocketAddr, runtime: RuntimeKind) -> std::io::Result<Self> {
        match runtime {
            RuntimeKind::Shared => {
                let listener = tokio::net::TcpListener::bind(listen).await?;
                let address = listener.local_addr().unwrap_or(listen);
                Ok(Listening {
                    sockets: Sockets::Shared(listener),
                    address,
                })
            }
            RuntimeKind::PerCore => {
                let cores = std::thread::available_parallelism().map_or(1, usize::from);
                let (sockets, address) = bind_per_core(listen, cores)?;
                Ok(Listening {
                    sockets: Sockets::PerCore(sockets),
                    address,
                })
            }
        }
    }
}

/// Serves `/metrics` on a listener of its own at `address`, for as long as the process runs.
async fn serve_metrics(address: SocketAddr, metrics: axum::Router) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let address = listener.local_addr().unwrap_or(address);
    let _ = writeln!(std::io::stdout(), "  metrics:    http://{address}/metrics");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, metrics).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(())
}

/// Runs a one-off task instead of serving.
fn run_command(command: &Command, config: &Config) -> ExitCode {
    match command {
        Command::Schema(args) => {
            // An empty store: the schema does not depend on data, and nothing is served.
            let store = Store::new(&StoreConfig::immediate(0), CursorCodec::new(None));
            let limits = gpo_gateway::graphql::Limits::new(&config.query);
            let schema = gpo_gateway::graphql::build_schema(Arc::new(store), limits);
            let sdl = if args.federation {
                gpo_gateway::graphql::federation_sdl(&schema)
            } else {
                gpo_gateway::graphql::client_sdl(&schema)
            };
            match std::io::stdout().write_all(sdl.as_bytes()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("gpo-gateway: cannot write the schema: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::ExportStore(args) => export_store(config, &args.file),
    }
}

/// Writes the store the store flags describe to `path` as a seed, and says how that went.
fn export_store(config: &Config, path: &std::path::Path) -> ExitCode {
    match gpo_gateway::export_store(config, path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gpo-gateway: {e}");
            ExitCode::FAILURE
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
