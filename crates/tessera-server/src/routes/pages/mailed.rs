//! What the pages a mailed link opens share: reading the proof a form
//! posts (the link's token, or the address and the 6-digit code), and the
//! sentences that say why a link or a code was not accepted.
//!
//! Those pages never spend anything on GET or HEAD: a mail scanner that
//! opens every link (Microsoft Defender Safe Links and the like) must not
//! use up the person's token. Only the form's POST does.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use tessera_core::{FieldViolation, MailedProof};

use super::render::Page;
use super::{Fields, FormCsrf};
use crate::state::AppState;

/// Shown when a posted code is not accepted: wrong, expired or void after
/// too many wrong tries — one sentence for all (and for an address with no
/// account), as the API answers.
pub(super) const CODE_NOT_ACCEPTED: &str = "The code is not correct, has expired, or was tried too many \
    times. Use the link in the same mail, or ask for a new mail.";

/// Shown when a form lacks the proof it should carry (a hand-made post).
pub(super) const PROOF_MISSING: &str = "Enter the email address and the 6-digit code from the mail.";

/// The proof a form posts: `token` alone (the link's button), or `email`
/// with `code` (the code form). Anything else — none, both, half, or a
/// repeated field — is malformed input (`None`: answered 422 with
/// [`PROOF_MISSING`]).
pub(super) fn posted_proof(fields: &Fields) -> Option<MailedProof> {
    let token = fields.one("token").ok()?;
    let email = fields.one("email").ok()?;
    let code = fields.one("code").ok()?;
    match (token, email, code) {
        (Some(token), None, None) => Some(MailedProof::Link(token)),
        (None, Some(email), Some(code)) => Some(MailedProof::Code {
            email,
            code: code.trim().to_string(),
        }),
        _ => None,
    }
}

/// The address a proof names ("" for a link), to fill the forms in again.
pub(super) fn proof_email(proof: &MailedProof) -> String {
    match proof {
        MailedProof::Link(_) => String::new(),
        MailedProof::Code { email, .. } => email.clone(),
    }
}

/// The sentence for a link the service refused, from its reason
/// (`AuthError::LinkInvalid`): the holder of the link learns nothing they
/// do not already know.
pub(super) fn link_problem(why: &str) -> String {
    match why {
        "expired" => "This link has expired.".to_string(),
        why => format!("This link cannot be used: {why}."),
    }
}

/// The sentences of validation failures, for a page's alert.
pub(super) fn violation_messages(violations: &[FieldViolation]) -> Vec<String> {
    violations.iter().map(|v| sentence(&v.message)).collect()
}

/// `message` with a capital first letter and a final full stop.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut text: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

/// Which mail a "check your mail" page is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MailSent {
    /// A new verification link and code (its code form verifies).
    Verification,
    /// A password-reset link and code (its code form leads to the new
    /// password form).
    PasswordReset,
}

/// The "check your mail" page: the same for every address (it reveals
/// nothing), with a form for the mail's code filled in with `email`.
pub(super) fn mail_sent(
    state: &AppState,
    headers: &HeaderMap,
    sent: MailSent,
    email: &str,
    status: StatusCode,
    errors: &[String],
) -> Response {
    let csrf = FormCsrf::for_form(headers, &state.http);
    let page = Page {
        status,
        template: "mail_sent.html",
        data: context! {
            csrf_token => csrf.token.clone(),
            reset => sent == MailSent::PasswordReset,
            email,
            errors,
        },
        script: None,
    };
    csrf.respond(page, state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proof_of(body: &str) -> Option<MailedProof> {
        posted_proof(&Fields::parse(body.as_bytes()))
    }

    #[test]
    fn a_form_posts_a_token_or_an_address_with_a_code() {
        assert!(matches!(proof_of("token=abc&csrf_token=x"), Some(MailedProof::Link(t)) if t == "abc"));
        assert!(matches!(
            proof_of("email=a%40example.com&code=+123456+"),
            Some(MailedProof::Code { email, code }) if email == "a@example.com" && code == "123456"
        ));
        for malformed in [
            "",
            "email=a%40example.com",
            "code=123456",
            "token=abc&code=123456",
            "token=abc&email=a%40example.com&code=123456",
            "token=a&token=b",
            "email=a%40example.com&code=1&code=2",
        ] {
            assert!(proof_of(malformed).is_none(), "{malformed}");
        }
    }

    #[test]
    fn refusals_read_as_sentences() {
        assert_eq!(link_problem("expired"), "This link has expired.");
        assert_eq!(
            link_problem("unknown, already used, or replaced by a newer one"),
            "This link cannot be used: unknown, already used, or replaced by a newer one."
        );
        let violation = FieldViolation {
            field: "new_password",
            rule: "too_short",
            message: "password must be at least 12 characters".into(),
        };
        assert_eq!(
            violation_messages(&[violation]),
            ["Password must be at least 12 characters."]
        );
        assert_eq!(sentence(""), "");
    }
}
