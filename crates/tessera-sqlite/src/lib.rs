//! SQLite engine of the Tessera store: the embedded default, one file next
//! to one node.
//!
//! Ids are stored as hyphenated uuid text and times as unix milliseconds, so
//! that comparisons in SQL are correct and values round-trip exactly at
//! millisecond precision. Write transactions start with `begin immediate`:
//! they take the write lock up front and wait for it (`busy_timeout`)
//! instead of failing half-way when another connection wrote first — which
//! also makes row locks unnecessary ([`Exec::lock`] does nothing here).
#![forbid(unsafe_code)]

mod error;
mod row;

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Sqlite;
use tessera_sql::SqlStore;
use tessera_store::{Conflict, RefreshToken, StoreError, StoreResult};
use uuid::Uuid;

pub use crate::row::Row;
use crate::row::Statement;

/// The migrations of this engine, embedded at compile time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a statement waits for another connection's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a caller waits for a free pooled connection before the store
/// reports itself unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Reader connections of a file database; under WAL they proceed beside the
/// writer.
const READ_CONNECTIONS: u32 = 4;

/// The Tessera store on SQLite.
pub type SqliteStore = SqlStore<SqliteEngine>;

/// The SQLite [`tessera_sql::Engine`]: a pool of readers and a single writer.
#[derive(Debug, Clone)]
pub struct SqliteEngine {
    /// Serves queries that only read.
    reader: SqlitePool,
    /// One connection for every write. SQLite admits one writer at a time;
    /// with several writing connections the losers wait in SQLite's busy
    /// handler, which sleeps in growing steps (1, 2, 5 … ms) and wrecks
    /// throughput and latency under load. Queuing writers on this pool
    /// instead hands the connection over in FIFO order without sleeping.
    writer: SqlitePool,
}

/// The file a `sqlite:` URL names, as sqlx will open it (relative to the
/// current directory, percent-decoded); `None` for an in-memory database.
pub fn database_file(url: &str) -> StoreResult<Option<std::path::PathBuf>> {
    if url.contains(":memory:") || url.contains("mode=memory") {
        return Ok(None);
    }
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Other(format!("invalid SQLite URL: {e}")))?;
    let file = options.get_filename();
    Ok(Some(
        std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf()),
    ))
}

/// Opens the database at `url` (`sqlite://path/to/tessera.db`, created if
/// missing, or `sqlite::memory:`), with WAL, foreign keys,
/// `synchronous=NORMAL` and a 5 s busy timeout. Does not migrate: call
/// [`tessera_store::Database::migrate`].
///
/// An in-memory database lives as long as its connections, so its pool
/// holds exactly one connection, forever.
pub async fn connect(url: &str) -> StoreResult<SqliteStore> {
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Other(format!("invalid SQLite URL: {e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        .synchronous(SqliteSynchronous::Normal);
    if in_memory {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(map_err)?;
        return Ok(SqlStore::new(SqliteEngine {
            reader: pool.clone(),
            writer: pool,
        }));
    }
    // The writer connects first, so the file and its WAL exist before
    // readers open it.
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options.clone())
        .await
        .map_err(map_err)?;
    let reader = SqlitePoolOptions::new()
        .max_connections(READ_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(map_err)?;
    Ok(SqlStore::new(SqliteEngine { reader, writer }))
}

impl SqliteEngine {
    /// Closes every connection (checkpointing the WAL); for a clean shutdown.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

tessera_sql::sqlx_engine! {
    engine: SqliteEngine,
    database: Sqlite,
    unavailable: crate::error::unavailable,
    pool_handle: SqlitePoolHandle,
    transaction: SqliteTransaction,
    insert_unless_duplicate: on_conflict,
    lock: none,
    reader: |engine| &engine.reader,
    writer: |engine| &engine.writer,
    begin: |engine| engine.writer.begin_with("begin immediate"),
    migrate: |engine| MIGRATOR.run(&engine.writer).await.map_err(map_migrate_err),
    extra {
        async fn rotate_refresh_token(
            &self,
            tenant_id: Uuid,
            old_hash: &str,
            next: &RefreshToken,
            now: DateTime<Utc>,
        ) -> StoreResult<bool> {
            // Two round trips to the writer thread instead of five: every hop to
            // that thread costs a wake-up, and the single writer bounds refresh
            // throughput. The first carries `begin immediate` and the three
            // statements; spending is the guard (of concurrent rotations only
            // one finds `used_at is null`) and each later statement runs only
            // if the one before it changed exactly one row (`changes()`), so the
            // last one returns a row exactly when all three happened. The second
            // commits or rolls back. This bypasses sqlx's `Transaction`, so every
            // exit below ends the transaction itself.
            let mut conn = self.writer.acquire().await.map_err(map_err)?;
            let spent = sqlx::query(
                "begin immediate; \
                 update refresh_token set used_at = $3 \
                 where token_hash = $1 and tenant_id = $2 and session_id = $4 and used_at is null; \
                 insert into refresh_token (token_hash, tenant_id, session_id, parent_hash, created_at, \
                    expires_at, used_at) \
                 select $5, $2, $4, $6, $7, $8, null where changes() = 1; \
                 update session set last_used_at = $3 \
                 where tenant_id = $2 and session_id = $4 and changes() = 1 returning 1 as rotated;",
            )
            .bind(old_hash)
            .bind(tenant_id.hyphenated().to_string())
            .bind(now.timestamp_millis())
            .bind(next.session_id.hyphenated().to_string())
            .bind(&next.token_hash)
            .bind(&next.parent_hash)
            .bind(next.created_at.timestamp_millis())
            .bind(next.expires_at.timestamp_millis())
            .fetch_all(&mut *conn)
            .await;
            let rotated = match spent {
                Ok(rows) => !rows.is_empty(),
                Err(err) => {
                    // Harmless when `begin` itself failed and no transaction is open.
                    let _ = sqlx::query("rollback").execute(&mut *conn).await;
                    return Err(map_err(err).on(Conflict::TokenHash));
                }
            };
            let end = if rotated { "commit" } else { "rollback" };
            if let Err(err) = sqlx::query(end).execute(&mut *conn).await {
                let _ = sqlx::query("rollback").execute(&mut *conn).await;
                return Err(map_err(err));
            }
            Ok(rotated)
        }

    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use sqlx::Row as _;

    use super::*;

    /// The connection settings promised by `connect` are in force on pooled
    /// connections.
    #[tokio::test]
    async fn connections_use_wal_foreign_keys_busy_timeout_and_normal_sync() {
        let path = std::env::temp_dir().join(format!("tessera-unit-{}.db", Uuid::new_v4()));
        let store = connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("connect");
        let mut conn = store.engine().reader.acquire().await.expect("acquire");
        let mut pragma = async |name: &str| -> String {
            let row = sqlx::query(&format!("pragma {name}"))
                .fetch_one(&mut *conn)
                .await
                .expect("pragma");
            row.try_get::<String, _>(0)
                .or_else(|_| row.try_get::<i64, _>(0).map(|v| v.to_string()))
                .expect("value")
        };
        assert_eq!(pragma("journal_mode").await, "wal");
        assert_eq!(pragma("foreign_keys").await, "1");
        assert_eq!(pragma("busy_timeout").await, "5000");
        assert_eq!(pragma("synchronous").await, "1"); // NORMAL
        drop(conn);
        store.engine().close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
