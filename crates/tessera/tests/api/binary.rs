//! The `tessera` binary as an operator meets it: help texts, a zero-config
//! start, `migrate`, configuration errors (exit code 2, naming the key),
//! unknown variables, and a graceful shutdown on SIGTERM.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{jwt_part, TempDir};
use tessera_sql::testing::{fresh_database, Server};

const BIN: &str = env!("CARGO_BIN_EXE_tessera");
const TABLES: [&str; 6] = [
    "tenant",
    "user_account",
    "session",
    "refresh_token",
    "signing_key",
    "client",
];

/// `tessera` run in `cwd` with no `TESSERA_*` variable inherited.
pub(crate) fn tessera(cwd: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(cwd);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TESSERA_") {
            command.env_remove(name);
        }
    }
    command
}

pub(crate) fn run(command: &mut Command) -> Output {
    command.output().expect("run tessera")
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `tessera serve` child process, killed if still running when dropped.
pub(crate) struct Served {
    child: Child,
    pub(crate) port: u16,
    pub(crate) dir: TempDir,
    pub(crate) client: reqwest::Client,
}

impl Served {
    /// Starts `tessera serve` in a fresh directory with `env` besides
    /// `TESSERA_LISTEN`, and waits until it is ready.
    pub(crate) async fn start(env: &[(&str, &str)]) -> Served {
        let port = free_port();
        Served::start_with(&[], port, env).await
    }

    /// Starts `tessera serve <args>` in a fresh directory with `env`, to be
    /// reached on `port` (`TESSERA_LISTEN` set to it unless `env` sets it),
    /// and waits until it is ready; its stdout and stderr go to files.
    pub(crate) async fn start_with(args: &[&str], port: u16, env: &[(&str, &str)]) -> Served {
        let dir = TempDir::new();
        let stdout = std::fs::File::create(dir.0.join("stdout.log")).unwrap();
        let stderr = std::fs::File::create(dir.0.join("stderr.log")).unwrap();
        let mut command = tessera(&dir.0);
        command
            .arg("serve")
            .args(args)
            .env("TESSERA_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(stdout)
            .stderr(stderr)
            .stdin(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().expect("spawn tessera serve");
        let mut served = Served {
            child,
            port,
            dir,
            client: reqwest::Client::new(),
        };
        served.wait_ready().await;
        served
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub(crate) fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("stdout.log")).unwrap_or_default()
    }

    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("stderr.log")).unwrap_or_default()
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.0.join("tessera-data")
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let stderr = std::fs::read_to_string(self.dir.0.join("stderr.log")).unwrap_or_default();
                panic!("tessera exited early with {status}: {stderr}\n{}", self.stdout());
            }
            if let Ok(response) = self.client.get(self.url("/health/ready")).send().await {
                if response.status() == StatusCode::OK {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "tessera not ready after 60 s:\n{}",
                self.stdout()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "tessera did not exit within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Lines of the JSON log at level WARN.
    fn warnings(&self) -> Vec<String> {
        self.stdout()
            .lines()
            .filter(|l| l.contains("\"level\":\"WARN\""))
            .map(String::from)
            .collect()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn help_and_version_say_what_the_commands_do() {
    let dir = TempDir::new();
    let help = run(tessera(&dir.0).arg("--help"));
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout).to_lowercase();
    for word in ["identity", "serve", "migrate", "clients", "version", "--config"] {
        assert!(text.contains(word), "--help lacks {word}: {text}");
    }
    let serve = run(tessera(&dir.0).args(["serve", "--help"]));
    assert!(serve.status.success());
    assert!(String::from_utf8_lossy(&serve.stdout)
        .to_lowercase()
        .contains("run the server"));
    let migrate = run(tessera(&dir.0).args(["migrate", "--help"]));
    assert!(migrate.status.success());
    assert!(String::from_utf8_lossy(&migrate.stdout)
        .to_lowercase()
        .contains("migrations"));
    let version = run(tessera(&dir.0).arg("version"));
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("tessera {}", env!("CARGO_PKG_VERSION"))
    );
    let nothing = run(&mut tessera(&dir.0));
    assert!(!nothing.status.success(), "no subcommand must be a usage error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_config_start_creates_its_data_and_serves() {
    let server = Served::start(&[]).await;
    let data = server.data_dir();
    assert!(
        data.join("tessera.db").is_file(),
        "no tessera.db in {}",
        data.display()
    );
    let mode = std::fs::metadata(data.join("master.key"))
        .expect("master.key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "master.key mode {:o}", mode & 0o777);
    assert!(
        server
            .warnings()
            .iter()
            .any(|l| l.to_lowercase().contains("master key")),
        "no master-key warning:\n{}",
        server.stdout()
    );

    let credentials = json!({"email": "operator@example.com", "password": "zero-Config-Start-1"});
    assert_eq!(
        server.post("/api/v1/auth/register", credentials).await.status(),
        StatusCode::CREATED
    );
    let response = server
        .post(
            "/api/v1/auth/login",
            json!({"identifier": "operator@example.com", "password": "zero-Config-Start-1"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        jwt_part(access, 1)["iss"],
        format!("http://127.0.0.1:{}", server.port)
    );
    let me = server
        .client
        .get(server.url("/api/v1/users/me"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_creates_the_tables_on_a_fresh_sqlite_file() {
    let dir = TempDir::new();
    let url = format!("sqlite://{}", dir.0.join("migrated.db").display());
    let output = run(tessera(&dir.0).arg("migrate").env("TESSERA_DATABASE_URL", &url));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let names: Vec<String> = sqlx::query_scalar("select name from sqlite_master where type = 'table'")
        .fetch_all(&pool)
        .await
        .unwrap();
    for table in TABLES {
        assert!(names.iter().any(|n| n == table), "{table} missing: {names:?}");
    }
}

/// `tessera migrate` on a fresh database of `server` creates every table.
async fn migrate_creates_the_tables_on_a_fresh_database_of(server: Server) {
    let Some(db) = fresh_database(server).await else {
        return;
    };
    let dir = TempDir::new();
    let output = run(tessera(&dir.0)
        .arg("migrate")
        .env("TESSERA_DATABASE_URL", &db.url));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sql = "select table_name from information_schema.tables where table_schema = current_schema()";
    let names: Vec<String> = match server {
        Server::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query_scalar(&sql.replace("table_name", "table_name::text"))
                .fetch_all(&pool)
                .await
                .unwrap()
        }
        Server::MySql => {
            use sqlx::Row;
            let pool = sqlx::MySqlPool::connect(&db.url).await.unwrap();
            let sql = sql.replace("current_schema()", "database()");
            let rows = sqlx::query(&sql).fetch_all(&pool).await.unwrap();
            rows.iter()
                .map(|r| r.try_get_unchecked::<String, _>(0).unwrap())
                .collect()
        }
    };
    for table in TABLES {
        assert!(names.iter().any(|n| n == table), "{table} missing: {names:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(test_postgres), ignore = "PostgreSQL is not configured")]
async fn migrate_creates_the_tables_on_a_fresh_postgres_database() {
    migrate_creates_the_tables_on_a_fresh_database_of(Server::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(test_mysql), ignore = "MariaDB is not configured")]
async fn migrate_creates_the_tables_on_a_fresh_mariadb_database() {
    migrate_creates_the_tables_on_a_fresh_database_of(Server::MySql).await;
}

#[test]
fn unknown_key_in_the_config_file_exits_2_naming_it() {
    let dir = TempDir::new();
    let file = dir.0.join("tessera.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\nfrobnicate_level = 3\n").unwrap();
    let output = run(tessera(&dir.0).args(["serve", "--config"]).arg(&file));
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("frobnicate_level"), "{stderr}");

    std::fs::write(&file, "[tokens]\naccess_token_ttl = 5\n").unwrap();
    let output = run(tessera(&dir.0).args(["serve", "--config"]).arg(&file));
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("access_token_ttl"),
        "{output:?}"
    );
}

#[test]
fn a_taken_listen_address_is_named_in_the_error() {
    let dir = TempDir::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = run(tessera(&dir.0).arg("serve").env("TESSERA_LISTEN", &address));
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {address}: "))
            && stderr.to_lowercase().contains("address already in use"),
        "{stderr}"
    );
}

#[test]
fn malformed_value_exits_2_naming_the_key() {
    let dir = TempDir::new();
    let output = run(tessera(&dir.0).arg("serve").env("TESSERA_LISTEN", "nonsense"));
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("listen"), "{stderr}");
    let output = run(tessera(&dir.0)
        .arg("serve")
        .env("TESSERA_TOKENS__ACCESS_TOKEN_TTL_SECS", "soon"));
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("access_token_ttl_secs"),
        "{output:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_environment_variable_is_a_warning_not_an_error() {
    let server = Served::start(&[("TESSERA_FROBNICATE", "1")]).await;
    assert!(
        server.warnings().iter().any(|l| l.contains("TESSERA_FROBNICATE")),
        "no warning naming it:\n{}",
        server.stdout()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_login_finish_and_exits_0() {
    let mut server = Served::start(&[]).await;
    let credentials = json!({"email": "drain@example.com", "password": "graceful-Shutdown-9"});
    assert_eq!(
        server.post("/api/v1/auth/register", credentials).await.status(),
        StatusCode::CREATED
    );
    let request = server
        .client
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"identifier": "drain@example.com", "password": "graceful-Shutdown-9"}))
        .send();
    let in_flight = tokio::spawn(request);
    tokio::time::sleep(Duration::from_millis(5)).await;
    server.terminate();
    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight login must complete");
    assert!(
        matches!(response.status().as_u16(), 200 | 401),
        "{}",
        response.status()
    );
    let status = server.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "exit status {status}");
    assert!(
        server.stdout().contains("shut down cleanly"),
        "{}",
        server.stdout()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_admin_from_the_environment_with_a_password_file() {
    let secrets = TempDir::new();
    let password_file = secrets.0.join("admin-password");
    std::fs::write(&password_file, "Mounted-Secret-Passphrase-7\n").unwrap();
    let server = Served::start(&[
        ("TESSERA_BOOTSTRAP_ADMIN_EMAIL", "first@example.com"),
        (
            "TESSERA_BOOTSTRAP_ADMIN_PASSWORD_FILE",
            password_file.to_str().unwrap(),
        ),
    ])
    .await;
    let response = server
        .post(
            "/api/v1/auth/login",
            json!({"identifier": "first@example.com", "password": "Mounted-Secret-Passphrase-7"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "the bootstrap admin signs in");
    let tokens: Value = response.json().await.unwrap();
    let claims = jwt_part(tokens["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["roles"], json!(["super_admin"]));
    assert!(
        !server.stdout().contains("Mounted-Secret-Passphrase-7"),
        "the password is never logged"
    );
    assert!(
        !server
            .stdout()
            .contains("unknown environment variable TESSERA_BOOTSTRAP"),
        "the bootstrap variables are known keys:\n{}",
        server.stdout()
    );
}

#[test]
fn bootstrap_email_without_a_password_exits_2_naming_the_key() {
    let dir = TempDir::new();
    let output = run(tessera(&dir.0)
        .arg("serve")
        .env("TESSERA_BOOTSTRAP_ADMIN_EMAIL", "first@example.com"));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bootstrap_admin_email"), "{stderr}");
}

/// Someone registers the bootstrap email before the operator configures it:
/// the next start must not hand them the tenant. With a password that is
/// not the account's, `serve` exits 2 naming the conflict and promotes
/// nothing; with the account's own password it promotes, and never says
/// "created".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_never_promotes_an_account_registered_by_someone_else() {
    let data = TempDir::new();
    let data_dir = data.0.to_str().unwrap().to_owned();
    let mut server = Served::start(&[("TESSERA_DATA_DIR", &data_dir)]).await;
    let squatter = json!({"email": "owner@example.com", "password": "Squatters-Own-Pass-9"});
    assert_eq!(
        server.post("/api/v1/auth/register", squatter).await.status(),
        StatusCode::CREATED
    );
    server.terminate();
    server.wait_exit(Duration::from_secs(30)).await;

    let refused = run(tessera(&data.0)
        .arg("serve")
        .env("TESSERA_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env("TESSERA_DATA_DIR", &data_dir)
        .env("TESSERA_BOOTSTRAP_ADMIN_EMAIL", "owner@example.com")
        .env("TESSERA_BOOTSTRAP_ADMIN_PASSWORD", "Operators-Intended-Pass-1"));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    let stdout = String::from_utf8_lossy(&refused.stdout);
    assert_eq!(refused.status.code(), Some(2), "{stderr}\n{stdout}");
    assert!(
        stderr.contains("bootstrap_admin_email") && stderr.contains("already exists"),
        "{stderr}"
    );
    assert!(!stdout.contains("created"), "{stdout}");
    assert!(!stdout.contains("Operators-Intended-Pass-1") && !stderr.contains("Operators-Intended-Pass-1"));

    let server = Served::start(&[
        ("TESSERA_DATA_DIR", &data_dir),
        ("TESSERA_BOOTSTRAP_ADMIN_EMAIL", "owner@example.com"),
        ("TESSERA_BOOTSTRAP_ADMIN_PASSWORD", "Squatters-Own-Pass-9"),
    ])
    .await;
    let response = server
        .post(
            "/api/v1/auth/login",
            json!({"identifier": "owner@example.com", "password": "Squatters-Own-Pass-9"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    let claims = jwt_part(tokens["access_token"].as_str().unwrap(), 1);
    assert_eq!(
        claims["roles"],
        json!(["super_admin", "user"]),
        "promoted with its own password"
    );
    assert!(server.stdout().contains("promoted"), "{}", server.stdout());
    assert!(
        !server.stdout().contains("super_admin created"),
        "{}",
        server.stdout()
    );
}
