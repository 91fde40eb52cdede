//! OAuth client credentials (RFC 6749 §4.4), introspection (RFC 7662) and
//! revocation (RFC 7009).

use tessera_store::{Client, ClientType, GrantType};

use super::*;
use crate::accounts::session_is_live;
use crate::clients::check_scope_for_resource;
use crate::error::{AuthError, AuthResult};

impl AuthService {
    /// Issues an access token to `client` for itself (RFC 6749 §4.4). The
    /// client must be confidential and registered for `client_credentials`;
    /// every requested scope (space-separated, §3.3) must be one of its
    /// scopes, and no request means all of them. With `resource` (RFC
    /// 8707; the client standing for it), the token is for that resource
    /// (`aud`) and carries
    /// only scopes of it: requested ones must be, and no request means every
    /// scope of the client the resource has. Writes nothing.
    pub async fn issue_client_credentials(
        &self,
        client: &Client,
        requested_scope: Option<&str>,
        resource: Option<&Client>,
    ) -> AuthResult<ClientToken> {
        if client.client_type != ClientType::Confidential
            || !client.grant_types.contains(&GrantType::ClientCredentials)
        {
            return Err(AuthError::UnauthorizedClient);
        }
        let scopes: Vec<&str> = match requested_scope {
            None => client
                .scopes
                .iter()
                .map(String::as_str)
                .filter(|scope| check_scope_for_resource(scope, resource).is_ok())
                .collect(),
            Some(requested) => {
                let mut granted: Vec<&str> = Vec::new();
                for scope in requested.split(' ') {
                    if scope.is_empty() || !client.scopes.iter().any(|s| s == scope) {
                        return Err(AuthError::InvalidScope(scope.to_string()));
                    }
                    check_scope_for_resource(scope, resource).map_err(AuthError::ScopeNotForResource)?;
                    if !granted.contains(&scope) {
                        granted.push(scope);
                    }
                }
                granted
            }
        };
        let scope = (!scopes.is_empty()).then(|| scopes.join(" "));
        let audience = resource.and_then(|r| r.resource.as_deref());
        let (access_token, expires_in) = self
            .ctx
            .tokens()
            .for_client(client, scope.clone(), audience)
            .await?;
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
    ///
    /// Only for `caller` (RFC 7662 §4): a token is described to the client
    /// it was issued to, or, for an access token, to the client standing
    /// for the resource it is for (`aud`); to anyone else it is inactive.
    pub async fn introspect(&self, token: &str, caller: &Client) -> AuthResult<Introspection> {
        if token.contains('.') {
            let claims = match self.ctx.tokens().verify_any_audience(token).await {
                Ok(claims) => claims,
                Err(AuthError::InvalidToken(_)) => return Ok(Introspection::Inactive),
                Err(other) => return Err(other),
            };
            let issued_to_caller = claims.client_id == caller.client_id.to_string();
            let for_caller = caller.resource.as_deref() == Some(claims.aud.as_str());
            if !issued_to_caller && !for_caller {
                return Ok(Introspection::Inactive);
            }
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
        if !session_is_live(&state, self.ctx.now()) || state.session.client_id != Some(caller.client_id) {
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
            let claims = match self.ctx.tokens().verify_any_audience(token).await {
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
