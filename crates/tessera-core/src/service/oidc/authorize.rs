//! Authorization requests (RFC 6749 §4.1.1, RFC 7636, OIDC Core §3.1.2):
//! validation, login and consent decisions, and code issuance.

use super::*;

impl OidcService {
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
        let now = self.ctx.now();
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
                scopes: self
                    .describe_scopes(&request.scopes, request.resource.as_ref())
                    .await?,
                resource: request
                    .resource
                    .as_ref()
                    .map(|r| (r.name.clone(), r.resource.clone().unwrap_or_default())),
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
        let tenant_id = self.ctx.tenant_id();
        let now = self.ctx.now();
        let accounts = self.ctx.accounts();
        let (created_at, mut scopes) = match accounts
            .consent(browser.user.user_id, request.client.client_id)
            .await?
        {
            Some(existing) => (existing.created_at, existing.scopes),
            None => (now, Vec::new()),
        };
        scopes.extend(request.consent_entries());
        scopes.sort();
        scopes.dedup();
        accounts
            .save_consent(&Consent {
                tenant_id,
                user_id: browser.user.user_id,
                client_id: request.client.client_id,
                scopes,
                created_at,
                updated_at: now,
            })
            .await?;
        Ok(AuthorizeStep::Redirect(
            self.issue_code(&request, &browser).await?,
        ))
    }

    /// Whether the user approved every requested scope before. First-party
    /// clients need no approval, except for `tessera:admin`: a token for
    /// the admin API is never issued without the person's explicit
    /// interaction.
    async fn consented(&self, request: &ValidRequest, user: &User) -> AuthResult<bool> {
        if request.client.first_party && !request.scopes.iter().any(|s| s == SCOPE_ADMIN) {
            return Ok(true);
        }
        Ok(self
            .ctx
            .accounts()
            .consent(user.user_id, request.client.client_id)
            .await?
            .is_some_and(|consent| {
                request
                    .consent_entries()
                    .iter()
                    .all(|s| consent.scopes.contains(s))
            }))
    }

    /// Stores a new code and returns the redirect that carries it.
    async fn issue_code(
        &self,
        request: &ValidRequest,
        browser: &SignedInBrowser,
    ) -> AuthResult<ClientRedirect> {
        let now = self.ctx.now();
        let code = new_opaque_token();
        let ttl = self.ctx.settings().tokens.authorization_code_ttl_secs.min(60);
        self.ctx
            .accounts()
            .insert_code(&AuthorizationCode {
                code_hash: token_hash(&code),
                tenant_id: self.ctx.tenant_id(),
                client_id: request.client.client_id,
                user_id: browser.user.user_id,
                browser_session_id: browser.session.browser_session_id,
                redirect_uri: request.redirect_uri.clone(),
                redirect_uri_sent: request.redirect_uri_sent,
                scope: request.scopes.join(" "),
                resource: request.resource.as_ref().and_then(|r| r.resource.clone()),
                nonce: request.nonce.clone(),
                code_challenge: request.code_challenge.clone(),
                auth_time: browser.session.auth_time,
                amr: browser.session.amr.clone(),
                created_at: now,
                expires_at: now + secs(ttl),
                used_at: None,
                session_id: None,
            })
            .await?;
        self.ctx
            .accounts()
            .touch_browser_session(browser.session.browser_session_id)
            .await?;
        Ok(self.respond(request, &[("code", code.as_str())]))
    }

    /// Checks an authorization request. Client and redirect URI first: until
    /// both are known good, errors are shown, never redirected.
    async fn validate(&self, params: &AuthorizationParams) -> Result<ValidRequest, AuthorizeError> {
        let (client, redirect_uri) = self.client_and_redirect_uri(params).await?;
        let partial = ValidRequest {
            client,
            redirect_uri,
            redirect_uri_sent: params.redirect_uri.is_some(),
            scopes: Vec::new(),
            // Known before anything else is checked, so that every error
            // travels the way the client asked for.
            form_post: params.response_mode.as_deref() == Some("form_post"),
            resource: None,
            state: params
                .state
                .clone()
                .filter(|s| s.chars().count() <= MAX_STATE_CHARS),
            nonce: None,
            code_challenge: None,
            prompt_none: false,
            prompt_login: false,
            prompt_consent: false,
            max_age: None,
        };
        let checked = match check_redirectable(params, &partial.client) {
            Ok(checked) => checked,
            Err((error, description)) => return Err(self.redirect_error(&partial, error, &description)),
        };
        let resource = match self.requested_resource(&params.resource).await {
            Ok(resource) => resource,
            Err(AuthError::InvalidTarget(why)) => {
                return Err(self.redirect_error(&partial, "invalid_target", &why))
            }
            Err(other) => return Err(other.into()),
        };
        if let Some(why) = checked
            .scopes
            .iter()
            .find_map(|scope| check_scope_for_resource(scope, resource.as_ref()).err())
        {
            return Err(self.redirect_error(&partial, "invalid_scope", &why));
        }
        Ok(ValidRequest {
            resource,
            scopes: checked.scopes,
            nonce: checked.nonce,
            code_challenge: checked.code_challenge,
            prompt_none: checked.prompt.none,
            prompt_login: checked.prompt.login,
            prompt_consent: checked.prompt.consent,
            max_age: checked.max_age,
            ..partial
        })
    }

    /// The resource (RFC 8707 §2) the request names, if any: one absolute
    /// URI a client of the tenant stands for. `InvalidTarget` otherwise; more
    /// than one is refused rather than narrowed silently.
    async fn requested_resource(&self, requested: &[String]) -> AuthResult<Option<Client>> {
        match requested {
            [] => Ok(None),
            [one] => Ok(Some(self.clients.resource(one).await?)),
            _ => Err(AuthError::InvalidTarget(
                "one resource per authorization request is supported".into(),
            )),
        }
    }

    /// The registered client and the redirect URI to answer on; an error
    /// page (never a redirect) when either is missing, malformed or
    /// unknown. Each page names the parameter and what was sent, never
    /// what is registered (the page is public; the registered URIs are the
    /// client's business).
    async fn client_and_redirect_uri(
        &self,
        params: &AuthorizationParams,
    ) -> Result<(Arc<Client>, String), AuthorizeError> {
        let client_id = params.client_id.as_deref();
        let refuse = |error, description: &str| page("client_id", client_id, error, description);
        let Some(client_id) = client_id else {
            return Err(refuse(
                "invalid_request",
                "client_id is missing: the request does not say which application it comes from.",
            ));
        };
        if Uuid::parse_str(client_id).is_err() {
            return Err(refuse(
                "invalid_request",
                "client_id is not a client identifier of this server (they are UUIDs, as `tessera clients create` prints them).",
            ));
        }
        let Some(client) = self.clients.find(client_id).await? else {
            return Err(refuse(
                "invalid_client",
                "client_id names no application registered with this issuer (check the issuer, or the tenant, it was registered in).",
            ));
        };
        if client.disabled_at.is_some() {
            return Err(refuse(
                "invalid_client",
                "client_id names an application that an administrator has disabled.",
            ));
        }
        let redirect_uri = check_redirect_uri(params.redirect_uri.as_deref(), &client.redirect_uris)?;
        Ok((client, redirect_uri))
    }

    /// The name of the application an authorization request comes from,
    /// for the login page ("Sign in to continue to …"): only when its
    /// client and redirect URI check out, so that a crafted link cannot
    /// borrow a registered application's name for another destination.
    /// `None` for any other request.
    pub async fn requesting_client_name(&self, params: &AuthorizationParams) -> AuthResult<Option<String>> {
        match self.client_and_redirect_uri(params).await {
            Ok((client, _)) => Ok(Some(client.name.clone())),
            Err(AuthorizeError::Service(err)) => Err(err),
            Err(AuthorizeError::Page { .. } | AuthorizeError::Redirect(_)) => Ok(None),
        }
    }

    /// An error response for the client (RFC 6749 §4.1.2.1).
    fn redirect_error(&self, request: &ValidRequest, error: &str, description: &str) -> AuthorizeError {
        AuthorizeError::Redirect(
            self.respond(request, &[("error", error), ("error_description", description)]),
        )
    }

    /// The response to `request`: `params`, then `state` and `iss` (RFC
    /// 9207), in the request's response mode.
    fn respond(&self, request: &ValidRequest, params: &[(&str, &str)]) -> ClientRedirect {
        let mut all: Vec<(String, String)> = params
            .iter()
            .map(|(name, value)| ((*name).to_string(), (*value).to_string()))
            .collect();
        if let Some(state) = &request.state {
            all.push(("state".into(), state.clone()));
        }
        all.push(("iss".into(), self.ctx.issuer().to_string()));
        ClientRedirect {
            redirect_uri: request.redirect_uri.clone(),
            params: all,
            form_post: request.form_post,
        }
    }
}

/// Whether the presented redirect URI is the registered one: exactly, or,
/// for a registered `http` URI on a loopback IP literal (`127.0.0.1`,
/// `[::1]`), the same URI on any port (RFC 8252 §7.3: native apps listen on
/// an ephemeral port). Every other part still matches exactly.
pub(crate) fn redirect_uri_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    let (Ok(registered), Ok(mut presented)) = (url::Url::parse(registered), url::Url::parse(presented))
    else {
        return false;
    };
    let loopback = |url: &url::Url| {
        let on_loopback_ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            _ => false,
        };
        url.scheme() == "http" && on_loopback_ip
    };
    if !loopback(&registered) || !loopback(&presented) || presented.set_port(registered.port()).is_err() {
        return false;
    }
    presented.as_str() == registered.as_str()
}

/// An error page about `parameter`, which was sent as `sent`.
fn page(
    parameter: &'static str,
    sent: Option<&str>,
    error: &'static str,
    description: &str,
) -> AuthorizeError {
    AuthorizeError::Page {
        error,
        parameter,
        sent: sent.map(str::to_string),
        description: description.to_string(),
    }
}

/// The redirect URI to answer on: the one sent, if it matches a registered
/// one ([`redirect_uri_matches`]); the only registered one if none was
/// sent (RFC 6749 §3.1.2.3). An error page saying which rule failed
/// otherwise, without listing the registered URIs.
fn check_redirect_uri(sent: Option<&str>, registered: &[String]) -> Result<String, AuthorizeError> {
    let refuse = |description: &str| page("redirect_uri", sent, "invalid_request", description);
    match sent {
        Some(uri) if registered.iter().any(|r| redirect_uri_matches(r, uri)) => Ok(uri.to_string()),
        Some(uri) if url::Url::parse(uri).is_err() => Err(refuse(
            "redirect_uri is not an absolute URL (scheme, host and path, e.g. https://app.example.com/callback).",
        )),
        Some(_) if registered.is_empty() => Err(refuse(
            "redirect_uri is not registered: this client has no redirect URI registered (a machine client cannot use the authorization endpoint).",
        )),
        Some(_) => Err(refuse(
            "redirect_uri is not registered for this client: it must equal a registered redirect URI exactly, query included (for http on 127.0.0.1 or [::1], on any port).",
        )),
        None => match registered {
            [only] => Ok(only.clone()),
            [] => Err(refuse(
                "redirect_uri is missing, and this client has no redirect URI registered (a machine client cannot use the authorization endpoint).",
            )),
            _ => Err(refuse(
                "redirect_uri is missing: this client has several redirect URIs registered, so the request must name one.",
            )),
        },
    }
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// A rejection sent back to the client's redirect URI: the OAuth error code
/// and its description (RFC 6749 §4.1.2.1).
type Rejection = (&'static str, String);

/// Rejects with `error` and `description`.
fn reject<T>(error: &'static str, description: &str) -> Result<T, Rejection> {
    Err((error, description.to_string()))
}

/// What the checks that run once the redirect URI is trusted extract.
struct Checked {
    scopes: Vec<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    prompt: Prompt,
    max_age: Option<i64>,
}

/// The `prompt` values that change the flow (OIDC Core §3.1.2.1).
#[derive(Default)]
struct Prompt {
    none: bool,
    login: bool,
    consent: bool,
}

/// The checks whose failures are redirected to the client, in order: the
/// first failure is reported.
fn check_redirectable(params: &AuthorizationParams, client: &Client) -> Result<Checked, Rejection> {
    if params
        .state
        .as_ref()
        .is_some_and(|s| s.chars().count() > MAX_STATE_CHARS)
    {
        return reject("invalid_request", "state is too long");
    }
    // OIDC Core §6: request objects are not supported, and saying so beats
    // ignoring parameters the client meant to be authoritative.
    if params.request.is_some() {
        return reject(
            "request_not_supported",
            "request objects (request) are not supported",
        );
    }
    if params.request_uri.is_some() {
        return reject(
            "request_uri_not_supported",
            "request objects by reference (request_uri) are not supported",
        );
    }
    match params.response_mode.as_deref() {
        None | Some("query") | Some("form_post") => {}
        Some(other) => {
            return reject(
                "invalid_request",
                &format!("response_mode {other:?} is not supported; only query and form_post are"),
            )
        }
    }
    check_response_type(params.response_type.as_deref(), client)?;
    let scopes = check_scopes(params.scope.as_deref(), client)?;
    let code_challenge = check_pkce(params, client)?;
    let nonce = params.nonce.clone();
    if nonce
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_STATE_CHARS)
    {
        return reject("invalid_request", "nonce is too long");
    }
    let prompt = check_prompt(params.prompt.as_deref())?;
    let max_age = match params.max_age.as_deref() {
        None => None,
        Some(text) => match text.parse::<i64>() {
            Ok(secs) if secs >= 0 => Some(secs),
            _ => return reject("invalid_request", "max_age must be a non-negative integer"),
        },
    };
    Ok(Checked {
        scopes,
        nonce,
        code_challenge,
        prompt,
        max_age,
    })
}

/// `response_type=code`, from a client allowed the authorization code grant.
fn check_response_type(response_type: Option<&str>, client: &Client) -> Result<(), Rejection> {
    match response_type {
        Some("code") => {}
        None => return reject("invalid_request", "response_type is required"),
        Some(_) => {
            return reject(
                "unsupported_response_type",
                "only response_type=code is supported",
            )
        }
    }
    if !client.grant_types.contains(&GrantType::AuthorizationCode) {
        return reject(
            "unauthorized_client",
            "the client may not use the authorization code grant",
        );
    }
    Ok(())
}

/// The requested scopes, each allowed for the client, without duplicates.
fn check_scopes(scope: Option<&str>, client: &Client) -> Result<Vec<String>, Rejection> {
    let Some(scope) = scope.filter(|s| !s.trim().is_empty()) else {
        return reject("invalid_scope", "scope is required");
    };
    let mut scopes: Vec<String> = Vec::new();
    for name in scope.split(' ').filter(|s| !s.is_empty()) {
        if !client.scopes.iter().any(|s| s == name) {
            return reject(
                "invalid_scope",
                &format!("scope {name:?} is not allowed for this client"),
            );
        }
        if !scopes.iter().any(|s| s == name) {
            scopes.push(name.to_string());
        }
    }
    Ok(scopes)
}

/// The PKCE code challenge (RFC 7636): S256 only, and required of public
/// clients.
fn check_pkce(params: &AuthorizationParams, client: &Client) -> Result<Option<String>, Rejection> {
    match (
        params.code_challenge.as_deref(),
        params.code_challenge_method.as_deref(),
    ) {
        // OAuth 2.1: every client; a legacy confidential client registered
        // with pkce_optional may instead bind the code with an OIDC nonce.
        (None, None)
            if client.pkce_optional
                && client.client_type == ClientType::Confidential
                && params.nonce.is_some() =>
        {
            Ok(None)
        }
        (None, None) => reject(
            "invalid_request",
            "PKCE is required: send code_challenge with code_challenge_method=S256",
        ),
        (None, Some(_)) => reject("invalid_request", "code_challenge_method without code_challenge"),
        // RFC 7636 §4.3: the method defaults to plain, which is refused.
        (Some(_), None) | (Some(_), Some("plain")) => reject(
            "invalid_request",
            "code_challenge_method must be S256 (plain is not supported)",
        ),
        (Some(challenge), Some("S256")) => {
            // BASE64URL of a SHA-256: exactly 43 characters (§4.2).
            if challenge.len() != 43 || !challenge.bytes().all(is_base64url) {
                return reject("invalid_request", "code_challenge is not a base64url SHA-256");
            }
            Ok(Some(challenge.to_string()))
        }
        (Some(_), Some(_)) => reject("invalid_request", "code_challenge_method must be S256"),
    }
}

/// The space-separated `prompt` values (OIDC Core §3.1.2.1).
fn check_prompt(prompt: Option<&str>) -> Result<Prompt, Rejection> {
    let mut flags = Prompt::default();
    for value in prompt.unwrap_or("").split(' ').filter(|s| !s.is_empty()) {
        match value {
            "none" => flags.none = true,
            "login" => flags.login = true,
            "consent" => flags.consent = true,
            // Only one account per browser: nothing to select.
            "select_account" => {}
            other => return reject("invalid_request", &format!("unsupported prompt value {other:?}")),
        }
    }
    if flags.none && (flags.login || flags.consent) {
        // OIDC Core §3.1.2.1: none with any other value is an error.
        return reject(
            "invalid_request",
            "prompt=none cannot be combined with other values",
        );
    }
    Ok(flags)
}
