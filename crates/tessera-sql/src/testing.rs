//! Throw-away PostgreSQL and MariaDB databases for tests (feature
//! `test-support`): the store conformance suite and the HTTP tests of the
//! server use them.
//!
//! Each server is named by an environment variable ([`Server::url_var`]).
//! When it is unset the tests are skipped — reported as ignored, see
//! `build.rs` — except under `CI=true`, where every engine is required and
//! a missing URL fails the run.
// Test support: failing loudly with a clear message is the point.
#![allow(clippy::panic)]

use std::fmt;
use std::time::Duration;

use sqlx::{Connection, Executor};
use uuid::Uuid;

/// How long creating or dropping a test database may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A database server tests may create databases on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// PostgreSQL, at `TESSERA_TEST_POSTGRES_URL`.
    Postgres,
    /// MariaDB or MySQL, at `TESSERA_TEST_MYSQL_URL`.
    MySql,
}

impl Server {
    /// The environment variable holding the URL of a server (and an
    /// existing database on it) where test databases may be created, e.g.
    /// `postgres://postgres@127.0.0.1:5432/test` or
    /// `mysql://root@127.0.0.1:3306/test`.
    pub fn url_var(self) -> &'static str {
        match self {
            Server::Postgres => "TESSERA_TEST_POSTGRES_URL",
            Server::MySql => "TESSERA_TEST_MYSQL_URL",
        }
    }

    fn create_sql(self, name: &str) -> String {
        match self {
            Server::Postgres => format!("create database \"{name}\""),
            Server::MySql => format!("create database `{name}`"),
        }
    }

    fn drop_sql(self, name: &str) -> String {
        match self {
            Server::Postgres => format!("drop database if exists \"{name}\" with (force)"),
            Server::MySql => format!("drop database if exists `{name}`"),
        }
    }

    /// Runs one administrative statement on a fresh connection to `url`.
    async fn run(self, url: &str, sql: &str) -> Result<(), sqlx::Error> {
        match self {
            Server::Postgres => {
                let mut admin = sqlx::PgConnection::connect(url).await?;
                admin.execute(sql).await?;
                admin.close().await
            }
            Server::MySql => {
                let mut admin = sqlx::MySqlConnection::connect(url).await?;
                admin.execute(sql).await?;
                admin.close().await
            }
        }
    }
}

/// A uniquely named database (`tessera_test_<uuid>`), dropped with the value.
pub struct TestDatabase {
    /// URL of the new database: the server and credentials of the server's
    /// variable.
    pub url: String,
    /// Name of the new database.
    pub name: String,
    server: Server,
    admin_url: String,
}

impl fmt::Debug for TestDatabase {
    // The URLs may carry a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestDatabase")
            .field("server", &self.server)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// `CI=true` (or `1`), as set by most CI systems.
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The URL of `server` from its variable; `None` (after a note on stderr)
/// when unset outside CI.
///
/// # Panics
/// When the variable is unset under `CI=true`.
pub fn server_url(server: Server) -> Option<String> {
    let var = server.url_var();
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if is_ci() => panic!("{var} must be set under CI=true"),
        _ => {
            eprintln!("note: {var} is not set; skipping a test that needs it");
            None
        }
    }
}

/// Creates an empty database on `server`; `None` when its variable is unset
/// outside CI (the caller skips).
///
/// # Panics
/// When the variable is unset under `CI=true`, or the server refuses.
pub async fn fresh_database(server: Server) -> Option<TestDatabase> {
    let admin_url = server_url(server)?;
    let var = server.url_var();
    let name = format!("tessera_test_{}", Uuid::new_v4().simple());
    let mut url = match url::Url::parse(&admin_url) {
        Ok(url) => url,
        Err(e) => panic!("{var} is not a valid URL: {e}"),
    };
    url.set_path(&format!("/{name}"));
    match tokio::time::timeout(ADMIN_TIMEOUT, server.run(&admin_url, &server.create_sql(&name))).await {
        Ok(Ok(())) => {}
        // Driver errors do not repeat the URL (it may hold a password).
        Ok(Err(e)) => panic!("cannot create test database {name} via {var}: {e}"),
        Err(_) => panic!("creating test database {name} via {var} timed out"),
    }
    Some(TestDatabase {
        url: url.into(),
        name,
        server,
        admin_url,
    })
}

impl Drop for TestDatabase {
    /// Drops the database, disconnecting whoever still uses it. `Drop` cannot
    /// be async and may run inside (or after) a test's runtime, so the work
    /// happens on a thread of its own with its own small runtime; errors are
    /// ignored (a leftover database is harmless).
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = self.server.drop_sql(&self.name);
        let server = self.server;
        let dropper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async move {
                let _ = tokio::time::timeout(ADMIN_TIMEOUT, server.run(&admin_url, &sql)).await;
            });
        });
        let _ = dropper.join();
    }
}
