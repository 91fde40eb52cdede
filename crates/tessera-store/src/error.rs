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
    /// The write would break a uniqueness or integrity rule; says which.
    #[error("conflict on {0}")]
    Conflict(Conflict),
    /// The database cannot be reached or did not answer in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else (corrupt row, bug); logged, answered as 500.
    #[error("store error: {0}")]
    Other(String),
}

/// What a [`StoreError::Conflict`] collided with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Conflict {
    /// Another account of the tenant has this (normalised) email.
    Email,
    /// Another account of the tenant has this (normalised) username.
    Username,
    /// The user id exists.
    UserId,
    /// Another tenant has this slug.
    Slug,
    /// A signing key with this `kid` exists.
    Kid,
    /// A client with this id exists.
    ClientId,
    /// Another client of the tenant stands for this resource identifier.
    Resource,
    /// The tenant has a permission of this name.
    Permission,
    /// The tenant has a role of this name.
    Role,
    /// The role is the parent of another role.
    Parent,
    /// The write would leave the tenant without an active holder of a
    /// protected role ([`crate::KeepLastHolder`]).
    LastHolder,
    /// A session with this id exists.
    SessionId,
    /// A refresh token with this hash exists.
    TokenHash,
    /// An authorization code with this hash exists.
    CodeHash,
    /// A unique key the backend could not name.
    Unique,
}

impl Conflict {
    /// The snake_case name, as logged and as the API's problem documents
    /// name the field.
    pub fn as_str(self) -> &'static str {
        match self {
            Conflict::Email => "email",
            Conflict::Username => "username",
            Conflict::UserId => "user_id",
            Conflict::Slug => "slug",
            Conflict::Kid => "kid",
            Conflict::ClientId => "client_id",
            Conflict::Resource => "resource",
            Conflict::Permission => "permission",
            Conflict::Role => "role",
            Conflict::Parent => "parent",
            Conflict::LastHolder => "last_holder",
            Conflict::SessionId => "session_id",
            Conflict::TokenHash => "token_hash",
            Conflict::CodeHash => "code_hash",
            Conflict::Unique => "unique",
        }
    }
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl StoreError {
    /// Renames an unnamed unique violation after the field the caller
    /// knows it is about; any other error passes unchanged.
    pub fn on(self, field: Conflict) -> StoreError {
        match self {
            StoreError::Conflict(Conflict::Unique) => StoreError::Conflict(field),
            other => other,
        }
    }
}
