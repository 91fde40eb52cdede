//! MariaDB / MySQL engine of the Tessera store, for teams whose databases
//! are MySQL already.
//!
//! Ids are `binary(16)`, times `datetime(3)` in UTC (sqlx sets the session
//! `time_zone` to `+00:00`), JSON and lists text, every table InnoDB with
//! `utf8mb4_bin` (exact, byte-wise comparisons as on the other engines).
//! Connections run at `read committed`, like PostgreSQL's default: each
//! statement sees what was committed before it, and the conditional
//! updates that guard refresh rotation and code redemption re-read the row
//! after waiting for a concurrent writer. MariaDB has no `update …
//! returning` (MySQL no `returning` at all), which the shared statements
//! avoid; `insert … on conflict do nothing` becomes a plain insert whose
//! duplicate-key error is caught ([`Exec::insert_unless_duplicate`]).
//!
//! Requires MariaDB ≥ 10.5 or MySQL ≥ 8.0.16 (enforced `check`
//! constraints, `for update`, row-value comparisons); tested on MariaDB
//! 10.11.
#![forbid(unsafe_code)]

mod error;
mod placeholders;
mod row;

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::{Executor as _, MySql};
use tessera_sql::SqlStore;
use tessera_store::{StoreError, StoreResult};

pub use crate::row::Row;
use crate::row::Statement;

/// The migrations of this engine, embedded at compile time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a caller waits for a pooled connection (including opening a new
/// one) before the store reports itself unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The Tessera store on MariaDB / MySQL.
pub type MySqlStore = SqlStore<MySqlEngine>;

/// The MariaDB / MySQL [`tessera_sql::Engine`]: one pool.
#[derive(Debug, Clone)]
pub struct MySqlEngine {
    pool: MySqlPool,
}

/// `url` as sqlx reads it: `mariadb://` is accepted as another name of
/// `mysql://`.
fn mysql_url(url: &str) -> String {
    match url.strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => url.to_owned(),
    }
}

/// Connects a pool of at most `max_connections` (at least one) to `url`
/// (`mysql://user:password@host:3306/database`, or `mariadb://…`). Does not
/// migrate: call [`tessera_store::Database::migrate`]. An unreachable
/// server is `Unavailable`.
pub async fn connect(url: &str, max_connections: u32) -> StoreResult<MySqlStore> {
    // The parse error never contains the URL, which may hold a password.
    let options = MySqlConnectOptions::from_str(&mysql_url(url))
        .map_err(|e| StoreError::Other(format!("invalid MySQL URL: {e}")))?;
    let pool = MySqlPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(true)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("set session transaction isolation level read committed")
                    .await
                    .map(drop)
            })
        })
        .connect_with(options)
        .await
        .map_err(map_err)?;
    Ok(SqlStore::new(MySqlEngine { pool }))
}

impl MySqlEngine {
    /// Closes every connection; for a clean shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

tessera_sql::sqlx_engine! {
    one pool: MySqlEngine, MySql,
    unavailable: crate::error::unavailable,
    types: MySqlPoolHandle, MySqlTransaction,
    insert_unless_duplicate: catch,
    lock: for_update,
}

#[cfg(test)]
mod tests {
    use super::mysql_url;

    #[test]
    fn mariadb_urls_are_read_as_mysql_urls() {
        assert_eq!(mysql_url("mariadb://root@db:3306/t"), "mysql://root@db:3306/t");
        assert_eq!(mysql_url("mysql://root@db:3306/t"), "mysql://root@db:3306/t");
    }
}
