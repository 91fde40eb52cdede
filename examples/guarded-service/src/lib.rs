//! An example service protected by `tessera-guard`: one public route, one
//! for any signed-in caller, two that require a permission and one that
//! requires a role.
#![forbid(unsafe_code)]

use axum::extract::Path;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::{json, Value};
use tessera_guard::{permission, role, Authenticated, Guard, RequirePermission, RequireRole};

permission!(pub AuditRead, "audit:read");
permission!(pub UserDelete, "user:delete");
role!(pub Admin, "admin");

/// The service's routes, with `guard` as their state.
pub fn app(guard: Guard) -> Router {
    Router::new()
        .route("/public", get(public))
        .route("/me", get(me))
        .route("/reports", get(reports))
        .route("/users/{id}", delete(delete_user))
        .route("/admin", get(admin))
        .with_state(guard)
}

/// Open to everyone.
async fn public() -> Json<Value> {
    Json(json!({ "ok": true }))
}

/// Who the token says the caller is.
async fn me(Authenticated(claims): Authenticated) -> Json<Value> {
    Json(json!({ "sub": claims.sub, "roles": claims.roles, "tid": claims.tid }))
}

/// Requires `audit:read` (granted to admins, and inherited by super admins).
async fn reports(RequirePermission(claims, _): RequirePermission<AuditRead>) -> Json<Value> {
    Json(json!({ "reports": [], "requested_by": claims.sub }))
}

/// Requires `user:delete`. Pretends to delete the user.
async fn delete_user(
    RequirePermission(claims, _): RequirePermission<UserDelete>,
    Path(id): Path<String>,
) -> Json<Value> {
    tracing::info!(user = %id, by = %claims.sub, "user deleted");
    Json(json!({ "deleted": id }))
}

/// Requires the role `admin` itself: a `super_admin` is refused, since roles
/// are matched exactly (see `RequireRole`).
async fn admin(RequireRole(claims, _): RequireRole<Admin>) -> Json<Value> {
    Json(json!({ "admin": claims.sub }))
}
