//! The store conformance suite against PostgreSQL: a fresh database per test
//! on the server of `TESSERA_TEST_POSTGRES_URL` (skipped when unset, except
//! under `CI=true`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use tessera_postgres::testing::{fresh_database, TestDatabase};
use tessera_postgres::PostgresStore;
use tessera_store::conformance::{now_ms, Fixture};
use tessera_store::{Store, StoreError};

async fn migrated_store(db: &TestDatabase) -> PostgresStore {
    let store = PostgresStore::connect(&db.url, 5).await.expect("connect");
    store.migrate().await.expect("migrate");
    store
}

async fn fresh_store() -> Option<Fixture<PostgresStore>> {
    let db = fresh_database().await?;
    let store = migrated_store(&db).await;
    Some(Fixture::with_guard(store, db))
}

tessera_store::store_conformance_tests!(fresh_store());

/// A server that cannot be reached is `Unavailable`, and quickly.
#[tokio::test]
async fn unreachable_server_is_unavailable_at_connect() {
    let started = Instant::now();
    // Port 1 on loopback: nothing listens there.
    let result = PostgresStore::connect("postgres://postgres@127.0.0.1:1/none", 2).await;
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
async fn pool_recovers_after_connections_are_killed() {
    let Some(db) = fresh_database().await else {
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
async fn test_databases_are_unique_and_dropped() {
    let (Some(a), Some(b)) = (fresh_database().await, fresh_database().await) else {
        return;
    };
    assert_ne!(a.name, b.name);
    assert!(a.name.starts_with("tessera_test_"));
    let name = a.name.clone();
    let admin_url = std::env::var(tessera_postgres::testing::URL_VAR).expect("url");
    drop(a);

    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.expect("admin");
    let left: Option<(i32,)> = sqlx::query_as("select 1 from pg_database where datname = $1")
        .bind(&name)
        .fetch_optional(&mut admin)
        .await
        .expect("query");
    assert!(left.is_none(), "database {name} was not dropped");
}
