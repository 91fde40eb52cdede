//! The one place where SQLite driver errors become [`StoreError`]s.

use tessera_store::{Conflict, StoreError};

/// `SQLITE_BUSY`: another connection holds the lock past `busy_timeout`.
const SQLITE_BUSY: i32 = 5;
/// `SQLITE_LOCKED`: a conflict inside one connection or shared cache.
const SQLITE_LOCKED: i32 = 6;

/// Maps a driver error: no row → `NotFound`, unique violation →
/// `Conflict(Unique)` (callers that know the field rename it), lock
/// contention and pool or I/O failures → `Unavailable`, the rest → `Other`.
pub(crate) fn map_err(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(Conflict::Unique),
        sqlx::Error::Database(db) if is_busy(db.code().as_deref()) => {
            StoreError::Unavailable(err.to_string())
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(err.to_string()),
        _ => StoreError::Other(err.to_string()),
    }
}

/// Whether an (extended) SQLite result code is a BUSY or LOCKED variant.
fn is_busy(code: Option<&str>) -> bool {
    code.and_then(|c| c.parse::<i32>().ok())
        .map(|c| c & 0xff)
        .is_some_and(|primary| primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
}

/// Maps a migration failure; database errors go through [`map_err`].
pub(crate) fn map_migrate_err(err: sqlx::migrate::MigrateError) -> StoreError {
    match err {
        sqlx::migrate::MigrateError::Execute(e) => map_err(e),
        other => StoreError::Other(format!("migration failed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::is_busy;

    #[test]
    fn busy_and_locked_codes_are_recognised_with_extended_bits() {
        assert!(is_busy(Some("5")));
        assert!(is_busy(Some("517"))); // SQLITE_BUSY_SNAPSHOT
        assert!(is_busy(Some("6")));
        assert!(is_busy(Some("262"))); // SQLITE_LOCKED_SHAREDCACHE
        assert!(!is_busy(Some("2067"))); // SQLITE_CONSTRAINT_UNIQUE
        assert!(!is_busy(None));
    }
}
