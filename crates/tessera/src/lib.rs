//! The `tessera` binary's library half: configuration, picking the store
//! backend once from the database URL, and assembling the server. The HTTP
//! test suite starts servers through the same functions `main` uses.
#![forbid(unsafe_code)]

pub mod clients;
pub mod config;
pub mod keys;
pub mod master_key;
pub mod users;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use secrecy::ExposeSecret;
use tessera_core::admin::{AdminService, KeyDefaults};
use tessera_core::AuthError;
use tessera_core::{
    AuthService, ClientAuthSettings, ClientService, KeyEncryptor, KeyRing, OidcService, PasswordHasher,
    ServiceSettings, SystemClock,
};
use tessera_server::{AppState, HttpSettings, TenantDirectory, TenantHandle};
use tessera_store::{Store, StoreError, Tenant, DEFAULT_TENANT_SLUG};
use tokio::net::TcpListener;

pub use config::{Config, DatabaseEngine, LogFormat};

/// Opens the store the database URL names (the only place that looks at
/// the scheme). SQLite files and their directory are created if missing.
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

/// After this long without a password hash, hashing memory is released.
const HASH_MEMORY_IDLE_PERIOD: std::time::Duration = std::time::Duration::from_secs(10);

/// Applies the backend's migrations.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    store.migrate().await.context("migrations failed")?;
    Ok(())
}

/// The services of one tenant, as the server and the admin commands use
/// them.
pub struct Services {
    /// Accounts, sessions, tokens.
    pub auth: Arc<AuthService>,
    /// The client registry.
    pub clients: Arc<ClientService>,
    /// The authorization code flow and OIDC.
    pub oidc: Arc<OidcService>,
    /// Roles, permissions, administration.
    pub admin: Arc<AdminService>,
}

/// What the services of every tenant share: the store, the key ring (keys
/// are kept per tenant inside), the password hasher and the clock.
struct Shared {
    config: Config,
    store: Arc<dyn Store>,
    keys: Arc<KeyRing>,
    hasher: PasswordHasher,
    clock: Arc<SystemClock>,
}

impl Shared {
    async fn open(config: &Config) -> anyhow::Result<Shared> {
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
        Ok(Shared {
            config: config.clone(),
            store,
            keys,
            hasher,
            clock: Arc::new(SystemClock),
        })
    }

    /// The issuer of tenant `slug`: the configured one for the default
    /// tenant, `{issuer}/t/{slug}` for the others.
    fn issuer_of(&self, slug: &str) -> String {
        if slug == DEFAULT_TENANT_SLUG {
            self.config.issuer.clone()
        } else {
            format!("{}/t/{slug}", self.config.issuer)
        }
    }

    /// Starts the services of `tenant` (its keys and seeded roles are
    /// created on first use).
    async fn services_for(&self, tenant: Tenant) -> anyhow::Result<Services> {
        let config = &self.config;
        let issuer = self.issuer_of(&tenant.slug);
        let settings = ServiceSettings {
            issuer: issuer.clone(),
            tokens: config.tokens.clone(),
            password_policy: config.password_policy.clone(),
            lockout: config.lockout.clone(),
        };
        let client_auth = ClientAuthSettings {
            issuer,
            leeway_secs: config.tokens.leeway_secs,
        };
        let clients = Arc::new(ClientService::for_tenant(
            self.store.clone(),
            self.clock.clone(),
            client_auth,
            tenant.tenant_id,
        ));
        let auth = Arc::new(
            AuthService::start_for_tenant(
                self.store.clone(),
                self.hasher.clone(),
                self.keys.clone(),
                self.clock.clone(),
                settings,
                tenant,
            )
            .await?,
        );
        let oidc = Arc::new(OidcService::new(auth.clone(), clients.clone()));
        let admin = Arc::new(AdminService::new(
            auth.clone(),
            clients.clone(),
            self.keys.clone(),
            KeyDefaults {
                alg: config.signing_alg,
                activation_delay_secs: config.keys.activation_delay_secs,
            },
        ));
        Ok(Services {
            auth,
            clients,
            oidc,
            admin,
        })
    }

    /// The services of tenant `slug`; `NotFound` in the error if missing.
    async fn services_of(&self, slug: &str) -> anyhow::Result<Services> {
        let tenant = if slug == DEFAULT_TENANT_SLUG {
            self.store
                .ensure_tenant(DEFAULT_TENANT_SLUG, "Default", chrono::Utc::now())
                .await
                .context("cannot read the default tenant")?
        } else {
            self.store
                .get_tenant_by_slug(slug)
                .await
                .with_context(|| format!("tenant {slug:?}"))?
        };
        self.services_for(tenant).await
    }

    fn http_settings(&self, base_path: String) -> HttpSettings {
        let config = &self.config;
        HttpSettings {
            cookie_mode_default: config.cookie_mode,
            secure_cookies: config.issuer_is_https(),
            cors_origins: config.cors_origins.clone(),
            max_body_bytes: config.max_body_bytes,
            refresh_cookie_max_age_secs: config.tokens.refresh_idle_ttl_secs,
            theme: config.theme.clone(),
            base_path,
        }
    }
}

/// Opens (and migrates) the store and starts the services of the tenant
/// `slug` (`default` for the default tenant, created on first use).
pub async fn build_services(config: &Config, slug: &str) -> anyhow::Result<Services> {
    Shared::open(config).await?.services_of(slug).await
}

/// How long a node trusts what it read about a tenant (exists, enabled)
/// before reading it again: renaming or disabling a tenant reaches every
/// node within this time.
const TENANT_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// The tenants other than the default one, started on first request and
/// kept (with their caches) while they stay enabled.
struct Directory {
    shared: Arc<Shared>,
    metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Live tenants by slug (re-read after [`TENANT_CACHE_TTL`]).
    live: moka::future::Cache<String, Tenant>,
    /// Started tenants by slug.
    handles: moka::future::Cache<String, Arc<TenantHandle>>,
}

#[async_trait::async_trait]
impl TenantDirectory for Directory {
    async fn tenant(&self, slug: &str) -> Result<Option<Arc<TenantHandle>>, AuthError> {
        if slug == DEFAULT_TENANT_SLUG || !tessera_core::admin::is_tenant_slug(slug) {
            return Ok(None);
        }
        let tenant = match self.live.get(slug).await {
            Some(tenant) => tenant,
            None => match self.shared.store.get_tenant_by_slug(slug).await {
                Ok(tenant) => {
                    self.live.insert(slug.to_string(), tenant.clone()).await;
                    tenant
                }
                Err(StoreError::NotFound) => return Ok(None),
                Err(other) => return Err(other.into()),
            },
        };
        if tenant.disabled_at.is_some() {
            return Ok(None);
        }
        let handle = self
            .handles
            .try_get_with(slug.to_string(), async {
                let services = self
                    .shared
                    .services_for(tenant.clone())
                    .await
                    .map_err(|err| AuthError::Internal(format!("{err:#}")))?;
                let state = AppState {
                    auth: services.auth,
                    clients: services.clients,
                    oidc: services.oidc,
                    admin: services.admin,
                    tenants: None,
                    metrics: self.metrics.clone(),
                    http: Arc::new(self.shared.http_settings(format!("/t/{slug}"))),
                };
                let routes = tessera_server::routes(state.clone());
                Ok::<_, AuthError>(Arc::new(TenantHandle { state, routes }))
            })
            .await
            .map_err(|err: Arc<AuthError>| match err.as_ref() {
                AuthError::Unavailable(msg) => AuthError::Unavailable(msg.clone()),
                other => AuthError::Internal(other.to_string()),
            })?;
        Ok(Some(handle))
    }

    async fn forget(&self, slug: &str) {
        self.live.invalidate(slug).await;
    }
}

/// Creates the configured bootstrap super admin if the tenant has none.
async fn bootstrap_admin(config: &Config, admin: &AdminService) -> anyhow::Result<()> {
    let Some((email, password)) = config.bootstrap_admin()? else {
        return Ok(());
    };
    match admin
        .bootstrap_super_admin(&email, password.expose_secret())
        .await
        .map_err(|err| {
            anyhow::anyhow!(
                "bootstrap_admin_email: cannot create the super admin: {}",
                users::describe(err)
            )
        })? {
        Some(user) => tracing::info!(user_id = %user.user.user_id, "bootstrap super_admin created"),
        None => tracing::debug!("a super_admin exists; bootstrap settings ignored"),
    }
    Ok(())
}

/// Builds the whole application: the default tenant's services (with the
/// bootstrap super admin, if configured), the directory of the other
/// tenants, and the router.
pub async fn build_app(config: &Config) -> anyhow::Result<axum::Router> {
    let shared = Arc::new(Shared::open(config).await?);
    let services = shared.services_of(DEFAULT_TENANT_SLUG).await?;
    bootstrap_admin(config, &services.admin).await?;
    tokio::spawn(purge_expired_periodically(services.auth.clone()));
    let metrics = tessera_server::metrics_handle();
    let directory = Directory {
        shared: shared.clone(),
        metrics: metrics.clone(),
        live: moka::future::Cache::builder()
            .max_capacity(10_000)
            .time_to_live(TENANT_CACHE_TTL)
            .build(),
        handles: moka::future::Cache::builder().max_capacity(10_000).build(),
    };
    let state = AppState {
        auth: services.auth,
        clients: services.clients,
        oidc: services.oidc,
        admin: services.admin,
        tenants: Some(Arc::new(directory)),
        metrics,
        http: Arc::new(shared.http_settings(String::new())),
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
