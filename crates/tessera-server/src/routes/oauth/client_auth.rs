//! Client authentication at the OAuth endpoints (RFC 6749 §2.3, RFC 7523
//! §2.2): which method a request used, and why a client was refused.

use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use tessera_core::{AuthError, ClientAuthEndpoint, ClientRefusal, PresentedClient};
use tessera_store::{Client, TokenEndpointAuthMethod};

use super::Form;
use crate::error::ApiError;
use crate::state::AppState;

/// RFC 7523 §2.2: the `client_assertion_type` of a JWT client assertion.
const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Authenticates the calling client by the one method it used (RFC 6749
/// §2.3): HTTP Basic, `client_id` + `client_secret` in the form, or a JWT
/// client assertion (`private_key_jwt`, RFC 7523 §2.2) for `endpoint`; with
/// `public_allowed`, a public client's bare `client_id` (§2.1, §3.2.1).
/// Every failure is `invalid_client` whose description says why (no
/// credentials, several methods, unknown or disabled client, the method
/// registered versus the one used, a wrong or expired secret, a refused
/// assertion), logged at info with the client id as sent.
pub(super) async fn authenticate_client(
    state: &AppState,
    headers: &HeaderMap,
    form: &Form,
    public_allowed: bool,
    endpoint: ClientAuthEndpoint,
) -> Result<Client, ApiError> {
    let basic_tried = headers.contains_key(header::AUTHORIZATION);
    match identify_client(state, headers, form, public_allowed, endpoint).await {
        Ok(client) => Ok(client),
        Err(AuthError::InvalidClient(refusal)) => {
            // Only a well-formed id is logged: people paste a secret where
            // the id belongs, and a secret must never reach a log.
            let presented = presented_client_id(headers, form);
            let client_id = uuid::Uuid::parse_str(&presented).ok();
            tracing::info!(
                client_id = client_id.map(tracing::field::display),
                client_id_malformed = client_id.is_none() && !presented.is_empty(),
                endpoint = endpoint.path(),
                reason = refusal.label(),
                "client authentication failed: {refusal}"
            );
            metrics::counter!("tessera_client_auth_failures_total", "reason" => refusal.label()).increment(1);
            Err(ApiError::from(AuthError::InvalidClient(refusal)).basic_challenge(basic_tried))
        }
        Err(other) => Err(other.into()),
    }
}

/// The `client_id` a request names (the Basic user, else the form's), for
/// the log of a refusal; empty if none.
fn presented_client_id(headers: &HeaderMap, form: &Form) -> String {
    headers
        .get(header::AUTHORIZATION)
        .and_then(parse_basic)
        .map(|(id, _)| id)
        .or_else(|| form.get("client_id").cloned())
        .unwrap_or_default()
}

/// [`authenticate_client`] without the logging: the client, or why not.
async fn identify_client(
    state: &AppState,
    headers: &HeaderMap,
    form: &Form,
    public_allowed: bool,
    endpoint: ClientAuthEndpoint,
) -> Result<Client, AuthError> {
    let refuse = |refusal| Err(AuthError::InvalidClient(refusal));
    let authorization = headers.get(header::AUTHORIZATION);
    let in_form = form.contains_key("client_secret");
    let assertion = form.contains_key("client_assertion") || form.contains_key("client_assertion_type");
    if usize::from(authorization.is_some()) + usize::from(in_form) + usize::from(assertion) > 1 {
        return refuse(ClientRefusal::SeveralMethods);
    }
    let presented = if let Some(value) = authorization {
        let Some((client_id, secret)) = parse_basic(value) else {
            return refuse(ClientRefusal::MalformedBasic);
        };
        if form.get("client_id").is_some_and(|id| *id != client_id) {
            return refuse(ClientRefusal::ClientIdMismatch);
        }
        PresentedClient {
            client_id,
            secret: Some(secret),
            method: TokenEndpointAuthMethod::ClientSecretBasic,
        }
    } else if assertion {
        let (Some(JWT_BEARER_ASSERTION), Some(assertion)) = (
            form.get("client_assertion_type").map(String::as_str),
            form.get("client_assertion"),
        ) else {
            return refuse(ClientRefusal::MalformedAssertion);
        };
        let client_id = form.get("client_id").map(String::as_str);
        let client = state
            .clients
            .authenticate_assertion(client_id, assertion, endpoint)
            .await?;
        return Ok(client.as_ref().clone());
    } else {
        let Some(client_id) = form.get("client_id").cloned() else {
            return refuse(ClientRefusal::NoCredentials);
        };
        let secret = form.get("client_secret").cloned();
        let method = if secret.is_some() {
            TokenEndpointAuthMethod::ClientSecretPost
        } else {
            TokenEndpointAuthMethod::None
        };
        PresentedClient {
            client_id,
            secret,
            method,
        }
    };
    let client = if presented.method == TokenEndpointAuthMethod::None {
        let client = state.clients.identify_public(&presented.client_id).await?;
        if !public_allowed {
            return refuse(ClientRefusal::PublicClientNotAccepted);
        }
        client
    } else {
        state.clients.authenticate(&presented).await?
    };
    Ok(client.as_ref().clone())
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn parse_basic(value: &HeaderValue) -> Option<(String, String)> {
    let value = value.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = B64.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

/// Decodes one `application/x-www-form-urlencoded` component.
fn form_decode(component: &str) -> Option<String> {
    if component.contains(['&', '=']) {
        return None;
    }
    let mut pairs = url::form_urlencoded::parse(component.as_bytes());
    match (pairs.next(), pairs.next()) {
        (Some((name, _)), None) => Some(name.into_owned()),
        (None, None) => Some(String::new()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn basic_credentials_are_form_urlencoded_then_base64() {
        let header = HeaderValue::from_str(&format!("Basic {}", B64.encode("a%2Bb+c:s%3As"))).unwrap();
        assert_eq!(
            parse_basic(&header),
            Some(("a+b c".to_string(), "s:s".to_string()))
        );
        let bearer = HeaderValue::from_static("Bearer abc");
        assert_eq!(parse_basic(&bearer), None);
        let no_colon = HeaderValue::from_str(&format!("Basic {}", B64.encode("abc"))).unwrap();
        assert_eq!(parse_basic(&no_colon), None);
    }
}
