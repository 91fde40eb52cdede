//! First-party sessions: login, refresh rotation, logout and the caller's
//! session list.

use tessera_store::{BrowserSession, Session};
use uuid::Uuid;

use super::*;
use crate::access_tokens::TokenAudience;
use crate::accounts::secs;
use crate::error::{AuthError, AuthResult};

impl AuthService {
    /// Checks credentials and opens a session. Unknown user, wrong password,
    /// locked and non-active accounts all fail alike and cost one hash.
    pub async fn login(&self, request: LoginRequest) -> AuthResult<IssuedTokens> {
        count_login(self.try_login(request).await)
    }

    async fn try_login(&self, request: LoginRequest) -> AuthResult<IssuedTokens> {
        let accounts = self.ctx.accounts();
        let user = accounts
            .check_credentials(&request.identifier, &request.password)
            .await?;
        self.ctx.check_email_verified(&user)?;
        let now = self.ctx.now();
        let session = Session {
            session_id: Uuid::now_v7(),
            tenant_id: self.ctx.tenant_id(),
            user_id: user.user_id,
            ip: request.ip,
            user_agent: request.user_agent.map(|ua| ua.chars().take(512).collect()),
            created_at: now,
            last_used_at: now,
            expires_at: now + secs(self.ctx.settings().tokens.session_absolute_ttl_secs),
            revoked_at: None,
            revoke_reason: None,
            client_id: None,
            scope: None,
            resource: None,
            browser_session_id: None,
            auth_time: now,
            amr: vec![AMR_PASSWORD.to_string()],
        };
        let refresh_token = accounts
            .open_session(&session, true)
            .await?
            .ok_or_else(|| AuthError::Internal("no refresh token for a new session".into()))?;
        let (access_token, expires_in) = self
            .ctx
            .tokens()
            .for_user(&user, &session, &TokenAudience::FirstParty)
            .await?;
        Ok(IssuedTokens {
            access_token,
            expires_in,
            refresh_token,
            session_id: session.session_id,
        })
    }

    /// Spends a refresh token of a first-party session for a new access +
    /// refresh pair. A spent token presented again revokes its whole session
    /// (theft detection). Tokens of OAuth clients are refreshed at
    /// `/oauth2/token` only.
    pub async fn refresh(&self, presented: &str) -> AuthResult<IssuedTokens> {
        let (state, refresh_token, ()) = self
            .ctx
            .accounts()
            .spend_refresh_token(presented, None, |_| Ok(()))
            .await?;
        let (access_token, expires_in) = self
            .ctx
            .tokens()
            .for_user(&state.user, &state.session, &TokenAudience::FirstParty)
            .await?;
        Ok(IssuedTokens {
            access_token,
            expires_in,
            refresh_token,
            session_id: state.session.session_id,
        })
    }

    /// Ends the caller's current session.
    pub async fn logout(&self, caller: &Authenticated) -> AuthResult<()> {
        self.ctx
            .accounts()
            .revoke_sessions(&[caller.session_id()], "logout")
            .await
    }

    /// Ends every session of the caller; returns how many were open.
    pub async fn logout_all(&self, caller: &Authenticated) -> AuthResult<usize> {
        self.ctx
            .accounts()
            .revoke_user_sessions(caller.user().user_id, None, "logout_all")
            .await
    }

    /// The caller's open sessions, newest first.
    pub async fn list_sessions(&self, caller: &Authenticated) -> AuthResult<Vec<Session>> {
        self.ctx.accounts().active_sessions(caller.user().user_id).await
    }

    /// The caller's signed-in browsers (hosted-page SSO sessions), newest
    /// first.
    pub async fn list_browser_sessions(&self, caller: &Authenticated) -> AuthResult<Vec<BrowserSession>> {
        self.ctx
            .accounts()
            .active_browser_sessions(caller.user().user_id)
            .await
    }

    /// Ends one of the caller's own sessions: a token session, or a browser
    /// session together with every token session granted from it. Another
    /// user's session is `NotFound`, exactly like a missing one.
    pub async fn revoke_own_session(&self, caller: &Authenticated, session_id: Uuid) -> AuthResult<()> {
        let accounts = self.ctx.accounts();
        match accounts.session(session_id).await {
            Ok(state) if state.session.user_id == caller.user().user_id => {
                return accounts.revoke_sessions(&[session_id], "revoked_by_user").await;
            }
            Ok(_) | Err(AuthError::NotFound) => {}
            Err(other) => return Err(other),
        }
        match accounts.browser_session_by_id(session_id).await? {
            Some(browser) if browser.user_id == caller.user().user_id => {
                accounts.end_browser_session(session_id, "revoked_by_user").await
            }
            _ => Err(AuthError::NotFound),
        }
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
