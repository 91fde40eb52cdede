//! The authorization code flow and OpenID Connect: authorization requests
//! (RFC 6749 §4.1, RFC 7636 PKCE, OIDC Core §3.1.2), browser sessions behind
//! the hosted pages, remembered consent, the code exchange (§4.1.3), ID
//! tokens, refresh for OAuth clients, userinfo and RP-initiated logout.
//!
//! [`OidcService`] sits beside [`AuthService`] (it shares its store, keys,
//! caches and session logic) and the client registry.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tessera_store::{
    AuthorizationCode, BrowserSession, Client, ClientType, CodeRedemption, Consent, GrantType, Session,
    StoreError, User, UserStatus,
};
use uuid::Uuid;

use super::{AuthService, TokenAudience, AMR_PASSWORD};
use crate::clients::ClientService;
use crate::error::{AuthError, AuthResult};
use crate::jwt::{self, IdClaims, ID_TOKEN_TYP};
use crate::keys::SigningAlg;
use crate::tokens::{new_opaque_token, token_hash};

/// Longest `state` and `nonce` accepted, characters.
const MAX_STATE_CHARS: usize = 2048;
/// The scope that makes a request an OpenID Connect request.
const OPENID: &str = "openid";

/// The parameters of an authorization request, as sent (query or form).
/// Every field is optional here; validation says what is missing.
#[derive(Debug, Clone, Default)]
pub struct AuthorizationParams {
    /// Must be `code`.
    pub response_type: Option<String>,
    /// The client.
    pub client_id: Option<String>,
    /// One of the client's redirect URIs, exactly.
    pub redirect_uri: Option<String>,
    /// Space-separated scopes.
    pub scope: Option<String>,
    /// Opaque client state, echoed.
    pub state: Option<String>,
    /// OIDC nonce, echoed in the ID token.
    pub nonce: Option<String>,
    /// PKCE challenge (RFC 7636 §4.2).
    pub code_challenge: Option<String>,
    /// PKCE method; only `S256`.
    pub code_challenge_method: Option<String>,
    /// OIDC `prompt`: `none`, `login`, `consent` (space-separated).
    pub prompt: Option<String>,
    /// OIDC `max_age`, seconds.
    pub max_age: Option<String>,
}

/// Why an authorization request cannot go on.
#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or the redirect URI is unknown or wrong: the browser must
    /// not be sent anywhere (RFC 6749 §4.1.2.1), the user is told on a page.
    Page {
        /// OAuth error code (`invalid_request`, `invalid_client`).
        error: &'static str,
        /// What is wrong, for the user.
        description: String,
    },
    /// An error for the client: send the browser to this URL (the redirect
    /// URI with `error`, `error_description`, `state` and `iss`).
    Redirect(String),
    /// The service failed (database down, bug).
    Service(AuthError),
}

impl From<AuthError> for AuthorizeError {
    fn from(err: AuthError) -> Self {
        AuthorizeError::Service(err)
    }
}

/// What happens next in a valid authorization request.
#[derive(Debug)]
pub enum AuthorizeStep {
    /// The user must sign in first (no browser session, `prompt=login`, or
    /// the session is older than `max_age`).
    Login,
    /// The user must approve the client's access.
    Consent(ConsentPrompt),
    /// Done: send the browser to this URL (the redirect URI with `code`,
    /// `state` and `iss`, RFC 9207).
    Redirect(String),
}

/// What the consent page shows.
#[derive(Debug, Clone)]
pub struct ConsentPrompt {
    /// The client's display name.
    pub client_name: String,
    /// The scopes it asks for.
    pub scopes: Vec<String>,
    /// Who is signed in (email).
    pub user_email: String,
}

/// A browser that signed in on the hosted login page.
#[derive(Debug, Clone)]
pub struct BrowserSignIn {
    /// The cookie value (shown once; the store keeps its SHA-256).
    pub token: String,
    /// Its lifetime, seconds (the cookie's `Max-Age`).
    pub max_age_secs: u64,
}

/// A live browser session and its user.
#[derive(Debug, Clone)]
pub struct SignedInBrowser {
    /// The session.
    pub session: BrowserSession,
    /// Its (active) user.
    pub user: User,
}

/// Tokens the token endpoint hands an OAuth client for a user.
#[derive(Debug, Clone)]
pub struct OidcTokens {
    /// Access token (JWT, RFC 9068).
    pub access_token: String,
    /// Its lifetime, seconds.
    pub expires_in: u64,
    /// Rotating refresh token, when the client may use the refresh grant.
    pub refresh_token: Option<String>,
    /// ID token, when `openid` was granted.
    pub id_token: Option<String>,
    /// Granted scopes, space-separated.
    pub scope: String,
}

/// Where RP-initiated logout goes after the user confirmed.
#[derive(Debug, Clone, Default)]
pub struct LogoutPlan {
    /// The client that asked, when it could be identified.
    pub client_name: Option<String>,
    /// The validated `post_logout_redirect_uri` with `state` appended.
    pub redirect: Option<String>,
    /// The browser session named by the `id_token_hint`'s `sid`.
    pub hinted_session: Option<Uuid>,
}

/// The parameters of an RP-initiated logout request (OIDC RP-Initiated
/// Logout 1.0 §2), as sent.
#[derive(Debug, Clone, Default)]
pub struct LogoutParams {
    /// An ID token the OP issued to the client.
    pub id_token_hint: Option<String>,
    /// The client (needed when there is no hint).
    pub client_id: Option<String>,
    /// Where to send the browser afterwards; must be registered.
    pub post_logout_redirect_uri: Option<String>,
    /// Echoed to that URI.
    pub state: Option<String>,
}

/// A validated authorization request.
struct ValidRequest {
    client: Arc<Client>,
    redirect_uri: String,
    scopes: Vec<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    prompt_none: bool,
    prompt_login: bool,
    prompt_consent: bool,
    max_age: Option<i64>,
}

/// The authorization server's browser-facing half and its token grants.
pub struct OidcService {
    auth: Arc<AuthService>,
    clients: Arc<ClientService>,
}

impl OidcService {
    /// Joins the account service and the client registry.
    pub fn new(auth: Arc<AuthService>, clients: Arc<ClientService>) -> OidcService {
        OidcService { auth, clients }
    }

    /// The issuer URL.
    pub fn issuer(&self) -> &str {
        self.auth.issuer()
    }

    // --- browser sessions ------------------------------------------------------------

    /// Signs a browser in with a password (the hosted login form): the same
    /// checks, uniform failure and lockout as the JSON login. Returns the
    /// new session's cookie value. `replacing` (the cookie the browser had)
    /// is ended first, so one browser holds one session.
    pub async fn sign_in(
        &self,
        identifier: &str,
        password: &str,
        replacing: Option<&str>,
    ) -> AuthResult<BrowserSignIn> {
        let user = self.auth.check_credentials(identifier, password).await?;
        if let Some(previous) = replacing {
            if let Some(signed_in) = self.browser(Some(previous)).await? {
                self.end_browser_session(signed_in.session.browser_session_id, "replaced")
                    .await?;
            }
        }
        let now = self.auth.clock.now();
        let ttl = self.auth.settings.tokens.browser_session_ttl_secs;
        let token = new_opaque_token();
        let session = BrowserSession {
            browser_session_id: Uuid::now_v7(),
            tenant_id: self.auth.tenant.tenant_id,
            user_id: user.user_id,
            token_hash: token_hash(&token),
            auth_time: now,
            amr: vec![AMR_PASSWORD.to_string()],
            created_at: now,
            expires_at: now + self.auth.secs(ttl),
            revoked_at: None,
        };
        self.auth.store.create_browser_session(&session).await?;
        metrics::counter!("tessera_logins_total", "result" => "ok").increment(1);
        Ok(BrowserSignIn {
            token,
            max_age_secs: ttl,
        })
    }

    /// The live browser session this cookie value belongs to: not ended,
    /// not expired, its user active. `None` for anything else.
    pub async fn browser(&self, cookie: Option<&str>) -> AuthResult<Option<SignedInBrowser>> {
        let Some(cookie) = cookie.filter(|c| !c.is_empty() && c.len() <= 128) else {
            return Ok(None);
        };
        let tenant_id = self.auth.tenant.tenant_id;
        let session = match self
            .auth
            .store
            .get_browser_session(tenant_id, &token_hash(cookie))
            .await
        {
            Ok(session) => session,
            Err(StoreError::NotFound) => return Ok(None),
            Err(other) => return Err(other.into()),
        };
        let now = self.auth.clock.now();
        if session.revoked_at.is_some() || session.expires_at <= now {
            return Ok(None);
        }
        let user = match self.auth.store.get_user(tenant_id, session.user_id).await {
            Ok(user) if user.status == UserStatus::Active => user,
            Ok(_) | Err(StoreError::NotFound) => return Ok(None),
            Err(other) => return Err(other.into()),
        };
        Ok(Some(SignedInBrowser { session, user }))
    }

    /// Ends a browser session and every token session granted from it.
    async fn end_browser_session(&self, browser_session_id: Uuid, reason: &str) -> AuthResult<()> {
        let revoked = match self
            .auth
            .store
            .end_browser_session(
                self.auth.tenant.tenant_id,
                browser_session_id,
                reason,
                self.auth.clock.now(),
            )
            .await
        {
            Ok(revoked) => revoked,
            Err(StoreError::NotFound) => return Ok(()),
            Err(other) => return Err(other.into()),
        };
        for session_id in revoked {
            self.auth.sessions.invalidate(&session_id).await;
        }
        Ok(())
    }

    // --- authorization requests --------------------------------------------------------

    /// Decides an authorization request (RFC 6749 §4.1.1, OIDC Core
    /// §3.1.2.1) for the browser holding `cookie`: sign in first, ask for
    /// consent, or issue a code.
    pub async fn authorize(
        &self,
        params: &AuthorizationParams,
        cookie: Option<&str>,
    ) -> Result<AuthorizeStep, AuthorizeError> {
        let request = self.validate(params).await?;
        let browser = self.browser(cookie).await?;
        let now = self.auth.clock.now();
        let Some(browser) = browser.filter(|b| {
            !request.prompt_login
                && request
                    .max_age
                    .is_none_or(|max| (now - b.session.auth_time).num_seconds() <= max)
        }) else {
            if request.prompt_none {
                return Err(self.redirect_error(&request, "login_required", "the user is not signed in"));
            }
            return Ok(AuthorizeStep::Login);
        };
        if request.prompt_consent || !self.consented(&request, &browser.user).await? {
            if request.prompt_none {
                return Err(self.redirect_error(
                    &request,
                    "consent_required",
                    "the user has not approved this client",
                ));
            }
            return Ok(AuthorizeStep::Consent(ConsentPrompt {
                client_name: request.client.name.clone(),
                scopes: request.scopes.clone(),
                user_email: browser.user.email.clone(),
            }));
        }
        Ok(AuthorizeStep::Redirect(
            self.issue_code(&request, &browser).await?,
        ))
    }

    /// The user's answer on the consent page for the authorization request
    /// `params`: Allow remembers the approval (per user, client and scope
    /// set; revocable from the API) and issues a code; Deny sends the
    /// client `access_denied` (RFC 6749 §4.1.2.1).
    pub async fn decide_consent(
        &self,
        params: &AuthorizationParams,
        cookie: Option<&str>,
        allow: bool,
    ) -> Result<AuthorizeStep, AuthorizeError> {
        let request = self.validate(params).await?;
        let Some(browser) = self.browser(cookie).await? else {
            return Ok(AuthorizeStep::Login);
        };
        if !allow {
            return Err(self.redirect_error(&request, "access_denied", "the user denied the request"));
        }
        let tenant_id = self.auth.tenant.tenant_id;
        let now = self.auth.clock.now();
        let (created_at, mut scopes) = match self
            .auth
            .store
            .get_consent(tenant_id, browser.user.user_id, request.client.client_id)
            .await
        {
            Ok(existing) => (existing.created_at, existing.scopes),
            Err(StoreError::NotFound) => (now, Vec::new()),
            Err(other) => return Err(AuthError::from(other).into()),
        };
        scopes.extend(request.scopes.iter().cloned());
        scopes.sort();
        scopes.dedup();
        self.auth
            .store
            .upsert_consent(&Consent {
                tenant_id,
                user_id: browser.user.user_id,
                client_id: request.client.client_id,
                scopes,
                created_at,
                updated_at: now,
            })
            .await
            .map_err(AuthError::from)?;
        Ok(AuthorizeStep::Redirect(
            self.issue_code(&request, &browser).await?,
        ))
    }

    /// Whether the user approved every requested scope before (first-party
    /// clients need no approval).
    async fn consented(&self, request: &ValidRequest, user: &User) -> AuthResult<bool> {
        if request.client.first_party {
            return Ok(true);
        }
        match self
            .auth
            .store
            .get_consent(self.auth.tenant.tenant_id, user.user_id, request.client.client_id)
            .await
        {
            Ok(consent) => Ok(request.scopes.iter().all(|s| consent.scopes.contains(s))),
            Err(StoreError::NotFound) => Ok(false),
            Err(other) => Err(other.into()),
        }
    }

    /// Stores a new code and returns the redirect that carries it.
    async fn issue_code(&self, request: &ValidRequest, browser: &SignedInBrowser) -> AuthResult<String> {
        let now = self.auth.clock.now();
        let code = new_opaque_token();
        let ttl = self.auth.settings.tokens.authorization_code_ttl_secs.min(60);
        self.auth
            .store
            .insert_authorization_code(&AuthorizationCode {
                code_hash: token_hash(&code),
                tenant_id: self.auth.tenant.tenant_id,
                client_id: request.client.client_id,
                user_id: browser.user.user_id,
                browser_session_id: browser.session.browser_session_id,
                redirect_uri: request.redirect_uri.clone(),
                scope: request.scopes.join(" "),
                nonce: request.nonce.clone(),
                code_challenge: request.code_challenge.clone(),
                auth_time: browser.session.auth_time,
                amr: browser.session.amr.clone(),
                created_at: now,
                expires_at: now + self.auth.secs(ttl),
                used_at: None,
                session_id: None,
            })
            .await?;
        Ok(self.redirect_to(
            &request.redirect_uri,
            &[("code", Some(code.as_str()))],
            request.state.as_deref(),
        ))
    }

    /// Checks an authorization request. Client and redirect URI first: until
    /// both are known good, errors are shown, never redirected.
    async fn validate(&self, params: &AuthorizationParams) -> Result<ValidRequest, AuthorizeError> {
        let page = |error: &'static str, description: &str| AuthorizeError::Page {
            error,
            description: description.to_string(),
        };
        let Some(client_id) = params.client_id.as_deref() else {
            return Err(page(
                "invalid_request",
                "The request names no client (client_id is missing).",
            ));
        };
        let Some(client) = self.clients.find(client_id).await? else {
            return Err(page(
                "invalid_client",
                "The application that sent you here is not registered.",
            ));
        };
        let redirect_uri = match params.redirect_uri.as_deref() {
            Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => uri.to_string(),
            Some(_) => {
                return Err(page(
                    "invalid_request",
                    "The redirect URI is not registered for this application.",
                ))
            }
            // RFC 6749 §3.1.2.3: may be omitted only when exactly one is registered.
            None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
            None => return Err(page("invalid_request", "The request names no redirect URI.")),
        };
        let state = params.state.clone();
        let partial = ValidRequest {
            client: client.clone(),
            redirect_uri,
            scopes: Vec::new(),
            state: state.filter(|s| s.chars().count() <= MAX_STATE_CHARS),
            nonce: None,
            code_challenge: None,
            prompt_none: false,
            prompt_login: false,
            prompt_consent: false,
            max_age: None,
        };
        let fail = |error: &str, description: &str| Err(self.redirect_error(&partial, error, description));
        if params
            .state
            .as_ref()
            .is_some_and(|s| s.chars().count() > MAX_STATE_CHARS)
        {
            return fail("invalid_request", "state is too long");
        }
        match params.response_type.as_deref() {
            Some("code") => {}
            None => return fail("invalid_request", "response_type is required"),
            Some(_) => {
                return fail(
                    "unsupported_response_type",
                    "only response_type=code is supported",
                )
            }
        }
        if !client.grant_types.contains(&GrantType::AuthorizationCode) {
            return fail(
                "unauthorized_client",
                "the client may not use the authorization code grant",
            );
        }
        let Some(scope) = params.scope.as_deref().filter(|s| !s.trim().is_empty()) else {
            return fail("invalid_scope", "scope is required");
        };
        let mut scopes: Vec<String> = Vec::new();
        for name in scope.split(' ').filter(|s| !s.is_empty()) {
            if !client.scopes.iter().any(|s| s == name) {
                return fail(
                    "invalid_scope",
                    &format!("scope {name:?} is not allowed for this client"),
                );
            }
            if !scopes.iter().any(|s| s == name) {
                scopes.push(name.to_string());
            }
        }
        let code_challenge = match (
            params.code_challenge.as_deref(),
            params.code_challenge_method.as_deref(),
        ) {
            (None, None) if client.client_type == ClientType::Public => {
                return fail(
                    "invalid_request",
                    "PKCE is required: send code_challenge with code_challenge_method=S256",
                )
            }
            (None, None) => None,
            (None, Some(_)) => {
                return fail("invalid_request", "code_challenge_method without code_challenge")
            }
            // RFC 7636 §4.3: the method defaults to plain, which is refused.
            (Some(_), None) | (Some(_), Some("plain")) => {
                return fail(
                    "invalid_request",
                    "code_challenge_method must be S256 (plain is not supported)",
                )
            }
            (Some(challenge), Some("S256")) => {
                // BASE64URL of a SHA-256: exactly 43 characters (§4.2).
                if challenge.len() != 43 || !challenge.bytes().all(is_base64url) {
                    return fail("invalid_request", "code_challenge is not a base64url SHA-256");
                }
                Some(challenge.to_string())
            }
            (Some(_), Some(_)) => return fail("invalid_request", "code_challenge_method must be S256"),
        };
        let nonce = params.nonce.clone();
        if nonce
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_STATE_CHARS)
        {
            return fail("invalid_request", "nonce is too long");
        }
        let mut prompt = (false, false, false);
        for value in params
            .prompt
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
        {
            match value {
                "none" => prompt.0 = true,
                "login" => prompt.1 = true,
                "consent" => prompt.2 = true,
                // Only one account per browser: nothing to select.
                "select_account" => {}
                other => return fail("invalid_request", &format!("unsupported prompt value {other:?}")),
            }
        }
        if prompt.0 && (prompt.1 || prompt.2) {
            // OIDC Core §3.1.2.1: none with any other value is an error.
            return fail(
                "invalid_request",
                "prompt=none cannot be combined with other values",
            );
        }
        let max_age = match params.max_age.as_deref() {
            None => None,
            Some(text) => match text.parse::<i64>() {
                Ok(secs) if secs >= 0 => Some(secs),
                _ => return fail("invalid_request", "max_age must be a non-negative integer"),
            },
        };
        Ok(ValidRequest {
            scopes,
            nonce,
            code_challenge,
            prompt_none: prompt.0,
            prompt_login: prompt.1,
            prompt_consent: prompt.2,
            max_age,
            ..partial
        })
    }

    /// An error response for the client (RFC 6749 §4.1.2.1).
    fn redirect_error(&self, request: &ValidRequest, error: &str, description: &str) -> AuthorizeError {
        AuthorizeError::Redirect(self.redirect_to(
            &request.redirect_uri,
            &[("error", Some(error)), ("error_description", Some(description))],
            request.state.as_deref(),
        ))
    }

    /// `redirect_uri` with `params`, `state` and `iss` (RFC 9207) added to
    /// its query, keeping any query it already has (RFC 6749 §3.1.2).
    fn redirect_to(
        &self,
        redirect_uri: &str,
        params: &[(&str, Option<&str>)],
        state: Option<&str>,
    ) -> String {
        let mut url = match url::Url::parse(redirect_uri) {
            Ok(url) => url,
            // Registered URIs are parsed at registration; keep it as is.
            Err(_) => return redirect_uri.to_string(),
        };
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in params {
                if let Some(value) = value {
                    query.append_pair(name, value);
                }
            }
            if let Some(state) = state {
                query.append_pair("state", state);
            }
            query.append_pair("iss", self.auth.issuer());
        }
        url.to_string()
    }

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
    ) -> AuthResult<OidcTokens> {
        if !client.grant_types.contains(&GrantType::AuthorizationCode) {
            return Err(AuthError::UnauthorizedClient);
        }
        let tenant_id = self.auth.tenant.tenant_id;
        let code_hash = token_hash(code);
        let stored = match self
            .auth
            .store
            .get_authorization_code(tenant_id, &code_hash)
            .await
        {
            Ok(stored) => stored,
            Err(StoreError::NotFound) => return Err(AuthError::InvalidGrant),
            Err(other) => return Err(other.into()),
        };
        if stored.client_id != client.client_id {
            return Err(AuthError::InvalidGrant);
        }
        if stored.used_at.is_some() {
            return Err(self.code_reused(stored.session_id).await);
        }
        let now = self.auth.clock.now();
        if stored.expires_at <= now {
            return Err(AuthError::InvalidGrant);
        }
        let redirect_ok = match redirect_uri {
            Some(uri) => uri == stored.redirect_uri,
            None => client.redirect_uris.len() == 1,
        };
        if !redirect_ok {
            return Err(AuthError::InvalidGrant);
        }
        check_pkce(stored.code_challenge.as_deref(), code_verifier)?;
        let user = match self.auth.store.get_user(tenant_id, stored.user_id).await {
            Ok(user) if user.status == UserStatus::Active => user,
            Ok(_) | Err(StoreError::NotFound) => return Err(AuthError::InvalidGrant),
            Err(other) => return Err(other.into()),
        };
        let session = Session {
            session_id: Uuid::now_v7(),
            tenant_id,
            user_id: user.user_id,
            ip: None,
            user_agent: None,
            created_at: now,
            last_used_at: now,
            expires_at: now
                + self
                    .auth
                    .secs(self.auth.settings.tokens.session_absolute_ttl_secs),
            revoked_at: None,
            revoke_reason: None,
            client_id: Some(client.client_id),
            scope: Some(stored.scope.clone()),
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
            .map(|token| self.auth.refresh_row(token, &session, None, now));
        match self
            .auth
            .store
            .redeem_authorization_code(tenant_id, &code_hash, &session, first.as_ref(), now)
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
            .auth
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
    ) -> AuthResult<OidcTokens> {
        if !client.grant_types.contains(&GrantType::RefreshToken) {
            return Err(AuthError::UnauthorizedClient);
        }
        let (state, refresh_token) = self
            .auth
            .spend_refresh_token(presented, Some(client.client_id))
            .await?;
        let granted = state.session.scope.clone().unwrap_or_default();
        let scope = match scope {
            None => granted,
            Some(requested) => {
                let granted: Vec<&str> = granted.split(' ').collect();
                for name in requested.split(' ').filter(|s| !s.is_empty()) {
                    if !granted.contains(&name) {
                        return Err(AuthError::InvalidScope(name.to_string()));
                    }
                }
                requested
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        };
        let now = self.auth.clock.now();
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
        let access_token = self
            .auth
            .issue_access_token(user, session, &TokenAudience::Client { client, scope }, now)
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
            expires_in: self.auth.access_token_ttl(client),
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
            .auth
            .keys
            .signing_key_or_create(self.auth.tenant.tenant_id, alg, now)
            .await?;
        let iat = now.timestamp();
        let ttl = i64::try_from(self.auth.access_token_ttl(client)).unwrap_or(i64::MAX / 2);
        let client_id = client.client_id.to_string();
        let claims = IdClaims {
            iss: self.auth.issuer().to_string(),
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
        let caller = self.auth.authenticate(access_token).await?;
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
            plan.hinted_session = claims.sid.as_deref().and_then(|sid| Uuid::parse_str(sid).ok());
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

    /// Signs the browser out after the user confirmed: ends its browser
    /// session and the one the hint named (if it is the same user's, or the
    /// browser has none), and every token session granted from them.
    pub async fn logout(&self, cookie: Option<&str>, plan: &LogoutPlan) -> AuthResult<()> {
        let browser = self.browser(cookie).await?;
        if let Some(browser) = &browser {
            self.end_browser_session(browser.session.browser_session_id, "logout")
                .await?;
        }
        if let Some(hinted) = plan.hinted_session {
            let hinted_user = match self
                .auth
                .store
                .get_browser_session_by_id(self.auth.tenant.tenant_id, hinted)
                .await
            {
                Ok(session) => Some(session.user_id),
                Err(StoreError::NotFound) => None,
                Err(other) => return Err(other.into()),
            };
            let same_user = match (&browser, hinted_user) {
                (Some(browser), Some(user)) => browser.user.user_id == user,
                (None, Some(_)) => true,
                (_, None) => false,
            };
            if same_user {
                self.end_browser_session(hinted, "logout").await?;
            }
        }
        Ok(())
    }

    async fn verify_id_token_hint(&self, token: &str) -> AuthResult<IdClaims> {
        let invalid = || AuthError::InvalidRequest("id_token_hint is not an ID token of this issuer".into());
        let (kid, _) = jwt::peek_header(token).map_err(|_| invalid())?;
        let key = self
            .auth
            .keys
            .verification_key(self.auth.tenant.tenant_id, &kid, self.auth.clock.now())
            .await?
            .ok_or_else(invalid)?;
        let claims = jwt::verify_id_token_hint(token, &key, self.auth.issuer()).map_err(|_| invalid())?;
        if claims.tid != self.auth.tenant.tenant_id {
            return Err(invalid());
        }
        Ok(claims)
    }

    // --- consents ------------------------------------------------------------------------

    /// The user's remembered approvals, with the clients' names.
    pub async fn list_consents(&self, user_id: Uuid) -> AuthResult<Vec<(Consent, Option<String>)>> {
        let consents = self
            .auth
            .store
            .list_consents(self.auth.tenant.tenant_id, user_id)
            .await?;
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
        let revoked = self
            .auth
            .store
            .delete_consent(
                self.auth.tenant.tenant_id,
                user_id,
                client_id,
                "consent_revoked",
                self.auth.clock.now(),
            )
            .await?;
        for session_id in revoked {
            self.auth.sessions.invalidate(&session_id).await;
        }
        Ok(())
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

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
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
