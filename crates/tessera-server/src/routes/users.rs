//! The caller's own account.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tessera_core::ProfileChanges;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, Caller};
use crate::routes::{double_option, UserView};
use crate::state::AppState;

/// Routes under `/api/v1/users/me`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(crate::documented!(get_me, update_me))
        .routes(crate::documented!(change_password))
}

/// Body of `PATCH /users/me`: absent fields stay, `null` clears.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeBody {
    /// New username (3–32 letters, digits, `_`, `.` or `-`; stored in
    /// canonical form), or null to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub username: Option<Option<String>>,
    /// New display name (≤ 128 characters), or null to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
    /// Replacement profile object (≤ 16 KiB).
    #[schema(value_type = Option<Object>)]
    pub profile: Option<serde_json::Value>,
}

/// Body of the password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordBody {
    /// The current password.
    pub current_password: String,
    /// The new password (same policy as registration).
    pub new_password: String,
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, body = UserView),
    ))]
pub async fn get_me(caller: Caller) -> Json<UserView> {
    Json(UserView::from(caller.auth.user()))
}

/// Change username, display name or profile.
#[utoipa::path(patch, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])), request_body = UpdateMeBody,
    responses(
        (status = 200, body = UserView),
        (status = 409, description = "Username taken", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_me(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<UpdateMeBody>,
) -> Result<Json<UserView>, ApiError> {
    let changes = ProfileChanges {
        username: body.username,
        display_name: body.display_name,
        profile: body.profile,
    };
    let user = state.auth.update_profile(&caller.auth, changes).await?;
    Ok(Json(UserView::from(&user)))
}

/// Change the password; every other session of the caller is revoked.
#[utoipa::path(post, path = "/api/v1/users/me/password", tag = "users", security(("bearer" = [])), request_body = ChangePasswordBody,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "Current password wrong", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ChangePasswordBody>,
) -> Result<Response, ApiError> {
    state
        .auth
        .change_password(&caller.auth, &body.current_password, &body.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
