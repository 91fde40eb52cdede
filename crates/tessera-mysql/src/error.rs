//! The one place where MariaDB / MySQL driver errors become [`StoreError`]s.

use tessera_store::{Conflict, StoreError};

/// Maps a driver error: no row → `NotFound`, unique violation →
/// `Conflict(Unique)` (callers that know the field rename it), lost or
/// refused connections, pool timeouts, deadlocks and lock-wait timeouts →
/// `Unavailable` (worth retrying), the rest → `Other`.
pub(crate) fn map_err(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(Conflict::Unique),
        sqlx::Error::Database(db)
            if db
                .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .is_some_and(|e| is_unavailable_number(e.number())) =>
        {
            StoreError::Unavailable(err.to_string())
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(err.to_string()),
        _ => StoreError::Other(err.to_string()),
    }
}

/// Server error numbers that mean "the server cannot serve us right now"
/// rather than "this statement is wrong" (MariaDB's error reference):
/// too many connections, shutting down, lock-wait timeout, deadlock victim.
fn is_unavailable_number(number: u16) -> bool {
    matches!(
        number,
        1040 // ER_CON_COUNT_ERROR
        | 1053 // ER_SERVER_SHUTDOWN
        | 1205 // ER_LOCK_WAIT_TIMEOUT
        | 1213 // ER_LOCK_DEADLOCK
        | 1927 // ER_CONNECTION_KILLED
    )
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
    use super::is_unavailable_number;

    #[test]
    fn overload_and_lock_failures_are_unavailable_and_statement_errors_are_not() {
        for number in [1040, 1053, 1205, 1213, 1927] {
            assert!(is_unavailable_number(number), "{number}");
        }
        // duplicate key, no such table, data too long, syntax error
        for number in [1062, 1146, 1406, 1064] {
            assert!(!is_unavailable_number(number), "{number}");
        }
    }
}
