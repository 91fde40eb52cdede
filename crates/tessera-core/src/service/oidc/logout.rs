//! RP-initiated logout and the user's remembered consents.

use super::*;

impl OidcService {
    // --- RP-initiated logout ----------------------------------------------------------------

    /// Checks a logout request (OIDC RP-Initiated Logout §2-3): the hint
    /// must be an ID token of this issuer (expired is fine), `client_id`
    /// must match its audience, and `post_logout_redirect_uri` must be
    /// registered for that client. Writes nothing; `InvalidRequest` says
    /// what is wrong.
    pub async fn plan_logout(&self, params: &LogoutParams) -> AuthResult<LogoutPlan> {
        let mut plan = LogoutPlan::default();
        let mut client_id = params.client_id.clone();
        if let Some(hint) = params.id_token_hint.as_deref() {
            let claims = self.verify_id_token_hint(hint).await?;
            if client_id.as_deref().is_some_and(|id| id != claims.aud) {
                return Err(AuthError::InvalidRequest(
                    "client_id does not match the id_token_hint".into(),
                ));
            }
            client_id = Some(claims.aud);
        }
        let client = match client_id.as_deref() {
            Some(id) => Some(
                self.clients
                    .find(id)
                    .await?
                    .ok_or_else(|| AuthError::InvalidRequest("unknown client_id".into()))?,
            ),
            None => None,
        };
        plan.client_name = client.as_ref().map(|c| c.name.clone());
        if let Some(uri) = params.post_logout_redirect_uri.as_deref() {
            let registered = client
                .as_ref()
                .is_some_and(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri));
            if !registered {
                return Err(AuthError::InvalidRequest(
                    "post_logout_redirect_uri is not registered for this client".into(),
                ));
            }
            let mut url = url::Url::parse(uri)
                .map_err(|_| AuthError::InvalidRequest("post_logout_redirect_uri is not a URL".into()))?;
            if let Some(state) = params.state.as_deref() {
                url.query_pairs_mut().append_pair("state", state);
            }
            plan.redirect = Some(url.to_string());
        }
        Ok(plan)
    }

    /// Signs the browser out after the user confirmed: ends its own browser
    /// session and every token session granted from it. The
    /// `id_token_hint` only identified the RP and its redirect: it never
    /// authorizes ending a session this browser does not hold (anyone may
    /// hold someone's ID token), so without a live session here nothing
    /// ends.
    pub async fn logout(&self, cookie: Option<&str>) -> AuthResult<()> {
        if let Some(browser) = self.browser(cookie).await? {
            self.end_browser_session(browser.session.browser_session_id, "logout")
                .await?;
        }
        Ok(())
    }

    async fn verify_id_token_hint(&self, token: &str) -> AuthResult<IdClaims> {
        let invalid = || AuthError::InvalidRequest("id_token_hint is not an ID token of this issuer".into());
        let (kid, _) = jwt::peek_header(token).map_err(|_| invalid())?;
        let key = self
            .ctx
            .keys()
            .verification_key(self.ctx.tenant_id(), &kid, self.ctx.now())
            .await?
            .ok_or_else(invalid)?;
        let claims = jwt::verify_id_token_hint(token, &key, self.ctx.issuer()).map_err(|_| invalid())?;
        if claims.tid != self.ctx.tenant_id() {
            return Err(invalid());
        }
        Ok(claims)
    }

    // --- consents ------------------------------------------------------------------------

    /// The user's remembered approvals, with the clients' names.
    pub async fn list_consents(&self, user_id: Uuid) -> AuthResult<Vec<(Consent, Option<String>)>> {
        let consents = self.ctx.accounts().consents(user_id).await?;
        let mut named = Vec::with_capacity(consents.len());
        for consent in consents {
            let name = self
                .clients
                .find(&consent.client_id.to_string())
                .await?
                .map(|c| c.name.clone());
            named.push((consent, name));
        }
        Ok(named)
    }

    /// Withdraws an approval and ends the sessions the user granted that
    /// client. `NotFound` if there was none.
    pub async fn revoke_consent(&self, user_id: Uuid, client_id: Uuid) -> AuthResult<()> {
        self.ctx
            .accounts()
            .withdraw_consent(user_id, client_id, "consent_revoked")
            .await
    }
}
