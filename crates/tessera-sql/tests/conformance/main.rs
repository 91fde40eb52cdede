//! The one store conformance suite, run on every engine: SQLite always,
//! PostgreSQL and MariaDB when their servers are configured
//! (`TESSERA_TEST_POSTGRES_URL`, `TESSERA_TEST_MYSQL_URL`; required under
//! `CI=true`, reported as ignored otherwise).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mysql;
mod postgres;
mod sqlite;

use tessera_sql::testing::{fresh_database, Server};

/// `fresh_database` hands out distinct databases on `server` and drops them
/// afterwards; `exists(admin_url, name)` asks the server about one.
async fn test_databases_are_unique_and_dropped(server: Server, exists: impl AsyncFn(&str, &str) -> bool) {
    let (Some(a), Some(b)) = (fresh_database(server).await, fresh_database(server).await) else {
        return;
    };
    assert_ne!(a.name, b.name);
    assert!(a.name.starts_with("tessera_test_"));
    let name = a.name.clone();
    let admin_url = std::env::var(server.url_var()).expect("url");
    assert!(exists(&admin_url, &name).await, "database {name} was created");
    drop(a);
    assert!(
        !exists(&admin_url, &name).await,
        "database {name} was not dropped"
    );
}
