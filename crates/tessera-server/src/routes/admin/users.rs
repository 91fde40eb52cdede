//! `/api/v1/admin/users`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_core::admin::{AdminUser, NewUser, UserChanges, UserListRequest};
use tessera_core::{AuthError, FieldViolation, ProfileChanges};
use tessera_store::User;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use super::path_id;
use crate::error::{ApiError, Problem};
use crate::extract::{AdminCaller, ApiJson, ApiQuery};
use crate::routes::{double_option, UserView};
use crate::state::AppState;

/// Routes under `/api/v1/admin/users`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(crate::documented!(list_users, create_user))
        .routes(crate::documented!(get_user, update_user, delete_user))
        .routes(crate::documented!(suspend_user))
        .routes(crate::documented!(disable_user))
        .routes(crate::documented!(reactivate_user))
        .routes(crate::documented!(logout_user))
        .routes(crate::documented!(set_password))
        .routes(crate::documented!(assign_role))
        .routes(crate::documented!(remove_role))
}

/// A user in a listing: the account fields plus `deleted_at`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserListItem {
    /// The account.
    #[serde(flatten)]
    pub user: UserView,
    /// When it was soft-deleted, if it was.
    pub deleted_at: Option<DateTime<Utc>>,
}

impl From<&User> for AdminUserListItem {
    fn from(user: &User) -> Self {
        AdminUserListItem {
            user: UserView::from(user),
            deleted_at: user.deleted_at,
        }
    }
}

/// One user: account, `deleted_at`, roles and effective permissions.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserView {
    /// The account.
    #[serde(flatten)]
    pub user: UserView,
    /// When it was soft-deleted, if it was.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Roles assigned directly.
    pub roles: Vec<String>,
    /// Effective permissions (may hold wildcards).
    pub permissions: Vec<String>,
}

impl From<AdminUser> for AdminUserView {
    fn from(admin: AdminUser) -> Self {
        AdminUserView {
            user: UserView::from(&admin.user),
            deleted_at: admin.user.deleted_at,
            roles: admin.roles,
            permissions: admin.permissions,
        }
    }
}

/// A page of users.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPageView {
    /// The users.
    pub items: Vec<AdminUserListItem>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// Query of the user listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UserListQuery {
    /// Email or username prefix, compared in canonical form (case and
    /// width do not matter).
    pub q: Option<String>,
    /// `active`, `suspended`, `disabled` or `deleted`.
    pub status: Option<String>,
    /// Only holders of this role.
    pub role: Option<String>,
    /// Created at or after (RFC 3339).
    pub created_after: Option<String>,
    /// Created before (RFC 3339).
    pub created_before: Option<String>,
    /// `created_at` (default), `-created_at`, `email`, `-email`.
    pub sort: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Body of `POST /admin/users`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserBody {
    /// Email.
    pub email: String,
    /// Initial password (policy applies); omit for an account without one.
    pub password: Option<String>,
    /// Username.
    pub username: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Whether the email is known to be the user's.
    #[serde(default)]
    pub email_verified: bool,
    /// Roles (default `["user"]`).
    pub roles: Option<Vec<String>>,
}

/// Body of `PATCH /admin/users/{id}`: absent fields stay, `null` clears.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserBody {
    /// New email.
    pub email: Option<String>,
    /// New verification state.
    pub email_verified: Option<bool>,
    /// New username, or null to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub username: Option<Option<String>>,
    /// New display name, or null to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
    /// Replacement profile object.
    #[schema(value_type = Option<Object>)]
    pub profile: Option<serde_json::Value>,
}

/// Query of `DELETE /admin/users/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeleteUserQuery {
    /// `true` erases the account for good; otherwise a soft delete.
    #[serde(default)]
    pub erase: bool,
}

/// Body of `POST /admin/users/{id}/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPasswordBody {
    /// The new password; omit to have one generated (returned once).
    pub password: Option<String>,
}

/// A generated password, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct GeneratedPassword {
    /// The password.
    pub password: String,
}

/// Result of a forced logout.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogoutResult {
    /// How many sessions were open and are now ended.
    pub sessions_ended: usize,
}

/// Body naming a role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    /// Role name.
    pub role: String,
}

/// Lists users with filters, sort and cursor pagination.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", security(("bearer" = [])), params(UserListQuery),
    responses(
        (status = 200, body = UserPageView),
        (status = 422, description = "A filter, sort, limit or cursor value is invalid (`validation_failed`, every rule listed)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_users(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    ApiQuery(query): ApiQuery<UserListQuery>,
) -> Result<Json<UserPageView>, ApiError> {
    // Typed values are parsed here, not by the query extractor, so that a
    // value that does not parse is a 422 naming its parameter like any
    // other invalid one.
    let mut violations = Vec::new();
    let mut time = |field: &'static str, raw: Option<String>| {
        raw.and_then(|raw| match DateTime::parse_from_rfc3339(&raw) {
            Ok(time) => Some(time.with_timezone(&Utc)),
            Err(_) => {
                violations.push(FieldViolation {
                    field,
                    rule: "invalid",
                    message: "an RFC 3339 date-time, e.g. 2026-01-31T00:00:00Z".into(),
                });
                None
            }
        })
    };
    let created_after = time("created_after", query.created_after);
    let created_before = time("created_before", query.created_before);
    let limit = query.limit.and_then(|raw| match raw.parse::<u32>() {
        Ok(limit) => Some(limit),
        Err(_) => {
            violations.push(FieldViolation {
                field: "limit",
                rule: "out_of_range",
                message: "a whole number between 1 and 200".into(),
            });
            None
        }
    });
    if !violations.is_empty() {
        return Err(AuthError::Validation(violations).into());
    }
    let request = UserListRequest {
        q: query.q,
        status: query.status,
        role: query.role,
        created_after,
        created_before,
        sort: query.sort,
        limit,
        cursor: query.cursor,
    };
    let page = state.admin.list_users(&caller.permit()?, request).await?;
    Ok(Json(UserPageView {
        items: page.items.iter().map(AdminUserListItem::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Creates a user, with or without a password.
#[utoipa::path(post, path = "/api/v1/admin/users", tag = "admin", security(("bearer" = [])), request_body = CreateUserBody,
    responses(
        (status = 201, body = AdminUserView),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_user(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    ApiJson(body): ApiJson<CreateUserBody>,
) -> Result<Response, ApiError> {
    let input = NewUser {
        email: body.email,
        password: body.password,
        username: body.username,
        display_name: body.display_name,
        email_verified: body.email_verified,
        roles: body.roles,
    };
    let user = state.admin.create_user(&caller.permit()?, input).await?;
    Ok((StatusCode::CREATED, Json(AdminUserView::from(user))).into_response())
}

/// One user with roles and effective permissions.
#[utoipa::path(get, path = "/api/v1/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, body = AdminUserView),
    ))]
pub async fn get_user(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<AdminUserView>, ApiError> {
    let user = state.admin.get_user(&caller.permit()?, path_id(&id)?).await?;
    Ok(Json(user.into()))
}

/// Changes email, username, display name or profile.
#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "admin", security(("bearer" = [])), request_body = UpdateUserBody,
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, body = AdminUserView),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_user(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateUserBody>,
) -> Result<Json<AdminUserView>, ApiError> {
    let changes = UserChanges {
        profile: ProfileChanges {
            username: body.username,
            display_name: body.display_name,
            profile: body.profile,
        },
        email: body.email,
        email_verified: body.email_verified,
    };
    let user = state
        .admin
        .update_user(&caller.permit()?, path_id(&id)?, changes)
        .await?;
    Ok(Json(user.into()))
}

/// Soft-deletes a user, or erases it with `?erase=true`.
#[utoipa::path(delete, path = "/api/v1/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id"), DeleteUserQuery),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "Last super_admin", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_user(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<DeleteUserQuery>,
) -> Result<StatusCode, ApiError> {
    state
        .admin
        .delete_user(&caller.permit()?, path_id(&id)?, query.erase)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Suspends a user; every session ends at once.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/suspend", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = AdminUserView)))]
pub async fn suspend_user(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<AdminUserView>, ApiError> {
    Ok(Json(
        state
            .admin
            .suspend_user(&caller.permit()?, path_id(&id)?)
            .await?
            .into(),
    ))
}

/// Disables a user; every session ends at once.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/disable", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = AdminUserView)))]
pub async fn disable_user(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<AdminUserView>, ApiError> {
    Ok(Json(
        state
            .admin
            .disable_user(&caller.permit()?, path_id(&id)?)
            .await?
            .into(),
    ))
}

/// Makes a suspended, disabled or soft-deleted user active again.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/reactivate", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = AdminUserView)))]
pub async fn reactivate_user(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<AdminUserView>, ApiError> {
    Ok(Json(
        state
            .admin
            .reactivate_user(&caller.permit()?, path_id(&id)?)
            .await?
            .into(),
    ))
}

/// Ends every session of a user (force logout).
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/logout", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = LogoutResult)))]
pub async fn logout_user(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<LogoutResult>, ApiError> {
    let sessions_ended = state.admin.logout_user(&caller.permit()?, path_id(&id)?).await?;
    Ok(Json(LogoutResult { sessions_ended }))
}

/// Sets a user's password, or generates one (`{}`) shown this once.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/password", tag = "admin", security(("bearer" = [])), request_body = SetPasswordBody,
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Generated", body = GeneratedPassword),
        (status = 204, description = "Set"),
    ))]
pub async fn set_password(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetPasswordBody>,
) -> Result<Response, ApiError> {
    match state
        .admin
        .set_password(&caller.permit()?, path_id(&id)?, body.password)
        .await?
    {
        Some(password) => Ok(Json(GeneratedPassword { password }).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// Assigns a role to a user.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/roles", tag = "admin", security(("bearer" = [])), request_body = RoleBody,
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = AdminUserView)))]
pub async fn assign_role(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<Json<AdminUserView>, ApiError> {
    let user = state
        .admin
        .assign_user_role(&caller.permit()?, path_id(&id)?, &body.role)
        .await?;
    Ok(Json(user.into()))
}

/// Removes a role from a user.
#[utoipa::path(delete, path = "/api/v1/admin/users/{id}/roles/{role}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id"), ("role" = String, Path, description = "Role name")),
    responses((status = 200, body = AdminUserView)))]
pub async fn remove_role(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path((id, role)): Path<(String, String)>,
) -> Result<Json<AdminUserView>, ApiError> {
    let user = state
        .admin
        .remove_user_role(&caller.permit()?, path_id(&id)?, &role)
        .await?;
    Ok(Json(user.into()))
}
