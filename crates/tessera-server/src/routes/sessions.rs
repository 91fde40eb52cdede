//! The caller's own sessions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};
use crate::extract::Caller;
use crate::state::AppState;

/// Routes under `/api/v1/sessions`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(crate::documented!(list_sessions))
        .routes(crate::documented!(revoke_session))
}

/// What kind of session a [`SessionView`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// Signed in through the JSON API (`/api/v1/auth/login`).
    Api,
    /// Granted to an OAuth client (authorization code).
    Oauth,
    /// A browser signed in to the hosted pages (single sign-on cookie);
    /// ending it also ends every `oauth` session granted from it.
    Browser,
}

/// One open session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Session id (`sid` in access tokens; for a browser session, `sid` in
    /// ID tokens).
    pub id: Uuid,
    /// What kind of session it is.
    pub kind: SessionKind,
    /// The OAuth client it was granted to (`oauth` sessions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Uuid>,
    /// When it was opened (login time).
    pub created_at: DateTime<Utc>,
    /// Last login, refresh or (browser) authorization.
    pub last_used_at: DateTime<Utc>,
    /// Absolute expiry.
    pub expires_at: DateTime<Utc>,
    /// IP at login.
    pub ip: Option<String>,
    /// User-Agent at login.
    pub user_agent: Option<String>,
    /// Whether this is the session of the calling token.
    pub current: bool,
}

/// List the caller's open sessions, token sessions then signed-in
/// browsers, each newest first.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "sessions", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<SessionView>),
    ))]
pub async fn list_sessions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<SessionView>>, ApiError> {
    let current = caller.auth.session_id();
    let sessions = state.auth.list_sessions(&caller.auth).await?;
    let browsers = state.auth.list_browser_sessions(&caller.auth).await?;
    let tokens = sessions.into_iter().map(|s| SessionView {
        id: s.session_id,
        kind: if s.client_id.is_some() {
            SessionKind::Oauth
        } else {
            SessionKind::Api
        },
        client_id: s.client_id,
        created_at: s.created_at,
        last_used_at: s.last_used_at,
        expires_at: s.expires_at,
        ip: s.ip,
        user_agent: s.user_agent,
        current: s.session_id == current,
    });
    let browsers = browsers.into_iter().map(|b| SessionView {
        id: b.browser_session_id,
        kind: SessionKind::Browser,
        client_id: None,
        created_at: b.created_at,
        last_used_at: b.last_seen_at.unwrap_or(b.created_at),
        expires_at: b.expires_at,
        ip: b.ip,
        user_agent: b.user_agent,
        current: false,
    });
    Ok(Json(tokens.chain(browsers).collect()))
}

/// End one of the caller's sessions (another user's is 404). Ending a
/// browser session also ends every session granted from it.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 204, description = "Revoked"),
    ))]
pub async fn revoke_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let session_id = Uuid::parse_str(&id)
        .map_err(|_| ApiError::new(ErrorCode::NotFound, Some("no such session".into())))?;
    state.auth.revoke_own_session(&caller.auth, session_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
