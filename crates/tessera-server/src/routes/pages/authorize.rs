//! The authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2.1) and the
//! `return_to` links the login and consent pages carry back to it.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tessera_core::{AuthorizationParams, AuthorizeError, AuthorizeStep};

use super::render::Page;
use super::{back_to_client, found, service_failure, sso_cookie, Fields, Repeated};
use crate::state::AppState;

/// Where the login and consent pages send the browser back to.
const AUTHORIZE_PREFIX: &str = "/oauth2/authorize?";

/// `GET /oauth2/authorize`: parameters in the query.
pub(super) async fn authorize_query(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    authorize(&state, &headers, query.unwrap_or_default().as_bytes()).await
}

/// `POST /oauth2/authorize`: parameters in a form body (OIDC Core §3.1.2.1).
pub(super) async fn authorize_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    authorize(&state, &headers, &body).await
}

async fn authorize(state: &AppState, headers: &HeaderMap, encoded: &[u8]) -> Response {
    let params = match authorization_params(&Fields::parse(encoded)) {
        Ok(params) => params,
        Err(repeated) => return repeated.page().render(&state.http),
    };
    let cookie = sso_cookie(headers, &state.http);
    let outcome = state.oidc.authorize(&params, cookie.as_deref()).await;
    authorize_response(outcome, &params, state)
}

/// Maps the service's answer: the login and consent pages get a
/// `return_to` that repeats the request; errors about the client or its
/// redirect URI are shown here and never redirected (RFC 6749 §4.1.2.1).
pub(super) fn authorize_response(
    outcome: Result<AuthorizeStep, AuthorizeError>,
    params: &AuthorizationParams,
    state: &AppState,
) -> Response {
    match outcome {
        Ok(AuthorizeStep::Login) => found(&page_link("/login", params), &state.http),
        Ok(AuthorizeStep::Consent(_)) => found(&page_link("/consent", params), &state.http),
        Ok(AuthorizeStep::Redirect(back)) | Err(AuthorizeError::Redirect(back)) => {
            back_to_client(&back, StatusCode::FOUND, &state.http)
        }
        Err(err) => authorize_error_page(err, state),
    }
}

/// The page for an authorization error that must not be redirected.
pub(super) fn authorize_error_page(err: AuthorizeError, state: &AppState) -> Response {
    match err {
        AuthorizeError::Page {
            error,
            parameter,
            sent,
            description,
        } => {
            tracing::info!(error, parameter, "authorization request refused on a page");
            Page::bad_request(
                "This request cannot be processed",
                person_message(parameter),
                error,
                parameter,
                sent.as_deref(),
                &description,
            )
            .render(&state.http)
        }
        AuthorizeError::Service(err) => service_failure(err, state),
        // Callers handle redirects; reaching here would be a bug, not a
        // reason to send the browser somewhere unchecked.
        AuthorizeError::Redirect(_) => service_failure(
            tessera_core::AuthError::Internal("unexpected authorization redirect".into()),
            state,
        ),
    }
}

/// What the error page tells the person, by the parameter at fault; the
/// developer's detail follows it on the page.
fn person_message(parameter: &str) -> &'static str {
    match parameter {
        "redirect_uri" => {
            "The application that sent you here asked to be answered at an address it has not registered, \
             so you are not being sent anywhere. Go back to the application and try again; if this keeps \
             happening, show its support the details below."
        }
        "client_id" => {
            "The application that sent you here is not known to this sign-in service. Go back to the \
             application and try again; if this keeps happening, show its support the details below."
        }
        _ => {
            "The application that sent you here made a request that cannot be processed. Go back to the \
             application and try again; if this keeps happening, show its support the details below."
        }
    }
}

/// The authorization parameters of a query string or form.
pub(super) fn authorization_params(fields: &Fields) -> Result<AuthorizationParams, Repeated> {
    Ok(AuthorizationParams {
        response_type: fields.one("response_type")?,
        client_id: fields.one("client_id")?,
        redirect_uri: fields.one("redirect_uri")?,
        scope: fields.one("scope")?,
        state: fields.one("state")?,
        nonce: fields.one("nonce")?,
        code_challenge: fields.one("code_challenge")?,
        code_challenge_method: fields.one("code_challenge_method")?,
        prompt: fields.one("prompt")?,
        max_age: fields.one("max_age")?,
        response_mode: fields.one("response_mode")?,
        request: fields.one("request")?,
        request_uri: fields.one("request_uri")?,
        // RFC 8707 §2 allows several; the service refuses more than one
        // with invalid_target rather than this page refusing a repeat.
        resource: fields
            .0
            .iter()
            .filter(|(name, value)| name == "resource" && !value.is_empty())
            .map(|(_, value)| value.clone())
            .collect(),
    })
}

/// `/oauth2/authorize?…` repeating `params` in a fixed order (unknown
/// parameters are dropped: RFC 6749 §3.1 says to ignore them).
pub(super) fn return_to(params: &AuthorizationParams) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("response_type", &params.response_type),
        ("client_id", &params.client_id),
        ("redirect_uri", &params.redirect_uri),
        ("scope", &params.scope),
        ("state", &params.state),
        ("nonce", &params.nonce),
        ("code_challenge", &params.code_challenge),
        ("code_challenge_method", &params.code_challenge_method),
        ("prompt", &params.prompt),
        ("max_age", &params.max_age),
        ("response_mode", &params.response_mode),
    ] {
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    for resource in &params.resource {
        query.append_pair("resource", resource);
    }
    format!("{AUTHORIZE_PREFIX}{}", query.finish())
}

/// `/login?return_to=…` or `/consent?return_to=…` for this request.
pub(super) fn page_link(page: &str, params: &AuthorizationParams) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(return_to(params).as_bytes()).collect();
    format!("{page}?return_to={encoded}")
}

/// The authorization request a `return_to` repeats. Only a relative link
/// to the authorization endpoint is accepted — anything else (absolute
/// URLs, `//host`, backslashes, control characters) is `None`, as if
/// absent: no open redirect.
pub(super) fn parse_return_to(return_to: Option<&str>) -> Option<AuthorizationParams> {
    let return_to = return_to?;
    let query = return_to.strip_prefix(AUTHORIZE_PREFIX)?;
    if return_to.len() > 8192
        || return_to
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return None;
    }
    authorization_params(&Fields::parse(query.as_bytes())).ok()
}

/// The request to continue with after a successful sign-in: `login` is
/// taken out of `prompt` and `max_age` is dropped (the user has just
/// authenticated, which satisfies both), or a slow redirect would ask again
/// forever.
pub(super) fn after_sign_in(mut params: AuthorizationParams) -> AuthorizationParams {
    params.max_age = None;
    params.prompt = params.prompt.and_then(|prompt| {
        let rest: Vec<&str> = prompt
            .split(' ')
            .filter(|p| !p.is_empty() && *p != "login")
            .collect();
        (!rest.is_empty()).then(|| rest.join(" "))
    });
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_accepts_only_the_authorization_endpoint() {
        assert!(parse_return_to(Some("/oauth2/authorize?client_id=a")).is_some());
        for bad in [
            "https://evil.example/oauth2/authorize?x=1",
            "//evil.example/oauth2/authorize?x=1",
            "/\\evil.example",
            "/oauth2/authorize?client_id=a\\b",
            "/oauth2/authorize?client_id=a\nb",
            "/oauth2/authorizeX?client_id=a",
            "/login?return_to=x",
            "/oauth2/authorize?client_id=a&client_id=b",
        ] {
            assert!(parse_return_to(Some(bad)).is_none(), "{bad}");
        }
    }

    #[test]
    fn sign_in_removes_login_from_prompt() {
        let with = |prompt: &str| AuthorizationParams {
            prompt: Some(prompt.into()),
            ..AuthorizationParams::default()
        };
        assert_eq!(after_sign_in(with("login")).prompt, None);
        assert_eq!(
            after_sign_in(with("login consent")).prompt.as_deref(),
            Some("consent")
        );
        assert_eq!(after_sign_in(with("consent")).prompt.as_deref(), Some("consent"));
        let aged = AuthorizationParams {
            max_age: Some("0".into()),
            ..AuthorizationParams::default()
        };
        assert_eq!(after_sign_in(aged).max_age, None);
    }

    #[test]
    fn return_to_round_trips() {
        let params = AuthorizationParams {
            client_id: Some("c".into()),
            redirect_uri: Some("http://127.0.0.1:9/cb?x=1&y=2".into()),
            state: Some("a b&c".into()),
            ..AuthorizationParams::default()
        };
        let link = return_to(&params);
        let parsed = parse_return_to(Some(&link)).unwrap_or_default();
        assert_eq!(parsed.redirect_uri, params.redirect_uri);
        assert_eq!(parsed.state, params.state);
    }
}
