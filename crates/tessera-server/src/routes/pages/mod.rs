//! The hosted pages of the browser flow: the authorization endpoint, login,
//! consent and RP-initiated logout, and the pages the mailed links open
//! (email verification, password recovery), as HTML without JavaScript.
//!
//! Forms are protected by a CSRF token bound to the browser: an `HttpOnly;
//! SameSite=Lax` cookie holds a random nonce, and every form carries in
//! `csrf_token` the HMAC of that nonce and of the browser session (see
//! [`crate::csrf`]), so a cookie and field planted with equal values fail.

mod authorize;
mod consent;
mod home;
mod login;
mod logout;
mod mailed;
mod recovery;
mod render;
mod verify_email;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tessera_core::AuthError;

use crate::cookies::{FORM_CSRF_COOKIE, SSO_COOKIE};
use crate::csrf::{new_nonce, plausible_nonce, CsrfPurpose};
use crate::state::{AppState, HttpSettings};
use render::Page;

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
        .route("/switch-account", post(consent::switch_account))
        // The mailed links' pages: GET (and HEAD) never spend a token.
        .route(
            "/verify-email",
            get(verify_email::show_verify_email).post(verify_email::verify_email),
        )
        .route("/verify-email/resend", post(verify_email::resend_verification))
        .route(
            "/forgot-password",
            get(recovery::show_forgot_password).post(recovery::forgot_password),
        )
        .route(
            "/reset-password",
            get(recovery::show_reset_password).post(recovery::reset_password),
        )
        .route("/reset-password/code", post(recovery::enter_reset_code))
        .route("/", get(home::home))
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
    /// The 400 page saying so, naming the parameter for the developer.
    pub fn page(&self) -> Page {
        Page::bad_request(
            "Invalid request",
            "The application that sent you here made a request that cannot be processed. Go back to the \
             application and try again; if this keeps happening, show its support the details below.",
            "invalid_request",
            self.0,
            None,
            &format!(
                "{} was sent more than once (RFC 6749 §3.1: a parameter must not be repeated).",
                self.0
            ),
        )
    }
}

// --- cookies --------------------------------------------------------------------------

/// The browser session cookie the request carries.
fn sso_cookie(headers: &HeaderMap, http: &HttpSettings) -> Option<String> {
    SSO_COOKIE.read(headers, http)
}

/// Adds a `Set-Cookie` to a response.
fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(value) = cookie {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `Set-Cookie` for a new browser session.
fn sso_set_cookie(token: &str, max_age_secs: u64, http: &HttpSettings) -> Option<HeaderValue> {
    SSO_COOKIE.set(token, max_age_secs, http)
}

/// `Set-Cookie` that removes the browser session cookie.
fn sso_clear_cookie(http: &HttpSettings) -> Option<HeaderValue> {
    SSO_COOKIE.clear(http)
}

// --- CSRF -------------------------------------------------------------------------------

/// The CSRF token a rendered form carries: derived from the browser's nonce
/// cookie if it has a plausible one, otherwise from a fresh nonce (then
/// `set_cookie` is set), and bound to the browser session if there is one.
struct FormCsrf {
    /// The value for the hidden `csrf_token` field.
    pub token: String,
    /// `Set-Cookie` to send when the nonce is new.
    pub set_cookie: Option<HeaderValue>,
}

impl FormCsrf {
    /// The token for a form answering `headers`, minting a nonce if needed.
    pub fn for_form(headers: &HeaderMap, http: &HttpSettings) -> FormCsrf {
        let (nonce, set_cookie) = match form_nonce(headers, http) {
            Some(nonce) => (nonce, None),
            None => {
                let nonce = new_nonce();
                let set_cookie = FORM_CSRF_COOKIE.set(&nonce, FORM_CSRF_MAX_AGE_SECS, http);
                (nonce, set_cookie)
            }
        };
        let session = sso_cookie(headers, http).unwrap_or_default();
        FormCsrf {
            token: http.csrf_key.token(CsrfPurpose::Form, &nonce, &session),
            set_cookie,
        }
    }

    /// Renders `page` and sets the cookie if it is new.
    pub fn respond(self, page: Page, state: &AppState) -> Response {
        with_cookie(page.render(&state.http), self.set_cookie)
    }
}

/// The form CSRF nonce of the request, if it carries a plausible one.
fn form_nonce(headers: &HeaderMap, http: &HttpSettings) -> Option<String> {
    FORM_CSRF_COOKIE
        .read(headers, http)
        .filter(|nonce| plausible_nonce(nonce))
}

/// Whether the posted `csrf_token` is the token of the request's nonce
/// cookie and browser session (compared in constant time). The session is
/// the one the form was rendered for: a sign-in in between (a new SSO
/// cookie) makes an older form fail, as it should.
fn csrf_matches(headers: &HeaderMap, fields: &Fields, http: &HttpSettings) -> bool {
    let Some(nonce) = form_nonce(headers, http) else {
        return false;
    };
    let session = sso_cookie(headers, http).unwrap_or_default();
    match fields.one("csrf_token") {
        Ok(Some(posted)) => http.csrf_key.verify(CsrfPurpose::Form, &nonce, &session, &posted),
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

/// The authorization response to the client: a `status` redirect with the
/// parameters in the query, or the form post page.
fn back_to_client(back: &tessera_core::ClientRedirect, status: StatusCode, http: &HttpSettings) -> Response {
    if back.form_post {
        render::form_post(back)
    } else {
        redirect(status, &back.url(), http)
    }
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
