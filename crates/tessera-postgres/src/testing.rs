//! Throw-away PostgreSQL databases for tests (feature `test-support`): the
//! store conformance suite here and the HTTP tests of the server use them.
//!
//! The server is named by the environment variable [`URL_VAR`]. When it is
//! unset the tests skip, except under `CI=true`, where PostgreSQL is required
//! and a missing URL fails the run.
// Test support: failing loudly with a clear message is the point.
#![allow(clippy::panic)]

use std::fmt;
use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

/// Environment variable holding the URL of a PostgreSQL server (and an
/// existing database on it) where test databases may be created, e.g.
/// `postgres://postgres@127.0.0.1:5432/test`.
pub const URL_VAR: &str = "TESSERA_TEST_POSTGRES_URL";

/// How long creating or dropping a test database may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A uniquely named database (`tessera_test_<uuid>`), dropped with the value.
pub struct TestDatabase {
    /// URL of the new database: the server and credentials of [`URL_VAR`].
    pub url: String,
    /// Name of the new database.
    pub name: String,
    admin_url: String,
}

impl fmt::Debug for TestDatabase {
    // The URLs may carry a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestDatabase")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Creates an empty database on the server of [`URL_VAR`]; `None` (after a
/// note on stderr) when the variable is unset, so the caller skips.
///
/// # Panics
/// When the variable is unset under `CI=true`, or the server refuses.
pub async fn fresh_database() -> Option<TestDatabase> {
    let admin_url = match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            if is_ci() {
                panic!("{URL_VAR} must be set under CI=true");
            }
            eprintln!("note: {URL_VAR} is not set; skipping a PostgreSQL test");
            return None;
        }
    };
    let name = format!("tessera_test_{}", Uuid::new_v4().simple());
    let mut url = match url::Url::parse(&admin_url) {
        Ok(url) => url,
        Err(e) => panic!("{URL_VAR} is not a valid URL: {e}"),
    };
    url.set_path(&format!("/{name}"));

    let create = async {
        let mut admin = PgConnection::connect(&admin_url).await?;
        admin
            .execute(format!("create database \"{name}\"").as_str())
            .await?;
        admin.close().await
    };
    match tokio::time::timeout(ADMIN_TIMEOUT, create).await {
        Ok(Ok(())) => {}
        // Driver errors do not repeat the URL (it may hold a password).
        Ok(Err(e)) => panic!("cannot create test database {name} via {URL_VAR}: {e}"),
        Err(_) => panic!("creating test database {name} via {URL_VAR} timed out"),
    }
    Some(TestDatabase {
        url: url.into(),
        name,
        admin_url,
    })
}

/// `CI=true` (or `1`), as set by most CI systems.
fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

impl Drop for TestDatabase {
    /// Drops the database, disconnecting whoever still uses it. `Drop` cannot
    /// be async and may run inside (or after) a test's runtime, so the work
    /// happens on a thread of its own with its own small runtime; errors are
    /// ignored (a leftover database is harmless).
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let dropper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async move {
                let drop_database = async {
                    let mut admin = PgConnection::connect(&admin_url).await?;
                    admin
                        .execute(format!("drop database if exists \"{name}\" with (force)").as_str())
                        .await?;
                    admin.close().await
                };
                let _ = tokio::time::timeout(ADMIN_TIMEOUT, drop_database).await;
            });
        });
        let _ = dropper.join();
    }
}
