//! The hosted login page: a password form that starts a browser session
//! (`tessera_sso`) and sends the browser back to the authorization request.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use tessera_core::{AuthError, Device};

use super::authorize::{after_sign_in, parse_return_to, return_to};
use super::render::Page;
use super::{
    csrf_failed, csrf_matches, see_other, service_failure, sso_cookie, sso_set_cookie, with_cookie, Fields,
    FormCsrf,
};
use crate::extract::ClientMeta;
use crate::state::AppState;

/// Shown for every failed sign-in: never says which part was wrong.
const SIGN_IN_FAILED: &str = "The email, username or password is not correct.";

/// `GET /login?return_to=…`: the form. A missing or unacceptable
/// `return_to` still shows it (the user then lands on a "signed in" page).
pub(super) async fn show_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let fields = Fields::parse(query.unwrap_or_default().as_bytes());
    let return_to = valid_return_to(fields.one("return_to").ok().flatten().as_deref());
    login_form(&state, &headers, StatusCode::OK, &return_to, "", None)
}

/// `POST /login`: checks CSRF, signs in, sets the session cookie and
/// continues the authorization request (303).
pub(super) async fn sign_in(
    State(state): State<AppState>,
    meta: ClientMeta,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    if !csrf_matches(&headers, &fields, &state.http) {
        return csrf_failed(&state);
    }
    let field = |name| fields.one(name).ok().flatten().unwrap_or_default();
    let (identifier, password) = (field("identifier"), field("password"));
    let next = parse_return_to(Some(field("return_to").as_str())).map(after_sign_in);
    let replacing = sso_cookie(&headers, &state.http);
    match state
        .oidc
        .sign_in(
            &identifier,
            &password,
            replacing.as_deref(),
            Device {
                ip: meta.ip,
                user_agent: meta.user_agent,
            },
        )
        .await
    {
        Ok(signed_in) => {
            let cookie = sso_set_cookie(&signed_in.token, signed_in.max_age_secs, &state.http);
            let response = match next {
                Some(params) => see_other(&return_to(&params), &state.http),
                None => Page::ok("signed_in.html", context! {}).render(&state.http),
            };
            with_cookie(response, cookie)
        }
        // Validation covers an empty field: the same answer as a wrong
        // password, so nothing is learnt from it.
        Err(AuthError::InvalidCredentials | AuthError::Validation(_)) => {
            let return_to = next.as_ref().map(return_to).unwrap_or_default();
            login_form(
                &state,
                &headers,
                StatusCode::UNAUTHORIZED,
                &return_to,
                &identifier,
                Some(SIGN_IN_FAILED),
            )
        }
        Err(err) => service_failure(err, &state),
    }
}

/// `return_to` if it is an acceptable link, else empty.
fn valid_return_to(candidate: Option<&str>) -> String {
    parse_return_to(candidate)
        .map(|p| return_to(&p))
        .unwrap_or_default()
}

fn login_form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    return_to: &str,
    identifier: &str,
    error: Option<&str>,
) -> Response {
    let csrf = FormCsrf::for_form(headers, &state.http);
    let page = Page {
        status,
        template: "login.html",
        data: context! { csrf_token => csrf.token.clone(), return_to, identifier, error },
    };
    csrf.respond(page, state)
}
