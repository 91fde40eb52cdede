//! The OpenAPI 3.1 document, generated from the handlers' annotations, and
//! the Swagger UI served from assets vendored into the binary (no CDN).

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{OAuthErrorBody, Problem};
use crate::routes::admin::{
    clients as admin_clients, keys as admin_keys, roles as admin_roles, tenants as admin_tenants,
    users as admin_users,
};
use crate::routes::{auth, authz, health, oauth, oidc, sessions, users, well_known, UserView};

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Tessera", description = "Self-hosted identity and access service: first-party JSON API, OAuth 2.1 and OpenID Connect endpoints. The hosted HTML pages (/oauth2/authorize, /login, /consent, /logout, /oauth2/logout) are browser flows and are described in docs/integration.md."),
    paths(
        auth::register, auth::login, auth::refresh, auth::logout, auth::logout_all,
        users::get_me, users::update_me, users::change_password,
        sessions::list_sessions, sessions::revoke_session,
        oauth::issue_token, oauth::introspect_token, oauth::revoke_token,
        oidc::openid_configuration, oidc::authorization_server_metadata, oidc::userinfo,
        oidc::list_consents, oidc::revoke_consent,
        well_known::jwks,
        admin_users::list_users, admin_users::create_user, admin_users::get_user, admin_users::update_user,
        admin_users::delete_user, admin_users::suspend_user, admin_users::disable_user, admin_users::reactivate_user,
        admin_users::logout_user, admin_users::set_password, admin_users::assign_role, admin_users::remove_role,
        admin_roles::list_roles, admin_roles::create_role, admin_roles::get_role, admin_roles::update_role,
        admin_roles::delete_role, admin_roles::grant_permission, admin_roles::revoke_permission,
        admin_roles::list_permissions, admin_roles::create_permission, admin_roles::delete_permission,
        admin_clients::list_clients, admin_clients::create_client, admin_clients::get_client,
        admin_clients::update_client, admin_clients::delete_client, admin_clients::rotate_secret,
        admin_clients::assign_role, admin_clients::remove_role,
        admin_keys::list_keys, admin_keys::rotate_key,
        admin_tenants::list_tenants, admin_tenants::create_tenant, admin_tenants::update_tenant,
        authz::check,
        health::live, health::ready, health::metrics,
    ),
    components(schemas(
        Problem, UserView,
        auth::RegisterBody, auth::LoginBody, auth::RefreshBody, auth::TokenResponse, auth::CookieSessionResponse,
        users::UpdateMeBody, users::ChangePasswordBody, sessions::SessionView, health::HealthStatus,
        OAuthErrorBody, oauth::TokenForm, oauth::TokenActionForm, oauth::OAuthTokenResponse,
        oauth::IntrospectionResponse, oidc::ConsentView,
        admin_users::AdminUserView, admin_users::AdminUserListItem, admin_users::UserPageView,
        admin_users::CreateUserBody, admin_users::UpdateUserBody, admin_users::SetPasswordBody,
        admin_users::GeneratedPassword, admin_users::LogoutResult, admin_users::RoleBody,
        admin_roles::RoleJson, admin_roles::PermissionJson, admin_roles::CreateRoleBody,
        admin_roles::UpdateRoleBody, admin_roles::CreatePermissionBody,
        admin_clients::ClientJson, admin_clients::CreatedClient, admin_clients::RotatedSecret,
        admin_clients::CreateClientBody, admin_clients::UpdateClientBody,
        admin_keys::KeyJson, admin_keys::RotateKeyBody, admin_keys::RotatedKey,
        admin_tenants::TenantJson, admin_tenants::CreateTenantBody, admin_tenants::UpdateTenantBody,
        admin_tenants::TenantAdminBody,
        authz::CheckBody, authz::CheckResult,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Registration, login, refresh, logout"),
        (name = "users", description = "The signed-in user's account"),
        (name = "sessions", description = "The signed-in user's sessions"),
        (name = "oauth", description = "OAuth 2.1 / OpenID Connect: token, introspection, revocation, UserInfo, discovery"),
        (name = "keys", description = "Published signing keys"),
        (name = "admin", description = "Administration (each route needs a named permission; see docs/rbac.md) and authorization decisions"),
        (name = "health", description = "Liveness, readiness, metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
        }
    }
}

/// `/openapi.json` and the UI under `/docs`. The document is built on its
/// first request, not at start-up: building it runs the generated code of
/// every schema, which would otherwise count in the idle memory of every
/// node that never serves it.
pub fn docs_router() -> Router {
    let ui: Router = SwaggerUi::new("/docs")
        .config(utoipa_swagger_ui::Config::from("/openapi.json"))
        .into();
    ui.route("/openapi.json", get(openapi_json))
}

/// The OpenAPI document as JSON, serialised once.
async fn openapi_json() -> Response {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let body = DOCUMENT.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".into()));
    ([(header::CONTENT_TYPE, "application/json")], body.as_str()).into_response()
}
