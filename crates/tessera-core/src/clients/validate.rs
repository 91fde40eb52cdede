//! Validation of a new client's registration: every rule checked, every
//! violation reported at once.

use chrono::{DateTime, Utc};
use tessera_store::{Client, ClientType, GrantType, TokenEndpointAuthMethod};
use uuid::Uuid;

use super::*;

/// Checks every rule; the client (without a secret) or every violation.
pub(super) fn validate(input: NewClient, tenant_id: Uuid, now: DateTime<Utc>) -> AuthResult<Client> {
    let mut errors = Vec::new();
    let mut violation = |field: &'static str, rule: &'static str, message: String| {
        errors.push(FieldViolation { field, rule, message });
    };

    let name = input.name.trim().to_owned();
    if name.is_empty() {
        violation("name", "required", "a client needs a name".into());
    } else if name.chars().count() > MAX_CLIENT_NAME_CHARS {
        violation(
            "name",
            "too_long",
            format!("at most {MAX_CLIENT_NAME_CHARS} characters"),
        );
    } else if name.chars().any(char::is_control) {
        violation("name", "invalid", "control characters are not allowed".into());
    }

    let client_type = ClientType::parse(input.client_type.trim());
    if client_type.is_none() {
        violation(
            "client_type",
            "unknown_value",
            format!("{:?} is not confidential or public", input.client_type),
        );
    }

    let mut grant_types = Vec::new();
    for name in &input.grant_types {
        match GrantType::parse(name.trim()) {
            Some(g) if !grant_types.contains(&g) => grant_types.push(g),
            Some(_) => {}
            None => violation(
                "grant_types",
                "unknown_value",
                format!(
                    "unknown grant type {name:?} (known: {})",
                    GrantType::ALL.map(GrantType::as_str).join(", ")
                ),
            ),
        }
    }
    if input.grant_types.is_empty() {
        violation("grant_types", "required", "at least one grant type".into());
    }
    if client_type == Some(ClientType::Public) && grant_types.contains(&GrantType::ClientCredentials) {
        // RFC 6749 §4.4: the client credentials grant is for confidential clients only.
        violation(
            "grant_types",
            "not_allowed_for_public_client",
            "client_credentials needs a confidential client".into(),
        );
    }
    let has_code = grant_types.contains(&GrantType::AuthorizationCode);
    if grant_types.contains(&GrantType::RefreshToken) && !has_code {
        // RFC 6749 §4.4.3: client credentials do not get refresh tokens.
        violation(
            "grant_types",
            "requires_authorization_code",
            "refresh_token is only issued with authorization_code".into(),
        );
    }

    let mut redirect_uris: Vec<String> = Vec::new();
    for uri in &input.redirect_uris {
        match check_redirect_uri(uri) {
            Ok(()) if !redirect_uris.contains(uri) => redirect_uris.push(uri.clone()),
            Ok(()) => {}
            Err((rule, message)) => violation("redirect_uris", rule, message),
        }
    }
    let mut post_logout_redirect_uris: Vec<String> = Vec::new();
    for uri in &input.post_logout_redirect_uris {
        match check_redirect_uri(uri) {
            Ok(()) if !post_logout_redirect_uris.contains(uri) => post_logout_redirect_uris.push(uri.clone()),
            Ok(()) => {}
            Err((rule, message)) => violation("post_logout_redirect_uris", rule, message),
        }
    }
    let id_token_signed_response_alg = match input.id_token_signed_response_alg.as_deref().map(str::trim) {
        None => None,
        Some(name) => match SigningAlg::parse(name) {
            Some(alg) => Some(alg.as_str().to_string()),
            None => {
                violation(
                    "id_token_signed_response_alg",
                    "unknown_value",
                    format!("unknown algorithm {name:?} (known: RS256, ES256, EdDSA)"),
                );
                None
            }
        },
    };
    if has_code && input.redirect_uris.is_empty() {
        violation(
            "redirect_uris",
            "required",
            "authorization_code needs at least one redirect URI".into(),
        );
    }

    let mut scopes: Vec<String> = Vec::new();
    for scope in &input.scopes {
        if is_scope_token(scope) {
            if !scopes.contains(scope) {
                scopes.push(scope.clone());
            }
        } else {
            violation(
                "scopes",
                "invalid",
                format!("{scope:?} is not a scope token (RFC 6749 §3.3)"),
            );
        }
    }

    let method = match input.token_endpoint_auth_method.as_deref().map(str::trim) {
        None => client_type.map(|t| match t {
            ClientType::Confidential => TokenEndpointAuthMethod::ClientSecretBasic,
            ClientType::Public => TokenEndpointAuthMethod::None,
        }),
        Some(name) => {
            let method = TokenEndpointAuthMethod::parse(name);
            if method.is_none() {
                violation(
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
            violation(
                "token_endpoint_auth_method",
                "mismatch",
                "public clients, and only they, use none".into(),
            );
        }
    }
    match (method, &input.jwks) {
        (Some(TokenEndpointAuthMethod::PrivateKeyJwt), None) => violation(
            "jwks",
            "required",
            "private_key_jwt needs the client's JWK Set".into(),
        ),
        (Some(TokenEndpointAuthMethod::PrivateKeyJwt), Some(jwks)) if !is_jwk_set(jwks) => violation(
            "jwks",
            "invalid",
            "a JWK Set is an object with a non-empty \"keys\" array of objects".into(),
        ),
        (Some(m), Some(_)) if m != TokenEndpointAuthMethod::PrivateKeyJwt => violation(
            "jwks",
            "not_allowed",
            "a JWK Set is only used with private_key_jwt".into(),
        ),
        _ => {}
    }

    if let Some(ttl) = input.access_token_ttl_secs {
        if !(1..=MAX_ACCESS_TOKEN_TTL_SECS).contains(&ttl) {
            violation(
                "access_token_ttl_secs",
                "out_of_range",
                format!("between 1 and {MAX_ACCESS_TOKEN_TTL_SECS} seconds"),
            );
        }
    }
    if let Some(ttl) = input.refresh_idle_ttl_secs {
        if !(1..=MAX_REFRESH_IDLE_TTL_SECS).contains(&ttl) {
            violation(
                "refresh_idle_ttl_secs",
                "out_of_range",
                format!("between 1 and {MAX_REFRESH_IDLE_TTL_SECS} seconds"),
            );
        }
    }

    match (client_type, method) {
        (Some(client_type), Some(method)) if errors.is_empty() => Ok(Client {
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
            secret_hash: None,
            previous_secret_hash: None,
            created_at: now,
            updated_at: now,
        }),
        _ => Err(AuthError::Validation(errors)),
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
fn is_scope_token(scope: &str) -> bool {
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
