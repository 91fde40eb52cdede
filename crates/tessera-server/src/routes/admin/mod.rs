//! `/api/v1/admin/*`: administration of users, roles, permissions, clients
//! and keys. Each handler parses, calls one `AdminService` method (which
//! checks the route's permission and the rank rule) and maps the result.

pub mod clients;
pub mod keys;
pub mod mail;
pub mod roles;
pub mod tenants;
pub mod users;

use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Every admin route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(users::router())
        .merge(roles::router())
        .merge(clients::router())
        .merge(keys::router())
        .merge(mail::router())
}

/// A list answer: `{"items": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemList<T> {
    /// The items.
    pub items: Vec<T>,
}

/// An id from the path: a malformed one is answered like a missing one.
pub(crate) fn path_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::new(ErrorCode::NotFound, None))
}
