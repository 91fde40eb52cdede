//! Published key material.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::state::AppState;

/// `/.well-known/*` routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(crate::documented!(jwks))
}

/// The JSON Web Key Set (RFC 7517) with every published public key.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "keys",
    responses((status = 200, description = "JWK Set", content_type = "application/jwk-set+json", body = Object)))]
pub async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let jwks = state.auth.jwks().await?;
    let body = serde_json::to_vec(jwks.as_ref()).unwrap_or_default();
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    // Keys are published before they sign (rotation delay ≥ 10 min), so a
    // short public cache is safe.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(response)
}
