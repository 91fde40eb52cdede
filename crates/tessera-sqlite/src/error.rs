//! Which SQLite errors mean "the database cannot serve us right now".

use sqlx::error::DatabaseError;

/// `SQLITE_BUSY`: another connection holds the lock past `busy_timeout`.
const SQLITE_BUSY: i32 = 5;
/// `SQLITE_LOCKED`: a conflict inside one connection or shared cache.
const SQLITE_LOCKED: i32 = 6;

/// Lock contention (BUSY, LOCKED and their extended codes) past the busy
/// timeout: worth retrying.
pub(crate) fn unavailable(err: &dyn DatabaseError) -> bool {
    is_busy(err.code().as_deref())
}

/// Whether an (extended) SQLite result code is a BUSY or LOCKED variant.
fn is_busy(code: Option<&str>) -> bool {
    code.and_then(|c| c.parse::<i32>().ok())
        .map(|c| c & 0xff)
        .is_some_and(|primary| primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
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
