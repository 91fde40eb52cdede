//! Password recovery as pages: ask for a mail (`/forgot-password`), then
//! set a new password with the mail's link (`/reset-password?token=…`) or
//! its code. Opening the link changes nothing; only the new-password form
//! spends it.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use tessera_core::{AuthError, MailedProof};
use tessera_store::OneTimePurpose;

use super::mailed::{
    link_problem, mail_sent, posted_proof, violation_messages, MailSent, CODE_NOT_ACCEPTED, PROOF_MISSING,
};
use super::render::{Page, PASSWORD_TOGGLE_SCRIPT};
use super::{csrf_failed, csrf_matches, service_failure, Fields, FormCsrf};
use crate::state::AppState;

/// Shown for a reset link without exactly one `token`.
const LINK_INCOMPLETE: &str = "This link is not complete or was changed: copy the whole link from the mail.";

/// Shown when the two new-password fields differ.
const PASSWORDS_DIFFER: &str = "The two passwords are not the same.";

/// Shown when the new password is missing.
const PASSWORD_MISSING: &str = "Enter the new password twice.";

/// Shown when the forgot form's address is missing.
const EMAIL_MISSING: &str = "Enter the email address of your account.";

/// `GET /forgot-password`: the form asking for the account's address.
pub(super) async fn show_forgot_password(State(state): State<AppState>, headers: HeaderMap) -> Response {
    forgot_page(&state, &headers, StatusCode::OK, "", Vec::new())
}

/// `POST /forgot-password` (`email`): mails a link and a code if an active
/// account has the address; the answer is the same page, status and body,
/// whatever the address (only the address typed is repeated in it).
pub(super) async fn forgot_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    if !csrf_matches(&headers, &fields, &state.http) {
        return csrf_failed(&state);
    }
    let Ok(Some(email)) = fields.one("email") else {
        let errors = vec![EMAIL_MISSING.to_string()];
        return forgot_page(&state, &headers, StatusCode::UNPROCESSABLE_ENTITY, "", errors);
    };
    match state.auth.forgot_password(&email) {
        Ok(()) => mail_sent(
            &state,
            &headers,
            MailSent::PasswordReset,
            &email,
            StatusCode::OK,
            &[],
        ),
        Err(AuthError::Validation(violations)) => forgot_page(
            &state,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            &email,
            violation_messages(&violations),
        ),
        Err(err) => service_failure(err, &state),
    }
}

/// `POST /reset-password/code` (`email`, `code`): the new-password form,
/// carrying the address and code to the reset. The code is checked — and a
/// wrong one counted — when the form is sent, as the service spends it.
pub(super) async fn enter_reset_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    if !csrf_matches(&headers, &fields, &state.http) {
        return csrf_failed(&state);
    }
    match posted_proof(&fields) {
        Some(MailedProof::Code { email, code }) if is_code(&code) => {
            let proof = MailedProof::Code { email, code };
            reset_form(&state, &headers, StatusCode::OK, &proof, Vec::new())
        }
        _ => {
            let email = fields.one("email").ok().flatten().unwrap_or_default();
            let errors = [PROOF_MISSING.to_string()];
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            mail_sent(&state, &headers, MailSent::PasswordReset, &email, status, &errors)
        }
    }
}

/// `GET /reset-password?token=…` (and HEAD): changes nothing. A live link
/// shows the new-password form; a dead one says why and links to
/// `/forgot-password`.
pub(super) async fn show_reset_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let fields = Fields::parse(query.unwrap_or_default().as_bytes());
    let Ok(Some(token)) = fields.one("token") else {
        return dead_link(&state, StatusCode::BAD_REQUEST, LINK_INCOMPLETE);
    };
    match state.auth.check_link(OneTimePurpose::ResetPassword, &token).await {
        Ok(()) => reset_form(
            &state,
            &headers,
            StatusCode::OK,
            &MailedProof::Link(token),
            Vec::new(),
        ),
        Err(AuthError::LinkInvalid(why)) => dead_link(&state, StatusCode::BAD_REQUEST, &link_problem(why)),
        Err(err) => service_failure(err, &state),
    }
}

/// `POST /reset-password` (`token`, or `email` and `code`; `new_password`,
/// `confirm_password`): sets the password — every session ends — or shows
/// the form again saying why not, the link or code still usable.
pub(super) async fn reset_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = Fields::parse(&body);
    if !csrf_matches(&headers, &fields, &state.http) {
        return csrf_failed(&state);
    }
    let Some(proof) = posted_proof(&fields) else {
        return dead_link(&state, StatusCode::UNPROCESSABLE_ENTITY, LINK_INCOMPLETE);
    };
    let new_password = fields.one("new_password").ok().flatten();
    let confirmation = fields.one("confirm_password").ok().flatten();
    let Some(new_password) = new_password else {
        let errors = vec![PASSWORD_MISSING.to_string()];
        return reset_form(&state, &headers, StatusCode::UNPROCESSABLE_ENTITY, &proof, errors);
    };
    if confirmation.as_deref() != Some(new_password.as_str()) {
        let errors = vec![PASSWORDS_DIFFER.to_string()];
        return reset_form(&state, &headers, StatusCode::UNPROCESSABLE_ENTITY, &proof, errors);
    }
    match state.auth.reset_password(proof.clone(), &new_password).await {
        Ok(()) => Page::ok("password_reset.html", context! {}).render(&state.http),
        Err(AuthError::Validation(violations)) => {
            let errors = violation_messages(&violations);
            reset_form(&state, &headers, StatusCode::UNPROCESSABLE_ENTITY, &proof, errors)
        }
        Err(AuthError::LinkInvalid(why)) => dead_link(&state, StatusCode::BAD_REQUEST, &link_problem(why)),
        // The account went away after the mail: the link is as good as spent.
        Err(AuthError::NotFound) => dead_link(
            &state,
            StatusCode::BAD_REQUEST,
            &link_problem("unknown, already used, or replaced by a newer one"),
        ),
        Err(AuthError::CodeInvalid) => {
            let email = match &proof {
                MailedProof::Code { email, .. } => email.as_str(),
                MailedProof::Link(_) => "",
            };
            let errors = [CODE_NOT_ACCEPTED.to_string()];
            let status = StatusCode::BAD_REQUEST;
            mail_sent(&state, &headers, MailSent::PasswordReset, email, status, &errors)
        }
        Err(err) => service_failure(err, &state),
    }
}

/// Six ASCII digits: the shape of a mailed code.
fn is_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

fn forgot_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    email: &str,
    errors: Vec<String>,
) -> Response {
    let csrf = FormCsrf::for_form(headers, &state.http);
    let page = Page {
        status,
        template: "forgot_password.html",
        data: context! { csrf_token => csrf.token.clone(), email, errors },
        script: None,
    };
    csrf.respond(page, state)
}

/// The new-password form, carrying `proof` in hidden fields.
fn reset_form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    proof: &MailedProof,
    errors: Vec<String>,
) -> Response {
    let (token, email, code) = match proof {
        MailedProof::Link(token) => (Some(token.as_str()), None, None),
        MailedProof::Code { email, code } => (None, Some(email.as_str()), Some(code.as_str())),
    };
    let csrf = FormCsrf::for_form(headers, &state.http);
    let page = Page {
        status,
        template: "reset_password.html",
        data: context! { csrf_token => csrf.token.clone(), token, email, code, errors },
        script: Some(PASSWORD_TOGGLE_SCRIPT),
    };
    csrf.respond(page, state)
}

/// The page for a reset link that cannot be used: why, and where to ask
/// for a new one.
fn dead_link(state: &AppState, status: StatusCode, problem: &str) -> Response {
    Page {
        status,
        template: "reset_password.html",
        data: context! { link_problem => problem },
        script: None,
    }
    .render(&state.http)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_six_digits() {
        assert!(is_code("012345"));
        for not in ["12345", "1234567", "12345a", "١٢٣٤٥٦", ""] {
            assert!(!is_code(not), "{not}");
        }
    }
}
