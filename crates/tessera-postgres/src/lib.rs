//! PostgreSQL engine of the Tessera store: the scale-out choice, shared by
//! any number of stateless nodes.
//!
//! Times are truncated to the millisecond before they are written, so that
//! every engine returns the same values. Transactions run
//! at `read committed`: a refresh-token rotation is guarded by its
//! conditional `update … where used_at is null`, which PostgreSQL re-checks
//! after waiting for a concurrent writer of the same row.
#![forbid(unsafe_code)]

mod error;
mod row;

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::Postgres;
use tessera_sql::SqlStore;
use tessera_store::{StoreError, StoreResult};

pub use crate::row::Row;
use crate::row::Statement;

/// The migrations of this engine, embedded at compile time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a caller waits for a pooled connection (including opening a new
/// one) before the store reports itself unavailable: short, so that an
/// outage becomes a quick 503 rather than a hung request.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The Tessera store on PostgreSQL.
pub type PostgresStore = SqlStore<PostgresEngine>;

/// The PostgreSQL [`tessera_sql::Engine`]: one pool.
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

tessera_sql::sqlx_engine! {
    one pool: PostgresEngine, Postgres,
    unavailable: crate::error::unavailable,
    types: PgPoolHandle, PgTransaction,
    insert_unless_duplicate: on_conflict,
    lock: for_update,
}
