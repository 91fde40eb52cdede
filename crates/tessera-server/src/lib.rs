//! Tessera's HTTP layer: the first-party JSON API, health and metrics, the
//! OAuth token, introspection and revocation endpoints, the
//! published JWKS, and the OpenAPI document with its reference UI. Handlers
//! parse, call one `AuthService` method, and map the result; errors become
//! problem documents in one place (`error.rs`).
#![forbid(unsafe_code)]

mod cookies;
mod csrf;
pub mod error;
mod extract;
mod observe;
mod openapi;
pub mod routes;
mod serve;
mod state;
mod tenant;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

pub use csrf::CsrfKey;
pub use error::{ApiError, ErrorCode, Problem};
pub use observe::metrics_handle;
pub use openapi::ApiDoc;
pub use serve::{serve, ConnectionLimits};
pub use state::{AppState, HttpSettings, MetricsToken, TenantDirectory, TenantHandle, Theme};

/// The whole application router: the default tenant's routes at the root,
/// the other tenants' under `/t/{slug}`, the OpenAPI document, and the
/// layers every request goes through once.
pub fn router(state: AppState) -> Router {
    let http = state.http.clone();
    let tenants = state.tenants.clone();
    let mut app = routes(state);
    if http.docs {
        app = app.merge(openapi::docs_router());
    }
    if let Some(directory) = tenants {
        app = app.merge(
            Router::new()
                .route("/t/{slug}", any(tenant::dispatch))
                // A wildcard never matches an empty rest: the tenant's home
                // page at `/t/{slug}/` needs its own route.
                .route("/t/{slug}/", any(tenant::dispatch))
                .route("/t/{slug}/{*rest}", any(tenant::dispatch))
                .route(
                    "/.well-known/oauth-authorization-server/t/{slug}",
                    axum::routing::get(tenant::authorization_server_metadata),
                )
                .with_state(directory),
        );
    }
    app = app
        .layer(DefaultBodyLimit::max(http.max_body_bytes))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // Frame protection on every response, Swagger UI included (the
        // hosted pages set their own, stricter CSP).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        ))
        .layer(CatchPanicLayer::custom(|_| internal_error()));
    if http.secure_cookies {
        // The issuer is https: browsers must never come back over http.
        app = app.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    if let Some(cors) = cors_layer(&http.cors_origins) {
        app = app.layer(cors);
    }
    app.layer(axum::middleware::from_fn(observe::observe))
}

/// The router of the metrics listener (`metrics_listen`): `GET /metrics`
/// only, without a token (bind it where only the scraper reaches).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(routes::health::metrics_unguarded))
        .fallback(not_found)
        .with_state(state)
}

/// The routes of one tenant, without layers: what `/t/{slug}/…` forwards to.
pub fn routes(state: AppState) -> Router {
    // The document the API router carries is dropped here: it is built
    // again, on its first request, by `openapi::document`.
    let (api, _) = routes::api(state.tenants.is_some()).split_for_parts();
    api.merge(routes::pages::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_credentials(true)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PATCH,
                Method::PUT,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("x-csrf-token"),
                HeaderName::from_static("x-request-id"),
            ])
            .expose_headers([HeaderName::from_static("x-request-id")]),
    )
}

fn internal_error() -> Response {
    tracing::error!("handler panicked");
    ApiError::new(ErrorCode::InternalError, None).into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, Some("no such route".into()))
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        Some("this route does not accept that method".into()),
    )
}
