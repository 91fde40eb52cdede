//! The test harness: a real Tessera server on 127.0.0.1:0 with a fresh
//! database per test (a temp SQLite file, or a throw-away PostgreSQL
//! database), typed helpers for the common calls, and the captured logs.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{json, Value};
use tessera::Config;
use tessera_core::{ManualClock, MemoryEventSink, MemoryMailer};
use tessera_sql::testing::{fresh_database, Server, TestDatabase};
use tokio::sync::oneshot;

/// Which database engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
    MySql,
}

/// Runs each listed async test body once per engine, `mod name { sqlite(),
/// postgres(), mysql() }`; a networked engine's tests are ignored (not
/// passed) when its server is not configured (see tessera-sql's build.rs).
#[macro_export]
macro_rules! every_engine {
    ($( $(#[$meta:meta])* async fn $name:ident($app:ident) $body:block )*) => {
        $crate::every_engine_with! {
            $( $(#[$meta])* async fn $name($app) with |_| {}; $body )*
        }
    };
}

/// Like `every_engine!` but the body also gets a config tweak, applied
/// before the server starts: `async fn name(app) with |config| { … } { body }`.
#[macro_export]
macro_rules! every_engine_with {
    ($( $(#[$meta:meta])* async fn $name:ident($app:ident) with $tweak:expr; $body:block )*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn body($app: $crate::helpers::TestApp) $body
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    body($crate::helpers::TestApp::spawn_with($crate::helpers::Engine::Sqlite, $tweak).await).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(test_postgres), ignore = "PostgreSQL is not configured")]
                async fn postgres() {
                    if let Some(app) = $crate::helpers::TestApp::try_spawn($crate::helpers::Engine::Postgres, $tweak).await {
                        body(app).await
                    }
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(test_mysql), ignore = "MariaDB is not configured")]
                async fn mysql() {
                    if let Some(app) = $crate::helpers::TestApp::try_spawn($crate::helpers::Engine::MySql, $tweak).await {
                        body(app).await
                    }
                }
            }
        )*
    };
}

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
        ..defaults
    }
}

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
        let server = tokio::spawn(async move {
            tessera_server::serve(listener, app, async move {
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

    /// Absolute URL of `path`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    /// A request with JSON body and optional bearer token.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self.client.request(method, self.at(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request")
    }

    pub async fn post_json(&self, path: &str, body: Value) -> Response {
        self.call(Method::POST, path, None, Some(body)).await
    }

    pub async fn get_with(&self, path: &str, token: &str) -> Response {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// Registers `email` with `password` (201 expected) and returns the user.
    pub async fn register(&self, email: &str, password: &str) -> Value {
        let response = self
            .post_json(
                "/api/v1/auth/register",
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "register {email}");
        response.json().await.expect("user json")
    }

    /// Logs in (200 expected) and returns the token response.
    pub async fn login(&self, identifier: &str, password: &str) -> Tokens {
        let response = self.login_response(identifier, password).await;
        assert_eq!(response.status(), StatusCode::OK, "login {identifier}");
        response.json().await.expect("token json")
    }

    pub async fn login_response(&self, identifier: &str, password: &str) -> Response {
        self.post_json(
            "/api/v1/auth/login",
            json!({"identifier": identifier, "password": password}),
        )
        .await
    }

    /// Registers a fresh random user and logs in.
    pub async fn signed_in_user(&self) -> (Value, Tokens, String) {
        let email = format!("user-{}@example.com", uuid::Uuid::new_v4().simple());
        let password = "plausible-Passphrase-93".to_string();
        let user = self.register(&email, &password).await;
        let tokens = self.login(&email, &password).await;
        (user, tokens, password)
    }

    pub async fn refresh_response(&self, refresh_token: &str) -> Response {
        self.post_json("/api/v1/auth/refresh", json!({"refresh_token": refresh_token}))
            .await
    }

    /// Runs SQL against the server's database (for arranging states the
    /// API cannot reach yet, and for inspecting what is stored).
    pub async fn db(&self) -> Db {
        let url = &self.config.database_url;
        match self.engine {
            Engine::Sqlite => Db::Sqlite(sqlx::SqlitePool::connect(url).await.expect("sqlite")),
            Engine::Postgres => Db::Postgres(sqlx::PgPool::connect(url).await.expect("pg")),
            Engine::MySql => Db::MySql(sqlx::MySqlPool::connect(url).await.expect("mysql")),
        }
    }

    /// Sets a user's status directly in the database.
    pub async fn set_user_status(&self, user_id: &str, status: &str) {
        let db = self.db().await;
        db.execute_with_user(
            "update user_account set status = $1 where user_id = $2",
            status,
            user_id,
        )
        .await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A direct connection to the test database, for arranging states the API
/// cannot reach and for inspecting what is stored.
pub enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
    MySql(sqlx::MySqlPool),
}

/// Fetches every row of `$sql` (no parameters) from whichever pool `$db`
/// holds.
macro_rules! fetch_all {
    ($db:expr, $sql:expr) => {
        match $db {
            Db::Sqlite(pool) => sqlx::query($sql).fetch_all(pool).await.map(Rows::Sqlite),
            Db::Postgres(pool) => sqlx::query($sql).fetch_all(pool).await.map(Rows::Postgres),
            Db::MySql(pool) => sqlx::query($sql).fetch_all(pool).await.map(Rows::MySql),
        }
        .expect($sql)
    };
}

/// Rows of one of the engines.
pub enum Rows {
    Sqlite(Vec<sqlx::sqlite::SqliteRow>),
    Postgres(Vec<sqlx::postgres::PgRow>),
    MySql(Vec<sqlx::mysql::MySqlRow>),
}

impl Rows {
    /// Column 0 of each row, decoded as `T` (MariaDB's `_bin` text columns
    /// are decoded without sqlx's type check, which takes them for bytes).
    fn first_column<T>(&self) -> Vec<T>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
        T: for<'r> sqlx::Decode<'r, sqlx::MySql>,
    {
        use sqlx::Row;
        match self {
            Rows::Sqlite(rows) => rows.iter().map(|r| r.get::<T, _>(0)).collect(),
            Rows::Postgres(rows) => rows.iter().map(|r| r.get::<T, _>(0)).collect(),
            Rows::MySql(rows) => rows
                .iter()
                .map(|r| r.try_get_unchecked::<T, _>(0).expect("column"))
                .collect(),
        }
    }
}

impl Db {
    /// Executes `sql` without parameters (the same text on every engine).
    pub async fn execute(&self, sql: &str) {
        match self {
            Db::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(drop),
            Db::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop),
            Db::MySql(pool) => sqlx::query(sql).execute(pool).await.map(drop),
        }
        .expect(sql);
    }

    /// Executes `sql` with a text `$1` and a user id `$2` (in each engine's
    /// id encoding).
    pub async fn execute_with_user(&self, sql: &str, value: &str, user_id: &str) {
        let id = uuid::Uuid::parse_str(user_id).expect("uuid");
        match self {
            Db::Sqlite(pool) => sqlx::query(sql)
                .bind(value)
                .bind(user_id)
                .execute(pool)
                .await
                .map(drop),
            Db::Postgres(pool) => sqlx::query(sql)
                .bind(value)
                .bind(id)
                .execute(pool)
                .await
                .map(drop),
            Db::MySql(pool) => {
                let sql = sql.replace("$1", "?").replace("$2", "?");
                sqlx::query(&sql)
                    .bind(value)
                    .bind(id)
                    .execute(pool)
                    .await
                    .map(drop)
            }
        }
        .expect("execute");
    }

    /// The rows of a one-text-column query.
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        fetch_all!(self, sql).first_column()
    }

    /// The rows of a one-bytes-column query.
    pub async fn blobs(&self, sql: &str) -> Vec<Vec<u8>> {
        fetch_all!(self, sql).first_column()
    }

    /// The number of rows of `table`.
    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("select count(*) from {table}");
        fetch_all!(self, &sql).first_column::<i64>()[0]
    }

    /// The ids in column `column` of `table`, in each engine's id encoding.
    pub async fn ids(&self, table: &str, column: &str) -> Vec<uuid::Uuid> {
        use sqlx::Row;
        let sql = format!("select {column} from {table}");
        match fetch_all!(self, &sql) {
            Rows::Sqlite(rows) => rows
                .iter()
                .map(|r| uuid::Uuid::parse_str(&r.get::<String, _>(0)).expect("uuid"))
                .collect(),
            Rows::Postgres(rows) => rows.iter().map(|r| r.get::<uuid::Uuid, _>(0)).collect(),
            Rows::MySql(rows) => rows.iter().map(|r| r.get::<uuid::Uuid, _>(0)).collect(),
        }
    }
}

/// The token response of login/refresh.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub refresh_token: String,
    pub session_id: String,
}

/// Decodes the JSON of a JWT part without verifying anything.
pub fn jwt_part(token: &str, index: usize) -> Value {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let part = token.split('.').nth(index).expect("jwt part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("json")
}

/// Asserts a problem+json response with `status` and `code`; returns the body.
pub async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.expect("problem json");
    assert_eq!(body["code"], code, "problem code in {body}");
    assert_eq!(body["status"], status);
    assert!(body["type"].as_str().is_some_and(|t| t.ends_with(code)));
    assert!(body["title"].is_string());
    body
}

// --- captured logs ----------------------------------------------------------

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut logs) = self.0.lock() {
            logs.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once per test process) a JSON subscriber like production's,
/// at debug level, writing into memory.
pub fn init_log_capture() {
    let buffer = LOGS.get_or_init(|| Arc::new(Mutex::new(Vec::new()))).clone();
    let writer = CaptureWriter(buffer);
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_env_filter("debug")
        .with_writer(move || writer.clone())
        .try_init();
}

/// Everything logged so far by every server in this process.
pub fn captured_logs() -> String {
    LOGS.get()
        .map(|l| String::from_utf8_lossy(&l.lock().expect("logs")).into_owned())
        .unwrap_or_default()
}

// --- shared helpers of the HTTP suite ---------------------------------------

/// A fresh, unique email address.
pub fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// The user id (`id`) of a user JSON.
pub fn user_id(user: &Value) -> String {
    user["id"].as_str().expect("user id").to_string()
}

/// Lowercase hex SHA-256 of `text` (how bearer secrets are stored).
pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// A header value as text ("" when absent).
pub fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

impl TestApp {
    /// A request builder for `path` (no body, no auth).
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.at(path))
    }

    /// Registers a fresh user with an explicit password, returns the user
    /// and its email.
    pub async fn fresh_user(&self, password: &str) -> (Value, String) {
        let email = unique_email("user");
        let user = self.register(&email, password).await;
        (user, email)
    }

    /// Logs in sending a `User-Agent`.
    pub async fn login_with_agent(&self, identifier: &str, password: &str, agent: &str) -> Tokens {
        let response = self
            .request(Method::POST, "/api/v1/auth/login")
            .header("user-agent", agent)
            .json(&json!({"identifier": identifier, "password": password}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK, "login {identifier}");
        response.json().await.expect("token json")
    }

    /// Refreshes (200 expected) and returns the new tokens.
    pub async fn refresh(&self, refresh_token: &str) -> Tokens {
        let response = self.refresh_response(refresh_token).await;
        assert_eq!(response.status(), StatusCode::OK, "refresh");
        response.json().await.expect("token json")
    }

    /// GET /api/v1/users/me with a bearer token.
    pub async fn me(&self, access_token: &str) -> Response {
        self.get_with("/api/v1/users/me", access_token).await
    }

    /// The published JWKS.
    pub async fn jwks(&self) -> Value {
        let response = self
            .client
            .get(self.at("/.well-known/jwks.json"))
            .send()
            .await
            .expect("jwks");
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("jwks json")
    }
}

mod admin;
pub use admin::*;
