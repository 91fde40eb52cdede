//! The consent page: the signed-in user approves (or refuses) what a client
//! asks for; an approval is remembered by the service.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use tessera_core::{AuthorizationParams, AuthorizeError, AuthorizeStep, ConsentPrompt};

use super::authorize::{authorize_error_page, authorize_response, page_link, parse_return_to, return_to};
use super::render::Page;
use super::{
    back_to_client, csrf_failed, csrf_matches, see_other, service_failure, sso_clear_cookie, sso_cookie,
    with_cookie, Fields, FormCsrf,
};
use crate::state::AppState;

/// `GET /consent?return_to=…`: asks the service again what the request
/// needs; shows the prompt, or follows the answer (sign in first, or the
/// redirect when approval is no longer needed).
pub(super) async fn show_consent(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let fields = Fields::parse(query.unwrap_or_default().as_bytes());
    let Some(params) = parse_return_to(fields.one("return_to").ok().flatten().as_deref()) else {
        return invalid_link(&state);
    };
    let cookie = sso_cookie(&headers, &state.http);
    match state.oidc.authorize(&params, cookie.as_deref()).await {
        Ok(AuthorizeStep::Consent(prompt)) => consent_form(&state, &headers, &params, prompt),
        other => authorize_response(other, &params, &state),
    }
}

/// `POST /consent` (`decision=allow|deny`): records the answer and sends
/// the browser to the client with a code or `access_denied` (303).
pub(super) async fn decide_consent(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (fields, params) = match posted_for_request(&state, &headers, &body) {
        Ok(posted) => posted,
        Err(refused) => return *refused,
    };
    let allow = match fields.one("decision").ok().flatten().as_deref() {
        Some("allow") => true,
        Some("deny") => false,
        _ => {
            return Page::error(
                StatusCode::BAD_REQUEST,
                "Invalid request",
                "Choose Allow or Deny.",
            )
            .render(&state.http)
        }
    };
    let cookie = sso_cookie(&headers, &state.http);
    match state.oidc.decide_consent(&params, cookie.as_deref(), allow).await {
        Ok(AuthorizeStep::Redirect(back)) | Err(AuthorizeError::Redirect(back)) => {
            back_to_client(&back, StatusCode::SEE_OTHER, &state.http)
        }
        Ok(AuthorizeStep::Login) => see_other(&page_link("/login", &params), &state.http),
        Ok(AuthorizeStep::Consent(_)) => see_other(&page_link("/consent", &params), &state.http),
        Err(err) => authorize_error_page(err, &state),
    }
}

/// `POST /switch-account` ("Not you?" on the consent page): ends the
/// browser session — and the token sessions granted from it — and sends
/// the browser to the login page for the same authorization request, to
/// sign in as someone else. A form post with the CSRF token, never a link:
/// a GET that signs out could be fired by any page (logout CSRF).
pub(super) async fn switch_account(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (_, params) = match posted_for_request(&state, &headers, &body) {
        Ok(posted) => posted,
        Err(refused) => return *refused,
    };
    let cookie = sso_cookie(&headers, &state.http);
    if let Err(err) = state.oidc.logout(cookie.as_deref()).await {
        return service_failure(err, &state);
    }
    with_cookie(
        see_other(&page_link("/login", &params), &state.http),
        sso_clear_cookie(&state.http),
    )
}

/// A form posted from the consent page: its fields and the authorization
/// request it belongs to, or the answer to a failed CSRF check or a broken
/// `return_to`.
fn posted_for_request(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Fields, AuthorizationParams), Box<Response>> {
    let fields = Fields::parse(body);
    if !csrf_matches(headers, &fields, &state.http) {
        return Err(Box::new(csrf_failed(state)));
    }
    match parse_return_to(fields.one("return_to").ok().flatten().as_deref()) {
        Some(params) => Ok((fields, params)),
        None => Err(Box::new(invalid_link(state))),
    }
}

fn consent_form(
    state: &AppState,
    headers: &HeaderMap,
    params: &AuthorizationParams,
    prompt: ConsentPrompt,
) -> Response {
    let scopes: Vec<_> = prompt
        .scopes
        .iter()
        .map(|(name, description)| context! { name, description })
        .collect();
    let csrf = FormCsrf::for_form(headers, &state.http);
    let page = Page::ok(
        "consent.html",
        context! {
            csrf_token => csrf.token.clone(),
            return_to => return_to(params),
            client_name => prompt.client_name,
            resource => prompt.resource.map(|(name, identifier)| context! { name, identifier }),
            user_email => prompt.user_email,
            scopes,
        },
    );
    csrf.respond(page, state)
}

fn invalid_link(state: &AppState) -> Response {
    Page::error(
        StatusCode::BAD_REQUEST,
        "Invalid request",
        "This link is not valid. Go back to the application and try again.",
    )
    .render(&state.http)
}
