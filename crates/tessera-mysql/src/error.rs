//! Which MariaDB / MySQL errors mean "the server cannot serve us right now".

use sqlx::error::DatabaseError;

/// Whether a server error means "the server cannot serve us right now" (an
/// overload, a shutdown, a lock timeout or deadlock: worth retrying).
pub(crate) fn unavailable(err: &dyn DatabaseError) -> bool {
    err.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
        .is_some_and(|e| is_unavailable_number(e.number()))
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
