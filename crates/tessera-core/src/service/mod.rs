//! The account and session service: everything the first-party API does,
//! as methods that take validated-or-raw input and return models or
//! [`AuthError`]s. One `AuthService`, its methods grouped by concern in
//! the submodules.

mod accounts;
mod oauth;
mod oidc;
mod sessions;

pub(crate) use accounts::check_profile_changes;
pub use oidc::{
    AuthorizationParams, AuthorizeError, AuthorizeStep, BrowserSignIn, ConsentPrompt, LogoutParams,
    LogoutPlan, OidcService, OidcTokens, SignedInBrowser,
};

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use tessera_store::{
    Client, SessionWithUser, Store, StoreError, Tenant, User, UserStatus, DEFAULT_TENANT_SLUG,
};
use uuid::Uuid;

use crate::access::{Access, AccessControl};
use crate::clock::Clock;
use crate::error::{AuthError, AuthResult};
use crate::jwt::{self, AccessClaims, Expectations};
use crate::keys::KeyRing;
use crate::password::PasswordHasher;
use crate::settings::{LockoutPolicy, PasswordPolicy, TokenSettings};

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

/// Who an access token is issued to.
pub(crate) enum TokenAudience<'a> {
    /// Tessera's own JSON API (`client_id` = `tessera`, no scope).
    FirstParty,
    /// An OAuth client, with the scopes it was granted (space-separated).
    Client {
        /// The client.
        client: &'a Client,
        /// Granted scopes.
        scope: &'a str,
    },
}

/// The account and session service.
pub struct AuthService {
    store: Arc<dyn Store>,
    hasher: PasswordHasher,
    keys: Arc<KeyRing>,
    clock: Arc<dyn Clock>,
    settings: ServiceSettings,
    audience: String,
    tenant: Tenant,
    /// Roles and effective permissions of the tenant's users and clients.
    access: Arc<AccessControl>,
    /// Session + user snapshots by session id; invalidated locally on every
    /// change, expiring after `session_cache_ttl_secs` for other nodes'.
    sessions: moka::future::Cache<Uuid, Arc<SessionWithUser>>,
    /// Claims of access tokens whose signature was already verified, by the
    /// SHA-256 of the token: a repeat caller skips the signature check
    /// (expiry is re-checked on every hit).
    verified: moka::sync::Cache<[u8; 32], Arc<AccessClaims>>,
    /// The tenant's revoked, unexpired access-token `jti`s (RFC 7009): read
    /// from the store at most once per `session_cache_ttl_secs` (so a
    /// revocation on another node takes effect here within that TTL) and
    /// dropped locally on every revocation.
    revoked: moka::future::Cache<(), Arc<HashSet<String>>>,
}

impl AuthService {
    /// Prepares the default tenant and its signing keys (creating both on
    /// first start) and returns the service.
    pub async fn start(
        store: Arc<dyn Store>,
        hasher: PasswordHasher,
        keys: Arc<KeyRing>,
        clock: Arc<dyn Clock>,
        settings: ServiceSettings,
    ) -> AuthResult<AuthService> {
        let tenant = store
            .ensure_tenant(DEFAULT_TENANT_SLUG, "Default", clock.now())
            .await?;
        Self::start_for_tenant(store, hasher, keys, clock, settings, tenant).await
    }

    /// The service of `tenant` (its issuer is in `settings`): prepares its
    /// signing keys and seeded roles on first use.
    pub async fn start_for_tenant(
        store: Arc<dyn Store>,
        hasher: PasswordHasher,
        keys: Arc<KeyRing>,
        clock: Arc<dyn Clock>,
        settings: ServiceSettings,
        tenant: Tenant,
    ) -> AuthResult<AuthService> {
        let now = clock.now();
        keys.ensure_loaded(tenant.tenant_id, now).await?;
        let access = Arc::new(AccessControl::new(
            store.clone(),
            tenant.tenant_id,
            StdDuration::from_secs(settings.tokens.session_cache_ttl_secs),
        ));
        access.seed(now).await?;
        let audience = if settings.tokens.audience.is_empty() {
            settings.issuer.clone()
        } else {
            settings.tokens.audience.clone()
        };
        let sessions = moka::future::Cache::builder()
            .max_capacity(100_000)
            .time_to_live(StdDuration::from_secs(settings.tokens.session_cache_ttl_secs))
            .support_invalidation_closures()
            .build();
        let verified = moka::sync::Cache::builder()
            .max_capacity(100_000)
            .time_to_live(StdDuration::from_secs(
                settings.tokens.access_token_ttl_secs.max(1),
            ))
            .build();
        let revoked = moka::future::Cache::builder()
            .max_capacity(1)
            .time_to_live(StdDuration::from_secs(settings.tokens.session_cache_ttl_secs))
            .build();
        Ok(AuthService {
            store,
            hasher,
            keys,
            clock,
            settings,
            audience,
            tenant,
            access,
            sessions,
            verified,
            revoked,
        })
    }

    /// The tenant requests are served for.
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    /// Roles and effective permissions of the tenant.
    pub fn access(&self) -> &Arc<AccessControl> {
        &self.access
    }

    /// The store (for the admin service of the same crate).
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The clock.
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The settings.
    pub(crate) fn settings(&self) -> &ServiceSettings {
        &self.settings
    }

    /// The issuer URL.
    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// The password hasher (for its queue-depth metric).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// Whether the database answers.
    pub async fn ready(&self) -> AuthResult<()> {
        Ok(self.store.ping().await?)
    }

    /// Deletes what has expired and can never be used again: authorization
    /// codes, browser sessions, and the revoked-`jti` rows of access tokens
    /// that expired anyway. Run periodically by the server.
    pub async fn purge_expired(&self) -> AuthResult<tessera_store::PurgeCounts> {
        Ok(self.store.purge_expired(self.clock.now()).await?)
    }

    /// The JWKS of the tenant.
    pub async fn jwks(&self) -> AuthResult<Arc<serde_json::Value>> {
        self.keys.jwks(self.tenant.tenant_id, self.clock.now()).await
    }

    pub(crate) async fn verify_token(&self, token: &str) -> AuthResult<Arc<AccessClaims>> {
        let fingerprint: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = self.clock.now().timestamp();
        let leeway = i64::try_from(self.settings.tokens.leeway_secs).unwrap_or(0);
        if let Some(claims) = self.verified.get(&fingerprint) {
            if claims.exp + leeway > now {
                return Ok(claims);
            }
            return Err(AuthError::InvalidToken("expired"));
        }
        let (kid, _) = jwt::peek_header(token)?;
        let key = self
            .keys
            .verification_key(self.tenant.tenant_id, &kid, self.clock.now())
            .await?
            .ok_or(AuthError::InvalidToken("unknown key"))?;
        let expect = Expectations {
            issuer: &self.settings.issuer,
            audience: &self.audience,
            leeway_secs: self.settings.tokens.leeway_secs,
            now,
        };
        let claims = Arc::new(jwt::verify_access_token(token, &key, &expect)?);
        if claims.tid != self.tenant.tenant_id {
            return Err(AuthError::InvalidToken("wrong tenant"));
        }
        self.verified.insert(fingerprint, claims.clone());
        Ok(claims)
    }

    async fn session_state(&self, session_id: Uuid) -> AuthResult<Arc<SessionWithUser>> {
        if let Some(state) = self.sessions.get(&session_id).await {
            return Ok(state);
        }
        let state = match self
            .store
            .get_session_with_user(self.tenant.tenant_id, session_id)
            .await
        {
            Ok(state) => Arc::new(state),
            Err(StoreError::NotFound) => return Err(AuthError::InvalidToken("session ended")),
            Err(other) => return Err(other.into()),
        };
        self.sessions.insert(session_id, state.clone()).await;
        Ok(state)
    }

    pub(crate) async fn revoke_sessions(&self, session_ids: &[Uuid], reason: &str) -> AuthResult<()> {
        let now = self.clock.now();
        for session_id in session_ids {
            match self
                .store
                .revoke_session(self.tenant.tenant_id, *session_id, reason, now)
                .await
            {
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(other) => return Err(other.into()),
            }
            self.sessions.invalidate(session_id).await;
        }
        Ok(())
    }

    pub(crate) fn forget_user_sessions(&self, user_id: Uuid) {
        // Only fails when closures are not enabled, which `start` does.
        let _ = self
            .sessions
            .invalidate_entries_if(move |_, state| state.user.user_id == user_id);
    }

    /// Access-token lifetime for `client`: its own override, else the
    /// configured default.
    fn access_token_ttl(&self, client: &Client) -> u64 {
        client
            .access_token_ttl_secs
            .and_then(|secs| u64::try_from(secs).ok())
            .filter(|secs| *secs > 0)
            .unwrap_or(self.settings.tokens.access_token_ttl_secs)
    }

    fn secs(&self, secs: u64) -> Duration {
        Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 1000))
    }
}
/// Whether a session is open at `now`: not revoked, not expired, its user
/// active.
fn session_is_live(state: &SessionWithUser, now: DateTime<Utc>) -> bool {
    state.session.revoked_at.is_none() && state.session.expires_at > now && user_may_sign_in(&state.user)
}

/// Whether the account may sign in and use its sessions: active and not
/// soft-deleted.
pub(crate) fn user_may_sign_in(user: &User) -> bool {
    user.status == UserStatus::Active && user.deleted_at.is_none()
}

/// The `roles` and `permissions` claims for `access`; permissions only when
/// `with_permissions`.
pub(crate) fn access_claims(access: &Access, with_permissions: bool) -> (Vec<String>, Option<Vec<String>>) {
    let permissions = with_permissions.then(|| access.grants.names().map(str::to_string).collect());
    (access.roles.clone(), permissions)
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
