//! The store conformance suite against SQLite: a fresh database file per test.

use std::path::PathBuf;

use tessera_sqlite::SqliteStore;
use tessera_store::conformance::Fixture;
use tessera_store::prelude::*;

/// Deletes a test database and its WAL files when dropped.
struct TempDatabase(PathBuf);

impl Drop for TempDatabase {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A migrated store on a new file: every test gets its own database, and a
/// file (unlike `sqlite::memory:`) exercises WAL and locking between the
/// pool's connections as in production.
async fn fresh_store() -> Option<Fixture<SqliteStore>> {
    let path = std::env::temp_dir().join(format!("tessera-test-{}.db", uuid::Uuid::new_v4()));
    let guard = TempDatabase(path.clone());
    let store = tessera_sqlite::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    Some(Fixture::with_guard(store, guard))
}

tessera_store::store_conformance_tests!(fresh_store());

/// An in-memory database keeps its data across pool checkouts, so tests and
/// throw-away runs may use it.
#[tokio::test]
async fn in_memory_database_persists_across_connections() {
    let store = tessera_sqlite::connect("sqlite::memory:").await.expect("connect");
    store.migrate().await.expect("migrate");
    let now = tessera_store::conformance::now_ms();
    let created = store
        .ensure_tenant("default", "Default", now)
        .await
        .expect("create");
    let (a, b) = tokio::join!(
        store.get_tenant_by_slug("default"),
        store.get_tenant_by_slug("default")
    );
    assert_eq!(a.expect("a"), created);
    assert_eq!(b.expect("b"), created);
    tessera_store::conformance::ensure_tenant_is_race_safe(&store).await;
    tessera_store::conformance::concurrent_rotation_only_one_wins(&store).await;
}

/// A file that did not exist is created by `connect`.
#[tokio::test]
async fn connect_creates_a_missing_file() {
    let path = std::env::temp_dir().join(format!("tessera-test-{}.db", uuid::Uuid::new_v4()));
    let _guard = TempDatabase(path.clone());
    assert!(!path.exists());
    let store = tessera_sqlite::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("connect");
    store.ping().await.expect("ping");
    assert!(path.exists());
    store.engine().close().await;
}
