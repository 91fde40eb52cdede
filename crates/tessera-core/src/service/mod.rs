//! The account and session service: everything the first-party API does,
//! as methods that take validated-or-raw input and return models or
//! [`AuthError`]s. One `AuthService`, its methods grouped by concern in
//! the submodules.

mod accounts;
mod email_change;
mod mailed;
mod oauth;
mod oidc;
mod sessions;

pub(crate) use accounts::check_profile_changes;
pub use mailed::MailedProof;
pub use oidc::{
    AuthorizationParams, AuthorizeError, AuthorizeStep, BrowserSignIn, ClientRedirect, ConsentPrompt, Device,
    LogoutParams, LogoutPlan, OidcService, OidcTokens, SignedInBrowser,
};

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tessera_store::{SessionWithUser, Tenant, User};
use uuid::Uuid;

use crate::context::TenantContext;
use crate::error::{AuthError, AuthResult};
use crate::jwt::{AccessClaims, SCOPE_ACCOUNT};
use crate::password::PasswordHasher;
use crate::settings::{AccountPolicy, LockoutPolicy, PasswordPolicy, TokenSettings};

/// Largest profile object accepted, serialised (16 KiB).
pub const MAX_PROFILE_BYTES: usize = 16 * 1024;
/// Longest display name, characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 128;

/// What the service needs to know besides its collaborators.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// Public base URL, the `iss` of every token.
    pub issuer: String,
    /// Token and session lifetimes.
    pub tokens: TokenSettings,
    /// Rules for new passwords.
    pub password_policy: PasswordPolicy,
    /// Lockout after failed logins.
    pub lockout: LockoutPolicy,
    /// Email verification and recovery by mail.
    pub accounts: AccountPolicy,
}

/// Input of `register`.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Email as typed.
    pub email: String,
    /// Password as typed.
    pub password: String,
    /// Optional username as typed.
    pub username: Option<String>,
}

/// What `register` did.
#[derive(Debug, Clone)]
pub enum Registered {
    /// A new account (its verification mail is queued).
    Created(Box<User>),
    /// The address has an account and the tenant conceals existing
    /// accounts: its owner is mailed a notice; answer as for a new one.
    Concealed,
}

/// Input of `login`.
#[derive(Debug, Clone)]
pub struct LoginRequest {
    /// Email or username.
    pub identifier: String,
    /// Password.
    pub password: String,
    /// Client IP, recorded on the session.
    pub ip: Option<String>,
    /// User-Agent, recorded on the session.
    pub user_agent: Option<String>,
}

/// Changes an owner makes to their account (PATCH semantics: `None` keeps,
/// `Some(None)` clears).
#[derive(Debug, Clone, Default)]
pub struct ProfileChanges {
    /// New username.
    pub username: Option<Option<String>>,
    /// New display name.
    pub display_name: Option<Option<String>>,
    /// Replacement profile object.
    pub profile: Option<serde_json::Value>,
}

/// Tokens handed out by login and refresh.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    /// Signed access token (JWT).
    pub access_token: String,
    /// Its lifetime, seconds.
    pub expires_in: u64,
    /// New opaque refresh token.
    pub refresh_token: String,
    /// The session both belong to.
    pub session_id: Uuid,
}

/// An access token a client obtained for itself (client credentials grant).
#[derive(Debug, Clone)]
pub struct ClientToken {
    /// Signed access token (JWT).
    pub access_token: String,
    /// Its lifetime, seconds.
    pub expires_in: u64,
    /// The granted scopes, space-separated (`None` when none).
    pub scope: Option<String>,
}

/// What introspection found out about a token (RFC 7662).
#[derive(Debug, Clone)]
pub enum Introspection {
    /// Unknown, malformed, expired, revoked, or issued by someone else.
    Inactive,
    /// A live access token (a user's or a client's own) and its claims.
    AccessToken(Arc<AccessClaims>),
    /// A live refresh token.
    RefreshToken {
        /// The user it belongs to.
        user_id: Uuid,
        /// The OAuth client it was issued to (`None`: the first-party API).
        client_id: Option<Uuid>,
        /// The scopes granted with it, space-separated.
        scope: Option<String>,
        /// Its session.
        session_id: Uuid,
        /// When it was issued.
        issued_at: DateTime<Utc>,
        /// When it expires, unless spent first.
        expires_at: DateTime<Utc>,
    },
}

/// A caller whose bearer token checked out.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The token's claims.
    pub claims: Arc<AccessClaims>,
    /// Its session and user, as of at most `session_cache_ttl_secs` ago.
    pub state: Arc<SessionWithUser>,
}

impl Authenticated {
    /// The signed-in user.
    pub fn user(&self) -> &User {
        &self.state.user
    }

    /// The current session's id.
    pub fn session_id(&self) -> Uuid {
        self.state.session.session_id
    }
}

/// The `amr` value of a password login (RFC 8176 §2).
pub(crate) const AMR_PASSWORD: &str = "pwd";

/// The account and session service: what the first-party JSON API does.
pub struct AuthService {
    ctx: Arc<TenantContext>,
}

impl AuthService {
    /// The service of the tenant of `ctx`.
    pub fn new(ctx: Arc<TenantContext>) -> AuthService {
        AuthService { ctx }
    }

    /// The tenant context.
    pub fn context(&self) -> &Arc<TenantContext> {
        &self.ctx
    }

    /// The tenant requests are served for.
    pub fn tenant(&self) -> &Tenant {
        self.ctx.tenant()
    }

    /// The issuer URL.
    pub fn issuer(&self) -> &str {
        self.ctx.issuer()
    }

    /// The password hasher (for its queue-depth metric).
    pub fn hasher(&self) -> &PasswordHasher {
        self.ctx.hasher()
    }

    /// Whether the database answers.
    pub async fn ready(&self) -> AuthResult<()> {
        Ok(self.ctx.resources().ping().await?)
    }

    /// Deletes what has expired and can never be used again: authorization
    /// codes, browser sessions, and the revoked-`jti` rows of access tokens
    /// that expired anyway. Run periodically by the server.
    pub async fn purge_expired(&self) -> AuthResult<tessera_store::PurgeCounts> {
        Ok(self.ctx.resources().purge_expired(self.ctx.now()).await?)
    }

    /// The JWKS of the tenant.
    pub async fn jwks(&self) -> AuthResult<Arc<serde_json::Value>> {
        self.ctx.keys().jwks(self.ctx.tenant_id(), self.ctx.now()).await
    }

    /// Accepts a bearer access token of a live user session (see
    /// [`TenantContext::authenticate`]) for the person's own account API:
    /// a client's token needs `tessera:account`, else `InsufficientScope`.
    pub async fn authenticate(&self, token: &str) -> AuthResult<Authenticated> {
        let caller = self.ctx.authenticate(token).await?;
        // A client's token opens the person's account only if the person
        // granted it `tessera:account`: `openid` alone is a sign-in, not a
        // key to the account.
        if !caller.claims.opens_tessera_api(SCOPE_ACCOUNT) {
            return Err(AuthError::InsufficientScope(SCOPE_ACCOUNT));
        }
        Ok(caller)
    }
}

/// Whether any key or string inside `value` holds U+0000.
fn json_contains_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => text.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(json_contains_nul),
        serde_json::Value::Object(map) => map
            .iter()
            .any(|(key, item)| key.contains('\0') || json_contains_nul(item)),
        _ => false,
    }
}
