//! Liveness, readiness and metrics.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use subtle::ConstantTimeEq;

use crate::error::{ApiError, ErrorCode, Problem};
use crate::extract::bearer_credentials;
use crate::state::AppState;

/// Health and metrics routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(crate::documented!(live))
        .routes(crate::documented!(ready))
        .routes(crate::documented!(metrics))
}

/// Health status body.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthStatus {
    /// Always `ok` when answered with 200.
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200, body = HealthStatus)))]
pub async fn live() -> Json<HealthStatus> {
    Json(HealthStatus { status: "ok" })
}

/// The process can serve: the database answers.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses(
        (status = 200, body = HealthStatus),
        (status = 503, description = "Database unreachable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn ready(State(state): State<AppState>) -> Result<Json<HealthStatus>, ApiError> {
    state.auth.ready().await?;
    Ok(Json(HealthStatus { status: "ok" }))
}

/// Prometheus text exposition, on the public listener only with the
/// configured `metrics_token` (bearer); otherwise 404.
#[utoipa::path(get, path = "/metrics", tag = "health", security(("metrics_token" = [])),
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        (status = 404, description = "Not served on this listener", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    // Not on the public listener unless the operator set a token for it.
    let Some(expected) = &state.http.metrics_token else {
        return ApiError::new(
            ErrorCode::NotFound,
            Some("metrics are not served on this listener (see metrics_listen, metrics_token)".into()),
        )
        .into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(bearer_credentials)
        .unwrap_or_default()
        .as_bytes();
    if !bool::from(presented.ct_eq(expected.0.as_bytes())) {
        return ApiError::new(
            ErrorCode::InvalidToken,
            Some("/metrics needs Authorization: Bearer <metrics_token>".into()),
        )
        .into_response();
    }
    render_metrics(&state)
}

/// Prometheus text exposition of the metrics listener (no token: that
/// listener is reachable only where the operator bound it).
pub async fn metrics_unguarded(State(state): State<AppState>) -> Response {
    render_metrics(&state)
}

fn render_metrics(state: &AppState) -> Response {
    metrics::gauge!("tessera_password_hash_queue_depth").set(state.auth.hasher().queue_depth() as f64);
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}
