//! `GET /` (and `/t/{slug}/` for a tenant): what a person who opens the
//! server's address in a browser sees — the product, whether they are
//! signed in, and where to go — instead of a JSON 404.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use minijinja::context;

use super::render::Page;
use super::{service_failure, sso_cookie};
use crate::state::AppState;

/// The home page: sign in (or, signed in, who and sign out), the API
/// reference when `/docs` is served, and the discovery document.
pub(super) async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let cookie = sso_cookie(&headers, &state.http);
    let signed_in_as = match state.oidc.browser(cookie.as_deref()).await {
        Ok(browser) => browser.map(|b| b.user.email),
        Err(err) => return service_failure(err, &state),
    };
    Page::ok(
        "home.html",
        context! {
            signed_in_as,
            // The reference is the server's, served at the root for every
            // tenant.
            docs => state.http.docs,
        },
    )
    .render(&state.http)
}
