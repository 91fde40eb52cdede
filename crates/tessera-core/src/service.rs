//! The account and session service: everything the first-party API does,
//! as methods that take validated-or-raw input and return models or
//! [`AuthError`]s.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use tessera_store::{
    Client, ClientType, GrantType, RefreshToken, Session, SessionWithUser, Store, StoreError, Tenant, User,
    UserProfileUpdate, UserStatus, DEFAULT_TENANT_SLUG,
};
use uuid::Uuid;

use crate::clock::Clock;
use crate::error::{AuthError, AuthResult, FieldViolation};
use crate::identity::{Email, Username};
use crate::jwt::{self, AccessClaims, Expectations, ACCESS_TOKEN_TYP, FIRST_PARTY_CLIENT_ID};
use crate::keys::KeyRing;
use crate::password::PasswordHasher;
use crate::settings::{LockoutPolicy, PasswordPolicy, TokenSettings};
use crate::tokens::{new_opaque_token, token_hash};

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

/// The account and session service.
pub struct AuthService {
    store: Arc<dyn Store>,
    hasher: PasswordHasher,
    keys: Arc<KeyRing>,
    clock: Arc<dyn Clock>,
    settings: ServiceSettings,
    audience: String,
    tenant: Tenant,
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
        let now = clock.now();
        let tenant = store.ensure_tenant(DEFAULT_TENANT_SLUG, "Default", now).await?;
        keys.ensure_loaded(tenant.tenant_id, now).await?;
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
            sessions,
            verified,
            revoked,
        })
    }

    /// The tenant requests are served for.
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
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

    /// The JWKS of the tenant.
    pub async fn jwks(&self) -> AuthResult<Arc<serde_json::Value>> {
        self.keys.jwks(self.tenant.tenant_id, self.clock.now()).await
    }

    // --- accounts -------------------------------------------------------------

    /// Creates an active account. Every validation failure is reported at
    /// once; a taken email or username is a `Conflict` naming the field.
    pub async fn register(&self, input: Registration) -> AuthResult<User> {
        let mut violations = Vec::new();
        let email = Email::parse(&input.email).map_err(|v| violations.push(v)).ok();
        let username = match input.username.as_deref() {
            Some(raw) => Username::parse(raw).map_err(|v| violations.push(v)).ok(),
            None => None,
        };
        violations.extend(
            self.settings
                .password_policy
                .violations(&input.password, email.as_ref()),
        );
        let Some(email) = email else {
            return Err(AuthError::Validation(violations));
        };
        if !violations.is_empty() {
            return Err(AuthError::Validation(violations));
        }
        let password_hash = self.hasher.hash(&input.password).await?;
        let now = self.clock.now();
        let user = User {
            user_id: Uuid::now_v7(),
            tenant_id: self.tenant.tenant_id,
            email: email.as_str().to_string(),
            email_verified: false,
            username: username.map(Username::into_string),
            display_name: None,
            profile: serde_json::json!({}),
            status: UserStatus::Active,
            password_hash: Some(password_hash),
            failed_login_count: 0,
            locked_until: None,
            created_at: now,
            updated_at: now,
        };
        self.store.create_user(&user).await?;
        Ok(user)
    }

    /// Checks credentials and opens a session. Unknown user, wrong password,
    /// locked and non-active accounts all fail alike and cost one hash.
    pub async fn login(&self, request: LoginRequest) -> AuthResult<IssuedTokens> {
        let result = self.try_login(request).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(AuthError::InvalidCredentials) => "failed",
            Err(_) => "error",
        };
        metrics::counter!("tessera_logins_total", "result" => outcome).increment(1);
        result
    }

    async fn try_login(&self, request: LoginRequest) -> AuthResult<IssuedTokens> {
        let tenant_id = self.tenant.tenant_id;
        let ticket = self.hasher.admit()?;
        let identifier = request.identifier.trim().to_lowercase();
        // No stored email or username holds a control character (both are
        // parsed on the way in), and PostgreSQL refuses NUL in text outright:
        // such an identifier is simply an unknown user.
        let user = if identifier.chars().any(char::is_control) {
            None
        } else {
            match self.store.find_user_by_identifier(tenant_id, &identifier).await {
                Ok(user) => Some(user),
                Err(StoreError::NotFound) => None,
                Err(other) => return Err(other.into()),
            }
        };
        let now = self.clock.now();
        let Some(user) = user else {
            ticket.verify(None, &request.password).await?;
            return Err(AuthError::InvalidCredentials);
        };
        if user.locked_until.is_some_and(|until| until > now) {
            ticket.verify(None, &request.password).await?;
            return Err(AuthError::InvalidCredentials);
        }
        let password_ok = ticket
            .verify(user.password_hash.as_deref(), &request.password)
            .await?;
        if !password_ok {
            let failures = user.failed_login_count.saturating_add(1);
            let locked_until = self
                .settings
                .lockout
                .lock_period_secs(u32::try_from(failures).unwrap_or(u32::MAX))
                .map(|secs| now + Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 2)));
            if locked_until.is_some() {
                tracing::warn!(user_id = %user.user_id, failures, "account locked after failed logins");
            }
            self.store
                .record_login_failure(tenant_id, user.user_id, failures, locked_until)
                .await?;
            return Err(AuthError::InvalidCredentials);
        }
        if user.status != UserStatus::Active {
            return Err(AuthError::InvalidCredentials);
        }
        let session = Session {
            session_id: Uuid::now_v7(),
            tenant_id,
            user_id: user.user_id,
            ip: request.ip,
            user_agent: request.user_agent.map(|ua| ua.chars().take(512).collect()),
            created_at: now,
            last_used_at: now,
            expires_at: now + self.secs(self.settings.tokens.session_absolute_ttl_secs),
            revoked_at: None,
            revoke_reason: None,
        };
        let refresh_token = new_opaque_token();
        let first = self.refresh_row(&refresh_token, &session, None, now);
        self.store.create_session(&session, &first).await?;
        let access_token = self.issue_access_token(&user, session.session_id, now).await?;
        Ok(IssuedTokens {
            access_token,
            expires_in: self.settings.tokens.access_token_ttl_secs,
            refresh_token,
            session_id: session.session_id,
        })
    }

    /// Spends a refresh token for a new access + refresh pair. A spent token
    /// presented again revokes its whole session (theft detection).
    pub async fn refresh(&self, presented: &str) -> AuthResult<IssuedTokens> {
        let tenant_id = self.tenant.tenant_id;
        let old_hash = token_hash(presented);
        let old = match self.store.get_refresh_token(tenant_id, &old_hash).await {
            Ok(token) => token,
            Err(StoreError::NotFound) => return Err(AuthError::InvalidGrant),
            Err(other) => return Err(other.into()),
        };
        if old.used_at.is_some() {
            return self.refresh_token_reused(old.session_id).await;
        }
        let now = self.clock.now();
        let state = self
            .store
            .get_session_with_user(tenant_id, old.session_id)
            .await?;
        let session = &state.session;
        if session.revoked_at.is_some()
            || session.expires_at <= now
            || old.expires_at <= now
            || state.user.status != UserStatus::Active
        {
            return Err(AuthError::InvalidGrant);
        }
        let refresh_token = new_opaque_token();
        let next = self.refresh_row(&refresh_token, session, Some(old_hash.clone()), now);
        if !self
            .store
            .rotate_refresh_token(tenant_id, &old_hash, &next, now)
            .await?
        {
            return self.refresh_token_reused(old.session_id).await;
        }
        let access_token = self
            .issue_access_token(&state.user, session.session_id, now)
            .await?;
        Ok(IssuedTokens {
            access_token,
            expires_in: self.settings.tokens.access_token_ttl_secs,
            refresh_token,
            session_id: session.session_id,
        })
    }

    async fn refresh_token_reused(&self, session_id: Uuid) -> AuthResult<IssuedTokens> {
        tracing::warn!(%session_id, "spent refresh token presented again; revoking the session");
        metrics::counter!("tessera_refresh_token_reuse_total").increment(1);
        self.revoke_sessions(&[session_id], "refresh_token_reuse").await?;
        Err(AuthError::InvalidGrant)
    }

    fn refresh_row(
        &self,
        token: &str,
        session: &Session,
        parent_hash: Option<String>,
        now: DateTime<Utc>,
    ) -> RefreshToken {
        let idle_end = now + self.secs(self.settings.tokens.refresh_idle_ttl_secs);
        RefreshToken {
            token_hash: token_hash(token),
            tenant_id: session.tenant_id,
            session_id: session.session_id,
            parent_hash,
            created_at: now,
            expires_at: idle_end.min(session.expires_at),
            used_at: None,
        }
    }

    async fn issue_access_token(
        &self,
        user: &User,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> AuthResult<String> {
        let key = self.keys.signing_key(self.tenant.tenant_id, now).await?;
        let iat = now.timestamp();
        let ttl = i64::try_from(self.settings.tokens.access_token_ttl_secs).unwrap_or(i64::MAX / 2);
        let claims = AccessClaims {
            iss: self.settings.issuer.clone(),
            sub: user.user_id.to_string(),
            aud: self.audience.clone(),
            exp: iat + ttl,
            iat,
            nbf: iat,
            jti: Uuid::new_v4().to_string(),
            client_id: FIRST_PARTY_CLIENT_ID.to_string(),
            sid: Some(session_id),
            scope: None,
            tid: user.tenant_id,
            email: Some(user.email.clone()),
        };
        jwt::sign(&key, ACCESS_TOKEN_TYP, &claims)
    }

    // --- bearer authentication --------------------------------------------------

    /// Accepts a bearer access token only if its signature, algorithm,
    /// `typ`, `iss`, `aud`, `exp`/`nbf` and its session (not revoked, not
    /// expired, user active) all check out, and its `jti` is not revoked.
    /// A client's own token (client credentials, no `sid`) is not a user
    /// session and is refused.
    pub async fn authenticate(&self, token: &str) -> AuthResult<Authenticated> {
        let claims = self.verify_token(token).await?;
        let sid = claims.sid.ok_or(AuthError::InvalidToken("not a user token"))?;
        if self.is_revoked(&claims.jti).await? {
            return Err(AuthError::InvalidToken("revoked"));
        }
        let state = self.live_session(sid, &claims.sub).await?;
        Ok(Authenticated { claims, state })
    }

    /// The session `sid` if it is live and belongs to user `sub`.
    async fn live_session(&self, sid: Uuid, sub: &str) -> AuthResult<Arc<SessionWithUser>> {
        let state = self.session_state(sid).await?;
        if !session_is_live(&state, self.clock.now()) || state.session.user_id.to_string() != sub {
            return Err(AuthError::InvalidToken("session ended"));
        }
        Ok(state)
    }

    /// Whether the access token `jti` was revoked (from the cached
    /// revocation set).
    async fn is_revoked(&self, jti: &str) -> AuthResult<bool> {
        let set = self
            .revoked
            .try_get_with((), async {
                let now = self.clock.now();
                let jtis = self
                    .store
                    .list_revoked_access_tokens(self.tenant.tenant_id, now)
                    .await?;
                Ok::<_, AuthError>(Arc::new(jtis.into_iter().collect::<HashSet<_>>()))
            })
            .await
            .map_err(|err: Arc<AuthError>| match err.as_ref() {
                AuthError::Unavailable(msg) => AuthError::Unavailable(msg.clone()),
                other => AuthError::Internal(other.to_string()),
            })?;
        Ok(set.contains(jti))
    }

    // --- OAuth: client credentials, introspection, revocation ------------------

    /// Issues an access token to `client` for itself (RFC 6749 §4.4). The
    /// client must be confidential and registered for `client_credentials`;
    /// every requested scope (space-separated, §3.3) must be one of its
    /// scopes, and no request means all of them. Writes nothing.
    pub async fn issue_client_credentials(
        &self,
        client: &Client,
        requested_scope: Option<&str>,
    ) -> AuthResult<ClientToken> {
        if client.client_type != ClientType::Confidential
            || !client.grant_types.contains(&GrantType::ClientCredentials)
        {
            return Err(AuthError::UnauthorizedClient);
        }
        let scopes: Vec<&str> = match requested_scope {
            None => client.scopes.iter().map(String::as_str).collect(),
            Some(requested) => {
                let mut granted: Vec<&str> = Vec::new();
                for scope in requested.split(' ') {
                    if scope.is_empty() || !client.scopes.iter().any(|s| s == scope) {
                        return Err(AuthError::InvalidScope(scope.to_string()));
                    }
                    if !granted.contains(&scope) {
                        granted.push(scope);
                    }
                }
                granted
            }
        };
        let scope = (!scopes.is_empty()).then(|| scopes.join(" "));
        let ttl = client
            .access_token_ttl_secs
            .and_then(|secs| u64::try_from(secs).ok())
            .filter(|secs| *secs > 0)
            .unwrap_or(self.settings.tokens.access_token_ttl_secs);
        let now = self.clock.now();
        let key = self.keys.signing_key(self.tenant.tenant_id, now).await?;
        let iat = now.timestamp();
        let client_id = client.client_id.to_string();
        let claims = AccessClaims {
            iss: self.settings.issuer.clone(),
            sub: client_id.clone(),
            aud: self.audience.clone(),
            exp: iat + i64::try_from(ttl).unwrap_or(i64::MAX / 2),
            iat,
            nbf: iat,
            jti: Uuid::new_v4().to_string(),
            client_id,
            sid: None,
            scope: scope.clone(),
            tid: self.tenant.tenant_id,
            email: None,
        };
        let access_token = jwt::sign(&key, ACCESS_TOKEN_TYP, &claims)?;
        Ok(ClientToken {
            access_token,
            expires_in: ttl,
            scope,
        })
    }

    /// What `token` is, if it is live (RFC 7662 §2.2): an access token of
    /// this issuer (signature, expiry, `jti` not revoked and, for a user's
    /// token, its session live) or a refresh token (unspent, unexpired, its
    /// session live). Access tokens are JWTs and refresh tokens opaque
    /// strings without dots, so the type is told by shape and a
    /// `token_type_hint` is not needed (§2.1 lets the server ignore it).
    /// Reads through the caches; writes nothing.
    pub async fn introspect(&self, token: &str) -> AuthResult<Introspection> {
        if token.contains('.') {
            let claims = match self.verify_token(token).await {
                Ok(claims) => claims,
                Err(AuthError::InvalidToken(_)) => return Ok(Introspection::Inactive),
                Err(other) => return Err(other),
            };
            if self.is_revoked(&claims.jti).await? {
                return Ok(Introspection::Inactive);
            }
            if let Some(sid) = claims.sid {
                match self.live_session(sid, &claims.sub).await {
                    Ok(_) => {}
                    Err(AuthError::InvalidToken(_)) => return Ok(Introspection::Inactive),
                    Err(other) => return Err(other),
                }
            }
            return Ok(Introspection::AccessToken(claims));
        }
        let Some(refresh) = self.find_refresh_token(token).await? else {
            return Ok(Introspection::Inactive);
        };
        if refresh.used_at.is_some() || refresh.expires_at <= self.clock.now() {
            return Ok(Introspection::Inactive);
        }
        let state = match self.session_state(refresh.session_id).await {
            Ok(state) => state,
            Err(AuthError::InvalidToken(_)) => return Ok(Introspection::Inactive),
            Err(other) => return Err(other),
        };
        if !session_is_live(&state, self.clock.now()) {
            return Ok(Introspection::Inactive);
        }
        Ok(Introspection::RefreshToken {
            user_id: state.user.user_id,
            session_id: refresh.session_id,
            issued_at: refresh.created_at,
            expires_at: refresh.expires_at,
        })
    }

    /// Revokes `token` (RFC 7009 §2.1): a refresh token ends its session;
    /// a live access token has its `jti` denied until it expires. Unknown,
    /// malformed or already dead tokens are ignored (§2.2: still a success).
    pub async fn revoke_token(&self, token: &str) -> AuthResult<()> {
        if token.contains('.') {
            let claims = match self.verify_token(token).await {
                Ok(claims) => claims,
                Err(AuthError::InvalidToken(_)) => return Ok(()),
                Err(other) => return Err(other),
            };
            let expires_at = DateTime::<Utc>::from_timestamp(claims.exp, 0)
                .ok_or_else(|| AuthError::Internal("token expiry out of range".into()))?;
            self.store
                .revoke_access_token(self.tenant.tenant_id, &claims.jti, expires_at, self.clock.now())
                .await?;
            self.revoked.invalidate(&()).await;
            return Ok(());
        }
        if let Some(refresh) = self.find_refresh_token(token).await? {
            self.revoke_sessions(&[refresh.session_id], "token_revoked")
                .await?;
        }
        Ok(())
    }

    /// The stored refresh token `presented` hashes to, if any.
    async fn find_refresh_token(&self, presented: &str) -> AuthResult<Option<RefreshToken>> {
        match self
            .store
            .get_refresh_token(self.tenant.tenant_id, &token_hash(presented))
            .await
        {
            Ok(token) => Ok(Some(token)),
            Err(StoreError::NotFound) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    async fn verify_token(&self, token: &str) -> AuthResult<Arc<AccessClaims>> {
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

    async fn revoke_sessions(&self, session_ids: &[Uuid], reason: &str) -> AuthResult<()> {
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

    fn forget_user_sessions(&self, user_id: Uuid) {
        // Only fails when closures are not enabled, which `start` does.
        let _ = self
            .sessions
            .invalidate_entries_if(move |_, state| state.user.user_id == user_id);
    }

    // --- the caller's own account and sessions ------------------------------------

    /// Ends the caller's current session.
    pub async fn logout(&self, caller: &Authenticated) -> AuthResult<()> {
        self.revoke_sessions(&[caller.session_id()], "logout").await
    }

    /// Ends every session of the caller; returns how many were open.
    pub async fn logout_all(&self, caller: &Authenticated) -> AuthResult<usize> {
        let user_id = caller.user().user_id;
        let revoked = self
            .store
            .revoke_user_sessions(
                self.tenant.tenant_id,
                user_id,
                None,
                "logout_all",
                self.clock.now(),
            )
            .await?;
        self.forget_user_sessions(user_id);
        Ok(revoked.len())
    }

    /// The caller's open sessions, newest first.
    pub async fn list_sessions(&self, caller: &Authenticated) -> AuthResult<Vec<Session>> {
        Ok(self
            .store
            .list_active_sessions(self.tenant.tenant_id, caller.user().user_id, self.clock.now())
            .await?)
    }

    /// Ends one of the caller's own sessions; another user's session is
    /// `NotFound`, exactly like a missing one.
    pub async fn revoke_own_session(&self, caller: &Authenticated, session_id: Uuid) -> AuthResult<()> {
        let state = self
            .store
            .get_session_with_user(self.tenant.tenant_id, session_id)
            .await?;
        if state.session.user_id != caller.user().user_id {
            return Err(AuthError::NotFound);
        }
        self.revoke_sessions(&[session_id], "revoked_by_user").await
    }

    /// Changes the caller's username, display name or profile.
    pub async fn update_profile(&self, caller: &Authenticated, changes: ProfileChanges) -> AuthResult<User> {
        let mut violations: Vec<FieldViolation> = Vec::new();
        let username = match changes.username {
            Some(Some(raw)) => Username::parse(&raw)
                .map(|u| Some(Some(u.into_string())))
                .unwrap_or_else(|v| {
                    violations.push(v);
                    None
                }),
            Some(None) => Some(None),
            None => None,
        };
        let display_name = changes
            .display_name
            .map(|name| name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()));
        if let Some(Some(name)) = &display_name {
            if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
                violations.push(FieldViolation {
                    field: "display_name",
                    rule: "too_long",
                    message: format!("display name must be at most {MAX_DISPLAY_NAME_CHARS} characters"),
                });
            }
            if name.chars().any(char::is_control) {
                violations.push(FieldViolation {
                    field: "display_name",
                    rule: "control_character",
                    message: "display name must not contain control characters".into(),
                });
            }
        }
        if let Some(profile) = &changes.profile {
            if !profile.is_object() {
                violations.push(FieldViolation {
                    field: "profile",
                    rule: "not_an_object",
                    message: "profile must be a JSON object".into(),
                });
            } else if serde_json::to_vec(profile).map(|b| b.len()).unwrap_or(usize::MAX) > MAX_PROFILE_BYTES {
                violations.push(FieldViolation {
                    field: "profile",
                    rule: "too_large",
                    message: format!("profile must be at most {MAX_PROFILE_BYTES} bytes"),
                });
            } else if json_contains_nul(profile) {
                // PostgreSQL's jsonb cannot store U+0000; refuse it on every backend alike.
                violations.push(FieldViolation {
                    field: "profile",
                    rule: "nul_character",
                    message: "profile keys and strings must not contain U+0000".into(),
                });
            }
        }
        if !violations.is_empty() {
            return Err(AuthError::Validation(violations));
        }
        let update = UserProfileUpdate {
            username,
            display_name,
            profile: changes.profile,
        };
        let user_id = caller.user().user_id;
        let user = self
            .store
            .update_user_profile(self.tenant.tenant_id, user_id, &update, self.clock.now())
            .await?;
        self.forget_user_sessions(user_id);
        Ok(user)
    }

    /// Changes the caller's password after checking the current one, and
    /// ends every other session of the caller.
    pub async fn change_password(
        &self,
        caller: &Authenticated,
        current_password: &str,
        new_password: &str,
    ) -> AuthResult<()> {
        let user_id = caller.user().user_id;
        let user = self.store.get_user(self.tenant.tenant_id, user_id).await?;
        if !self
            .hasher
            .verify(user.password_hash.as_deref(), current_password)
            .await?
        {
            return Err(AuthError::WrongPassword);
        }
        let email = Email::parse(&user.email).ok();
        let violations = self
            .settings
            .password_policy
            .violations(new_password, email.as_ref());
        if !violations.is_empty() {
            return Err(AuthError::Validation(violations));
        }
        let new_hash = self.hasher.hash(new_password).await?;
        self.store
            .set_password_hash(
                self.tenant.tenant_id,
                user_id,
                &new_hash,
                Some(caller.session_id()),
                "password_changed",
                self.clock.now(),
            )
            .await?;
        self.forget_user_sessions(user_id);
        Ok(())
    }

    fn secs(&self, secs: u64) -> Duration {
        Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 1000))
    }
}

/// Whether a session is open at `now`: not revoked, not expired, its user
/// active.
fn session_is_live(state: &SessionWithUser, now: DateTime<Utc>) -> bool {
    state.session.revoked_at.is_none()
        && state.session.expires_at > now
        && state.user.status == UserStatus::Active
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
