//! Why a request was refused, and the one place that knows the status
//! codes and problem documents of those refusals.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Why a token was not accepted, or a guard could not be built.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// The request carries no bearer token.
    #[error("access token missing")]
    MissingToken,
    /// The token is malformed, badly signed, expired, or not for us; the
    /// reason is short and safe to show to the caller.
    #[error("invalid access token: {0}")]
    InvalidToken(&'static str),
    /// The token is valid but lacks the permission or role the route
    /// requires; the text says which.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The key set could not be fetched, so the token cannot be checked.
    #[error("JWKS unavailable: {0}")]
    JwksUnavailable(String),
    /// The configuration is unusable (bad URL, HTTP client setup).
    #[error("invalid guard configuration: {0}")]
    Config(String),
}

/// An RFC 9457 problem document, shaped like Tessera's own.
#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    problem_type: String,
    title: &'a str,
    status: u16,
    detail: String,
    code: &'a str,
}

impl GuardError {
    /// The stable `code`, status and title of each variant: the whole table.
    fn describe(&self) -> (&'static str, StatusCode, &'static str) {
        match self {
            GuardError::MissingToken | GuardError::InvalidToken(_) => {
                ("invalid_token", StatusCode::UNAUTHORIZED, "Invalid token")
            }
            GuardError::Forbidden(_) => ("forbidden", StatusCode::FORBIDDEN, "Forbidden"),
            GuardError::JwksUnavailable(_) => (
                "jwks_unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
                "Token keys unavailable",
            ),
            GuardError::Config(_) => (
                "internal_error",
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal error",
            ),
        }
    }

    /// What the caller is told. 5xx details are opaque: the cause was
    /// logged where it happened.
    fn detail(&self) -> String {
        match self {
            GuardError::MissingToken => "access token missing".into(),
            GuardError::InvalidToken(reason) => format!("the access token is invalid: {reason}"),
            GuardError::Forbidden(why) => why.clone(),
            GuardError::JwksUnavailable(_) => "the keys to verify the access token cannot be fetched".into(),
            GuardError::Config(_) => "internal error".into(),
        }
    }

    /// The RFC 6750 §3 challenge: no error attribute when the request had
    /// no token at all (§3.1), `invalid_token` for a bad one and
    /// `insufficient_scope` for a good one without the right.
    fn challenge(&self) -> Option<HeaderValue> {
        match self {
            GuardError::MissingToken => Some(HeaderValue::from_static("Bearer")),
            GuardError::InvalidToken(_) => Some(HeaderValue::from_static(r#"Bearer error="invalid_token""#)),
            GuardError::Forbidden(_) => {
                Some(HeaderValue::from_static(r#"Bearer error="insufficient_scope""#))
            }
            GuardError::JwksUnavailable(_) | GuardError::Config(_) => None,
        }
    }
}

impl IntoResponse for GuardError {
    fn into_response(self) -> Response {
        let (code, status, title) = self.describe();
        if let GuardError::Config(cause) = &self {
            tracing::error!(code, cause = %cause, "guard misconfigured");
        }
        let problem = Problem {
            problem_type: format!("urn:tessera:problem:{code}"),
            title,
            status: status.as_u16(),
            detail: self.detail(),
            code,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(challenge) = self.challenge() {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn www_authenticate(error: GuardError) -> (StatusCode, Option<String>) {
        let response = error.into_response();
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        (response.status(), challenge)
    }

    #[test]
    fn every_variant_maps_to_its_status_and_challenge() {
        assert_eq!(
            www_authenticate(GuardError::MissingToken),
            (StatusCode::UNAUTHORIZED, Some("Bearer".into()))
        );
        assert_eq!(
            www_authenticate(GuardError::InvalidToken("expired")),
            (
                StatusCode::UNAUTHORIZED,
                Some(r#"Bearer error="invalid_token""#.into())
            )
        );
        assert_eq!(
            www_authenticate(GuardError::Forbidden("no".into())),
            (
                StatusCode::FORBIDDEN,
                Some(r#"Bearer error="insufficient_scope""#.into())
            )
        );
        assert_eq!(
            www_authenticate(GuardError::JwksUnavailable("refused".into())),
            (StatusCode::SERVICE_UNAVAILABLE, None)
        );
        assert_eq!(
            www_authenticate(GuardError::Config("bad url".into())),
            (StatusCode::INTERNAL_SERVER_ERROR, None)
        );
    }

    #[test]
    fn server_side_details_stay_opaque() {
        let detail = GuardError::JwksUnavailable("connection refused to 10.0.0.7".into()).detail();
        assert!(!detail.contains("10.0.0.7"));
        assert!(!GuardError::Config("secret-host".into())
            .detail()
            .contains("secret-host"));
    }
}
