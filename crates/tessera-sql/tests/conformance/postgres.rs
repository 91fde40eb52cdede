//! The store conformance suite against PostgreSQL: a fresh database per test
//! on the server of `TESSERA_TEST_POSTGRES_URL`.

use std::time::{Duration, Instant};

use tessera_postgres::PostgresStore;
use tessera_sql::testing::{fresh_database, Server, TestDatabase};
use tessera_store::conformance::{now_ms, Fixture};
use tessera_store::prelude::*;
use tessera_store::StoreError;

async fn migrated_store(db: &TestDatabase) -> PostgresStore {
    let store = tessera_postgres::connect(&db.url, 5).await.expect("connect");
    store.migrate().await.expect("migrate");
    store
}

async fn fresh_store() -> Option<Fixture<PostgresStore>> {
    let db = fresh_database(Server::Postgres).await?;
    let store = migrated_store(&db).await;
    Some(Fixture::with_guard(store, db))
}

tessera_store::store_conformance_tests!(fresh_store(), ignore_unless test_postgres);

/// A server that cannot be reached is `Unavailable`, and quickly.
#[tokio::test]
async fn unreachable_server_is_unavailable_at_connect() {
    let started = Instant::now();
    // Port 1 on loopback: nothing listens there.
    let result = tessera_postgres::connect("postgres://postgres@127.0.0.1:1/none", 2).await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "got {result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

/// When the server drops every connection (a restart, a failover), the
/// store answers again on the next call without being rebuilt.
#[tokio::test]
#[cfg_attr(not(test_postgres), ignore = "PostgreSQL is not configured")]
async fn pool_recovers_after_connections_are_killed() {
    let Some(db) = fresh_database(Server::Postgres).await else {
        return;
    };
    let store = migrated_store(&db).await;
    let tenant = store
        .ensure_tenant("acme", "Acme", now_ms())
        .await
        .expect("tenant");

    let killed = terminate_other_backends(&db).await;
    assert!(killed > 0, "the store had open connections to kill");

    store
        .ping()
        .await
        .expect("ping after the connections were killed");
    assert_eq!(store.get_tenant_by_slug("acme").await.expect("tenant"), tenant);
}

/// Terminates every connection to the test database but the caller's own.
async fn terminate_other_backends(db: &TestDatabase) -> usize {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("admin");
    let rows = sqlx::query(
        "select pg_terminate_backend(pid) as killed from pg_stat_activity \
         where datname = current_database() and pid <> pg_backend_pid()",
    )
    .fetch_all(&mut conn)
    .await
    .expect("terminate");
    rows.iter()
        .filter(|r| r.try_get::<bool, _>("killed").unwrap_or(false))
        .count()
}

/// `fresh_database` hands out distinct databases and drops them afterwards.
#[tokio::test]
#[cfg_attr(not(test_postgres), ignore = "PostgreSQL is not configured")]
async fn test_databases_are_unique_and_dropped() {
    crate::test_databases_are_unique_and_dropped(Server::Postgres, async |admin_url, name| {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(admin_url).await.expect("admin");
        let left: Option<(i32,)> = sqlx::query_as("select 1 from pg_database where datname = $1")
            .bind(name)
            .fetch_optional(&mut admin)
            .await
            .expect("query");
        left.is_some()
    })
    .await;
}
