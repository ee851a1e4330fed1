//! The `tandem` binary: parse the configuration, set up logging, then serve or run an admin
//! command.

use std::{io::Write, process::ExitCode};

use clap::Parser;
use server::config::{Cli, Command, Config, LogFormat};
use tracing_subscriber::EnvFilter;

/// The built site (`target/site`: wasm, JS, CSS, Monaco, icons), when this binary carries it.
/// Only the binary embeds it, so the library and its tests build the same with or without.
#[cfg(feature = "embed-site")]
static SITE: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/../target/site");

fn init_tracing(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed here, before the server says it
/// is listening: a supervisor (or test) that signals right after that line must get a graceful
/// stop, not the default action of a signal nobody handles yet.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutdown signal received; finishing in-flight requests");
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl+C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutdown signal received; finishing in-flight requests");
    })
}

async fn run(cli: Cli) -> server::error::Result<()> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(config.bind).await?;
            let embed = config.site_root.is_none();
            #[cfg_attr(not(feature = "embed-site"), allow(unused_mut))]
            let mut state = server::prepare(config).await?;
            #[cfg(feature = "embed-site")]
            if embed {
                state.site = server::http::site::Site::embedded(&SITE);
            }
            if !state.site.is_embedded() && embed {
                tracing::info!(site = %state.config.site_dir().display(), "serving the site from a folder");
            }
            let shutdown = shutdown_signal()?;
            let addr = listener.local_addr()?;
            // One line on stdout for whoever started us on port 0 (tests, `cargo xtask`).
            // `writeln!`, not `println!`: a parent that stopped reading must not make us panic.
            let _ = writeln!(std::io::stdout(), "listening on http://{addr}");
            tracing::info!(
                %addr,
                database = server::db::migrate::backend_name(&state.db),
                "Tandem is listening"
            );
            server::serve(state, listener, shutdown).await?;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Migrate => server::admin::migrate(config).await,
        Command::User(cmd) => server::admin::user(config, cmd).await,
        Command::Project(cmd) => server::admin::project(config, cmd).await,
        Command::Token {
            user,
            project,
            doc,
            ttl,
        } => server::admin::token(config, user, project, doc, ttl).await,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(&cli.config);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "tandem failed");
            eprintln!("tandem: {e}");
            ExitCode::FAILURE
        }
    }
}
