//! Starting and stopping a test server: a real Tessera on 127.0.0.1:0
//! with a fresh database, the test configuration, and ports (clock, mail,
//! events) the test can read and move.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::Client;
use tessera::Config;
use tessera_core::{ManualClock, MemoryEventSink, MemoryMailer};
use tessera_sql::testing::{fresh_database, Server, TestDatabase};
use tokio::sync::oneshot;

use super::{init_log_capture, Engine};

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// The socket address.
    pub addr: SocketAddr,
    /// The configuration it runs with (issuer = `url`).
    pub config: Config,
    /// The database engine.
    pub engine: Engine,
    /// HTTP client without a cookie jar.
    pub client: Client,
    /// The server's clock: tests move it instead of sleeping.
    pub clock: Arc<ManualClock>,
    /// Every mail the server sent.
    pub mail: Arc<MemoryMailer>,
    /// Every event the server published.
    pub events: Arc<MemoryEventSink>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _database: Option<Arc<TestDatabase>>,
    _data_dir: Option<Arc<TempDir>>,
}

/// The ports a test server runs with: a manual clock starting now, and
/// captures of mail and events.
#[derive(Clone)]
struct Ports {
    clock: Arc<ManualClock>,
    mail: Arc<MemoryMailer>,
    events: Arc<MemoryEventSink>,
}

impl Ports {
    fn fresh() -> Ports {
        Ports {
            clock: Arc::new(ManualClock::starting_now()),
            mail: Arc::new(MemoryMailer::default()),
            events: Arc::new(MemoryEventSink::default()),
        }
    }

    /// The composition root with these ports, as `main` uses it with the
    /// real ones.
    fn builder(&self, config: &Config) -> tessera::AppBuilder {
        tessera::App::builder(config)
            .clock(self.clock.clone())
            .mailer(self.mail.clone())
            .events(self.events.clone())
    }
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TempDir {
    pub fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("tessera-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

/// A fixed master key for tests (base64 of 32 bytes).
pub fn test_master_key() -> String {
    STANDARD.encode([42u8; 32])
}

/// The test configuration: cheap password hashing (tests that measure the
/// real cost set it back), everything else at its defaults.
pub fn base_config() -> Config {
    let defaults = Config::default();
    Config {
        master_key: Some(test_master_key().into()),
        password_hash: tessera_core::HashSettings {
            memory_kib: 256,
            iterations: 1,
            ..defaults.password_hash.clone()
        },
        log: "debug".into(),
        metrics_token: Some(METRICS_TOKEN.to_string().into()),
        ..defaults
    }
}

/// The `metrics_token` of the test configuration.
pub const METRICS_TOKEN: &str = "test-metrics-token-0123456789";

impl TestApp {
    /// Starts a server on `engine` with the test configuration.
    pub async fn spawn(engine: Engine) -> TestApp {
        Self::spawn_with(engine, |_| {}).await
    }

    /// Starts a server on `engine`, panicking if its database server is
    /// not configured; returns only when it accepts requests.
    pub async fn spawn_with(engine: Engine, tweak: impl FnOnce(&mut Config)) -> TestApp {
        Self::try_spawn(engine, tweak)
            .await
            .expect("database server not configured")
    }

    /// `None` when the engine is networked and its test server is not
    /// configured outside CI (the test then ends early; it is compiled
    /// ignored in that case anyway).
    pub async fn try_spawn(engine: Engine, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
        init_log_capture();
        let data_dir = Arc::new(TempDir::new());
        let mut config = base_config();
        config.data_dir = data_dir.0.clone();
        let server = match engine {
            Engine::Sqlite => None,
            Engine::Postgres => Some(Server::Postgres),
            Engine::MySql => Some(Server::MySql),
        };
        let database = match server {
            None => {
                config.database_url = format!("sqlite://{}", data_dir.0.join("tessera.db").display());
                None
            }
            Some(server) => {
                let db = fresh_database(server).await?;
                config.database_url = db.url.clone();
                config.database_max_connections = 5;
                Some(Arc::new(db))
            }
        };
        tweak(&mut config);
        let ports = Ports::fresh();
        Some(Self::start(config, engine, database, Some(data_dir), ports).await)
    }

    /// Starts another server on the same database (e.g. to test a restart,
    /// or a second node), with `tweak` applied to a copy of this config.
    pub async fn sibling(&self, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = self.config.clone();
        config.issuer = String::new();
        tweak(&mut config);
        Self::start(
            config,
            self.engine,
            self._database.clone(),
            self._data_dir.clone(),
            self.ports(),
        )
        .await
    }

    /// Like `sibling`, but returns the start-up error instead of panicking.
    pub async fn try_sibling(&self, tweak: impl FnOnce(&mut Config)) -> anyhow::Result<axum::Router> {
        let mut config = self.config.clone();
        tweak(&mut config);
        Ok(self.ports().builder(&config).build().await?.router)
    }

    /// The ports of this server, shared with its siblings (one clock for
    /// every node of a test).
    fn ports(&self) -> Ports {
        Ports {
            clock: self.clock.clone(),
            mail: self.mail.clone(),
            events: self.events.clone(),
        }
    }

    /// Moves the server's clock forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.clock.advance(chrono::Duration::seconds(seconds));
    }

    /// Moves the server's clock up to the wall clock, if it fell behind:
    /// before the server judges what another process (the CLI) wrote with
    /// the real time.
    pub fn catch_up_with_wall_clock(&self) {
        use tessera_core::Clock;
        let behind = tessera_core::SystemClock.now() - self.clock.now();
        if behind > chrono::Duration::zero() {
            self.clock.advance(behind);
        }
    }

    async fn start(
        mut config: Config,
        engine: Engine,
        database: Option<Arc<TestDatabase>>,
        data_dir: Option<Arc<TempDir>>,
        ports: Ports,
    ) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        config.listen = addr.to_string();
        if config.issuer.is_empty() {
            config.issuer = format!("http://{addr}");
        }
        let (tx, rx) = oneshot::channel::<()>();
        let app = ports.builder(&config).build().await.expect("build app").router;
        let limits = config.connection_limits();
        let server = tokio::spawn(async move {
            tessera_server::serve(listener, app, limits, async move {
                let _ = rx.await;
            })
            .await
            .map_err(anyhow::Error::from)
        });
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        TestApp {
            url: format!("http://{addr}"),
            addr,
            config,
            engine,
            client,
            clock: ports.clock,
            mail: ports.mail,
            events: ports.events,
            shutdown: Some(tx),
            server: Some(server),
            _database: database,
            _data_dir: data_dir,
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
