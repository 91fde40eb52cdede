//! One module per area, each with its handlers and DTOs.

pub mod admin;
pub mod auth;
pub mod authz;
pub mod health;
pub mod mailed;
pub mod oauth;
pub mod oidc;
pub mod pages;
pub mod sessions;
pub mod users;
pub mod well_known;

use chrono::{DateTime, Utc};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;
use serde::{Deserialize, Deserializer, Serialize};
use tessera_store::User;
use utoipa::ToSchema;
use uuid::Uuid;

/// Every documented route (the JSON API, OAuth and discovery endpoints,
/// health): registered once, for the router and for the OpenAPI document.
/// `with_tenant_admin`: the tenant administration routes (default tenant
/// only).
pub fn api(with_tenant_admin: bool) -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .merge(auth::router())
        .merge(mailed::router())
        .merge(admin::router())
        .merge(authz::router())
        .merge(users::router())
        .merge(sessions::router())
        .merge(oauth::router())
        .merge(oidc::router())
        .merge(well_known::router())
        .merge(health::router());
    if with_tenant_admin {
        api.merge(admin::tenants::router())
    } else {
        api
    }
}

/// An account as the API shows it (never the password hash or lockout
/// bookkeeping).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// User id.
    pub id: Uuid,
    /// Normalised email.
    pub email: String,
    /// Whether the email has been verified.
    pub email_verified: bool,
    /// Normalised username.
    pub username: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Free-form profile object.
    #[schema(value_type = Object)]
    pub profile: serde_json::Value,
    /// `active`, `suspended` or `disabled`.
    #[schema(example = "active")]
    pub status: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<&User> for UserView {
    fn from(user: &User) -> UserView {
        UserView {
            id: user.user_id,
            email: user.email.clone(),
            email_verified: user.email_verified,
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            profile: user.profile.clone(),
            status: user.status.as_str().to_string(),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// Deserialises a field that may be absent (`None`), `null` (`Some(None)`)
/// or a value (`Some(Some(v))`) — PATCH semantics.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
