//! The authorization code flow and OpenID Connect: authorization requests
//! (RFC 6749 §4.1, RFC 7636 PKCE, OIDC Core §3.1.2), browser sessions behind
//! the hosted pages, remembered consent, the code exchange (§4.1.3), ID
//! tokens, refresh for OAuth clients, userinfo and RP-initiated logout.
//!
//! [`OidcService`] works on the tenant context (accounts, tokens, keys)
//! and the client registry.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tessera_store::{
    AuthorizationCode, BrowserSession, Client, ClientType, CodeRedemption, Consent, GrantType, Session, User,
};
use uuid::Uuid;

use super::AMR_PASSWORD;

mod authorize;
mod grants;
mod logout;
mod scopes;
use crate::access_tokens::TokenAudience;
use crate::accounts::{secs, user_may_sign_in};
use crate::clients::{check_scope_for_resource, consent_entry, ClientService};
use crate::context::TenantContext;
use crate::error::{AuthError, AuthResult};
use crate::jwt::{self, IdClaims, ID_TOKEN_TYP, SCOPE_ADMIN};
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
    /// OAuth 2.0 Multiple Response Types `response_mode`: `query` (the
    /// default) or `form_post` (OAuth 2.0 Form Post Response Mode);
    /// anything else is refused, never ignored.
    pub response_mode: Option<String>,
    /// OIDC Core §6.1 request object: not supported (`request_not_supported`).
    pub request: Option<String>,
    /// OIDC Core §6.2 request object by reference: not supported
    /// (`request_uri_not_supported`).
    pub request_uri: Option<String>,
    /// RFC 8707 `resource` values, in order: at most one is supported (the
    /// token's `aud`); none means Tessera's own API.
    pub resource: Vec<String>,
}

/// Why an authorization request cannot go on.
#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or the redirect URI is unknown or wrong: the browser must
    /// not be sent anywhere (RFC 6749 §4.1.2.1), the user is told on a page.
    Page {
        /// OAuth error code (`invalid_request`, `invalid_client`).
        error: &'static str,
        /// The parameter at fault: `client_id` or `redirect_uri`.
        parameter: &'static str,
        /// The value the request sent for it, as sent (`None` when it was
        /// missing); the page escapes and shortens it.
        sent: Option<String>,
        /// What is wrong, for the application's developer: names the
        /// parameter, never a registered value.
        description: String,
    },
    /// An error for the client: send the browser back with `error`,
    /// `error_description`, `state` and `iss`.
    Redirect(ClientRedirect),
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
    /// Done: send the browser back with `code`, `state` and `iss` (RFC
    /// 9207).
    Redirect(ClientRedirect),
}

/// An authorization response on its way back to the client (RFC 6749
/// §4.1.2): the redirect URI, the response parameters, and how they
/// travel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRedirect {
    /// The client's redirect URI, its own query kept.
    pub redirect_uri: String,
    /// The response parameters, in order.
    pub params: Vec<(String, String)>,
    /// OAuth 2.0 Form Post Response Mode: the browser POSTs the parameters
    /// to the redirect URI from an auto-submitting form, instead of their
    /// being added to its query.
    pub form_post: bool,
}

impl ClientRedirect {
    /// The redirect URI with the parameters added to its query (the
    /// `query` response mode), keeping any query it already has (RFC 6749
    /// §3.1.2).
    pub fn url(&self) -> String {
        let mut url = match url::Url::parse(&self.redirect_uri) {
            Ok(url) => url,
            // Registered URIs are parsed at registration; keep it as is.
            Err(_) => return self.redirect_uri.clone(),
        };
        url.query_pairs_mut().extend_pairs(&self.params);
        url.to_string()
    }
}

/// What the consent page shows.
#[derive(Debug, Clone)]
pub struct ConsentPrompt {
    /// The client's display name.
    pub client_name: String,
    /// The scopes it asks for, each with what it lets the client do, for
    /// people (`None`: no description is known; show the name).
    pub scopes: Vec<(String, Option<String>)>,
    /// The resource the access will be for, by name and identifier;
    /// `None` = the person's account at Tessera.
    pub resource: Option<(String, String)>,
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

/// Where a browser signs in from, recorded on its session for the
/// person's session list.
#[derive(Debug, Clone, Default)]
pub struct Device {
    /// The peer's IP address.
    pub ip: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

/// Where RP-initiated logout goes after the user confirmed.
#[derive(Debug, Clone, Default)]
pub struct LogoutPlan {
    /// The client that asked, when it could be identified.
    pub client_name: Option<String>,
    /// The validated `post_logout_redirect_uri` with `state` appended.
    pub redirect: Option<String>,
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
    /// Whether the request named `redirect_uri` (the token request must
    /// then repeat it).
    redirect_uri_sent: bool,
    scopes: Vec<String>,
    /// `response_mode=form_post`: answer with a form, not a redirect.
    form_post: bool,
    /// The resource (RFC 8707) the tokens will be for; `None` = Tessera's
    /// API.
    resource: Option<Client>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    prompt_none: bool,
    prompt_login: bool,
    prompt_consent: bool,
    max_age: Option<i64>,
}

impl ValidRequest {
    /// The requested scopes as a consent remembers them
    /// ([`consent_entry`]).
    fn consent_entries(&self) -> Vec<String> {
        let resource = self.resource.as_ref().and_then(|r| r.resource.as_deref());
        self.scopes
            .iter()
            .map(|scope| consent_entry(scope, resource))
            .collect()
    }
}

/// The authorization server's browser-facing half and its token grants.
pub struct OidcService {
    ctx: Arc<TenantContext>,
    clients: Arc<ClientService>,
}

impl OidcService {
    /// The OIDC service of the tenant of `ctx`, with its client registry.
    pub fn new(ctx: Arc<TenantContext>, clients: Arc<ClientService>) -> OidcService {
        OidcService { ctx, clients }
    }

    /// The issuer URL.
    pub fn issuer(&self) -> &str {
        self.ctx.issuer()
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
        device: Device,
    ) -> AuthResult<BrowserSignIn> {
        super::sessions::count_login(self.try_sign_in(identifier, password, replacing, device).await)
    }

    async fn try_sign_in(
        &self,
        identifier: &str,
        password: &str,
        replacing: Option<&str>,
        device: Device,
    ) -> AuthResult<BrowserSignIn> {
        let accounts = self.ctx.accounts();
        let user = accounts.check_credentials(identifier, password).await?;
        self.ctx.check_email_verified(&user)?;
        if let Some(previous) = replacing {
            if let Some(signed_in) = self.browser(Some(previous)).await? {
                accounts
                    .end_browser_session(signed_in.session.browser_session_id, "replaced")
                    .await?;
            }
        }
        let now = self.ctx.now();
        let ttl = self.ctx.settings().tokens.browser_session_ttl_secs;
        let token = new_opaque_token();
        let session = BrowserSession {
            browser_session_id: Uuid::now_v7(),
            tenant_id: self.ctx.tenant_id(),
            user_id: user.user_id,
            token_hash: token_hash(&token),
            auth_time: now,
            amr: vec![AMR_PASSWORD.to_string()],
            created_at: now,
            expires_at: now + secs(ttl),
            revoked_at: None,
            ip: device.ip,
            user_agent: device.user_agent.map(|ua| ua.chars().take(512).collect()),
            last_seen_at: None,
        };
        accounts.create_browser_session(&session).await?;
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
        let accounts = self.ctx.accounts();
        let Some(session) = accounts.browser_session(cookie).await? else {
            return Ok(None);
        };
        if session.revoked_at.is_some() || session.expires_at <= self.ctx.now() {
            return Ok(None);
        }
        let user = match accounts.user(session.user_id).await {
            Ok(user) if user_may_sign_in(&user) => user,
            Ok(_) | Err(AuthError::NotFound) => return Ok(None),
            Err(other) => return Err(other),
        };
        Ok(Some(SignedInBrowser { session, user }))
    }

    /// Ends a browser session and every token session granted from it.
    async fn end_browser_session(&self, browser_session_id: Uuid, reason: &str) -> AuthResult<()> {
        self.ctx
            .accounts()
            .end_browser_session(browser_session_id, reason)
            .await
    }
}
