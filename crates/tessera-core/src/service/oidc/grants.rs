//! Token grants for users (authorization code, refresh), ID tokens and
//! UserInfo.

use super::*;

impl OidcService {
    // --- token grants -------------------------------------------------------------------

    /// Exchanges an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6):
    /// issued to this client, unexpired, same redirect URI, PKCE verifier
    /// matching. A code used before fails and, per §4.1.2, revokes the
    /// session (and so every token) its first use produced.
    pub async fn exchange_code(
        &self,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
        resource: Option<&str>,
    ) -> AuthResult<OidcTokens> {
        if !client.grant_types.contains(&GrantType::AuthorizationCode) {
            return Err(AuthError::UnauthorizedClient);
        }
        let tenant_id = self.ctx.tenant_id();
        let accounts = self.ctx.accounts();
        let Some(stored) = accounts.find_code(code).await? else {
            return Err(AuthError::InvalidGrant);
        };
        if stored.client_id != client.client_id {
            return Err(AuthError::InvalidGrant);
        }
        if stored.used_at.is_some() {
            return Err(self.code_reused(stored.session_id).await);
        }
        let now = self.ctx.now();
        if stored.expires_at <= now {
            return Err(AuthError::InvalidGrant);
        }
        if !redirect_uri_repeated(&stored, client, redirect_uri) {
            return Err(AuthError::InvalidGrant);
        }
        check_pkce(stored.code_challenge.as_deref(), code_verifier)?;
        check_same_resource(stored.resource.as_deref(), resource)?;
        let user = match accounts.user(stored.user_id).await {
            Ok(user) if user_may_sign_in(&user) => user,
            Ok(_) | Err(AuthError::NotFound) => return Err(AuthError::InvalidGrant),
            Err(other) => return Err(other),
        };
        let session = Session {
            session_id: Uuid::now_v7(),
            tenant_id,
            user_id: user.user_id,
            ip: None,
            user_agent: None,
            created_at: now,
            last_used_at: now,
            expires_at: now + secs(self.ctx.settings().tokens.session_absolute_ttl_secs),
            revoked_at: None,
            revoke_reason: None,
            client_id: Some(client.client_id),
            scope: Some(stored.scope.clone()),
            resource: stored.resource.clone(),
            browser_session_id: Some(stored.browser_session_id),
            auth_time: stored.auth_time,
            amr: stored.amr.clone(),
        };
        let refresh_token = client
            .grant_types
            .contains(&GrantType::RefreshToken)
            .then(new_opaque_token);
        let first = refresh_token
            .as_deref()
            .map(|token| accounts.refresh_row(token, &session, None, now));
        match accounts
            .redeem_code(&stored.code_hash, &session, first.as_ref())
            .await?
        {
            CodeRedemption::Redeemed => {}
            CodeRedemption::AlreadyUsed { session_id } => return Err(self.code_reused(session_id).await),
        }
        self.tokens_for(
            client,
            &user,
            &session,
            &stored.scope,
            stored.nonce.as_deref(),
            refresh_token,
            now,
        )
        .await
    }

    /// A code presented a second time: revoke what the first use issued.
    async fn code_reused(&self, session_id: Option<Uuid>) -> AuthError {
        tracing::warn!(?session_id, "authorization code used twice; revoking its tokens");
        metrics::counter!("tessera_authorization_code_reuse_total").increment(1);
        let Some(session_id) = session_id else {
            return AuthError::InvalidGrant;
        };
        match self
            .ctx
            .accounts()
            .revoke_sessions(&[session_id], "authorization_code_reuse")
            .await
        {
            Ok(()) => AuthError::InvalidGrant,
            Err(err) => err,
        }
    }

    /// The refresh grant for an OAuth client (RFC 6749 §6): rotation and
    /// reuse detection exactly as for first-party sessions, the token bound
    /// to the client it was issued to, and a narrower `scope` allowed.
    pub async fn refresh(
        &self,
        client: &Client,
        presented: &str,
        scope: Option<&str>,
        resource: Option<&str>,
    ) -> AuthResult<OidcTokens> {
        if !client.grant_types.contains(&GrantType::RefreshToken) {
            return Err(AuthError::UnauthorizedClient);
        }
        let (state, refresh_token, scope) = self
            .ctx
            .accounts()
            .spend_refresh_token(presented, Some(client.client_id), |state| {
                check_same_resource(state.session.resource.as_deref(), resource)?;
                narrowed_scope(state.session.scope.as_deref().unwrap_or_default(), scope)
            })
            .await?;
        let now = self.ctx.now();
        self.tokens_for(
            client,
            &state.user,
            &state.session,
            &scope,
            None,
            Some(refresh_token),
            now,
        )
        .await
    }

    /// Signs the access token and, with `openid`, the ID token.
    #[allow(clippy::too_many_arguments)]
    async fn tokens_for(
        &self,
        client: &Client,
        user: &User,
        session: &Session,
        scope: &str,
        nonce: Option<&str>,
        refresh_token: Option<String>,
        now: DateTime<Utc>,
    ) -> AuthResult<OidcTokens> {
        let (access_token, expires_in) = self
            .ctx
            .tokens()
            .for_user(
                user,
                session,
                &TokenAudience::Client {
                    client,
                    scope,
                    resource: session.resource.as_deref(),
                },
            )
            .await?;
        let scopes: Vec<&str> = scope.split(' ').collect();
        let id_token = if scopes.contains(&OPENID) {
            Some(
                self.id_token(client, user, session, &scopes, nonce, &access_token, now)
                    .await?,
            )
        } else {
            None
        };
        Ok(OidcTokens {
            access_token,
            expires_in,
            refresh_token,
            id_token,
            scope: scope.to_string(),
        })
    }

    /// An ID token (OIDC Core §2, §3.1.3.6) signed with the client's
    /// registered algorithm (RS256 unless it registered ES256 or EdDSA).
    #[allow(clippy::too_many_arguments)]
    async fn id_token(
        &self,
        client: &Client,
        user: &User,
        session: &Session,
        scopes: &[&str],
        nonce: Option<&str>,
        access_token: &str,
        now: DateTime<Utc>,
    ) -> AuthResult<String> {
        let alg = client
            .id_token_signed_response_alg
            .as_deref()
            .and_then(SigningAlg::parse)
            .unwrap_or(SigningAlg::RS256);
        let key = self
            .ctx
            .keys()
            .signing_key_or_create(self.ctx.tenant_id(), alg, now)
            .await?;
        let iat = now.timestamp();
        let ttl = i64::try_from(self.ctx.tokens().ttl_for(client)).unwrap_or(i64::MAX / 2);
        let client_id = client.client_id.to_string();
        let claims = IdClaims {
            iss: self.ctx.issuer().to_string(),
            sub: user.user_id.to_string(),
            aud: client_id.clone(),
            azp: client_id,
            exp: iat + ttl,
            iat,
            auth_time: session.auth_time.timestamp(),
            nonce: nonce.map(str::to_string),
            at_hash: Some(jwt::at_hash(alg, access_token)),
            amr: session.amr.clone(),
            sid: session.browser_session_id.map(|id| id.to_string()),
            tid: user.tenant_id,
            extra: scoped_claims(user, scopes),
        };
        jwt::sign(&key, ID_TOKEN_TYP, &claims)
    }

    // --- userinfo -----------------------------------------------------------------------

    /// The UserInfo response (OIDC Core §5.3) for a bearer access token
    /// granted `openid`: `sub` plus the claims of `profile` and `email`.
    pub async fn userinfo(&self, access_token: &str) -> AuthResult<serde_json::Value> {
        let caller = self.ctx.authenticate(access_token).await?;
        let scope = caller.claims.scope.as_deref().unwrap_or("");
        let scopes: Vec<&str> = scope.split(' ').collect();
        if !scopes.contains(&OPENID) {
            return Err(AuthError::InsufficientScope("openid"));
        }
        let user = caller.user();
        let mut claims = scoped_claims(user, &scopes);
        claims.insert("sub".into(), serde_json::json!(user.user_id.to_string()));
        Ok(serde_json::Value::Object(claims))
    }
}

/// RFC 7636 §4.6: BASE64URL(SHA256(verifier)) must equal the challenge.
/// A verifier without a challenge is refused too (a downgrade; OAuth 2.1
/// §4.1.3).
fn check_pkce(challenge: Option<&str>, verifier: Option<&str>) -> AuthResult<()> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (Some(challenge), Some(verifier)) => {
            // §4.1: 43 to 128 unreserved characters.
            let well_formed = (43..=128).contains(&verifier.len())
                && verifier
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
            let computed = B64.encode(Sha256::digest(verifier.as_bytes()));
            if well_formed && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes())) {
                Ok(())
            } else {
                Err(AuthError::InvalidGrant)
            }
        }
        _ => Err(AuthError::InvalidGrant),
    }
}

/// The standard claims the scopes grant (OIDC Core §5.4): `profile` →
/// `name`, `preferred_username`, `updated_at`; `email` → `email`,
/// `email_verified`.
fn scoped_claims(user: &User, scopes: &[&str]) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::json;
    let mut claims = serde_json::Map::new();
    if scopes.contains(&"profile") {
        if let Some(name) = &user.display_name {
            claims.insert("name".into(), json!(name));
        }
        if let Some(username) = &user.username {
            claims.insert("preferred_username".into(), json!(username));
        }
        claims.insert("updated_at".into(), json!(user.updated_at.timestamp()));
    }
    if scopes.contains(&"email") {
        claims.insert("email".into(), json!(user.email));
        claims.insert("email_verified".into(), json!(user.email_verified));
    }
    claims
}

/// The scope of a refreshed token: the session's granted scope, or the
/// narrower `requested` one (RFC 6749 §6); a scope never granted is
/// `InvalidScope`.
fn narrowed_scope(granted: &str, requested: Option<&str>) -> AuthResult<String> {
    let Some(requested) = requested else {
        return Ok(granted.to_string());
    };
    let granted: Vec<&str> = granted.split(' ').collect();
    let mut narrowed = Vec::new();
    for name in requested.split(' ').filter(|s| !s.is_empty()) {
        if !granted.contains(&name) {
            return Err(AuthError::InvalidScope(name.to_string()));
        }
        narrowed.push(name);
    }
    Ok(narrowed.join(" "))
}

/// RFC 8707 §2.2: a token request may name the resource again, but only the
/// one the grant was for (one resource per grant is supported, so there is
/// nothing to narrow to).
fn check_same_resource(granted: Option<&str>, requested: Option<&str>) -> AuthResult<()> {
    match (granted, requested) {
        (_, None) => Ok(()),
        (Some(granted), Some(requested)) if granted == requested => Ok(()),
        (Some(granted), Some(requested)) => Err(AuthError::InvalidTarget(format!(
            "the grant is for {granted:?}, not {requested:?}"
        ))),
        (None, Some(requested)) => Err(AuthError::InvalidTarget(format!(
            "the grant is for Tessera's own API, not {requested:?}; name the resource in the authorization request"
        ))),
    }
}

/// RFC 6749 §4.1.3: the token request's `redirect_uri` is required, and
/// identical, when the authorization request carried one; otherwise it may
/// be left out (the client's one registered URI was used).
fn redirect_uri_repeated(stored: &AuthorizationCode, client: &Client, redirect_uri: Option<&str>) -> bool {
    match redirect_uri {
        Some(uri) => uri == stored.redirect_uri,
        None => !stored.redirect_uri_sent && client.redirect_uris.len() == 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_the_rfc_7636_example() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(check_pkce(Some(challenge), Some(verifier)).is_ok());
        assert!(check_pkce(
            Some(challenge),
            Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx")
        )
        .is_err());
        assert!(check_pkce(Some(challenge), None).is_err());
        assert!(check_pkce(None, Some(verifier)).is_err());
        assert!(check_pkce(None, None).is_ok());
        assert!(check_pkce(Some(challenge), Some("short")).is_err());
    }

    #[test]
    fn at_hash_is_the_left_half_of_the_sha256_for_rs256() {
        // OIDC Core §A.3 example access token and at_hash.
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        assert_eq!(jwt::at_hash(SigningAlg::RS256, token), "77QmUPtjPfzWtF2AnpK9RQ");
    }
}
