//! The one component that writes accounts and sessions, and so the one that
//! keeps the session cache right: every write that can change what a cached
//! session says (its user's status, email or password, its revocation)
//! drops the affected entries here, so no caller can forget to. Services
//! reach users, sessions, browser sessions, codes and consents only through
//! it (the tenant context hands them no other way to those tables).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tessera_store::{
    AccountStore, AuthorizationCode, BrowserSession, CodeRedemption, Consent, KeepLastHolder, RefreshToken,
    Session, SessionWithUser, StoreError, User, UserProfileUpdate, UserQuery, UserStatus,
};
use uuid::Uuid;

use crate::access::AccessControl;
use crate::cache::TtlCache;
use crate::clock::Clock;
use crate::error::{AuthError, AuthResult};
use crate::password::PasswordHasher;
use crate::settings::{LockoutPolicy, TokenSettings};
use crate::tokens::{new_opaque_token, token_hash};

mod one_time;

/// Accounts and sessions of one tenant, with the session cache.
pub struct Accounts {
    store: Arc<dyn AccountStore>,
    tenant_id: Uuid,
    clock: Arc<dyn Clock>,
    hasher: PasswordHasher,
    lockout: LockoutPolicy,
    tokens: TokenSettings,
    access: Arc<AccessControl>,
    /// Session + user snapshots by session id; dropped here on every change,
    /// expiring after `session_cache_ttl_secs` for other nodes' changes.
    sessions: TtlCache<Uuid, Arc<SessionWithUser>>,
}

/// Whether the account may sign in and use its sessions: active and not
/// soft-deleted.
pub fn user_may_sign_in(user: &User) -> bool {
    user.status == UserStatus::Active && user.deleted_at.is_none()
}

/// Whether a session is open at `now`: not revoked, not expired, its user
/// active.
pub fn session_is_live(state: &SessionWithUser, now: DateTime<Utc>) -> bool {
    state.session.revoked_at.is_none() && state.session.expires_at > now && user_may_sign_in(&state.user)
}

/// `secs` as a duration (saturating).
pub(crate) fn secs(secs: u64) -> Duration {
    Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 1000))
}

/// `Ok(None)` for `NotFound`, the value or the error otherwise.
fn found<T>(result: Result<T, StoreError>) -> AuthResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(StoreError::NotFound) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

impl Accounts {
    /// The accounts of `tenant_id` in `store`.
    pub(crate) fn new(
        store: Arc<dyn AccountStore>,
        tenant_id: Uuid,
        clock: Arc<dyn Clock>,
        hasher: PasswordHasher,
        lockout: LockoutPolicy,
        tokens: TokenSettings,
        access: Arc<AccessControl>,
    ) -> Accounts {
        let sessions = TtlCache::new(
            clock.clone(),
            100_000,
            StdDuration::from_secs(tokens.session_cache_ttl_secs),
        );
        Accounts {
            store,
            tenant_id,
            clock,
            hasher,
            lockout,
            tokens,
            access,
            sessions,
        }
    }

    /// Drops the cached sessions of `user_id`.
    fn forget_user_sessions(&self, user_id: Uuid) {
        self.sessions
            .invalidate_where(move |state| state.user.user_id == user_id);
    }

    /// Drops the cached sessions `session_ids`.
    async fn forget_sessions(&self, session_ids: &[Uuid]) {
        for session_id in session_ids {
            self.sessions.invalidate(session_id).await;
        }
    }

    // --- users ------------------------------------------------------------------------

    /// Stores a new user holding `roles`.
    pub async fn create_user(&self, user: &User, roles: &[String]) -> AuthResult<()> {
        Ok(self.store.create_user(user, roles).await?)
    }

    /// The user `user_id`.
    pub async fn user(&self, user_id: Uuid) -> AuthResult<User> {
        Ok(self.store.get_user(self.tenant_id, user_id).await?)
    }

    /// The user whose email or username is `identifier` (in canonical
    /// form, see [`crate::identity`]), if any.
    pub async fn find_user(&self, identifier: &str) -> AuthResult<Option<User>> {
        found(
            self.store
                .find_user_by_identifier(self.tenant_id, identifier)
                .await,
        )
    }

    /// The users matching `query`.
    pub async fn list_users(&self, query: &UserQuery) -> AuthResult<Vec<User>> {
        Ok(self.store.list_users(self.tenant_id, query).await?)
    }

    /// Applies profile changes; the user's cached sessions are dropped.
    pub async fn update_profile(&self, user_id: Uuid, update: &UserProfileUpdate) -> AuthResult<User> {
        let user = self
            .store
            .update_user_profile(self.tenant_id, user_id, update, self.clock.now())
            .await?;
        self.forget_user_sessions(user_id);
        Ok(user)
    }

    /// Stores a new password hash and ends every session of the user but
    /// `keep_session` (with `reason`).
    pub async fn set_password(
        &self,
        user_id: Uuid,
        password_hash: &str,
        keep_session: Option<Uuid>,
        reason: &str,
    ) -> AuthResult<()> {
        self.store
            .set_password_hash(
                self.tenant_id,
                user_id,
                password_hash,
                keep_session,
                reason,
                self.clock.now(),
            )
            .await?;
        self.forget_user_sessions(user_id);
        Ok(())
    }

    /// Sets the user's status (see [`tessera_store::UserStore::set_user_status`]).
    pub async fn set_status(
        &self,
        user_id: Uuid,
        status: UserStatus,
        revoke_sessions: Option<&str>,
        keep: Option<KeepLastHolder<'_>>,
    ) -> AuthResult<User> {
        let user = self
            .store
            .set_user_status(
                self.tenant_id,
                user_id,
                status,
                revoke_sessions,
                keep,
                self.clock.now(),
            )
            .await?;
        self.forget_user_sessions(user_id);
        Ok(user)
    }

    /// Soft-deletes (or with `erase`, removes for good) a user.
    pub async fn delete_user(
        &self,
        user_id: Uuid,
        erase: bool,
        keep: Option<KeepLastHolder<'_>>,
    ) -> AuthResult<()> {
        if erase {
            self.store.erase_user(self.tenant_id, user_id, keep).await?;
        } else {
            self.store
                .soft_delete_user(self.tenant_id, user_id, keep, self.clock.now())
                .await?;
        }
        self.forget_user_sessions(user_id);
        self.access.forget_user(user_id).await;
        Ok(())
    }

    /// The active user these credentials belong to. Unknown user, wrong
    /// password, locked and non-active accounts all fail alike
    /// (`InvalidCredentials`) and cost one hash; a wrong password counts
    /// towards the lockout.
    pub async fn check_credentials(&self, identifier: &str, password: &str) -> AuthResult<User> {
        let ticket = self.hasher.admit()?;
        // Looked up in the canonical form accounts are stored in; what has
        // none (a control character, a space, a bad domain; PostgreSQL
        // refuses NUL in text outright) names no account: an unknown user.
        let user = match crate::identity::login_identifier(identifier) {
            Some(identifier) => self.find_user(&identifier).await?,
            None => None,
        };
        let now = self.clock.now();
        let Some(user) = user else {
            ticket.verify(None, password).await?;
            return Err(AuthError::InvalidCredentials);
        };
        if user.locked_until.is_some_and(|until| until > now) {
            ticket.verify(None, password).await?;
            return Err(AuthError::InvalidCredentials);
        }
        if !ticket.verify(user.password_hash.as_deref(), password).await? {
            self.record_failed_login(&user, now).await?;
            return Err(AuthError::InvalidCredentials);
        }
        if !user_may_sign_in(&user) {
            return Err(AuthError::InvalidCredentials);
        }
        Ok(user)
    }

    async fn record_failed_login(&self, user: &User, now: DateTime<Utc>) -> AuthResult<()> {
        let lockout = &self.lockout;
        let lock_for = |failures: i32| {
            lockout
                .lock_period_secs(u32::try_from(failures).unwrap_or(0))
                .map(|lock| now + secs(lock))
        };
        let failures = self
            .store
            .record_login_failure(self.tenant_id, user.user_id, &lock_for)
            .await?;
        if lock_for(failures).is_some() {
            tracing::warn!(user_id = %user.user_id, failures, "account locked after failed logins");
        }
        Ok(())
    }

    // --- sessions and refresh tokens -----------------------------------------------------

    /// A new session for `user` and its first refresh token (returned), or
    /// none when `with_refresh_token` is false.
    pub async fn open_session(
        &self,
        session: &Session,
        with_refresh_token: bool,
    ) -> AuthResult<Option<String>> {
        let token = with_refresh_token.then(new_opaque_token);
        let first = token
            .as_deref()
            .map(|token| self.refresh_row(token, session, None, self.clock.now()));
        self.store.create_session(session, first.as_ref()).await?;
        Ok(token)
    }

    /// The refresh-token row for `token` in `session`, idle expiry from now
    /// but never past the session's absolute expiry.
    pub(crate) fn refresh_row(
        &self,
        token: &str,
        session: &Session,
        parent_hash: Option<String>,
        now: DateTime<Utc>,
    ) -> RefreshToken {
        let idle_end = now + secs(self.tokens.refresh_idle_ttl_secs);
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

    /// The session `session_id` and its user, through the cache;
    /// `InvalidToken` when there is no such session.
    pub async fn session_state(&self, session_id: Uuid) -> AuthResult<Arc<SessionWithUser>> {
        let store = self.store.clone();
        let tenant_id = self.tenant_id;
        self.sessions
            .get_or_load(session_id, async move {
                match store.get_session_with_user(tenant_id, session_id).await {
                    Ok(state) => Ok(Arc::new(state)),
                    Err(StoreError::NotFound) => Err(AuthError::InvalidToken("session ended")),
                    Err(other) => Err(other.into()),
                }
            })
            .await
    }

    /// The session `sid` if it is live and belongs to user `sub`.
    pub async fn live_session(&self, sid: Uuid, sub: &str) -> AuthResult<Arc<SessionWithUser>> {
        let state = self.session_state(sid).await?;
        if !session_is_live(&state, self.clock.now()) || state.session.user_id.to_string() != sub {
            return Err(AuthError::InvalidToken("session ended"));
        }
        Ok(state)
    }

    /// The session `session_id` and its user, read afresh.
    pub async fn session(&self, session_id: Uuid) -> AuthResult<SessionWithUser> {
        Ok(self
            .store
            .get_session_with_user(self.tenant_id, session_id)
            .await?)
    }

    /// The user's open sessions, newest first.
    pub async fn active_sessions(&self, user_id: Uuid) -> AuthResult<Vec<Session>> {
        Ok(self
            .store
            .list_active_sessions(self.tenant_id, user_id, self.clock.now())
            .await?)
    }

    /// Ends sessions (missing ones are skipped).
    pub async fn revoke_sessions(&self, session_ids: &[Uuid], reason: &str) -> AuthResult<()> {
        let now = self.clock.now();
        for session_id in session_ids {
            match self
                .store
                .revoke_session(self.tenant_id, *session_id, reason, now)
                .await
            {
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(other) => return Err(other.into()),
            }
        }
        self.forget_sessions(session_ids).await;
        Ok(())
    }

    /// Ends every session of a user but `keep`; returns how many.
    pub async fn revoke_user_sessions(
        &self,
        user_id: Uuid,
        keep: Option<Uuid>,
        reason: &str,
    ) -> AuthResult<usize> {
        let revoked = self
            .store
            .revoke_user_sessions(self.tenant_id, user_id, keep, reason, self.clock.now())
            .await?;
        self.forget_user_sessions(user_id);
        Ok(revoked.len())
    }

    /// The stored refresh token `presented` hashes to, if any.
    pub async fn find_refresh_token(&self, presented: &str) -> AuthResult<Option<RefreshToken>> {
        found(
            self.store
                .get_refresh_token(self.tenant_id, &token_hash(presented))
                .await,
        )
    }

    /// Rotates a refresh token (RFC 6749 §10.4, OAuth 2.1 §4.3.1): the
    /// presented one is spent and a new one returned, with the session and
    /// user it belongs to. The session must have been granted to `client`
    /// (`None`: a first-party session). Unknown, expired, foreign or dead →
    /// `InvalidGrant`; spent → the whole session is revoked, then
    /// `InvalidGrant`. `check` runs on the live session before anything is
    /// written: a request it refuses (say, `invalid_scope`) leaves the
    /// presented token unspent; only a completed rotation spends it. Its
    /// value is returned with the session and the new token.
    pub async fn spend_refresh_token<T>(
        &self,
        presented: &str,
        client: Option<Uuid>,
        check: impl FnOnce(&SessionWithUser) -> AuthResult<T>,
    ) -> AuthResult<(SessionWithUser, String, T)> {
        let Some(old) = self.find_refresh_token(presented).await? else {
            return Err(AuthError::InvalidGrant);
        };
        let now = self.clock.now();
        let state = self.session(old.session_id).await?;
        if state.session.client_id != client {
            // Another client's token (RFC 6749 §6: bound to the client it
            // was issued to): refused without touching it.
            return Err(AuthError::InvalidGrant);
        }
        if old.used_at.is_some() {
            return Err(self.refresh_token_reused(old.session_id).await);
        }
        let session = &state.session;
        if session.revoked_at.is_some()
            || session.expires_at <= now
            || old.expires_at <= now
            || !user_may_sign_in(&state.user)
        {
            return Err(AuthError::InvalidGrant);
        }
        let checked = check(&state)?;
        let refresh_token = new_opaque_token();
        let next = self.refresh_row(&refresh_token, session, Some(old.token_hash.clone()), now);
        if !self
            .store
            .rotate_refresh_token(self.tenant_id, &old.token_hash, &next, now)
            .await?
        {
            return Err(self.refresh_token_reused(old.session_id).await);
        }
        Ok((state, refresh_token, checked))
    }

    /// Revokes the session of a replayed refresh token; the error to answer.
    async fn refresh_token_reused(&self, session_id: Uuid) -> AuthError {
        tracing::warn!(%session_id, "spent refresh token presented again; revoking the session");
        metrics::counter!("tessera_refresh_token_reuse_total").increment(1);
        match self.revoke_sessions(&[session_id], "refresh_token_reuse").await {
            Ok(()) => AuthError::InvalidGrant,
            Err(err) => err,
        }
    }

    // --- browser sessions, codes, consents -------------------------------------------

    /// Stores a new browser session (clearing the user's failed logins).
    pub async fn create_browser_session(&self, session: &BrowserSession) -> AuthResult<()> {
        Ok(self.store.create_browser_session(session).await?)
    }

    /// The browser session whose cookie is `cookie`, if any (any state).
    pub async fn browser_session(&self, cookie: &str) -> AuthResult<Option<BrowserSession>> {
        found(
            self.store
                .get_browser_session(self.tenant_id, &token_hash(cookie))
                .await,
        )
    }

    /// The browser session `browser_session_id`, if any (any state).
    pub async fn browser_session_by_id(
        &self,
        browser_session_id: Uuid,
    ) -> AuthResult<Option<BrowserSession>> {
        found(
            self.store
                .get_browser_session_by_id(self.tenant_id, browser_session_id)
                .await,
        )
    }

    /// The user's live browser sessions, newest first.
    pub async fn active_browser_sessions(&self, user_id: Uuid) -> AuthResult<Vec<BrowserSession>> {
        Ok(self
            .store
            .list_active_browser_sessions(self.tenant_id, user_id, self.clock.now())
            .await?)
    }

    /// Records that a browser session's cookie was used just now.
    pub async fn touch_browser_session(&self, browser_session_id: Uuid) -> AuthResult<()> {
        Ok(self
            .store
            .touch_browser_session(self.tenant_id, browser_session_id, self.clock.now())
            .await?)
    }

    /// Ends a browser session and every session granted from it (a missing
    /// one is fine).
    pub async fn end_browser_session(&self, browser_session_id: Uuid, reason: &str) -> AuthResult<()> {
        let ended = self
            .store
            .end_browser_session(self.tenant_id, browser_session_id, reason, self.clock.now())
            .await;
        if let Some(revoked) = found(ended)? {
            self.forget_sessions(&revoked).await;
        }
        Ok(())
    }

    /// Stores a new authorization code.
    pub async fn insert_code(&self, code: &AuthorizationCode) -> AuthResult<()> {
        Ok(self.store.insert_authorization_code(code).await?)
    }

    /// The code `code` hashes to, if any.
    pub async fn find_code(&self, code: &str) -> AuthResult<Option<AuthorizationCode>> {
        found(
            self.store
                .get_authorization_code(self.tenant_id, &token_hash(code))
                .await,
        )
    }

    /// Redeems a code, storing `session` and its first refresh token.
    pub async fn redeem_code(
        &self,
        code_hash: &str,
        session: &Session,
        first_token: Option<&RefreshToken>,
    ) -> AuthResult<CodeRedemption> {
        Ok(self
            .store
            .redeem_authorization_code(self.tenant_id, code_hash, session, first_token, self.clock.now())
            .await?)
    }

    /// The user's approval of `client_id`, if any.
    pub async fn consent(&self, user_id: Uuid, client_id: Uuid) -> AuthResult<Option<Consent>> {
        found(self.store.get_consent(self.tenant_id, user_id, client_id).await)
    }

    /// Stores (or replaces) an approval.
    pub async fn save_consent(&self, consent: &Consent) -> AuthResult<()> {
        Ok(self.store.upsert_consent(consent).await?)
    }

    /// The user's approvals.
    pub async fn consents(&self, user_id: Uuid) -> AuthResult<Vec<Consent>> {
        Ok(self.store.list_consents(self.tenant_id, user_id).await?)
    }

    /// Withdraws an approval and ends the sessions it granted.
    pub async fn withdraw_consent(&self, user_id: Uuid, client_id: Uuid, reason: &str) -> AuthResult<()> {
        let revoked = self
            .store
            .delete_consent(self.tenant_id, user_id, client_id, reason, self.clock.now())
            .await?;
        self.forget_sessions(&revoked).await;
        Ok(())
    }
}
