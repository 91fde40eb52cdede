//! `/api/v1/admin/roles` and `/api/v1/admin/permissions`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_core::admin::{NewPermission, NewRole, RoleChanges, RoleView};
use tessera_store::Permission;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::ItemList;
use crate::error::{ApiError, Problem};
use crate::extract::{AdminCaller, ApiJson};
use crate::routes::double_option;
use crate::state::AppState;

/// Routes of roles and permissions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(crate::documented!(list_roles, create_role))
        .routes(crate::documented!(get_role, update_role, delete_role))
        .routes(crate::documented!(grant_permission, revoke_permission))
        .routes(crate::documented!(list_permissions, create_permission))
        .routes(crate::documented!(delete_permission))
}

/// A role.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleJson {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Parent role.
    pub parent: Option<String>,
    /// Permissions granted directly.
    pub permissions: Vec<String>,
    /// Permissions granted directly or inherited.
    pub effective_permissions: Vec<String>,
    /// Seeded by Tessera (cannot be deleted).
    pub builtin: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<RoleView> for RoleJson {
    fn from(view: RoleView) -> Self {
        let role = view.role;
        RoleJson {
            name: role.name,
            description: role.description,
            parent: role.parent,
            permissions: role.permissions,
            effective_permissions: view.effective_permissions,
            builtin: role.builtin,
            created_at: role.created_at,
            updated_at: role.updated_at,
        }
    }
}

/// A catalogue permission.
#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionJson {
    /// `resource:action`.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Seeded by Tessera (cannot be deleted).
    pub builtin: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl From<Permission> for PermissionJson {
    fn from(p: Permission) -> Self {
        PermissionJson {
            name: p.name,
            description: p.description,
            builtin: p.builtin,
            created_at: p.created_at,
        }
    }
}

/// Body of `POST /admin/roles`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoleBody {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Parent role.
    pub parent: Option<String>,
    /// Permissions granted directly.
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// Body of `PATCH /admin/roles/{name}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRoleBody {
    /// New description, or null to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// New parent, or null to detach.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub parent: Option<Option<String>>,
}

/// Body of `POST /admin/permissions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePermissionBody {
    /// `resource:action`.
    pub name: String,
    /// Description.
    pub description: Option<String>,
}

/// Every role.
#[utoipa::path(get, path = "/api/v1/admin/roles", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = ItemList<RoleJson>)))]
pub async fn list_roles(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
) -> Result<Json<ItemList<RoleJson>>, ApiError> {
    let roles = state.admin.list_roles(&caller.permit()?).await?;
    Ok(Json(ItemList {
        items: roles.into_iter().map(RoleJson::from).collect(),
    }))
}

/// Creates a role.
#[utoipa::path(post, path = "/api/v1/admin/roles", tag = "admin", security(("bearer" = [])), request_body = CreateRoleBody,
    responses(
        (status = 201, body = RoleJson),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_role(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    ApiJson(body): ApiJson<CreateRoleBody>,
) -> Result<Response, ApiError> {
    let input = NewRole {
        name: body.name,
        description: body.description,
        parent: body.parent,
        permissions: body.permissions,
    };
    let role = state.admin.create_role(&caller.permit()?, input).await?;
    Ok((StatusCode::CREATED, Json(RoleJson::from(role))).into_response())
}

/// One role.
#[utoipa::path(get, path = "/api/v1/admin/roles/{name}", tag = "admin", security(("bearer" = [])),
    params(("name" = String, Path, description = "Role name")),
    responses((status = 200, body = RoleJson)))]
pub async fn get_role(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(name): Path<String>,
) -> Result<Json<RoleJson>, ApiError> {
    Ok(Json(state.admin.get_role(&caller.permit()?, &name).await?.into()))
}

/// Changes a role's description or parent.
#[utoipa::path(patch, path = "/api/v1/admin/roles/{name}", tag = "admin", security(("bearer" = [])), request_body = UpdateRoleBody,
    params(("name" = String, Path, description = "Role name")),
    responses(
        (status = 200, body = RoleJson),
        (status = 409, description = "Cycle", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_role(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<UpdateRoleBody>,
) -> Result<Json<RoleJson>, ApiError> {
    let changes = RoleChanges {
        description: body.description,
        parent: body.parent,
    };
    Ok(Json(
        state
            .admin
            .update_role(&caller.permit()?, &name, changes)
            .await?
            .into(),
    ))
}

/// Deletes a role.
#[utoipa::path(delete, path = "/api/v1/admin/roles/{name}", tag = "admin", security(("bearer" = [])),
    params(("name" = String, Path, description = "Role name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "Built in or a parent", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_role(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.admin.delete_role(&caller.permit()?, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Grants a permission (or wildcard) to a role.
#[utoipa::path(put, path = "/api/v1/admin/roles/{name}/permissions/{permission}", tag = "admin", security(("bearer" = [])),
    params(("name" = String, Path, description = "Role name"), ("permission" = String, Path, description = "Permission or wildcard")),
    responses(
        (status = 200, body = RoleJson),
        (status = 422, description = "The permission is not `resource:action`, `resource:*` or `*`, or not in the catalogue (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn grant_permission(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path((name, permission)): Path<(String, String)>,
) -> Result<Json<RoleJson>, ApiError> {
    Ok(Json(
        state
            .admin
            .grant_permission(&caller.permit()?, &name, &permission)
            .await?
            .into(),
    ))
}

/// Takes a directly granted permission from a role.
#[utoipa::path(delete, path = "/api/v1/admin/roles/{name}/permissions/{permission}", tag = "admin", security(("bearer" = [])),
    params(("name" = String, Path, description = "Role name"), ("permission" = String, Path, description = "Permission or wildcard")),
    responses(
        (status = 200, body = RoleJson),
        (status = 409, description = "The `*` of super_admin is built in (`builtin_protected`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_permission(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path((name, permission)): Path<(String, String)>,
) -> Result<Json<RoleJson>, ApiError> {
    Ok(Json(
        state
            .admin
            .revoke_permission(&caller.permit()?, &name, &permission)
            .await?
            .into(),
    ))
}

/// The permission catalogue.
#[utoipa::path(get, path = "/api/v1/admin/permissions", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = ItemList<PermissionJson>)))]
pub async fn list_permissions(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
) -> Result<Json<ItemList<PermissionJson>>, ApiError> {
    let permissions = state.admin.list_permissions(&caller.permit()?).await?;
    Ok(Json(ItemList {
        items: permissions.into_iter().map(PermissionJson::from).collect(),
    }))
}

/// Adds a permission to the catalogue.
#[utoipa::path(post, path = "/api/v1/admin/permissions", tag = "admin", security(("bearer" = [])), request_body = CreatePermissionBody,
    responses(
        (status = 201, body = PermissionJson),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_permission(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    ApiJson(body): ApiJson<CreatePermissionBody>,
) -> Result<Response, ApiError> {
    let input = NewPermission {
        name: body.name,
        description: body.description,
    };
    let permission = state.admin.create_permission(&caller.permit()?, input).await?;
    Ok((StatusCode::CREATED, Json(PermissionJson::from(permission))).into_response())
}

/// Removes a permission from the catalogue and from every role.
#[utoipa::path(delete, path = "/api/v1/admin/permissions/{name}", tag = "admin", security(("bearer" = [])),
    params(("name" = String, Path, description = "Permission name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "Built in", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_permission(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.admin.delete_permission(&caller.permit()?, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
