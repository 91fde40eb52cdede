//! The OpenAPI 3.1 document, generated from the handlers' annotations, and
//! the Swagger UI served from assets vendored into the binary (no CDN).

use std::cell::Cell;
use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{OAuthErrorBody, Problem};

pub mod problems;

/// What the document says besides its paths (which the routes register
/// themselves, see [`crate::routes::api`]): title, tags, the bearer scheme,
/// and the shared problem schemas.
#[derive(OpenApi)]
#[openapi(
    info(title = "Tessera", description = "Self-hosted identity and access service: first-party JSON API, OAuth 2.1 and OpenID Connect endpoints. The hosted HTML pages (/oauth2/authorize, /login, /consent, /logout, /oauth2/logout) are browser flows and are described in docs/integration.md."),
    components(schemas(Problem, OAuthErrorBody)),
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
            // OAuth client authentication (RFC 6749 §2.3.1). The other
            // methods (`client_secret_post`, `private_key_jwt`) travel in the
            // form body, which OpenAPI cannot express as a scheme; the
            // operations' descriptions name them.
            components.add_security_scheme(
                "client_basic",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
            );
            // The operator's `metrics_token` for `/metrics` on the public
            // listener (an opaque bearer secret, not a JWT).
            components.add_security_scheme(
                "metrics_token",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
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

thread_local! {
    /// Whether routers built on this thread are built for [`document`].
    static DOCUMENTING: Cell<bool> = const { Cell::new(false) };
}

/// Whether [`documented!`](crate::documented) should build the operations
/// and schemas of the routes it registers (only inside [`document`]).
pub fn documenting() -> bool {
    DOCUMENTING.with(Cell::get)
}

/// The OpenAPI document: [`ApiDoc`] with every route of
/// [`crate::routes::api`] (tenant administration included).
pub fn document() -> utoipa::openapi::OpenApi {
    /// Ends the documenting state even if building panics.
    struct Documenting;
    impl Drop for Documenting {
        fn drop(&mut self) {
            DOCUMENTING.with(|flag| flag.set(false));
        }
    }
    DOCUMENTING.with(|flag| flag.set(true));
    let documenting = Documenting;
    let (_, paths) = crate::routes::api(true).split_for_parts();
    drop(documenting);
    let mut document = ApiDoc::openapi();
    document.merge(paths);
    document
}

/// The OpenAPI document as JSON, serialised once.
async fn openapi_json() -> Response {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let body = DOCUMENT.get_or_init(|| document().to_json().unwrap_or_else(|_| "{}".into()));
    ([(header::CONTENT_TYPE, "application/json")], body.as_str()).into_response()
}
