//! The hosted login page: a password form that starts a browser session
//! (`tessera_sso`) and sends the browser back to the authorization request.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use tessera_core::{AuthError, AuthorizationParams, Device};

use super::authorize::{after_sign_in, parse_return_to, return_to};
use super::render::{Page, PASSWORD_TOGGLE_SCRIPT};
use super::{
    csrf_failed, csrf_matches, see_other, service_failure, sso_cookie, sso_set_cookie, with_cookie, Fields,
    FormCsrf,
};
use crate::extract::ClientMeta;
use crate::state::AppState;

/// Shown for every failed sign-in: never says which part was wrong.
const SIGN_IN_FAILED: &str = "The email, username or password is not correct.";

/// Shown when the password was right but the tenant requires a verified
/// address first (never after a wrong password: the service checks the
/// password first).
const VERIFY_EMAIL_FIRST: &str =
    "Verify your email address first — we sent you a link. Open it, or ask for a new mail below.";

/// Whether the login page links to "Forgot password?" (account recovery,
/// `/forgot-password`, always served) and "Create account" (self-service
/// sign-up, which has no hosted page yet: off, so no link leads nowhere).
const LOGIN_LINKS: LoginLinks = LoginLinks {
    forgot_password: true,
    create_account: false,
};

/// Optional links of the login page ([`LOGIN_LINKS`]).
#[derive(Debug, Clone, Copy)]
struct LoginLinks {
    forgot_password: bool,
    create_account: bool,
}

/// Why the login form is shown again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// Wrong identifier or password ([`SIGN_IN_FAILED`]).
    Failed,
    /// Right password, unverified address ([`VERIFY_EMAIL_FIRST`]): the
    /// page offers a new verification mail.
    EmailNotVerified,
}

/// `GET /login?return_to=…`: the form. A missing or unacceptable
/// `return_to` still shows it (the user then lands on a "signed in" page).
pub(super) async fn show_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let fields = Fields::parse(query.unwrap_or_default().as_bytes());
    let next = parse_return_to(fields.one("return_to").ok().flatten().as_deref());
    login_form(&state, &headers, StatusCode::OK, next.as_ref(), "", None).await
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
            login_form(
                &state,
                &headers,
                StatusCode::UNAUTHORIZED,
                next.as_ref(),
                &identifier,
                Some(Refusal::Failed),
            )
            .await
        }
        Err(AuthError::EmailNotVerified) => {
            login_form(
                &state,
                &headers,
                StatusCode::FORBIDDEN,
                next.as_ref(),
                &identifier,
                Some(Refusal::EmailNotVerified),
            )
            .await
        }
        Err(err) => service_failure(err, &state),
    }
}

/// The login form. When it is part of an authorization request (`next`),
/// it names the application asking — if the request's client and redirect
/// URI check out — and carries the request in `return_to`.
async fn login_form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    next: Option<&AuthorizationParams>,
    identifier: &str,
    refusal: Option<Refusal>,
) -> Response {
    let client_name = match next {
        Some(params) => match state.oidc.requesting_client_name(params).await {
            Ok(name) => name,
            Err(err) => return service_failure(err, state),
        },
        None => None,
    };
    let error = refusal.map(|refusal| match refusal {
        Refusal::Failed => SIGN_IN_FAILED,
        Refusal::EmailNotVerified => VERIFY_EMAIL_FIRST,
    });
    let unverified = refusal == Some(Refusal::EmailNotVerified);
    // The new-mail form is filled in when the person signed in by address.
    let resend_email = if unverified && identifier.contains('@') {
        identifier
    } else {
        ""
    };
    let csrf = FormCsrf::for_form(headers, &state.http);
    let page = Page {
        status,
        template: "login.html",
        data: context! {
            csrf_token => csrf.token.clone(),
            return_to => next.map(return_to).unwrap_or_default(),
            identifier,
            error,
            unverified,
            resend_email,
            client_name,
            forgot_password => LOGIN_LINKS.forgot_password,
            create_account => LOGIN_LINKS.create_account,
        },
        script: Some(PASSWORD_TOGGLE_SCRIPT),
    };
    csrf.respond(page, state)
}
