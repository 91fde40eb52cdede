//! RP-initiated logout (OIDC RP-Initiated Logout 1.0): a confirmation page,
//! then the browser session ends and the browser goes back to the client.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use tessera_core::{AuthError, LogoutParams, LogoutPlan};

use super::render::Page;
use super::{
    csrf_failed, csrf_matches, see_other, service_failure, sso_clear_cookie, sso_cookie, with_cookie, Fields,
    FormCsrf, Repeated,
};
use crate::state::AppState;

/// `GET /logout` and `GET /oauth2/logout`: the confirmation page.
pub(super) async fn confirm_logout_query(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    confirm_logout(&state, &headers, query.unwrap_or_default().as_bytes()).await
}

/// `POST /oauth2/logout` (form body): the confirmation page.
pub(super) async fn confirm_logout_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    confirm_logout(&state, &headers, &body).await
}

/// Checks the request, then asks the user to confirm: a logout link alone
/// must not sign anyone out (§2: the OP SHOULD ask).
async fn confirm_logout(state: &AppState, headers: &HeaderMap, encoded: &[u8]) -> Response {
    let params = match logout_params(&Fields::parse(encoded)) {
        Ok(params) => params,
        Err(repeated) => return repeated.page().render(&state.http),
    };
    let plan = match state.oidc.plan_logout(&params).await {
        Ok(plan) => plan,
        Err(err) => return logout_refused(err, state),
    };
    let csrf = FormCsrf::for_form(headers, &state.http);
    let cancel_url = cancel_url(&plan, &params, state);
    // Absent values are empty fields (minijinja would print `none`).
    let page = Page::ok(
        "logout.html",
        context! {
            csrf_token => csrf.token.clone(),
            cancel_url,
            client_name => plan.client_name,
            id_token_hint => params.id_token_hint.unwrap_or_default(),
            post_logout_redirect_uri => params.post_logout_redirect_uri.unwrap_or_default(),
            state => params.state.unwrap_or_default(),
            client_id => params.client_id.unwrap_or_default(),
        },
    );
    csrf.respond(page, state)
}

/// Where Cancel on the confirmation page goes: back to the client at its
/// `post_logout_redirect_uri` when [`OidcService::plan_logout`] found it
/// registered (without `state`: nothing was signed out), else this
/// tenant's home page. Never a URL that was not checked (no open redirect
/// through the page).
///
/// [`OidcService::plan_logout`]: tessera_core::OidcService::plan_logout
fn cancel_url(plan: &LogoutPlan, params: &LogoutParams, state: &AppState) -> String {
    match (&plan.redirect, &params.post_logout_redirect_uri) {
        (Some(_), Some(registered)) => registered.clone(),
        _ => state.http.path("/"),
    }
}

/// `POST /logout`: the user confirmed. Ends the browser session, clears the
/// cookie, and goes to the client's registered post-logout URI (303) or
/// shows the "signed out" page.
pub(super) async fn logout(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = Fields::parse(&body);
    if !csrf_matches(&headers, &fields, &state.http) {
        return csrf_failed(&state);
    }
    let params = match logout_params(&fields) {
        Ok(params) => params,
        Err(repeated) => return repeated.page().render(&state.http),
    };
    let cookie = sso_cookie(&headers, &state.http);
    match sign_out(&state, &params, cookie.as_deref()).await {
        Ok(plan) => {
            let response = match plan.redirect {
                Some(url) => see_other(&url, &state.http),
                None => Page::ok("signed_out.html", context! {}).render(&state.http),
            };
            with_cookie(response, sso_clear_cookie(&state.http))
        }
        Err(err) => logout_refused(err, &state),
    }
}

/// Re-checks the (hidden, so untrusted) parameters and signs out.
async fn sign_out(
    state: &AppState,
    params: &LogoutParams,
    cookie: Option<&str>,
) -> Result<LogoutPlan, AuthError> {
    let plan = state.oidc.plan_logout(params).await?;
    state.oidc.logout(cookie).await?;
    Ok(plan)
}

fn logout_params(fields: &Fields) -> Result<LogoutParams, Repeated> {
    Ok(LogoutParams {
        id_token_hint: fields.one("id_token_hint")?,
        client_id: fields.one("client_id")?,
        post_logout_redirect_uri: fields.one("post_logout_redirect_uri")?,
        state: fields.one("state")?,
    })
}

/// A logout request the service refused (400, saying why) or could not
/// handle.
fn logout_refused(err: AuthError, state: &AppState) -> Response {
    match err {
        AuthError::InvalidRequest(message) => Page::error(
            StatusCode::BAD_REQUEST,
            "This sign-out request cannot be processed",
            &message,
        )
        .render(&state.http),
        other => service_failure(other, state),
    }
}
