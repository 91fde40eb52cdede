//! The API of the flows that go through mail: verifying an address and
//! recovering a password. The requests that name an address answer 202
//! whatever the address: they reveal nothing about who has an account.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tessera_core::{AuthError, FieldViolation, MailedProof};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::error::{ApiError, Problem};
use crate::extract::ApiJson;
use crate::state::AppState;

/// Routes under `/api/v1/auth` that mail or spend what was mailed.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(crate::documented!(verify_email))
        .routes(crate::documented!(resend_verification))
        .routes(crate::documented!(forgot_password))
        .routes(crate::documented!(reset_password))
}

/// A mailed proof: the link's `token`, or the `email` and the 6-digit
/// `code` from the same mail.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofBody {
    /// The `token` parameter of the mailed link.
    pub token: Option<String>,
    /// The address the mail went to (with `code`).
    #[schema(example = "ada@example.com")]
    pub email: Option<String>,
    /// The 6-digit code from the mail (with `email`).
    #[schema(example = "042917")]
    pub code: Option<String>,
}

/// Body of `reset_password`: a mailed proof and the new password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordBody {
    /// The `token` parameter of the mailed link.
    pub token: Option<String>,
    /// The address the mail went to (with `code`).
    pub email: Option<String>,
    /// The 6-digit code from the mail (with `email`).
    pub code: Option<String>,
    /// The new password (the password policy applies).
    pub new_password: String,
}

/// Body of the requests that mail an address.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailBody {
    /// The address.
    #[schema(example = "ada@example.com")]
    pub email: String,
}

/// The answer to a request that may mail an address.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptedResponse {
    /// Always `accepted`: if an account has this address, a mail is on its
    /// way (the answer is the same when none has).
    pub status: &'static str,
}

/// The proof a body carries: exactly one of `token`, or `email` with `code`.
fn proof(
    token: Option<String>,
    email: Option<String>,
    code: Option<String>,
) -> Result<MailedProof, ApiError> {
    match (token, email, code) {
        (Some(token), None, None) => Ok(MailedProof::Link(token)),
        (None, Some(email), Some(code)) => Ok(MailedProof::Code { email, code }),
        _ => Err(AuthError::Validation(vec![FieldViolation {
            field: "token",
            rule: "one_proof",
            message: "send either `token` (from the mailed link) or `email` and `code` (from the same mail)"
                .into(),
        }])
        .into()),
    }
}

fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        Json(AcceptedResponse { status: "accepted" }),
    )
        .into_response()
}

/// Verify an email address with the mailed link's token or code.
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", request_body = ProofBody,
    responses(
        (status = 204, description = "The address is verified"),
        (status = 400, description = "Link or code not accepted (`link_invalid`, `code_invalid`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another account took the address meanwhile", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify_email(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ProofBody>,
) -> Result<StatusCode, ApiError> {
    let proof = proof(body.token, body.email, body.code)?;
    state.auth.verify_email(proof).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send the verification mail again (to an unverified account's address).
#[utoipa::path(post, path = "/api/v1/auth/verify-email/resend", tag = "auth", request_body = EmailBody,
    responses((status = 202, description = "Accepted, whatever the address", body = AcceptedResponse)))]
pub async fn resend_verification(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<EmailBody>,
) -> Result<Response, ApiError> {
    state.auth.resend_verification(&body.email)?;
    Ok(accepted())
}

/// Ask for a password-reset mail (a link and a code).
#[utoipa::path(post, path = "/api/v1/auth/password/forgot", tag = "auth", request_body = EmailBody,
    responses((status = 202, description = "Accepted, whatever the address", body = AcceptedResponse)))]
pub async fn forgot_password(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<EmailBody>,
) -> Result<Response, ApiError> {
    state.auth.forgot_password(&body.email)?;
    Ok(accepted())
}

/// Set a new password with the mailed link's token or code. Every session
/// ends; no tokens are issued (sign in again, with any second factor).
#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "auth", request_body = ResetPasswordBody,
    responses(
        (status = 204, description = "Password changed; every session ended"),
        (status = 400, description = "Link or code not accepted (`link_invalid`, `code_invalid`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reset_password(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetPasswordBody>,
) -> Result<StatusCode, ApiError> {
    let proof = proof(body.token, body.email, body.code)?;
    state.auth.reset_password(proof, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
