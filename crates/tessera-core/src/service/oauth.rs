//! OAuth client credentials (RFC 6749 §4.4), introspection (RFC 7662) and
//! revocation (RFC 7009).

use tessera_store::{Client, ClientType, GrantType};

use super::*;
use crate::accounts::session_is_live;
use crate::error::{AuthError, AuthResult};

impl AuthService {
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
        let (access_token, expires_in) = self.ctx.tokens().for_client(client, scope.clone()).await?;
        Ok(ClientToken {
            access_token,
            expires_in,
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
            let claims = match self.ctx.tokens().verify(token).await {
                Ok(claims) => claims,
                Err(AuthError::InvalidToken(_)) => return Ok(Introspection::Inactive),
                Err(other) => return Err(other),
            };
            if self.ctx.tokens().is_revoked(&claims.jti).await? {
                return Ok(Introspection::Inactive);
            }
            if let Some(sid) = claims.sid {
                match self.ctx.accounts().live_session(sid, &claims.sub).await {
                    Ok(_) => {}
                    Err(AuthError::InvalidToken(_)) => return Ok(Introspection::Inactive),
                    Err(other) => return Err(other),
                }
            }
            return Ok(Introspection::AccessToken(claims));
        }
        let Some(refresh) = self.ctx.accounts().find_refresh_token(token).await? else {
            return Ok(Introspection::Inactive);
        };
        if refresh.used_at.is_some() || refresh.expires_at <= self.ctx.now() {
            return Ok(Introspection::Inactive);
        }
        let state = match self.ctx.accounts().session_state(refresh.session_id).await {
            Ok(state) => state,
            Err(AuthError::InvalidToken(_)) => return Ok(Introspection::Inactive),
            Err(other) => return Err(other),
        };
        if !session_is_live(&state, self.ctx.now()) {
            return Ok(Introspection::Inactive);
        }
        Ok(Introspection::RefreshToken {
            user_id: state.user.user_id,
            client_id: state.session.client_id,
            scope: state.session.scope.clone(),
            session_id: refresh.session_id,
            issued_at: refresh.created_at,
            expires_at: refresh.expires_at,
        })
    }

    /// Revokes `token` for the client `caller` (RFC 7009 §2.1): a refresh
    /// token ends its session; a live access token has its `jti` denied
    /// until it expires. The token must have been issued to `caller`
    /// (§2.1: otherwise the request is refused, `UnauthorizedClient`).
    /// Unknown, malformed or already dead tokens are ignored (§2.2: still a
    /// success).
    pub async fn revoke_token(&self, token: &str, caller: &Client) -> AuthResult<()> {
        if token.contains('.') {
            let claims = match self.ctx.tokens().verify(token).await {
                Ok(claims) => claims,
                Err(AuthError::InvalidToken(_)) => return Ok(()),
                Err(other) => return Err(other),
            };
            if claims.client_id != caller.client_id.to_string() {
                return Err(AuthError::UnauthorizedClient);
            }
            return self.ctx.tokens().revoke(&claims).await;
        }
        if let Some(refresh) = self.ctx.accounts().find_refresh_token(token).await? {
            let state = match self.ctx.accounts().session_state(refresh.session_id).await {
                Ok(state) => state,
                Err(AuthError::InvalidToken(_)) => return Ok(()),
                Err(other) => return Err(other),
            };
            if state.session.client_id != Some(caller.client_id) {
                return Err(AuthError::UnauthorizedClient);
            }
            self.ctx
                .accounts()
                .revoke_sessions(&[refresh.session_id], "token_revoked")
                .await?;
        }
        Ok(())
    }
}
