//! Validation of a new client's registration: every rule checked, every
//! violation reported at once.

use chrono::{DateTime, Utc};
use tessera_store::{Client, ClientType, GrantType, TokenEndpointAuthMethod};
use uuid::Uuid;

use super::resources::check_resource;
use super::*;

/// Input of [`ClientService::create`], as an operator or an admin API gives
/// it: names are checked by the service, so every broken rule is reported at
/// once.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    /// Display name.
    pub name: String,
    /// `confidential` or `public`.
    pub client_type: String,
    /// Redirect URIs, stored exactly as given (matched by exact string).
    pub redirect_uris: Vec<String>,
    /// Grant type names (`authorization_code`, `refresh_token`, `client_credentials`).
    pub grant_types: Vec<String>,
    /// Scopes the client may request.
    pub scopes: Vec<String>,
    /// Token endpoint authentication method; `None` picks
    /// `client_secret_basic` for confidential and `none` for public clients.
    pub token_endpoint_auth_method: Option<String>,
    /// JWK Set, required by (and only allowed with) `private_key_jwt`.
    pub jwks: Option<serde_json::Value>,
    /// Trusted first-party application.
    pub first_party: bool,
    /// Access-token lifetime override, seconds.
    pub access_token_ttl_secs: Option<i64>,
    /// Refresh-token idle lifetime override, seconds.
    pub refresh_idle_ttl_secs: Option<i64>,
    /// Where RP-initiated logout may return to (exact match; same rules as
    /// redirect URIs).
    pub post_logout_redirect_uris: Vec<String>,
    /// ID-token algorithm (`RS256`, `ES256`, `EdDSA`); `None` = `RS256`.
    pub id_token_signed_response_alg: Option<String>,
    /// Whether access tokens carry the `permissions` claim; `None` = yes.
    pub token_permissions: Option<bool>,
    /// Let a confidential client off PKCE when it sends a `nonce`.
    pub pkce_optional: bool,
    /// The resource (RFC 8707) the client stands for as a resource server:
    /// an absolute URI without fragment, unique in the tenant.
    pub resource: Option<String>,
    /// The scopes of that resource.
    pub resource_scopes: Vec<String>,
    /// Lifetime of each secret issued from now on, seconds (`None` = no
    /// expiry); only for clients that authenticate with a secret.
    pub secret_ttl_secs: Option<i64>,
    /// Registered disabled (or, in a change, disabled now).
    pub disabled: bool,
}

impl NewClient {
    /// The registration of `client`, as input again (for a change that
    /// goes through the same validation as a registration).
    pub fn from_client(client: &Client) -> NewClient {
        NewClient {
            name: client.name.clone(),
            client_type: client.client_type.as_str().to_string(),
            redirect_uris: client.redirect_uris.clone(),
            grant_types: client
                .grant_types
                .iter()
                .map(|g| g.as_str().to_string())
                .collect(),
            scopes: client.scopes.clone(),
            token_endpoint_auth_method: Some(client.token_endpoint_auth_method.as_str().to_string()),
            jwks: client.jwks.clone(),
            first_party: client.first_party,
            access_token_ttl_secs: client.access_token_ttl_secs,
            refresh_idle_ttl_secs: client.refresh_idle_ttl_secs,
            post_logout_redirect_uris: client.post_logout_redirect_uris.clone(),
            id_token_signed_response_alg: client.id_token_signed_response_alg.clone(),
            token_permissions: Some(client.token_permissions),
            pkce_optional: client.pkce_optional,
            resource: client.resource.clone(),
            resource_scopes: client.resource_scopes.clone(),
            secret_ttl_secs: client.secret_ttl_secs,
            disabled: client.disabled_at.is_some(),
        }
    }
}

/// Checks every rule; the client (without a secret) or every violation.
pub(super) fn validate(input: NewClient, tenant_id: Uuid, now: DateTime<Utc>) -> AuthResult<Client> {
    // Each check pushes its violations in the order the fields are listed,
    // so the response reports them in a stable order.
    let mut violations = Violations::default();
    let name = check_name(&input.name, &mut violations);
    let client_type = check_client_type(&input.client_type, &mut violations);
    let grant_types = check_grant_types(&input.grant_types, client_type, &mut violations);
    let redirect_uris = check_uris("redirect_uris", &input.redirect_uris, &mut violations);
    let post_logout_redirect_uris = check_uris(
        "post_logout_redirect_uris",
        &input.post_logout_redirect_uris,
        &mut violations,
    );
    let id_token_signed_response_alg =
        check_id_token_alg(input.id_token_signed_response_alg.as_deref(), &mut violations);
    if grant_types.contains(&GrantType::AuthorizationCode) && input.redirect_uris.is_empty() {
        violations.push(
            "redirect_uris",
            "required",
            "authorization_code needs at least one redirect URI".into(),
        );
    }
    let scopes = check_scopes(&input.scopes, &mut violations);
    if input.pkce_optional && client_type == Some(ClientType::Public) {
        violations.push(
            "pkce_optional",
            "public_client",
            "a public client cannot be let off PKCE: it has no secret to bind the code".into(),
        );
    }
    let method = check_auth_method(&input, client_type, &mut violations);
    check_ttls(&input, &mut violations);
    check_secret_ttl(&input, method, &mut violations);
    let (resource, resource_scopes) = check_resource(&input, &mut violations);

    match (client_type, method) {
        (Some(client_type), Some(method)) if violations.0.is_empty() => Ok(Client {
            client_id: Uuid::now_v7(),
            tenant_id,
            name,
            client_type,
            redirect_uris,
            grant_types,
            scopes,
            token_endpoint_auth_method: method,
            jwks: input.jwks,
            first_party: input.first_party,
            access_token_ttl_secs: input.access_token_ttl_secs,
            refresh_idle_ttl_secs: input.refresh_idle_ttl_secs,
            post_logout_redirect_uris,
            id_token_signed_response_alg,
            token_permissions: input.token_permissions.unwrap_or(true),
            resource,
            resource_scopes,
            pkce_optional: input.pkce_optional,
            secret_hash: None,
            previous_secret_hash: None,
            secret_ttl_secs: input.secret_ttl_secs,
            secret_expires_at: None,
            previous_secret_expires_at: None,
            disabled_at: input.disabled.then_some(now),
            created_at: now,
            updated_at: now,
        }),
        _ => Err(AuthError::Validation(violations.0)),
    }
}

/// The violations found so far, in the order found.
#[derive(Default)]
pub(super) struct Violations(Vec<FieldViolation>);

impl Violations {
    pub(super) fn push(&mut self, field: &'static str, rule: &'static str, message: String) {
        self.0.push(FieldViolation { field, rule, message });
    }
}

/// The trimmed name: present, not too long, no control characters.
fn check_name(name: &str, violations: &mut Violations) -> String {
    let name = name.trim().to_owned();
    if name.is_empty() {
        violations.push("name", "required", "a client needs a name".into());
    } else if name.chars().count() > MAX_CLIENT_NAME_CHARS {
        violations.push(
            "name",
            "too_long",
            format!("at most {MAX_CLIENT_NAME_CHARS} characters"),
        );
    } else if name.chars().any(char::is_control) {
        violations.push("name", "invalid", "control characters are not allowed".into());
    }
    name
}

/// `confidential` or `public`.
fn check_client_type(client_type: &str, violations: &mut Violations) -> Option<ClientType> {
    let parsed = ClientType::parse(client_type.trim());
    if parsed.is_none() {
        violations.push(
            "client_type",
            "unknown_value",
            format!("{client_type:?} is not confidential or public"),
        );
    }
    parsed
}

/// The known grant types without duplicates, in a combination the client
/// type allows.
fn check_grant_types(
    names: &[String],
    client_type: Option<ClientType>,
    violations: &mut Violations,
) -> Vec<GrantType> {
    let mut grant_types = Vec::new();
    for name in names {
        match GrantType::parse(name.trim()) {
            Some(g) if !grant_types.contains(&g) => grant_types.push(g),
            Some(_) => {}
            None => violations.push(
                "grant_types",
                "unknown_value",
                format!(
                    "unknown grant type {name:?} (known: {})",
                    GrantType::ALL.map(GrantType::as_str).join(", ")
                ),
            ),
        }
    }
    if names.is_empty() {
        violations.push("grant_types", "required", "at least one grant type".into());
    }
    if client_type == Some(ClientType::Public) && grant_types.contains(&GrantType::ClientCredentials) {
        // RFC 6749 §4.4: the client credentials grant is for confidential clients only.
        violations.push(
            "grant_types",
            "not_allowed_for_public_client",
            "client_credentials needs a confidential client".into(),
        );
    }
    if grant_types.contains(&GrantType::RefreshToken) && !grant_types.contains(&GrantType::AuthorizationCode)
    {
        // RFC 6749 §4.4.3: client credentials do not get refresh tokens.
        violations.push(
            "grant_types",
            "requires_authorization_code",
            "refresh_token is only issued with authorization_code".into(),
        );
    }
    grant_types
}

/// The valid redirect URIs of `field`, without duplicates.
fn check_uris(field: &'static str, uris: &[String], violations: &mut Violations) -> Vec<String> {
    let mut valid: Vec<String> = Vec::new();
    for uri in uris {
        match check_redirect_uri(uri) {
            Ok(()) if !valid.contains(uri) => valid.push(uri.clone()),
            Ok(()) => {}
            Err((rule, message)) => violations.push(field, rule, message),
        }
    }
    valid
}

/// The JOSE name of the ID token algorithm, when one is asked for.
fn check_id_token_alg(name: Option<&str>, violations: &mut Violations) -> Option<String> {
    let name = name.map(str::trim)?;
    match SigningAlg::parse(name) {
        Some(alg) => Some(alg.as_str().to_string()),
        None => {
            violations.push(
                "id_token_signed_response_alg",
                "unknown_value",
                format!("unknown algorithm {name:?} (known: RS256, ES256, EdDSA)"),
            );
            None
        }
    }
}

/// The valid scope tokens, without duplicates.
fn check_scopes(scopes: &[String], violations: &mut Violations) -> Vec<String> {
    let mut valid: Vec<String> = Vec::new();
    for scope in scopes {
        if is_scope_token(scope) {
            if !valid.contains(scope) {
                valid.push(scope.clone());
            }
        } else {
            violations.push(
                "scopes",
                "invalid",
                format!("{scope:?} is not a scope token (RFC 6749 §3.3)"),
            );
        }
    }
    valid
}

/// The token endpoint authentication method (by default the client type's),
/// which must match the client type and goes with a JWK Set exactly when it
/// is `private_key_jwt`.
fn check_auth_method(
    input: &NewClient,
    client_type: Option<ClientType>,
    violations: &mut Violations,
) -> Option<TokenEndpointAuthMethod> {
    let method = match input.token_endpoint_auth_method.as_deref().map(str::trim) {
        None => client_type.map(|t| match t {
            ClientType::Confidential => TokenEndpointAuthMethod::ClientSecretBasic,
            ClientType::Public => TokenEndpointAuthMethod::None,
        }),
        Some(name) => {
            let method = TokenEndpointAuthMethod::parse(name);
            if method.is_none() {
                violations.push(
                    "token_endpoint_auth_method",
                    "unknown_value",
                    format!(
                        "unknown method {name:?} (known: {})",
                        TokenEndpointAuthMethod::ALL
                            .map(TokenEndpointAuthMethod::as_str)
                            .join(", ")
                    ),
                );
            }
            method
        }
    };
    if let (Some(t), Some(m)) = (client_type, method) {
        if (t == ClientType::Public) != (m == TokenEndpointAuthMethod::None) {
            violations.push(
                "token_endpoint_auth_method",
                "mismatch",
                "public clients, and only they, use none".into(),
            );
        }
    }
    check_jwks(method, input.jwks.as_ref(), violations);
    method
}

/// A JWK Set is given with `private_key_jwt`, and only with it.
fn check_jwks(
    method: Option<TokenEndpointAuthMethod>,
    jwks: Option<&serde_json::Value>,
    violations: &mut Violations,
) {
    match (method, jwks) {
        (Some(TokenEndpointAuthMethod::PrivateKeyJwt), None) => violations.push(
            "jwks",
            "required",
            "private_key_jwt needs the client's JWK Set".into(),
        ),
        (Some(TokenEndpointAuthMethod::PrivateKeyJwt), Some(jwks)) if !is_jwk_set(jwks) => violations.push(
            "jwks",
            "invalid",
            "a JWK Set is an object with a non-empty \"keys\" array of objects".into(),
        ),
        (Some(m), Some(_)) if m != TokenEndpointAuthMethod::PrivateKeyJwt => violations.push(
            "jwks",
            "not_allowed",
            "a JWK Set is only used with private_key_jwt".into(),
        ),
        _ => {}
    }
}

/// Per-client token lifetimes, when given, are within their bounds.
fn check_ttls(input: &NewClient, violations: &mut Violations) {
    if let Some(ttl) = input.access_token_ttl_secs {
        if !(1..=MAX_ACCESS_TOKEN_TTL_SECS).contains(&ttl) {
            violations.push(
                "access_token_ttl_secs",
                "out_of_range",
                format!("between 1 and {MAX_ACCESS_TOKEN_TTL_SECS} seconds"),
            );
        }
    }
    if let Some(ttl) = input.refresh_idle_ttl_secs {
        if !(1..=MAX_REFRESH_IDLE_TTL_SECS).contains(&ttl) {
            violations.push(
                "refresh_idle_ttl_secs",
                "out_of_range",
                format!("between 1 and {MAX_REFRESH_IDLE_TTL_SECS} seconds"),
            );
        }
    }
}

/// A secret lifetime is for a client with a secret, and between a minute
/// and [`MAX_SECRET_TTL_SECS`].
fn check_secret_ttl(input: &NewClient, method: Option<TokenEndpointAuthMethod>, violations: &mut Violations) {
    let Some(ttl) = input.secret_ttl_secs else {
        return;
    };
    if method.is_some_and(|m| !m.uses_secret()) {
        violations.push(
            "secret_ttl_secs",
            "no_secret",
            "only a client_secret_basic or client_secret_post client has a secret to expire".into(),
        );
    } else if !(MIN_SECRET_TTL_SECS..=MAX_SECRET_TTL_SECS).contains(&ttl) {
        violations.push(
            "secret_ttl_secs",
            "out_of_range",
            format!("between {MIN_SECRET_TTL_SECS} and {MAX_SECRET_TTL_SECS} seconds"),
        );
    }
}

/// A redirect URI is absolute, has no fragment (RFC 6749 §3.1.2), and is
/// `https`, `http` on a loopback host (RFC 8252 §7.3), or a private-use
/// scheme of a native app (RFC 8252 §7.1: reverse domain name, so it
/// contains a dot).
fn check_redirect_uri(uri: &str) -> Result<(), (&'static str, String)> {
    let parsed = url::Url::parse(uri).map_err(|e| ("invalid_uri", format!("{uri:?}: {e}")))?;
    if parsed.fragment().is_some() {
        return Err(("fragment_not_allowed", format!("{uri:?} has a fragment")));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match parsed.host() {
                Some(url::Host::Domain(host)) => host == "localhost",
                Some(url::Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
                Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
                None => false,
            };
            if loopback {
                Ok(())
            } else {
                Err((
                    "insecure_scheme",
                    format!("{uri:?}: http is only allowed for 127.0.0.1, [::1] and localhost"),
                ))
            }
        }
        scheme if scheme.contains('.') => Ok(()),
        scheme => Err((
            "unsupported_scheme",
            format!("{uri:?}: scheme {scheme} is neither https, loopback http nor a private-use scheme"),
        )),
    }
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub(super) fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// Whether a value has the shape of a JWK Set (RFC 7517 §5).
fn is_jwk_set(value: &serde_json::Value) -> bool {
    value
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|keys| !keys.is_empty() && keys.iter().all(serde_json::Value::is_object))
}
