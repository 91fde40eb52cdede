//! The hosted pages of the browser flow: the authorization endpoint, login,
//! consent and RP-initiated logout, as HTML without JavaScript.
//!
//! Forms are protected by a double-submit CSRF token: an `HttpOnly;
//! SameSite=Lax` cookie whose value every form echoes in `csrf_token`.

mod authorize;
mod consent;
mod login;
mod logout;
mod render;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use cookie::{Cookie, SameSite};
use subtle::ConstantTimeEq;
use tessera_core::AuthError;

use crate::cookies::read_cookie;
use crate::state::{AppState, HttpSettings};
use render::Page;

/// The browser session cookie.
pub const SSO_COOKIE: &str = "tessera_sso";
/// The CSRF cookie of the hosted forms (not readable by scripts; there are
/// none — the value reaches the form through the server).
pub const FORM_CSRF_COOKIE: &str = "tessera_form_csrf";
/// Lifetime of the CSRF cookie, seconds (a day: long enough for a form left
/// open, short enough to rotate).
const FORM_CSRF_MAX_AGE_SECS: u64 = 24 * 60 * 60;

/// The hosted pages and their stylesheets.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/oauth2/authorize",
            get(authorize::authorize_query).post(authorize::authorize_form),
        )
        .route("/login", get(login::show_login).post(login::sign_in))
        .route(
            "/consent",
            get(consent::show_consent).post(consent::decide_consent),
        )
        .route("/logout", get(logout::confirm_logout_query).post(logout::logout))
        .route(
            "/oauth2/logout",
            get(logout::confirm_logout_query).post(logout::confirm_logout_form),
        )
        .route("/assets/tessera.css", get(stylesheet))
        .route("/assets/theme.css", get(theme_stylesheet))
}

async fn stylesheet() -> Response {
    render::css(render::STYLESHEET.to_string())
}

async fn theme_stylesheet(State(state): State<AppState>) -> Response {
    render::css(render::theme_css(&state.http.theme))
}

// --- form and query parameters -------------------------------------------------------

/// Decoded `application/x-www-form-urlencoded` pairs (a query string or a
/// form body), in order.
struct Fields(Vec<(String, String)>);

impl Fields {
    /// Parses a query string or form body.
    pub fn parse(encoded: &[u8]) -> Fields {
        Fields(url::form_urlencoded::parse(encoded).into_owned().collect())
    }

    /// The value of `name`; an empty value counts as absent (RFC 6749 §3.1).
    /// `Err` names a parameter sent more than once (RFC 6749 §3.1: "MUST
    /// NOT be included more than once").
    pub fn one(&self, name: &'static str) -> Result<Option<String>, Repeated> {
        let mut values = self.0.iter().filter(|(n, _)| n == name).map(|(_, v)| v);
        match (values.next(), values.next()) {
            (_, Some(_)) => Err(Repeated(name)),
            (Some(value), None) if !value.is_empty() => Ok(Some(value.clone())),
            _ => Ok(None),
        }
    }
}

/// A parameter that appeared more than once.
#[derive(Debug)]
struct Repeated(pub &'static str);

impl Repeated {
    /// The 400 page saying so.
    pub fn page(&self) -> Page {
        Page::error(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            &format!("The parameter {} was sent more than once.", self.0),
        )
    }
}

// --- cookies --------------------------------------------------------------------------

/// The browser session cookie the request carries.
fn sso_cookie(headers: &HeaderMap, http: &HttpSettings) -> Option<String> {
    read_cookie(headers, &http.cookie_name(SSO_COOKIE))
}

fn build_cookie(name: &str, value: String, max_age_secs: u64, http: &HttpSettings) -> Option<HeaderValue> {
    let cookie = Cookie::build((http.cookie_name(name), value))
        .path(http.path("/"))
        .http_only(true)
        .secure(http.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(max_age_secs).unwrap_or(i64::MAX),
        ))
        .build();
    HeaderValue::from_str(&cookie.to_string()).ok()
}

/// Adds a `Set-Cookie` to a response.
fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(value) = cookie {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `Set-Cookie` for a new browser session.
fn sso_set_cookie(token: String, max_age_secs: u64, http: &HttpSettings) -> Option<HeaderValue> {
    build_cookie(SSO_COOKIE, token, max_age_secs, http)
}

/// `Set-Cookie` that removes the browser session cookie.
fn sso_clear_cookie(http: &HttpSettings) -> Option<HeaderValue> {
    build_cookie(SSO_COOKIE, String::new(), 0, http)
}

// --- CSRF -------------------------------------------------------------------------------

/// The CSRF token a rendered form carries: the browser's cookie if it has a
/// plausible one, otherwise a fresh random one (then `set_cookie` is set).
struct FormCsrf {
    /// The value for the hidden `csrf_token` field.
    pub token: String,
    /// `Set-Cookie` to send when the token is new.
    pub set_cookie: Option<HeaderValue>,
}

impl FormCsrf {
    /// Reuses the request's CSRF cookie or mints one.
    pub fn for_form(headers: &HeaderMap, http: &HttpSettings) -> FormCsrf {
        match read_cookie(headers, &http.cookie_name(FORM_CSRF_COOKIE)).filter(|v| plausible_token(v)) {
            Some(token) => FormCsrf {
                token,
                set_cookie: None,
            },
            None => {
                let token = tessera_core::new_opaque_token();
                let set_cookie = build_cookie(FORM_CSRF_COOKIE, token.clone(), FORM_CSRF_MAX_AGE_SECS, http);
                FormCsrf { token, set_cookie }
            }
        }
    }

    /// Renders `page` and sets the cookie if it is new.
    pub fn respond(self, page: Page, state: &AppState) -> Response {
        with_cookie(page.render(&state.http), self.set_cookie)
    }
}

/// A base64url token of a sane length (what `new_opaque_token` makes).
fn plausible_token(value: &str) -> bool {
    (32..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether the posted `csrf_token` equals the CSRF cookie (constant time).
fn csrf_matches(headers: &HeaderMap, fields: &Fields, http: &HttpSettings) -> bool {
    let Some(cookie) =
        read_cookie(headers, &http.cookie_name(FORM_CSRF_COOKIE)).filter(|v| plausible_token(v))
    else {
        return false;
    };
    match fields.one("csrf_token") {
        Ok(Some(posted)) => bool::from(posted.as_bytes().ct_eq(cookie.as_bytes())),
        _ => false,
    }
}

/// The 403 page for a form post without a matching CSRF token.
fn csrf_failed(state: &AppState) -> Response {
    Page::error(
        StatusCode::FORBIDDEN,
        "Session expired",
        "Your session expired, go back and try again.",
    )
    .render(&state.http)
}

// --- redirects and failures -------------------------------------------------------------------

/// `302 Found` to `location` (the authorization endpoint's answers); a
/// path on this server (starting with `/`) is put under the tenant's base
/// path.
fn found(location: &str, http: &HttpSettings) -> Response {
    redirect(StatusCode::FOUND, location, http)
}

/// `303 See Other` to `location` (after a form post: the browser follows
/// with GET); paths as for [`found`].
fn see_other(location: &str, http: &HttpSettings) -> Response {
    redirect(StatusCode::SEE_OTHER, location, http)
}

fn redirect(status: StatusCode, location: &str, http: &HttpSettings) -> Response {
    let location = if location.starts_with('/') {
        http.path(location)
    } else {
        location.to_string()
    };
    match HeaderValue::from_str(&location) {
        Ok(value) => (status, [(header::LOCATION, value)]).into_response(),
        Err(_) => {
            tracing::error!("redirect target is not a valid header value");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The page for a failed service call: 503 when the store is down or the
/// server busy (with `Retry-After`), otherwise an opaque 500 whose cause is
/// logged here, once.
fn service_failure(err: AuthError, state: &AppState) -> Response {
    let theme = &*state.http;
    match err {
        AuthError::Unavailable(cause) => {
            tracing::warn!(%cause, "hosted page: store unavailable");
            unavailable_page().render(theme)
        }
        AuthError::Overloaded { retry_after_secs } => {
            let mut response = unavailable_page().render(theme);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response
        }
        other => {
            tracing::error!(error = %other, "hosted page failed");
            Page::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Something went wrong on our side. Please try again later.",
            )
            .render(theme)
        }
    }
}

fn unavailable_page() -> Page {
    Page::error(
        StatusCode::SERVICE_UNAVAILABLE,
        "Temporarily unavailable",
        "The service is temporarily unavailable. Please try again in a moment.",
    )
}
