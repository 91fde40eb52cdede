//! The service layer's one error type.

use tessera_store::{Conflict, StoreError};
use thiserror::Error;

/// One rule a submitted value broke, for a 422 that lists every violation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldViolation {
    /// The input field (`email`, `password`, …).
    pub field: &'static str,
    /// Stable machine-readable rule name (`too_short`, `common_password`, …).
    pub rule: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

/// Everything a service call can fail with. The HTTP layer maps each variant
/// to exactly one status and problem code.
#[derive(Debug, Error)]
pub enum AuthError {
    /// Input failed validation; every broken rule is listed.
    #[error("validation failed")]
    Validation(Vec<FieldViolation>),
    /// A unique value (named) is taken, or the change would break another
    /// integrity rule of the store (a role that is still a parent).
    #[error("conflict on {0}")]
    Conflict(Conflict),
    /// Login failed: unknown user, wrong password, locked or non-active
    /// account — deliberately indistinguishable.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// A refresh token is unknown, spent, expired, or its session is over.
    #[error("invalid grant")]
    InvalidGrant,
    /// Client authentication failed (RFC 6749 §5.2 `invalid_client`); says
    /// why — unknown client, wrong method, wrong or expired secret, disabled
    /// client — without revealing any secret.
    #[error("invalid client: {0}")]
    InvalidClient(crate::clients::ClientRefusal),
    /// The authenticated client may not use this grant type (RFC 6749 §5.2
    /// `unauthorized_client`).
    #[error("unauthorized client")]
    UnauthorizedClient,
    /// A requested scope is not among the client's (RFC 6749 §5.2
    /// `invalid_scope`); names the offending scope.
    #[error("invalid scope: {0}")]
    InvalidScope(String),
    /// A requested scope does not belong to the requested resource (RFC
    /// 6749 §5.2 `invalid_scope`); says why.
    #[error("scope not for this resource: {0}")]
    ScopeNotForResource(String),
    /// The requested resource is unknown, malformed or not the one the
    /// grant was for (RFC 8707 §2 `invalid_target`); says why.
    #[error("invalid target: {0}")]
    InvalidTarget(String),
    /// A malformed OAuth request (RFC 6749 §5.2 `invalid_request`): a
    /// missing or repeated parameter, a bad value; says what.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The token is valid but lacks the scope the resource needs (RFC 6750
    /// §3.1 `insufficient_scope`), e.g. `openid` for userinfo.
    #[error("insufficient scope: {0}")]
    InsufficientScope(&'static str),
    /// A bearer token failed verification or its session is no longer valid.
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    /// A mailed link cannot be used; says why (expired; unknown, used or
    /// replaced — its holder learns nothing they do not already know).
    #[error("link cannot be used: {0}")]
    LinkInvalid(&'static str),
    /// A mailed code is wrong, expired or void after too many wrong
    /// attempts — one answer for all, and for an address with no account.
    #[error("code is wrong, expired or no longer accepted")]
    CodeInvalid,
    /// The password was right but the tenant requires a verified email
    /// address first.
    #[error("email address not verified")]
    EmailNotVerified,
    /// A sensitive change needs a recent sign-in (within 5 minutes) or the
    /// current password.
    #[error("re-authentication required")]
    ReauthenticationRequired,
    /// The current password given for a change was wrong.
    #[error("current password is wrong")]
    WrongPassword,
    /// The addressed resource does not exist for this caller.
    #[error("not found")]
    NotFound,
    /// The caller lacks the named permission the operation needs.
    #[error("missing permission {0}")]
    Forbidden(&'static str),
    /// The rank rule refuses the operation: the caller would manage a user
    /// or client that is not strictly below it, or hand out a role or
    /// permission it does not hold itself; says which.
    #[error("rank rule: {0}")]
    RankRule(String),
    /// The operation would leave the tenant without an active `super_admin`.
    #[error("the last super_admin cannot be removed")]
    LastSuperAdmin,
    /// Setting this parent would make a role inherit from itself.
    #[error("role hierarchy cycle")]
    RoleCycle,
    /// A built-in role or permission cannot be deleted; names it.
    #[error("{0} is built in")]
    Builtin(String),
    /// The password-hash queue is full; retry after the given seconds.
    #[error("overloaded")]
    Overloaded {
        /// Suggested `Retry-After`, seconds.
        retry_after_secs: u64,
    },
    /// The database is unreachable.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A bug or corrupt data; logged, answered opaquely.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AuthError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => AuthError::NotFound,
            StoreError::Conflict(Conflict::LastHolder) => AuthError::LastSuperAdmin,
            StoreError::Conflict(field) => AuthError::Conflict(field),
            StoreError::Unavailable(msg) => AuthError::Unavailable(msg),
            StoreError::Other(msg) => AuthError::Internal(msg),
        }
    }
}

/// Result of every service call.
pub type AuthResult<T> = Result<T, AuthError>;
