//! The `tessera` binary's library half: configuration, picking the store
//! backend once from the database URL, and assembling the server. The HTTP
//! test suite starts servers through the same functions `main` uses.
#![forbid(unsafe_code)]

pub mod clients;
pub mod config;
pub mod keys;
pub mod master_key;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tessera_core::{
    AuthService, ClientAuthSettings, ClientService, KeyEncryptor, KeyRing, OidcService, PasswordHasher,
    ServiceSettings, SystemClock,
};
use tessera_postgres::PostgresStore;
use tessera_server::{AppState, HttpSettings};
use tessera_sqlite::SqliteStore;
use tessera_store::Store;
use tokio::net::TcpListener;

pub use config::{Config, LogFormat};

/// Opens the store the database URL names (the only place that looks at
/// the scheme). SQLite files and their directory are created if missing.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = &config.database_url;
    if url.starts_with("sqlite:") {
        if config.database_url == format!("sqlite://{}", config.data_dir.join("tessera.db").display()) {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("cannot create data_dir {}", config.data_dir.display()))?;
        }
        let store = SqliteStore::connect(url)
            .await
            .context("cannot open the SQLite database")?;
        Ok(Arc::new(store))
    } else {
        let store = PostgresStore::connect(url, config.database_max_connections)
            .await
            .context("cannot connect to PostgreSQL")?;
        Ok(Arc::new(store))
    }
}

/// After this long without a password hash, hashing memory is released.
const HASH_MEMORY_IDLE_PERIOD: std::time::Duration = std::time::Duration::from_secs(10);

/// Applies the backend's migrations.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    store.migrate().await.context("migrations failed")?;
    Ok(())
}

/// Builds the whole application: store (migrated), keys, service, router.
pub async fn build_app(config: &Config) -> anyhow::Result<axum::Router> {
    let store = open_store(config).await?;
    store.migrate().await.context("migrations failed")?;
    let master_key = master_key::resolve(config)?;
    let encryptor = KeyEncryptor::new(&master_key)?;
    let keys = Arc::new(KeyRing::new(
        store.clone(),
        encryptor,
        config.signing_alg,
        config.keys.cache_ttl_secs,
    ));
    let hasher = PasswordHasher::new(&config.password_hash)?;
    tokio::spawn(hasher.clone().release_memory_when_idle(HASH_MEMORY_IDLE_PERIOD));
    let settings = ServiceSettings {
        issuer: config.issuer.clone(),
        tokens: config.tokens.clone(),
        password_policy: config.password_policy.clone(),
        lockout: config.lockout.clone(),
    };
    let clock = Arc::new(SystemClock);
    let client_auth = ClientAuthSettings {
        issuer: config.issuer.clone(),
        leeway_secs: config.tokens.leeway_secs,
    };
    let clients = ClientService::start(store.clone(), clock.clone(), client_auth).await?;
    let auth = Arc::new(AuthService::start(store, hasher, keys, clock, settings).await?);
    let clients = Arc::new(clients);
    let oidc = Arc::new(OidcService::new(auth.clone(), clients.clone()));
    tokio::spawn(purge_expired_periodically(auth.clone()));
    let state = AppState {
        auth,
        clients,
        oidc,
        metrics: tessera_server::metrics_handle(),
        http: Arc::new(HttpSettings {
            cookie_mode_default: config.cookie_mode,
            secure_cookies: config.issuer_is_https(),
            cors_origins: config.cors_origins.clone(),
            max_body_bytes: config.max_body_bytes,
            refresh_cookie_max_age_secs: config.tokens.refresh_idle_ttl_secs,
            theme: config.theme.clone(),
        }),
    };
    Ok(tessera_server::router(state))
}

/// How often expired codes, browser sessions and revoked-token rows are
/// deleted.
const PURGE_PERIOD: std::time::Duration = std::time::Duration::from_secs(600);

/// Deletes expired rows every [`PURGE_PERIOD`] for as long as the server
/// runs. Every node does it; the deletes are idempotent, so overlapping
/// runs on several nodes are harmless.
async fn purge_expired_periodically(auth: Arc<AuthService>) {
    let mut ticks = tokio::time::interval(PURGE_PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match auth.purge_expired().await {
            Ok(counts) => tracing::debug!(?counts, "purged expired rows"),
            Err(err) => tracing::warn!(error = %err, "could not purge expired rows; will retry"),
        }
    }
}

/// Builds the application and serves it on `listener` until `shutdown`.
pub async fn run(
    config: &Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = build_app(config).await?;
    tracing::info!(
        listen = %listener.local_addr()?,
        issuer = %config.issuer,
        database = %config::redact_url(&config.database_url),
        "tessera ready"
    );
    tessera_server::serve(listener, app, shutdown).await?;
    tracing::info!("shut down cleanly");
    Ok(())
}
