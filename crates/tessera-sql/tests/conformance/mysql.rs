//! The store conformance suite against MariaDB / MySQL: a fresh database per
//! test on the server of `TESSERA_TEST_MYSQL_URL`.

use std::time::{Duration, Instant};

use tessera_mysql::MySqlStore;
use tessera_sql::testing::{fresh_database, Server, TestDatabase};
use tessera_store::conformance::{now_ms, Fixture};
use tessera_store::prelude::*;
use tessera_store::StoreError;

async fn migrated_store(db: &TestDatabase) -> MySqlStore {
    let store = tessera_mysql::connect(&db.url, 5).await.expect("connect");
    store.migrate().await.expect("migrate");
    store
}

async fn fresh_store() -> Option<Fixture<MySqlStore>> {
    let db = fresh_database(Server::MySql).await?;
    let store = migrated_store(&db).await;
    Some(Fixture::with_guard(store, db))
}

tessera_store::store_conformance_tests!(fresh_store(), ignore_unless test_mysql);

/// A server that cannot be reached is `Unavailable`, and quickly.
#[tokio::test]
async fn unreachable_server_is_unavailable_at_connect() {
    let started = Instant::now();
    let result = tessera_mysql::connect("mariadb://root@127.0.0.1:1/none", 2).await;
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
/// store answers again on the next call without being rebuilt; and the
/// connections it opens run at `read committed`.
#[tokio::test]
#[cfg_attr(not(test_mysql), ignore = "MariaDB is not configured")]
async fn pool_recovers_after_connections_are_killed() {
    use sqlx::{Connection, Row};
    let Some(db) = fresh_database(Server::MySql).await else {
        return;
    };
    let store = migrated_store(&db).await;
    let tenant = store
        .ensure_tenant("acme", "Acme", now_ms())
        .await
        .expect("tenant");

    let mut admin = sqlx::MySqlConnection::connect(&db.url).await.expect("admin");
    let ids: Vec<i64> = sqlx::query(
        "select id from information_schema.processlist where db = database() and id <> connection_id()",
    )
    .fetch_all(&mut admin)
    .await
    .expect("processlist")
    .iter()
    .map(|row| row.try_get::<i64, _>("id").expect("id"))
    .collect();
    assert!(!ids.is_empty(), "the store had open connections to kill");
    for id in ids {
        sqlx::query(&format!("kill {id}"))
            .execute(&mut admin)
            .await
            .expect("kill");
    }

    store
        .ping()
        .await
        .expect("ping after the connections were killed");
    assert_eq!(store.get_tenant_by_slug("acme").await.expect("tenant"), tenant);
}

/// `fresh_database` hands out distinct databases and drops them afterwards.
#[tokio::test]
#[cfg_attr(not(test_mysql), ignore = "MariaDB is not configured")]
async fn test_databases_are_unique_and_dropped() {
    crate::test_databases_are_unique_and_dropped(Server::MySql, async |admin_url, name| {
        use sqlx::Connection;
        let mut admin = sqlx::MySqlConnection::connect(admin_url).await.expect("admin");
        let left: Option<(i32,)> =
            sqlx::query_as("select 1 from information_schema.schemata where schema_name = ?")
                .bind(name)
                .fetch_optional(&mut admin)
                .await
                .expect("query");
        left.is_some()
    })
    .await;
}
