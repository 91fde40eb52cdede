//! The composition root: one builder that opens the store, resolves the
//! master key and picks the ports (clock, mail, events), then starts the
//! services of a tenant or the whole application. `main`, the admin
//! commands and the test harness all go through it; a test swaps a port
//! with `.clock(…)`, `.mailer(…)` or `.events(…)`.

use std::sync::Arc;

use anyhow::Context;
use secrecy::ExposeSecret;
use tessera_core::admin::{AdminService, Bootstrapped, KeyDefaults};
use tessera_core::capability::Founder;
use tessera_core::mail::outbox::{MailDispatcher, Outbox};
use tessera_core::mail::templates::{MailTemplates, MailTheme};
use tessera_core::{
    AuthService, Caller, ClientAuthSettings, ClientService, Clock, EventSink, KeyEncryptor, KeyRing, Mailer,
    NoEventSink, OidcService, PasswordHasher, Ports, ServiceSettings, SystemClock, TenantContext,
};
use tessera_server::{AppState, CsrfKey, HttpSettings, MetricsToken};
use tessera_store::{Store, Tenant, DEFAULT_TENANT_SLUG};

use crate::config::Config;
use crate::directory::Directory;
use crate::mailer::DefaultMailer;

/// After this long without a password hash, hashing memory is released.
const HASH_MEMORY_IDLE_PERIOD: std::time::Duration = std::time::Duration::from_secs(10);

/// How often expired codes, browser sessions and revoked-token rows are
/// deleted.
const PURGE_PERIOD: std::time::Duration = std::time::Duration::from_secs(600);

/// Builds the application (or one tenant's services) from a configuration
/// and the ports.
pub struct AppBuilder {
    config: Config,
    clock: Option<Arc<dyn Clock>>,
    mailer: Option<Arc<dyn Mailer>>,
    events: Option<Arc<dyn EventSink>>,
    refuse_new_database: bool,
}

/// The assembled application: its router and the default tenant's services.
pub struct App {
    /// The HTTP application.
    pub router: axum::Router,
    /// `GET /metrics` alone, for the `metrics_listen` address.
    pub metrics_router: axum::Router,
    /// The default tenant's services.
    pub services: Services,
}

/// The services of one tenant, as the server and the admin commands use
/// them.
pub struct Services {
    /// The tenant context they share.
    pub context: Arc<TenantContext>,
    /// Accounts, sessions, tokens.
    pub auth: Arc<AuthService>,
    /// The client registry.
    pub clients: Arc<ClientService>,
    /// The authorization code flow and OIDC.
    pub oidc: Arc<OidcService>,
    /// Roles, permissions, administration.
    pub admin: Arc<AdminService>,
}

impl App {
    /// A builder with the production ports: the system clock, mail sent
    /// through the SMTP relay of `smtp_url` or else written as `.eml` files
    /// into `mail_outbox_dir`, events dropped (until a destination is
    /// configured).
    pub fn builder(config: &Config) -> AppBuilder {
        AppBuilder {
            config: config.clone(),
            clock: None,
            mailer: None,
            events: None,
            refuse_new_database: false,
        }
    }
}

impl AppBuilder {
    /// Takes time from `clock`.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> AppBuilder {
        self.clock = Some(clock);
        self
    }

    /// Sends mail through `mailer`.
    pub fn mailer(mut self, mailer: Arc<dyn Mailer>) -> AppBuilder {
        self.mailer = Some(mailer);
        self
    }

    /// Publishes events to `events`.
    pub fn events(mut self, events: Arc<dyn EventSink>) -> AppBuilder {
        self.events = Some(events);
        self
    }

    /// Fails with [`crate::database::NoDatabase`], having created nothing
    /// (no database, no data directory, no master key), when the configured
    /// database does not exist yet: what the admin commands want unless told
    /// `--create`.
    pub fn refuse_new_database(mut self) -> AppBuilder {
        self.refuse_new_database = true;
        self
    }

    /// The ports, and the default mailer when none was given (for
    /// [`DefaultMailer::announce`]).
    fn ports(&self) -> anyhow::Result<(Ports, Option<DefaultMailer>)> {
        let (mailer, default) = match &self.mailer {
            Some(mailer) => (mailer.clone(), None),
            None => {
                let default = DefaultMailer::from_config(&self.config)?;
                (default.mailer(), Some(default))
            }
        };
        let ports = Ports {
            clock: self.clock.clone().unwrap_or_else(|| Arc::new(SystemClock)),
            mailer,
            events: self.events.clone().unwrap_or_else(|| Arc::new(NoEventSink)),
        };
        Ok((ports, default))
    }

    /// Opens (and migrates) the store and starts the services of tenant
    /// `slug` (`default` for the default tenant, created on first use): what
    /// the admin commands work with.
    pub async fn services(self, slug: &str) -> anyhow::Result<Services> {
        if self.refuse_new_database {
            // Before the ports: the mailer creates its outbox directory.
            crate::database::refuse_if_new(&self.config).await?;
        }
        let (ports, _) = self.ports()?;
        Shared::open(&self.config, ports).await?.services_of(slug).await
    }

    /// Builds the whole application: stored identifiers in canonical form
    /// (refusing to start on a collision), the default tenant's services
    /// (with the bootstrap super admin, if configured), the directory of the
    /// other tenants, the periodic purge, and the router.
    pub async fn build(self) -> anyhow::Result<App> {
        let (ports, default_mailer) = self.ports()?;
        if let Some(mailer) = &default_mailer {
            mailer.announce();
        }
        let shared = Arc::new(Shared::open(&self.config, ports).await?);
        crate::identifiers::canonicalise(shared.store().as_ref()).await?;
        let services = shared.services_of(DEFAULT_TENANT_SLUG).await?;
        bootstrap_admin(&self.config, &services.admin).await?;
        tokio::spawn(purge_expired_periodically(services.auth.clone()));
        tokio::spawn(shared.mail_dispatcher().run());
        let metrics = tessera_server::metrics_handle();
        let state = AppState {
            auth: services.auth.clone(),
            clients: services.clients.clone(),
            oidc: services.oidc.clone(),
            admin: services.admin.clone(),
            tenants: Some(Arc::new(Directory::new(shared.clone(), metrics.clone()))),
            metrics,
            http: Arc::new(shared.http_settings(String::new())),
        };
        Ok(App {
            metrics_router: tessera_server::metrics_router(state.clone()),
            router: tessera_server::router(state),
            services,
        })
    }
}

/// What the services of every tenant share: the store, the key ring (keys
/// are kept per tenant inside), the password hasher, the CSRF key and the
/// ports.
pub(crate) struct Shared {
    config: Config,
    store: Arc<dyn Store>,
    keys: Arc<KeyRing>,
    hasher: PasswordHasher,
    csrf_key: CsrfKey,
    ports: Ports,
    outbox: Arc<Outbox>,
}

impl Shared {
    async fn open(config: &Config, ports: Ports) -> anyhow::Result<Shared> {
        let store = crate::open_store(config).await?;
        store.migrate().await.context("migrations failed")?;
        let master_key = crate::master_key::resolve(config)?;
        let keys = Arc::new(KeyRing::new(
            store.clone(),
            KeyEncryptor::new(&master_key)?,
            config.signing_alg,
            config.keys.cache_ttl_secs,
        ));
        let hasher = PasswordHasher::new(&config.password_hash)?;
        tokio::spawn(hasher.clone().release_memory_when_idle(HASH_MEMORY_IDLE_PERIOD));
        let templates = MailTemplates::new(config.mail_templates_dir.as_deref())
            .context("mail_templates_dir: the mail templates cannot be used")?;
        let outbox = Arc::new(Outbox::new(&master_key, templates, mail_theme(config))?);
        Ok(Shared {
            config: config.clone(),
            store,
            keys,
            hasher,
            // From the master key rather than a knob of its own: every node
            // already shares it, so a token issued by one verifies on all.
            csrf_key: CsrfKey::derive(&master_key),
            ports,
            outbox,
        })
    }

    /// The worker that sends what the outbox holds (one per node; nodes
    /// share the work through the outbox's leases).
    fn mail_dispatcher(&self) -> MailDispatcher {
        MailDispatcher::new(
            self.store.clone(),
            self.outbox.clone(),
            self.ports.mailer.clone(),
            self.ports.clock.clone(),
        )
    }

    /// The clock port.
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.ports.clock
    }

    /// The store.
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
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
    pub(crate) async fn services_for(&self, tenant: Tenant) -> anyhow::Result<Services> {
        let config = &self.config;
        let issuer = self.issuer_of(&tenant.slug);
        let settings = ServiceSettings {
            issuer: issuer.clone(),
            tokens: config.tokens.clone(),
            password_policy: config.password_policy.clone(),
            lockout: config.lockout.clone(),
            accounts: config.accounts.clone(),
        };
        let api_audience = if config.tokens.audience.is_empty() {
            issuer.clone()
        } else {
            config.tokens.audience.clone()
        };
        let client_auth = ClientAuthSettings {
            issuer,
            leeway_secs: config.tokens.leeway_secs,
            api_audience,
        };
        let context = TenantContext::start(
            self.store.clone(),
            self.ports.clone(),
            self.keys.clone(),
            self.hasher.clone(),
            settings,
            tenant,
            self.outbox.clone(),
        )
        .await?;
        let clients = Arc::new(ClientService::for_tenant(
            context.resources().clone(),
            self.ports.clock.clone(),
            client_auth,
            context.tenant_id(),
        ));
        let key_defaults = KeyDefaults {
            alg: config.signing_alg,
            activation_delay_secs: config.keys.activation_delay_secs,
        };
        Ok(Services {
            auth: Arc::new(AuthService::new(context.clone())),
            oidc: Arc::new(OidcService::new(context.clone(), clients.clone())),
            admin: Arc::new(AdminService::new(context.clone(), clients.clone(), key_defaults)),
            clients,
            context,
        })
    }

    /// The services of tenant `slug`; `NotFound` in the error if missing.
    async fn services_of(&self, slug: &str) -> anyhow::Result<Services> {
        let tenant = if slug == DEFAULT_TENANT_SLUG {
            self.store
                .ensure_tenant(DEFAULT_TENANT_SLUG, "Default", self.ports.clock.now())
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

    /// The HTTP settings of a tenant served under `base_path`.
    pub(crate) fn http_settings(&self, base_path: String) -> HttpSettings {
        let config = &self.config;
        HttpSettings {
            cookie_mode_default: config.cookie_mode,
            secure_cookies: config.issuer_is_https(),
            cors_origins: config.cors_origins.clone(),
            max_body_bytes: config.max_body_bytes,
            refresh_cookie_max_age_secs: config.tokens.refresh_idle_ttl_secs,
            theme: config.theme.clone(),
            base_path,
            docs: config.docs,
            metrics_token: config
                .metrics_token
                .as_ref()
                .map(|token| MetricsToken(token.expose_secret().to_owned())),
            csrf_key: self.csrf_key.clone(),
        }
    }
}

/// Creates the configured bootstrap super admin if the tenant has none.
/// An existing account of that email is promoted only when the bootstrap
/// password is its password; otherwise the server refuses to start
/// ([`RefusedToStart`]): someone else may have registered the email first.
async fn bootstrap_admin(config: &Config, admin: &AdminService) -> anyhow::Result<()> {
    let Some((email, password)) = config.bootstrap_admin()? else {
        return Ok(());
    };
    let founder = Founder::operator(&Caller::operator())?;
    let outcome = admin
        .bootstrap_super_admin(&founder, &email, password.expose_secret())
        .await
        .map_err(|err| {
            anyhow::anyhow!(
                "bootstrap_admin_email: cannot create the super admin: {}",
                crate::users::describe(&err)
            )
        })?;
    match outcome {
        Bootstrapped::Created(user) => {
            tracing::info!(user_id = %user.user.user_id, "bootstrap super_admin created");
        }
        Bootstrapped::Promoted(user) => tracing::warn!(
            user_id = %user.user.user_id,
            "existing account of bootstrap_admin_email promoted to super_admin (its password is the bootstrap password)"
        ),
        Bootstrapped::SuperAdminExists => tracing::debug!("a super_admin exists; bootstrap settings ignored"),
        Bootstrapped::NotPromoted { user_id } => {
            return Err(RefusedToStart(format!(
                "bootstrap_admin_email: an account with this email already exists (user {user_id}) and \
                 bootstrap_admin_password is not its password, so it was not made super_admin: it may \
                 have been registered by someone else. Set bootstrap_admin_password to that account's \
                 password if it is yours, or choose another bootstrap_admin_email"
            ))
            .into());
        }
    }
    Ok(())
}

/// A configuration the server will not start with, though it parsed: the
/// binary exits with status 2, as for an invalid configuration.
#[derive(Debug)]
pub struct RefusedToStart(pub String);

impl std::fmt::Display for RefusedToStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RefusedToStart {}

/// Deletes expired rows every [`PURGE_PERIOD`] for as long as the server
/// runs. Every node does it; the deletes are idempotent, so overlapping
/// runs on several nodes are harmless.
/// The hosted pages' theme, for mail: a logo given as a path on this
/// server becomes an absolute URL (a mail has no base URL).
fn mail_theme(config: &Config) -> MailTheme {
    let theme = &config.theme;
    let logo_url = if theme.logo_url.starts_with('/') {
        format!("{}{}", config.issuer.trim_end_matches('/'), theme.logo_url)
    } else {
        theme.logo_url.clone()
    };
    MailTheme {
        product_name: theme.product_name.clone(),
        logo_url,
        primary_color: theme.primary_color.clone(),
    }
}

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
