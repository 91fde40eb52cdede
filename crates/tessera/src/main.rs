//! `tessera`: serve, migrate, clients, keys, users, version.
#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tessera::clients::ClientsCommand;
use tessera::command::Target;
use tessera::keys::KeysCommand;
use tessera::users::UsersCommand;
use tessera::{Config, LogFormat, Overrides};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Where the settings come from and where the data lives, for `--help`.
const ENVIRONMENT_HELP: &str = "\
Configuration: built-in defaults, then the --config file, then TESSERA_*
environment variables, then the flags above (each overrides the previous).
Key variables:
  TESSERA_LISTEN         address to listen on [default: 127.0.0.1:8080]
  TESSERA_ISSUER         public base URL, the iss of tokens [default: http://<listen>]
  TESSERA_DATA_DIR       data directory [default: ./tessera-data]
  TESSERA_DATABASE_URL   sqlite://FILE, postgres://… or mysql://…
                         [default: sqlite://<data_dir>/tessera.db]
  TESSERA_MASTER_KEY, TESSERA_MASTER_KEY_FILE
                         key encrypting the signing keys [default: generated
                         into <data_dir>/master.key]
  TESSERA_SMTP_URL       smtp://user:pass@host:587 (STARTTLS) or smtps://…
                         [default: none; mail is written as .eml files to
                         <data_dir>/outbox]
  TESSERA_LOG, TESSERA_LOG_FORMAT
                         log filter [info] and format, json or text [json]
  TESSERA_CONFIG         the TOML file, as --config
  NO_COLOR               set: no colour codes in text logs (never any when the
                         log does not go to a terminal)

Data: by default ./tessera-data/tessera.db (SQLite) and
./tessera-data/master.key, relative to the current directory: back up both.
Every command names its database on stderr. Reference: docs/cli.md,
docs/configuration.md.";

/// For the admin command groups: the database guard.
const ADMIN_HELP: &str = "\
The database must exist already (a SQLite file where the configuration
points, or a server database with Tessera's schema): otherwise the command
creates nothing and exits with status 2, naming where it looked. Point at the
right one with --data-dir, TESSERA_DATA_DIR or TESSERA_DATABASE_URL, or pass
--create to start a new one. Run `tessera --help` for every variable.";

/// Tessera: self-hosted identity and access service.
#[derive(Parser)]
#[command(name = "tessera", version, about, long_about = None, after_help = ENVIRONMENT_HELP)]
struct Cli {
    /// TOML configuration file (optional; env TESSERA_* overrides it).
    #[arg(long, global = true, env = "TESSERA_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory: the default SQLite file and a generated master key
    /// live here (overrides TESSERA_DATA_DIR) [default: ./tessera-data].
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (applies migrations first; creates the database and a
    /// master key on the first start).
    #[command(after_help = ENVIRONMENT_HELP)]
    Serve(ServeArgs),
    /// Apply database migrations and exit (creates the database if missing).
    #[command(after_help = ENVIRONMENT_HELP)]
    Migrate,
    /// Manage OAuth clients (create, list, rotate-secret, delete).
    #[command(after_help = ADMIN_HELP)]
    Clients {
        #[command(flatten)]
        target: Target,
        #[command(subcommand)]
        command: ClientsCommand,
    },
    /// Manage signing keys (list, rotate).
    #[command(after_help = ADMIN_HELP)]
    Keys {
        #[command(flatten)]
        target: Target,
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage accounts from the shell (create, list, show, set-password,
    /// grant-role, revoke-role, suspend, reactivate).
    #[command(after_help = ADMIN_HELP)]
    Users {
        #[command(flatten)]
        target: Target,
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Print the version.
    Version,
}

/// Flags of `tessera serve`.
#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (overrides TESSERA_LISTEN) [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Public base URL, the `iss` of tokens (overrides TESSERA_ISSUER)
    /// [default: http://<listen>].
    #[arg(long, value_name = "URL")]
    issuer: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Version = cli.command {
        println!("tessera {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let mut overrides = Overrides {
        data_dir: cli.data_dir,
        ..Overrides::default()
    };
    if let Command::Serve(args) = &cli.command {
        overrides.listen = args.listen.clone();
        overrides.issuer = args.issuer.clone();
    }
    let loaded = match Config::load_with(cli.config.as_deref(), &overrides) {
        Ok(loaded) => loaded,
        Err(err) => {
            eprintln!("tessera: {err}");
            return ExitCode::from(2);
        }
    };
    // The admin commands print results on stdout (JSON with --json), so
    // their logs go to stderr.
    if matches!(
        cli.command,
        Command::Clients { .. } | Command::Keys { .. } | Command::Users { .. }
    ) {
        let ansi = std::io::stderr().is_terminal();
        init_logging(&loaded.config, std::io::stderr, ansi);
    } else {
        let ansi = std::io::stdout().is_terminal();
        init_logging(&loaded.config, std::io::stdout, ansi);
    }
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let config = loaded.config;
    // On stderr whatever the log format, so that an operator always sees
    // which database a command is about to use.
    eprintln!("database: {}", tessera::database::location(&config));
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("tessera: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(execute(cli.command, config))
}

/// Runs `command` with `config`: an admin command reports its own
/// outcome; `serve` and `migrate` end here with their exit status.
async fn execute(command: Command, config: Config) -> ExitCode {
    let result = match command {
        Command::Clients { target, command } => {
            return tessera::clients::run(&config, &target, command).await
        }
        Command::Keys { target, command } => return tessera::keys::run(&config, &target, command).await,
        Command::Users { target, command } => return tessera::users::run(&config, &target, command).await,
        Command::Serve(_) => serve(&config).await,
        Command::Migrate => tessera::migrate(&config)
            .await
            .map(|()| tracing::info!("migrations applied")),
        Command::Version => Ok(()),
    };
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

/// `tessera serve`: binds the listen address (naming it if it cannot) and
/// serves until a shutdown signal.
async fn serve(config: &Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tessera::run(config, listener, shutdown_signal()).await
}

/// Starts the log subscriber writing to `writer`. Text logs carry colour
/// codes only when `writer` is a terminal (`ansi`) and `NO_COLOR` is not
/// set (https://no-color.org): piped into a file or a collector they would
/// be noise.
fn init_logging<W>(config: &Config, writer: W, ansi: bool)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    let filter = EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi && !no_color)
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
