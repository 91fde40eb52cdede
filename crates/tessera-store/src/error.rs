use thiserror::Error;

/// What went wrong in a backend, reduced to what the layers above act on.
///
/// Backends map driver errors once: no row → [`StoreError::NotFound`], a
/// unique-constraint violation → [`StoreError::Conflict`], a connection or
/// pool failure → [`StoreError::Unavailable`]. Never turn `Unavailable` into
/// `NotFound`: an outage must surface as 503, not 404.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The addressed row does not exist (in this tenant).
    #[error("not found")]
    NotFound,
    /// A unique field already holds this value; the string names the field
    /// (`email`, `username`, …) as far as the backend can tell, else `unique`.
    #[error("conflict on {0}")]
    Conflict(String),
    /// The database cannot be reached or did not answer in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else (corrupt row, bug); logged, answered as 500.
    #[error("store error: {0}")]
    Other(String),
}
