//! The one place where PostgreSQL driver errors become [`StoreError`]s.

use tessera_store::{Conflict, StoreError};

/// Maps a driver error: no row → `NotFound`, unique violation →
/// `Conflict(Unique)` (callers that know the field rename it), pool
/// timeouts, I/O and lost or refused connections → `Unavailable`, the rest →
/// `Other`.
pub(crate) fn map_err(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(Conflict::Unique),
        sqlx::Error::Database(db) if db.code().as_deref().is_some_and(is_unavailable_code) => {
            StoreError::Unavailable(err.to_string())
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(err.to_string()),
        _ => StoreError::Other(err.to_string()),
    }
}

/// SQLSTATEs that mean "the server cannot serve us right now" rather than
/// "this statement is wrong" (PostgreSQL manual, appendix A).
fn is_unavailable_code(code: &str) -> bool {
    // Class 08: connection exception.
    code.starts_with("08")
        || matches!(
            code,
            "57P01" // admin_shutdown (connection terminated)
            | "57P02" // crash_shutdown
            | "57P03" // cannot_connect_now (starting up, recovery)
            | "53300" // too_many_connections
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
    use super::is_unavailable_code;

    #[test]
    fn connection_failures_are_unavailable_and_statement_errors_are_not() {
        for code in ["08000", "08006", "08P01", "57P01", "57P03", "53300"] {
            assert!(is_unavailable_code(code), "{code}");
        }
        for code in ["23505", "23503", "42P01", "22P02", "28P01"] {
            assert!(!is_unavailable_code(code), "{code}");
        }
    }
}
