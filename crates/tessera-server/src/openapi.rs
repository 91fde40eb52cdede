//! The OpenAPI 3.1 document, generated from the handlers' annotations, and
//! the Swagger UI served from assets vendored into the binary (no CDN).

use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{OAuthErrorBody, Problem};
use crate::routes::{auth, health, oauth, oidc, sessions, users, well_known, UserView};

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
        health::live, health::ready, health::metrics,
    ),
    components(schemas(
        Problem, UserView,
        auth::RegisterBody, auth::LoginBody, auth::RefreshBody, auth::TokenResponse, auth::CookieSessionResponse,
        users::UpdateMeBody, users::ChangePasswordBody, sessions::SessionView, health::HealthStatus,
        OAuthErrorBody, oauth::TokenForm, oauth::TokenActionForm, oauth::OAuthTokenResponse,
        oauth::IntrospectionResponse, oidc::ConsentView,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Registration, login, refresh, logout"),
        (name = "users", description = "The signed-in user's account"),
        (name = "sessions", description = "The signed-in user's sessions"),
        (name = "oauth", description = "OAuth 2.1 / OpenID Connect: token, introspection, revocation, UserInfo, discovery"),
        (name = "keys", description = "Published signing keys"),
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

/// `/openapi.json` and the UI under `/docs`.
pub fn docs_router() -> Router {
    SwaggerUi::new("/docs")
        .url("/openapi.json", ApiDoc::openapi())
        .into()
}
