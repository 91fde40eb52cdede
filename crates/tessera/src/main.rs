//! `tessera`: serve, migrate, clients, keys, version.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tessera::clients::ClientsCommand;
use tessera::keys::KeysCommand;
use tessera::users::UsersCommand;
use tessera::{Config, LogFormat};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Tessera: self-hosted identity and access service.
#[derive(Parser)]
#[command(name = "tessera", version, about, long_about = None)]
struct Cli {
    /// TOML configuration file (optional; env TESSERA_* overrides it).
    #[arg(long, global = true, env = "TESSERA_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (applies migrations first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage OAuth clients (create, list, rotate-secret, delete).
    Clients {
        #[command(subcommand)]
        command: ClientsCommand,
    },
    /// Manage signing keys (list, rotate).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage accounts from the shell (create the first super_admin).
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Print the version.
    Version,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Version = cli.command {
        println!("tessera {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let loaded = match Config::load(cli.config.as_deref()) {
        Ok(loaded) => loaded,
        Err(err) => {
            eprintln!("tessera: {err}");
            return ExitCode::from(2);
        }
    };
    // The clients and keys commands print results on stdout (JSON with
    // --json), so their logs go to stderr.
    if matches!(
        cli.command,
        Command::Clients { .. } | Command::Keys { .. } | Command::Users { .. }
    ) {
        init_logging(&loaded.config, std::io::stderr);
    } else {
        init_logging(&loaded.config, std::io::stdout);
    }
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("tessera: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let config = loaded.config;
    let command = match cli.command {
        Command::Clients { command } => return runtime.block_on(tessera::clients::run(&config, command)),
        Command::Keys { command } => return runtime.block_on(tessera::keys::run(&config, command)),
        Command::Users { command } => return runtime.block_on(tessera::users::run(&config, command)),
        other => other,
    };
    let result = runtime.block_on(async move {
        match command {
            Command::Serve => {
                let listener = tokio::net::TcpListener::bind(&config.listen)
                    .await
                    .with_context(|| format!("cannot listen on {}", config.listen))?;
                tessera::run(&config, listener, shutdown_signal()).await
            }
            Command::Migrate => {
                tessera::migrate(&config).await?;
                tracing::info!("migrations applied");
                Ok(())
            }
            Command::Version | Command::Clients { .. } | Command::Keys { .. } | Command::Users { .. } => {
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "tessera stopped with an error");
            eprintln!("tessera: {err:#}");
            if err.downcast_ref::<tessera::RefusedToStart>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn init_logging<W>(config: &Config, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match config.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        LogFormat::Text => builder.init(),
    }
}

/// Resolves on SIGINT or SIGTERM; the server then drains in-flight requests.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
