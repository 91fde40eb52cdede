//! The page the verification mail's link opens (`/verify-email?token=…`):
//! GET and HEAD only look at the link, the person's button (or the code
//! form) spends it, and a form asks for a new mail when the link no longer
//! works.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use tessera_core::AuthError;
use tessera_store::OneTimePurpose;

use super::mailed::{
    link_problem, mail_sent, posted_proof, proof_email, violation_messages, MailSent, CODE_NOT_ACCEPTED,
    PROOF_MISSING,
};
use super::render::Page;
use super::{csrf_failed, csrf_matches, service_failure, Fields, FormCsrf};
use crate::state::AppState;

/// Shown for a link whose `token` appears more than once: no mail has one.
const LINK_MALFORMED: &str = "This link is not complete or was changed: copy the whole link from the mail.";

/// What the verification page shows (besides the code form, always there).
#[derive(Default)]
struct VerifyView {
    /// A live link's token: the "Confirm" button posts it.
    token: Option<String>,
    /// Why the link cannot be used; the page then offers a new mail.
    link_problem: Option<String>,
    /// What went wrong with a posted form.
    errors: Vec<String>,
    /// The address to fill the forms in with.
    email: String,
}

/// `GET /verify-email?token=…` (and HEAD): changes nothing. A live link
/// shows one button that posts it; a dead one says why and offers a new
/// mail; no token shows the code and new-mail forms.
pub(super) async fn show_verify_email(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let fields = Fields::parse(query.unwrap_or_default().as_bytes());
    let token = match fields.one("token") {
        Ok(Some(token)) => token,
        Ok(None) => return verify_page(&state, &headers, StatusCode::OK, VerifyView::default()),
        Err(_) => return dead_link(&state, &headers, LINK_MALFORMED.to_string()),
    };
    match state.auth.check_link(OneTimePurpose::VerifyEmail, &token).await {
        Ok(()) => {
            let view = VerifyView {
                token: Some(token),
                ..VerifyView::default()
            };
            verify_page(&state, &headers, StatusCode::OK, view)
        }
        Err(AuthError::LinkInvalid(why)) => dead_link(&state, &headers, link_problem(why)),
        Err(err) => service_failure(err, &state),
    }
}

/// `POST /verify-email` (the button's `token`, or `email` and `code`):
/// verifies the address, or shows the page again saying why not.
pub(super) async fn verify_email(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = Fields::parse(&body);
    if !csrf_matches(&headers, &fields, &state.http) {
        return csrf_failed(&state);
    }
    let Some(proof) = posted_proof(&fields) else {
        let view = VerifyView {
            errors: vec![PROOF_MISSING.to_string()],
            email: fields.one("email").ok().flatten().unwrap_or_default(),
            ..VerifyView::default()
        };
        return verify_page(&state, &headers, StatusCode::UNPROCESSABLE_ENTITY, view);
    };
    let email = proof_email(&proof);
    let (status, errors) = match state.auth.verify_email(proof).await {
        Ok(()) => return Page::ok("email_verified.html", context! {}).render(&state.http),
        Err(AuthError::LinkInvalid(why)) => return dead_link(&state, &headers, link_problem(why)),
        Err(AuthError::CodeInvalid) => (StatusCode::BAD_REQUEST, vec![CODE_NOT_ACCEPTED.to_string()]),
        Err(AuthError::Validation(violations)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, violation_messages(&violations))
        }
        // Another account took the address between the mail and now.
        Err(AuthError::Conflict(_)) => (
            StatusCode::CONFLICT,
            vec!["Another account uses this email address now, so it cannot be verified for yours.".into()],
        ),
        Err(err) => return service_failure(err, &state),
    };
    let view = VerifyView {
        errors,
        email,
        ..VerifyView::default()
    };
    verify_page(&state, &headers, status, view)
}

/// `POST /verify-email/resend` (`email`): sends a new link and code if an
/// unverified account has the address; the same page whatever the address.
pub(super) async fn resend_verification(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    if !csrf_matches(&headers, &fields, &state.http) {
        return csrf_failed(&state);
    }
    let email = fields.one("email").ok().flatten().unwrap_or_default();
    let errors = match state.auth.resend_verification(&email) {
        Ok(()) => {
            return mail_sent(
                &state,
                &headers,
                MailSent::Verification,
                &email,
                StatusCode::OK,
                &[],
            )
        }
        Err(AuthError::Validation(violations)) => violation_messages(&violations),
        Err(err) => return service_failure(err, &state),
    };
    let view = VerifyView {
        errors,
        email,
        ..VerifyView::default()
    };
    verify_page(&state, &headers, StatusCode::UNPROCESSABLE_ENTITY, view)
}

/// The page for a link that cannot be used (400): why, and the forms.
fn dead_link(state: &AppState, headers: &HeaderMap, problem: String) -> Response {
    let view = VerifyView {
        link_problem: Some(problem),
        ..VerifyView::default()
    };
    verify_page(state, headers, StatusCode::BAD_REQUEST, view)
}

/// Renders the verification page.
fn verify_page(state: &AppState, headers: &HeaderMap, status: StatusCode, view: VerifyView) -> Response {
    let csrf = FormCsrf::for_form(headers, &state.http);
    let page = Page {
        status,
        template: "verify_email.html",
        data: context! {
            csrf_token => csrf.token.clone(),
            token => view.token,
            link_problem => view.link_problem,
            errors => view.errors,
            email => view.email,
        },
        script: None,
    };
    csrf.respond(page, state)
}
