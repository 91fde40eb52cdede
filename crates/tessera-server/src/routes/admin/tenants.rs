//! `/api/v1/admin/tenants`: served by the default tenant only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_core::admin::TenantChanges;
use tessera_store::Tenant;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use super::ItemList;
use crate::error::{ApiError, ErrorCode, Problem};
use crate::extract::{AdminCaller, ApiJson};
use crate::state::AppState;

/// Routes of the tenants.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(crate::documented!(list_tenants, create_tenant))
        .routes(crate::documented!(update_tenant))
}

/// A tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantJson {
    /// Tenant id (the `tid` claim of its tokens).
    pub id: Uuid,
    /// URL name: the tenant is served under `/t/{slug}`.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Its issuer (`{issuer}/t/{slug}`; the root issuer for `default`).
    pub issuer: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it was disabled, if it is.
    pub disabled_at: Option<DateTime<Utc>>,
}

fn tenant_json(tenant: Tenant, root_issuer: &str) -> TenantJson {
    let issuer = if tenant.slug == tessera_store::DEFAULT_TENANT_SLUG {
        root_issuer.to_string()
    } else {
        format!("{root_issuer}/t/{}", tenant.slug)
    };
    TenantJson {
        id: tenant.tenant_id,
        slug: tenant.slug,
        name: tenant.name,
        issuer,
        created_at: tenant.created_at,
        disabled_at: tenant.disabled_at,
    }
}

/// The first administrator of a new tenant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantAdminBody {
    /// Email of the tenant's first `super_admin`.
    pub email: String,
    /// Its password (the password policy applies).
    pub password: String,
}

/// Body of `POST /admin/tenants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenantBody {
    /// URL name (lowercase letters, digits, inner hyphens; ≤ 32).
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Optionally, the tenant's first `super_admin` (otherwise create one
    /// with `tessera users create --tenant SLUG`).
    pub admin: Option<TenantAdminBody>,
}

/// Body of `PATCH /admin/tenants/{slug}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenantBody {
    /// New display name.
    pub name: Option<String>,
    /// Disable (`true`) or enable again (`false`).
    pub disabled: Option<bool>,
}

/// Every tenant.
#[utoipa::path(get, path = "/api/v1/admin/tenants", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = ItemList<TenantJson>)))]
pub async fn list_tenants(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
) -> Result<Json<ItemList<TenantJson>>, ApiError> {
    let issuer = state.auth.issuer().to_string();
    let tenants = state.admin.list_tenants(&caller.permit()?).await?;
    Ok(Json(ItemList {
        items: tenants.into_iter().map(|t| tenant_json(t, &issuer)).collect(),
    }))
}

/// Creates a tenant, optionally with its first super admin.
#[utoipa::path(post, path = "/api/v1/admin/tenants", tag = "admin", security(("bearer" = [])), request_body = CreateTenantBody,
    responses(
        (status = 201, body = TenantJson),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_tenant(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    ApiJson(body): ApiJson<CreateTenantBody>,
) -> Result<Response, ApiError> {
    let permit = caller.permit()?;
    if let Some(admin) = &body.admin {
        state
            .admin
            .check_admin_credentials(&admin.email, &admin.password)?;
    }
    let (tenant, founder) = state.admin.create_tenant(&permit, &body.slug, &body.name).await?;
    if let Some(admin) = body.admin {
        let directory = state
            .tenants
            .as_ref()
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, None))?;
        let handle = directory
            .tenant(&tenant.slug)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, None))?;
        handle
            .state
            .admin
            .bootstrap_super_admin(&founder, &admin.email, &admin.password)
            .await?;
    }
    let issuer = state.auth.issuer().to_string();
    Ok((StatusCode::CREATED, Json(tenant_json(tenant, &issuer))).into_response())
}

/// Renames, disables or enables a tenant.
#[utoipa::path(patch, path = "/api/v1/admin/tenants/{slug}", tag = "admin", security(("bearer" = [])), request_body = UpdateTenantBody,
    params(("slug" = String, Path, description = "Tenant slug")),
    responses((status = 200, body = TenantJson)))]
pub async fn update_tenant(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<UpdateTenantBody>,
) -> Result<Json<TenantJson>, ApiError> {
    let changes = TenantChanges {
        name: body.name,
        disabled: body.disabled,
    };
    let tenant = state
        .admin
        .update_tenant(&caller.permit()?, &slug, changes)
        .await?;
    if let Some(directory) = &state.tenants {
        directory.forget(&slug).await;
    }
    let issuer = state.auth.issuer().to_string();
    Ok(Json(tenant_json(tenant, &issuer)))
}
