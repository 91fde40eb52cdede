//! The `tessera` binary's library half: configuration, picking the store
//! engine once from the database URL, and the composition root
//! ([`App::builder`]) that assembles the server and the admin commands'
//! services. The HTTP test suite starts servers through the same builder
//! `main` uses, swapping ports (a manual clock, captured mail).
#![forbid(unsafe_code)]

mod app;
pub mod clients;
pub mod command;
pub mod config;
pub mod database;
mod directory;
mod identifiers;
pub mod keys;
mod mailer;
pub mod master_key;
pub mod users;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tessera_store::Store;
use tokio::net::TcpListener;

pub use app::{App, AppBuilder, RefusedToStart, Services};
pub use config::{Config, DatabaseEngine, LogFormat, Overrides};

/// What the configured database holds, found without creating anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseState {
    /// The SQLite file does not exist (this path was looked for).
    Missing(std::path::PathBuf),
    /// The database exists but Tessera's migrations never ran in it.
    Unmigrated,
    /// A Tessera database.
    Migrated,
}

/// Whether the configured database exists and is Tessera's, without
/// creating it: a missing SQLite file is not opened (opening creates it).
pub async fn database_state(config: &Config) -> anyhow::Result<DatabaseState> {
    if DatabaseEngine::of_url(&config.database_url) == Some(DatabaseEngine::Sqlite) {
        if let Some(path) = tessera_sqlite::database_file(&config.database_url)? {
            if !path.exists() {
                return Ok(DatabaseState::Missing(path));
            }
        }
    }
    let store = open_store(config).await?;
    let migrated = store
        .is_migrated()
        .await
        .context("cannot tell whether the database holds Tessera's schema")?;
    Ok(if migrated {
        DatabaseState::Migrated
    } else {
        DatabaseState::Unmigrated
    })
}

/// Opens the store the database URL names (with [`database_state`], the
/// only places that look at the scheme). SQLite files and their directory
/// are created if missing.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = &config.database_url;
    let pool_size = config.database_max_connections;
    match DatabaseEngine::of_url(url) {
        Some(DatabaseEngine::Sqlite) => {
            if config.database_url == format!("sqlite://{}", config.data_dir.join("tessera.db").display()) {
                std::fs::create_dir_all(&config.data_dir)
                    .with_context(|| format!("cannot create data_dir {}", config.data_dir.display()))?;
            }
            let store = tessera_sqlite::connect(url)
                .await
                .context("cannot open the SQLite database")?;
            Ok(Arc::new(store))
        }
        Some(DatabaseEngine::Postgres) => {
            let store = tessera_postgres::connect(url, pool_size)
                .await
                .context("cannot connect to PostgreSQL")?;
            Ok(Arc::new(store))
        }
        Some(DatabaseEngine::MySql) => {
            let store = tessera_mysql::connect(url, pool_size)
                .await
                .context("cannot connect to MariaDB / MySQL")?;
            Ok(Arc::new(store))
        }
        None => anyhow::bail!("database_url: unknown database engine"),
    }
}

/// Applies the backend's migrations, then puts stored emails and usernames
/// into canonical form ([`RefusedToStart`] when two accounts collide).
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    store.migrate().await.context("migrations failed")?;
    identifiers::canonicalise(store.as_ref()).await
}

/// Builds the application and serves it on `listener` until `shutdown`.
pub async fn run(
    config: &Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let built = App::builder(config).build().await?;
    let app = built.router;
    if let Some(address) = &config.metrics_listen {
        let metrics = TcpListener::bind(address)
            .await
            .with_context(|| format!("metrics_listen: cannot listen on {address}"))?;
        tracing::info!(listen = %address, "metrics listener ready");
        let router = built.metrics_router;
        let limits = config.connection_limits();
        tokio::spawn(async move {
            if let Err(err) = tessera_server::serve(metrics, router, limits, std::future::pending()).await {
                tracing::error!(error = %err, "metrics listener stopped");
            }
        });
    }
    tracing::info!(
        listen = %listener.local_addr()?,
        issuer = %config.issuer,
        database = %config::redact_url(&config.database_url),
        "tessera ready"
    );
    tessera_server::serve(listener, app, config.connection_limits(), shutdown).await?;
    tracing::info!("shut down cleanly");
    Ok(())
}
