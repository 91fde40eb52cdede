//! Registration, login, refresh and logout.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tessera_core::{IssuedTokens, LoginRequest, Registered, Registration};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::cookies::{clear_token_cookies, set_token_cookies, ApiCsrf, REFRESH_COOKIE};
use crate::csrf::{new_nonce, CsrfPurpose};
use crate::error::{ApiError, ErrorCode, Problem};
use crate::extract::{check_csrf_of_write, ApiJson, ApiQuery, Caller, ClientMeta, OptionalJson};
use crate::routes::UserView;
use crate::state::AppState;

/// Routes under `/api/v1/auth`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(crate::documented!(register))
        .routes(crate::documented!(login))
        .routes(crate::documented!(refresh))
        .routes(crate::documented!(logout))
        .routes(crate::documented!(logout_all))
}

/// Body of `register`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    /// Email address (unique per tenant, case-insensitive).
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// Password (policy: 8–128 characters, not common, not containing the email).
    #[schema(example = "correct-horse-battery")]
    pub password: String,
    /// Optional username: 3–32 letters, digits, `_`, `.` or `-` (stored in
    /// PRECIS `UsernameCaseMapped` form, RFC 8265: `Alice` is `alice`).
    #[schema(example = "ada")]
    pub username: Option<String>,
}

/// Body of `login`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// Email or username.
    pub identifier: String,
    /// Password.
    pub password: String,
}

/// `?mode=` of login.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoginMode {
    /// `cookie` for HttpOnly cookies instead of tokens in the body; `token`
    /// for the body (the default unless configured otherwise).
    pub mode: Option<String>,
}

/// Body of `refresh`. In cookie mode the body may be empty: the refresh
/// cookie is used.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    /// The refresh token from login or the previous refresh.
    pub refresh_token: Option<String>,
}

/// Tokens returned by login and refresh.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// JWT access token (RFC 9068).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Access-token lifetime, seconds.
    pub expires_in: u64,
    /// Opaque refresh token; spent by its first use.
    pub refresh_token: String,
    /// The session both belong to.
    pub session_id: Uuid,
}

/// Body of login/refresh in cookie mode: the tokens are in cookies.
#[derive(Debug, Serialize, ToSchema)]
pub struct CookieSessionResponse {
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Access-token lifetime, seconds.
    pub expires_in: u64,
    /// The session.
    pub session_id: Uuid,
    /// Send this value in the `X-CSRF-Token` header on state-changing calls.
    pub csrf_token: String,
}

/// Create an account.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterBody,
    responses(
        (status = 201, description = "Account created; a verification mail is on its way", body = UserView),
        (status = 202, description = "In a tenant with `conceal_existing_accounts`: the same answer for a new and a taken address", body = VerificationSent),
        (status = 409, description = "Email or username taken", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<Response, ApiError> {
    let registered = state
        .auth
        .register(Registration {
            email: body.email,
            password: body.password,
            username: body.username,
        })
        .await?;
    if state.auth.conceals_existing_accounts() {
        let body = VerificationSent {
            status: "verification_sent",
        };
        return Ok((StatusCode::ACCEPTED, Json(body)).into_response());
    }
    match registered {
        Registered::Created(user) => {
            Ok((StatusCode::CREATED, Json(UserView::from(user.as_ref()))).into_response())
        }
        // Only a tenant that conceals existing accounts registers this way.
        Registered::Concealed => Err(ApiError::new(ErrorCode::InternalError, None)),
    }
}

/// The answer to a registration in a tenant that conceals existing
/// accounts: the same for a new address and a taken one.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationSent {
    /// Always `verification_sent`: check your mailbox.
    pub status: &'static str,
}

/// Log in with email or username and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody, params(LoginMode),
    responses(
        (status = 200, description = "Signed in (cookie mode answers CookieSessionResponse)", body = TokenResponse),
        (status = 401, description = "Invalid credentials (same for every cause)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ApiQuery(mode): ApiQuery<LoginMode>,
    meta: ClientMeta,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let cookie_mode = match mode.mode.as_deref() {
        Some("cookie") => true,
        Some("token") => false,
        None => state.http.cookie_mode_default,
        Some(other) => {
            return Err(ApiError::new(
                ErrorCode::InvalidQuery,
                Some(format!("unknown mode '{other}'; use 'token' or 'cookie'")),
            ))
        }
    };
    let tokens = state
        .auth
        .login(LoginRequest {
            identifier: body.identifier,
            password: body.password,
            ip: meta.ip,
            user_agent: meta.user_agent,
        })
        .await?;
    Ok(token_response(&state, tokens, cookie_mode))
}

fn token_response(state: &AppState, tokens: IssuedTokens, cookie_mode: bool) -> Response {
    if !cookie_mode {
        return Json(TokenResponse {
            access_token: tokens.access_token,
            token_type: "Bearer",
            expires_in: tokens.expires_in,
            refresh_token: tokens.refresh_token,
            session_id: tokens.session_id,
        })
        .into_response();
    }
    let nonce = new_nonce();
    let csrf_token = state.http.csrf_key.token(CsrfPurpose::Api, &nonce, "");
    let mut headers = HeaderMap::new();
    set_token_cookies(
        &mut headers,
        &tokens,
        &ApiCsrf {
            nonce: &nonce,
            token: &csrf_token,
        },
        state.http.refresh_cookie_max_age_secs,
        &state.http,
    );
    let body = CookieSessionResponse {
        token_type: "Bearer",
        expires_in: tokens.expires_in,
        session_id: tokens.session_id,
        csrf_token,
    };
    (headers, Json(body)).into_response()
}

/// Exchange a refresh token for a new access and refresh token. A spent
/// refresh token presented again revokes its whole session.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses(
        (status = 200, description = "New tokens (cookie mode: CookieSessionResponse)", body = TokenResponse),
        (status = 401, description = "invalid_grant: unknown, spent, expired or revoked", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<RefreshBody>,
) -> Result<Response, ApiError> {
    if let Some(token) = body.and_then(|b| b.refresh_token) {
        let tokens = state.auth.refresh(&token).await?;
        return Ok(token_response(&state, tokens, false));
    }
    let Some(token) = REFRESH_COOKIE.read(&headers, &state.http) else {
        return Err(ApiError::new(
            ErrorCode::InvalidBody,
            Some("refresh_token is required".into()),
        ));
    };
    check_csrf_of_write(&headers, &state)?;
    let tokens = state.auth.refresh(&token).await?;
    Ok(token_response(&state, tokens, true))
}

/// End the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "Session revoked"),
    ))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    state.auth.logout(&caller.auth).await?;
    Ok(no_content(&state, caller.via_cookie))
}

/// End every session of the caller.
#[utoipa::path(post, path = "/api/v1/auth/logout-all", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "All sessions revoked"),
    ))]
pub async fn logout_all(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    state.auth.logout_all(&caller.auth).await?;
    Ok(no_content(&state, caller.via_cookie))
}

fn no_content(state: &AppState, clear_cookies: bool) -> Response {
    let mut headers = HeaderMap::new();
    if clear_cookies {
        clear_token_cookies(&mut headers, &state.http);
    }
    (StatusCode::NO_CONTENT, headers).into_response()
}
