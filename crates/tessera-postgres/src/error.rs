//! Which PostgreSQL errors mean "the server cannot serve us right now".

use sqlx::error::DatabaseError;

/// SQLSTATEs that mean "the server cannot serve us right now" rather than
/// "this statement is wrong" (PostgreSQL manual, appendix A).
pub(crate) fn unavailable(err: &dyn DatabaseError) -> bool {
    err.code().as_deref().is_some_and(is_unavailable_code)
}

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
