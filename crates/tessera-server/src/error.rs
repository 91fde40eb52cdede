//! The one HTTP error type. It alone knows status codes; every error body is
//! RFC 9457 `application/problem+json` with a stable `code` from
//! [`ErrorCode`], the single table of codes, statuses and titles — except on
//! the OAuth endpoints, whose errors ([`ApiError::oauth`]) are rendered here
//! too, as RFC 6749 §5.2 JSON.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_core::{AuthError, Conflict, FieldViolation};
use utoipa::ToSchema;

/// Every error code the API answers with (stable; documented in
/// `docs/api.md`). OAuth names are used where they exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Body is not valid JSON.
    MalformedJson,
    /// Body is JSON of the wrong shape (type, missing field).
    InvalidBody,
    /// Values break validation rules (listed in `errors`).
    ValidationFailed,
    /// The query string cannot be parsed or has an unknown value.
    InvalidQuery,
    /// `Content-Type` is not `application/json`.
    UnsupportedMediaType,
    /// Body larger than the limit.
    PayloadTooLarge,
    /// Unknown route or resource.
    NotFound,
    /// Route exists, method does not.
    MethodNotAllowed,
    /// Email already registered.
    EmailTaken,
    /// Username already taken.
    UsernameTaken,
    /// Another unique value is taken.
    Conflict,
    /// Login failed (never says why).
    InvalidCredentials,
    /// Refresh token unknown, spent, expired or its session ended.
    InvalidGrant,
    /// Client authentication failed (unknown client or wrong secret).
    InvalidClient,
    /// OAuth request malformed: wrong content type, missing or repeated
    /// parameter (RFC 6749 §5.2).
    InvalidRequest,
    /// The client may not use this grant type (RFC 6749 §5.2).
    UnauthorizedClient,
    /// The grant type is not supported (RFC 6749 §5.2).
    UnsupportedGrantType,
    /// A requested scope is not allowed for the client (RFC 6749 §5.2).
    InvalidScope,
    /// The requested resource is unknown, malformed or not the grant's
    /// (RFC 8707 §2).
    InvalidTarget,
    /// Missing, malformed, expired or revoked bearer token.
    InvalidToken,
    /// The bearer token lacks a scope the resource needs (RFC 6750 §3.1).
    InsufficientScope,
    /// Cookie-authenticated state change without a matching CSRF header.
    CsrfFailed,
    /// The caller lacks the permission the operation needs (named in
    /// `detail`).
    Forbidden,
    /// The rank rule refuses: the target is not strictly below the caller,
    /// or the caller would hand out what it does not hold.
    RankRule,
    /// The operation would leave the tenant without an active super_admin.
    LastSuperAdmin,
    /// The new parent would make a role inherit from itself.
    RoleCycle,
    /// Built-in roles and permissions cannot be deleted.
    BuiltinProtected,
    /// The current password given for a change is wrong.
    WrongPassword,
    /// A mailed link is expired, unknown, used or replaced (why in
    /// `detail`).
    LinkInvalid,
    /// A mailed code is wrong, expired or void after too many wrong ones.
    CodeInvalid,
    /// Right password, but the tenant requires a verified email address.
    EmailNotVerified,
    /// A sensitive change needs a recent sign-in or the current password.
    ReauthenticationRequired,
    /// Password hashing queue full; retry later.
    Overloaded,
    /// A dependency (the database) is down.
    ServiceUnavailable,
    /// Unexpected failure; details only in the logs.
    InternalError,
}

impl ErrorCode {
    /// `(code, status, title)`: the table.
    pub fn describe(self) -> (&'static str, StatusCode, &'static str) {
        use ErrorCode::*;
        match self {
            MalformedJson => ("malformed_json", StatusCode::BAD_REQUEST, "Malformed JSON"),
            InvalidBody => (
                "invalid_body",
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid request body",
            ),
            ValidationFailed => (
                "validation_failed",
                StatusCode::UNPROCESSABLE_ENTITY,
                "Validation failed",
            ),
            InvalidQuery => ("invalid_query", StatusCode::BAD_REQUEST, "Invalid query string"),
            UnsupportedMediaType => (
                "unsupported_media_type",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
            ),
            PayloadTooLarge => (
                "payload_too_large",
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload too large",
            ),
            NotFound => ("not_found", StatusCode::NOT_FOUND, "Not found"),
            MethodNotAllowed => (
                "method_not_allowed",
                StatusCode::METHOD_NOT_ALLOWED,
                "Method not allowed",
            ),
            EmailTaken => ("email_taken", StatusCode::CONFLICT, "Email already registered"),
            UsernameTaken => ("username_taken", StatusCode::CONFLICT, "Username already taken"),
            Conflict => ("conflict", StatusCode::CONFLICT, "Conflict"),
            InvalidCredentials => (
                "invalid_credentials",
                StatusCode::UNAUTHORIZED,
                "Invalid credentials",
            ),
            InvalidGrant => ("invalid_grant", StatusCode::UNAUTHORIZED, "Invalid grant"),
            InvalidClient => ("invalid_client", StatusCode::UNAUTHORIZED, "Invalid client"),
            InvalidRequest => ("invalid_request", StatusCode::BAD_REQUEST, "Invalid request"),
            UnauthorizedClient => (
                "unauthorized_client",
                StatusCode::BAD_REQUEST,
                "Unauthorized client",
            ),
            UnsupportedGrantType => (
                "unsupported_grant_type",
                StatusCode::BAD_REQUEST,
                "Unsupported grant type",
            ),
            InvalidScope => ("invalid_scope", StatusCode::BAD_REQUEST, "Invalid scope"),
            InvalidTarget => ("invalid_target", StatusCode::BAD_REQUEST, "Invalid target"),
            InvalidToken => ("invalid_token", StatusCode::UNAUTHORIZED, "Invalid token"),
            InsufficientScope => ("insufficient_scope", StatusCode::FORBIDDEN, "Insufficient scope"),
            CsrfFailed => ("csrf_failed", StatusCode::FORBIDDEN, "CSRF check failed"),
            Forbidden => ("forbidden", StatusCode::FORBIDDEN, "Forbidden"),
            RankRule => ("rank_rule", StatusCode::FORBIDDEN, "Outranked"),
            LastSuperAdmin => ("last_super_admin", StatusCode::CONFLICT, "Last super admin"),
            RoleCycle => ("role_cycle", StatusCode::CONFLICT, "Role hierarchy cycle"),
            BuiltinProtected => ("builtin_protected", StatusCode::CONFLICT, "Built in"),
            WrongPassword => (
                "wrong_password",
                StatusCode::BAD_REQUEST,
                "Current password is wrong",
            ),
            LinkInvalid => ("link_invalid", StatusCode::BAD_REQUEST, "Link cannot be used"),
            CodeInvalid => ("code_invalid", StatusCode::BAD_REQUEST, "Code not accepted"),
            EmailNotVerified => (
                "email_not_verified",
                StatusCode::FORBIDDEN,
                "Email address not verified",
            ),
            ReauthenticationRequired => (
                "reauthentication_required",
                StatusCode::FORBIDDEN,
                "Re-authentication required",
            ),
            Overloaded => ("overloaded", StatusCode::SERVICE_UNAVAILABLE, "Server busy"),
            ServiceUnavailable => (
                "service_unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
                "Service unavailable",
            ),
            InternalError => (
                "internal_error",
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal error",
            ),
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// URI naming the problem type (`urn:tessera:problem:<code>`).
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the type.
    pub title: &'static str,
    /// HTTP status.
    pub status: u16,
    /// What happened in this case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Every broken rule, for `validation_failed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<FieldViolation>,
}

/// An OAuth error response body (RFC 6749 §5.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthErrorBody {
    /// The OAuth error code (`invalid_request`, `invalid_client`, …).
    pub error: &'static str,
    /// Human-readable explanation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// An error on its way to becoming a problem response (or, on the OAuth
/// endpoints, an RFC 6749 §5.2 error response).
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    detail: Option<String>,
    errors: Vec<FieldViolation>,
    retry_after_secs: Option<u64>,
    /// Logged, never sent (5xx causes).
    cause: Option<String>,
    /// Render as OAuth JSON instead of problem+json.
    oauth: bool,
    /// The client tried HTTP Basic authentication (answer with a Basic
    /// challenge, RFC 6749 §5.2).
    basic_challenge: bool,
    /// The scope an `insufficient_scope` answer names in its bearer
    /// challenge (RFC 6750 §3).
    required_scope: Option<&'static str>,
}

impl ApiError {
    /// An error with a code and an optional detail for the caller.
    pub fn new(code: ErrorCode, detail: impl Into<Option<String>>) -> ApiError {
        ApiError {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after_secs: None,
            cause: None,
            oauth: false,
            basic_challenge: false,
            required_scope: None,
        }
    }

    /// The same error as an OAuth endpoint answers it: `{"error",
    /// "error_description"}` with `no-store` caching (RFC 6749 §5.2). Every
    /// 4xx but `invalid_client` (401) is a 400 there, and codes OAuth does
    /// not name become `invalid_request`, `server_error` or
    /// `temporarily_unavailable`.
    pub fn oauth(self) -> ApiError {
        ApiError { oauth: true, ..self }
    }

    /// Adds `WWW-Authenticate: Basic realm="tessera"` to an `invalid_client`
    /// answer, for a client that tried HTTP Basic (RFC 6749 §5.2).
    pub fn basic_challenge(self, attempted: bool) -> ApiError {
        ApiError {
            basic_challenge: attempted,
            ..self
        }
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// An error whose detail is always the same sentence for its code.
    fn fixed(code: ErrorCode) -> ApiError {
        let detail = match code {
            ErrorCode::InvalidCredentials => Some("the identifier or password is incorrect"),
            ErrorCode::InvalidGrant => {
                Some("the authorization code or refresh token is invalid, expired or revoked")
            }
            ErrorCode::UnauthorizedClient => Some("the client is not allowed to use this grant type"),
            ErrorCode::LastSuperAdmin => Some("the tenant must keep at least one active super_admin"),
            ErrorCode::RoleCycle => Some("a role cannot inherit from itself or its descendants"),
            ErrorCode::CodeInvalid => Some(
                "the code is wrong or expired, or no longer accepted after too many wrong attempts; \
                 the link in the same mail still works, or ask for a new mail",
            ),
            ErrorCode::ReauthenticationRequired => Some(
                "this change needs a sign-in within the last 5 minutes, \
                 or the current password in `current_password`",
            ),
            ErrorCode::EmailNotVerified => Some(
                "verify your email address first: follow the link in the mail we sent, \
                 or ask for a new one at /api/v1/auth/verify-email/resend",
            ),
            _ => None,
        };
        ApiError::new(code, detail.map(str::to_owned))
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> ApiError {
        match err {
            AuthError::Validation(errors) => ApiError {
                errors,
                ..ApiError::new(
                    ErrorCode::ValidationFailed,
                    Some("one or more fields are invalid".into()),
                )
            },
            AuthError::Conflict(field) => conflict(field),
            AuthError::Overloaded { retry_after_secs } => ApiError {
                retry_after_secs: Some(retry_after_secs),
                ..ApiError::new(
                    ErrorCode::Overloaded,
                    Some("too many password checks in progress; retry shortly".into()),
                )
            },
            AuthError::Unavailable(cause) => ApiError {
                retry_after_secs: Some(5),
                cause: Some(cause),
                ..ApiError::new(
                    ErrorCode::ServiceUnavailable,
                    Some("a dependency is unavailable; retry shortly".into()),
                )
            },
            AuthError::Internal(cause) => ApiError {
                cause: Some(cause),
                ..ApiError::new(ErrorCode::InternalError, None)
            },
            AuthError::InvalidCredentials => ApiError::fixed(ErrorCode::InvalidCredentials),
            AuthError::InvalidGrant => ApiError::fixed(ErrorCode::InvalidGrant),
            AuthError::InvalidClient(refusal) => ApiError::new(
                ErrorCode::InvalidClient,
                Some(format!("client authentication failed: {refusal}")),
            ),
            AuthError::UnauthorizedClient => ApiError::fixed(ErrorCode::UnauthorizedClient),
            AuthError::WrongPassword => ApiError::fixed(ErrorCode::WrongPassword),
            AuthError::LinkInvalid(why) => ApiError::new(
                ErrorCode::LinkInvalid,
                Some(format!("this link cannot be used: {why}; ask for a new mail")),
            ),
            AuthError::CodeInvalid => ApiError::fixed(ErrorCode::CodeInvalid),
            AuthError::EmailNotVerified => ApiError::fixed(ErrorCode::EmailNotVerified),
            AuthError::ReauthenticationRequired => ApiError::fixed(ErrorCode::ReauthenticationRequired),
            AuthError::NotFound => ApiError::fixed(ErrorCode::NotFound),
            AuthError::LastSuperAdmin => ApiError::fixed(ErrorCode::LastSuperAdmin),
            AuthError::RoleCycle => ApiError::fixed(ErrorCode::RoleCycle),
            AuthError::InvalidScope(scope) => ApiError::new(
                ErrorCode::InvalidScope,
                Some(format!("scope {scope:?} is not allowed for this client")),
            ),
            AuthError::InvalidToken(why) => ApiError::new(
                ErrorCode::InvalidToken,
                Some(format!("access token rejected: {why}")),
            ),
            AuthError::InvalidRequest(why) => ApiError::new(ErrorCode::InvalidRequest, Some(why)),
            AuthError::InvalidTarget(why) => ApiError::new(ErrorCode::InvalidTarget, Some(why)),
            AuthError::ScopeNotForResource(why) => ApiError::new(ErrorCode::InvalidScope, Some(why)),
            AuthError::InsufficientScope(scope) => ApiError {
                required_scope: Some(scope),
                ..ApiError::new(
                    ErrorCode::InsufficientScope,
                    Some(format!("the access token lacks the scope {scope}")),
                )
            },
            AuthError::Forbidden(permission) => ApiError::new(
                ErrorCode::Forbidden,
                Some(format!("this needs the permission {permission}")),
            ),
            AuthError::RankRule(why) => ApiError::new(ErrorCode::RankRule, Some(why)),
            AuthError::Builtin(what) => ApiError::new(
                ErrorCode::BuiltinProtected,
                Some(format!("{what} is built in and cannot be deleted")),
            ),
        }
    }
}

/// A unique value is taken: the code names which, the detail says so.
fn conflict(field: Conflict) -> ApiError {
    match field {
        Conflict::Email => ApiError::new(
            ErrorCode::EmailTaken,
            Some("this email is already registered".into()),
        ),
        Conflict::Username => ApiError::new(ErrorCode::UsernameTaken, Some("this username is taken".into())),
        Conflict::Parent => ApiError::new(
            ErrorCode::Conflict,
            Some("the role is the parent of another role; change or delete that role first".into()),
        ),
        other => ApiError::new(ErrorCode::Conflict, Some(format!("{other} already in use"))),
    }
}

impl ApiError {
    fn into_oauth_response(self) -> Response {
        let (code, status, _) = self.code.describe();
        let (error, status) = match self.code {
            ErrorCode::InvalidClient => ("invalid_client", StatusCode::UNAUTHORIZED),
            ErrorCode::InvalidRequest
            | ErrorCode::InvalidGrant
            | ErrorCode::UnauthorizedClient
            | ErrorCode::UnsupportedGrantType
            | ErrorCode::InvalidScope
            | ErrorCode::InvalidTarget => (code, StatusCode::BAD_REQUEST),
            _ if status == StatusCode::SERVICE_UNAVAILABLE => ("temporarily_unavailable", status),
            _ if status.is_server_error() => ("server_error", status),
            _ => ("invalid_request", StatusCode::BAD_REQUEST),
        };
        let detail = if status.is_server_error() {
            None
        } else {
            self.detail
        };
        let body = OAuthErrorBody {
            error,
            error_description: detail,
        };
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.basic_challenge && self.code == ErrorCode::InvalidClient {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="tessera""#),
            );
        }
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status, title) = self.code.describe();
        if let Some(cause) = &self.cause {
            tracing::error!(code, cause = %cause, "request failed");
        }
        if self.oauth {
            return self.into_oauth_response();
        }
        // RFC 6750 §3: a bearer challenge on 401s of protected resources;
        // without any credentials the challenge carries no error code.
        let challenge = match self.code {
            ErrorCode::InvalidToken if self.detail.as_deref() == Some("access token missing") => {
                Some(HeaderValue::from_static("Bearer"))
            }
            ErrorCode::InvalidToken => Some(HeaderValue::from_static(r#"Bearer error="invalid_token""#)),
            ErrorCode::InsufficientScope => HeaderValue::from_str(&format!(
                r#"Bearer error="insufficient_scope", scope="{}""#,
                self.required_scope.unwrap_or("openid")
            ))
            .ok(),
            _ => None,
        };
        let problem = Problem {
            problem_type: format!("urn:tessera:problem:{code}"),
            title,
            status: status.as_u16(),
            detail: self.detail,
            code,
            errors: self.errors,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(challenge) = challenge {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
