//! First-party sessions: login, refresh rotation, bearer authentication,
//! logout and the caller's session list.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tessera_store::{RefreshToken, Session, SessionWithUser, StoreError, User};
use uuid::Uuid;

use super::*;
use crate::error::{AuthError, AuthResult};
use crate::jwt::{self, AccessClaims, ACCESS_TOKEN_TYP, FIRST_PARTY_CLIENT_ID};
use crate::tokens::{new_opaque_token, token_hash};

impl AuthService {
    /// Checks credentials and opens a session. Unknown user, wrong password,
    /// locked and non-active accounts all fail alike and cost one hash.
    pub async fn login(&self, request: LoginRequest) -> AuthResult<IssuedTokens> {
        count_login(self.try_login(request).await)
    }

    async fn try_login(&self, request: LoginRequest) -> AuthResult<IssuedTokens> {
        let user = self
            .check_credentials(&request.identifier, &request.password)
            .await?;
        let now = self.clock.now();
        let session = Session {
            session_id: Uuid::now_v7(),
            tenant_id: self.tenant.tenant_id,
            user_id: user.user_id,
            ip: request.ip,
            user_agent: request.user_agent.map(|ua| ua.chars().take(512).collect()),
            created_at: now,
            last_used_at: now,
            expires_at: now + self.secs(self.settings.tokens.session_absolute_ttl_secs),
            revoked_at: None,
            revoke_reason: None,
            client_id: None,
            scope: None,
            browser_session_id: None,
            auth_time: now,
            amr: vec![AMR_PASSWORD.to_string()],
        };
        let refresh_token = new_opaque_token();
        let first = self.refresh_row(&refresh_token, &session, None, now);
        self.store.create_session(&session, Some(&first)).await?;
        let access_token = self
            .issue_access_token(&user, &session, &TokenAudience::FirstParty, now)
            .await?;
        Ok(IssuedTokens {
            access_token,
            expires_in: self.settings.tokens.access_token_ttl_secs,
            refresh_token,
            session_id: session.session_id,
        })
    }

    /// The active user these credentials belong to. Unknown user, wrong
    /// password, locked and non-active accounts all fail alike
    /// (`InvalidCredentials`) and cost one hash; a wrong password counts
    /// towards the lockout.
    pub(super) async fn check_credentials(&self, identifier: &str, password: &str) -> AuthResult<User> {
        let tenant_id = self.tenant.tenant_id;
        let ticket = self.hasher.admit()?;
        let identifier = identifier.trim().to_lowercase();
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
            ticket.verify(None, password).await?;
            return Err(AuthError::InvalidCredentials);
        };
        if user.locked_until.is_some_and(|until| until > now) {
            ticket.verify(None, password).await?;
            return Err(AuthError::InvalidCredentials);
        }
        let password_ok = ticket.verify(user.password_hash.as_deref(), password).await?;
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
        if !user_may_sign_in(&user) {
            return Err(AuthError::InvalidCredentials);
        }
        Ok(user)
    }

    /// Spends a refresh token of a first-party session for a new access +
    /// refresh pair. A spent token presented again revokes its whole session
    /// (theft detection). Tokens of OAuth clients are refreshed at
    /// `/oauth2/token` only.
    pub async fn refresh(&self, presented: &str) -> AuthResult<IssuedTokens> {
        let (state, refresh_token) = self.spend_refresh_token(presented, None).await?;
        let now = self.clock.now();
        let access_token = self
            .issue_access_token(&state.user, &state.session, &TokenAudience::FirstParty, now)
            .await?;
        Ok(IssuedTokens {
            access_token,
            expires_in: self.settings.tokens.access_token_ttl_secs,
            refresh_token,
            session_id: state.session.session_id,
        })
    }

    /// Rotates a refresh token (RFC 6749 §10.4, OAuth 2.1 §4.3.1): the
    /// presented one is spent and a new one returned, with the session and
    /// user it belongs to. The session must have been granted to `client`
    /// (`None`: a first-party session). Unknown, expired, foreign or dead →
    /// `InvalidGrant`; spent → the whole session is revoked, then
    /// `InvalidGrant`.
    pub(super) async fn spend_refresh_token(
        &self,
        presented: &str,
        client: Option<Uuid>,
    ) -> AuthResult<(SessionWithUser, String)> {
        let tenant_id = self.tenant.tenant_id;
        let old_hash = token_hash(presented);
        let old = match self.store.get_refresh_token(tenant_id, &old_hash).await {
            Ok(token) => token,
            Err(StoreError::NotFound) => return Err(AuthError::InvalidGrant),
            Err(other) => return Err(other.into()),
        };
        let now = self.clock.now();
        let state = self
            .store
            .get_session_with_user(tenant_id, old.session_id)
            .await?;
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
        let refresh_token = new_opaque_token();
        let next = self.refresh_row(&refresh_token, session, Some(old_hash.clone()), now);
        if !self
            .store
            .rotate_refresh_token(tenant_id, &old_hash, &next, now)
            .await?
        {
            return Err(self.refresh_token_reused(old.session_id).await);
        }
        Ok((state, refresh_token))
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

    pub(super) fn refresh_row(
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

    /// Signs an access token for `user` in `session`: a first-party
    /// token, or one for an OAuth client with its `client_id`, granted
    /// `scope` and lifetime (RFC 9068 §2.2).
    pub(super) async fn issue_access_token(
        &self,
        user: &User,
        session: &Session,
        audience: &TokenAudience<'_>,
        now: DateTime<Utc>,
    ) -> AuthResult<String> {
        let key = self.keys.signing_key(self.tenant.tenant_id, now).await?;
        let iat = now.timestamp();
        let (client_id, scope, ttl, with_permissions) = match audience {
            TokenAudience::FirstParty => (
                FIRST_PARTY_CLIENT_ID.to_string(),
                None,
                self.settings.tokens.access_token_ttl_secs,
                true,
            ),
            TokenAudience::Client { client, scope } => (
                client.client_id.to_string(),
                Some((*scope).to_string()).filter(|s| !s.is_empty()),
                self.access_token_ttl(client),
                client.token_permissions,
            ),
        };
        let access = self.access.for_user(user.user_id).await?;
        let (roles, permissions) = access_claims(&access, with_permissions);
        let claims = AccessClaims {
            iss: self.settings.issuer.clone(),
            sub: user.user_id.to_string(),
            aud: self.audience.clone(),
            exp: iat + i64::try_from(ttl).unwrap_or(i64::MAX / 2),
            iat,
            nbf: Some(iat),
            jti: Uuid::new_v4().to_string(),
            client_id,
            sid: Some(session.session_id),
            scope,
            tid: user.tenant_id,
            email: Some(user.email.clone()),
            roles,
            permissions,
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
    pub(crate) async fn live_session(&self, sid: Uuid, sub: &str) -> AuthResult<Arc<SessionWithUser>> {
        let state = self.session_state(sid).await?;
        if !session_is_live(&state, self.clock.now()) || state.session.user_id.to_string() != sub {
            return Err(AuthError::InvalidToken("session ended"));
        }
        Ok(state)
    }

    /// Whether the access token `jti` was revoked (from the cached
    /// revocation set).
    pub(crate) async fn is_revoked(&self, jti: &str) -> AuthResult<bool> {
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
}

/// Counts a password login — JSON API or hosted page — in
/// `tessera_logins_total{result}` (`ok`, `failed` for refused
/// credentials, `error` for anything else) and passes the result on.
pub(super) fn count_login<T>(result: AuthResult<T>) -> AuthResult<T> {
    let outcome = match &result {
        Ok(_) => "ok",
        Err(AuthError::InvalidCredentials) => "failed",
        Err(_) => "error",
    };
    metrics::counter!("tessera_logins_total", "result" => outcome).increment(1);
    result
}
