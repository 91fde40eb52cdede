//! The caller's own account.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
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
    /// A new email address: it replaces the current one only once the
    /// link or code mailed to it is used (`POST /api/v1/auth/verify-email`);
    /// the current address is told. Needs a sign-in within 5 minutes or
    /// `current_password`.
    #[schema(example = "ada.lovelace@example.com")]
    pub email: Option<String>,
    /// The current password, for an email change when the sign-in is older
    /// than 5 minutes.
    pub current_password: Option<String>,
}

/// The answer to a `PATCH /users/me` that asked for a new address.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailChangePending {
    /// Always `verification_sent`.
    pub status: &'static str,
    /// The new address (canonical form), waiting for its verification.
    pub pending_email: String,
    /// The account as it is now (other changes of the same request applied;
    /// the address still the old one).
    pub user: UserView,
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
        (status = 202, description = "A new address waits for its verification (other changes applied)", body = EmailChangePending),
        (status = 400, description = "`current_password` wrong", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "An email change needs a recent sign-in or `current_password` (`reauthentication_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Username or email taken", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_me(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<UpdateMeBody>,
) -> Result<Response, ApiError> {
    // The address first: a refused change (re-authentication, taken
    // address) leaves the rest of the request unapplied too.
    let pending_email = match &body.email {
        Some(email) => Some(
            state
                .auth
                .request_email_change(&caller.auth, email, body.current_password.as_deref())
                .await?,
        ),
        None => None,
    };
    let changes = ProfileChanges {
        username: body.username,
        display_name: body.display_name,
        profile: body.profile,
    };
    let user = state.auth.update_profile(&caller.auth, changes).await?;
    Ok(match pending_email {
        None => Json(UserView::from(&user)).into_response(),
        Some(pending_email) => {
            let body = EmailChangePending {
                status: "verification_sent",
                pending_email,
                user: UserView::from(&user),
            };
            (StatusCode::ACCEPTED, Json(body)).into_response()
        }
    })
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
