//! PostgreSQL backend of the Tessera store: the scale-out choice, shared by
//! any number of stateless nodes.
//!
//! Times are truncated to the millisecond before they are written, so that
//! this backend and the SQLite one return the same values. Transactions run
//! at `read committed`: a refresh-token rotation is guarded by its
//! conditional `update … where used_at is null`, which PostgreSQL re-checks
//! after waiting for a concurrent writer of the same row.
#![forbid(unsafe_code)]

mod error;
mod exec;
mod row;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tessera_sql::{Engine, SqlStore};
use tessera_store::{StoreError, StoreResult};

use crate::error::{map_err, map_migrate_err};
pub use crate::exec::{PgPoolHandle, PgTransaction};
pub use crate::row::Row;

/// The migrations of this backend, embedded at compile time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a caller waits for a pooled connection (including opening a new
/// one) before the store reports itself unavailable: short, so that an
/// outage becomes a quick 503 rather than a hung request.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The Tessera store on PostgreSQL.
pub type PostgresStore = SqlStore<PostgresEngine>;

/// The PostgreSQL [`Engine`]: one pool.
///
/// The pool checks a connection before handing it out and replaces broken
/// ones, so the store recovers by itself when the database comes back.
#[derive(Debug, Clone)]
pub struct PostgresEngine {
    pool: PgPool,
}

/// Connects a pool of at most `max_connections` (at least one) to `url`
/// (`postgres://user:password@host:5432/database`). Does not migrate: call
/// [`tessera_store::Database::migrate`]. An unreachable server is
/// `Unavailable`.
pub async fn connect(url: &str, max_connections: u32) -> StoreResult<PostgresStore> {
    // The parse error never contains the URL, which may hold a password.
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Other(format!("invalid PostgreSQL URL: {e}")))?;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(true)
        .connect_with(options)
        .await
        .map_err(map_err)?;
    Ok(SqlStore::new(PostgresEngine { pool }))
}

impl PostgresEngine {
    /// Closes every connection; for a clean shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Engine for PostgresEngine {
    type Row = Row;
    type Pool<'p> = PgPoolHandle<'p>;
    type Tx = PgTransaction;

    fn reader(&self) -> PgPoolHandle<'_> {
        PgPoolHandle(&self.pool)
    }

    fn writer(&self) -> PgPoolHandle<'_> {
        PgPoolHandle(&self.pool)
    }

    async fn begin(&self) -> StoreResult<PgTransaction> {
        Ok(PgTransaction(self.pool.begin().await.map_err(map_err)?))
    }

    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await.map_err(map_migrate_err)
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("select 1")
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
