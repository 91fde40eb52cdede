//! `POST /api/v1/authz/check`: authorization decisions for services that
//! prefer asking over verifying tokens themselves.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use tessera_core::admin::Subject;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::error::{ApiError, ErrorCode, Problem};
use crate::extract::{AdminCaller, ApiJson};
use crate::routes::admin::path_id;
use crate::state::AppState;

/// The route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(crate::documented!(check))
}

/// Body: exactly one of `token` and `user_id`, and the permission.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckBody {
    /// An access token of this tenant (a user's or a client's).
    pub token: Option<String>,
    /// A user id of this tenant.
    pub user_id: Option<String>,
    /// `resource:action` (or a wildcard).
    pub permission: String,
    /// What the action is about (logged; decisions are role-based).
    pub resource: Option<String>,
}

/// The decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResult {
    /// Whether the permission is held.
    pub allowed: bool,
    /// `granted_by_role:<role>`, `missing_permission`, `invalid_token` or
    /// `account_inactive`.
    pub reason: String,
}

/// Decides whether a token's holder or a user holds a permission (the
/// caller needs `user:read`).
#[utoipa::path(post, path = "/api/v1/authz/check", tag = "admin", security(("bearer" = [])), request_body = CheckBody,
    responses(
        (status = 200, body = CheckResult),
        (status = 404, description = "Unknown user", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn check(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    ApiJson(body): ApiJson<CheckBody>,
) -> Result<Json<CheckResult>, ApiError> {
    let subject = match (body.token, body.user_id) {
        (Some(token), None) => Subject::Token(token),
        (None, Some(id)) => Subject::User(path_id(&id)?),
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidBody,
                Some("give exactly one of token and user_id".into()),
            ))
        }
    };
    let decision = state
        .admin
        .check(
            &caller.permit()?,
            subject,
            &body.permission,
            body.resource.as_deref(),
        )
        .await?;
    Ok(Json(CheckResult {
        allowed: decision.allowed,
        reason: decision.reason,
    }))
}
