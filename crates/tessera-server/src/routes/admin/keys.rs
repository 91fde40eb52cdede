//! `/api/v1/admin/keys`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_core::{KeyInfo, SigningAlg};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::ItemList;
use crate::error::ApiError;
use crate::extract::{AdminCaller, ApiJson};
use crate::state::AppState;

/// Routes of the signing keys.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(crate::documented!(list_keys))
        .routes(crate::documented!(rotate_key))
}

/// A signing key and its schedule (never private material).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyJson {
    /// Key id.
    pub kid: String,
    /// JWS algorithm.
    pub alg: String,
    /// `pending`, `active` or `retired`.
    pub state: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it signs (or signed) its first token.
    pub activates_at: DateTime<Utc>,
    /// When it leaves JWKS, once it has a successor.
    pub not_after: Option<DateTime<Utc>>,
}

impl From<KeyInfo> for KeyJson {
    fn from(key: KeyInfo) -> Self {
        KeyJson {
            kid: key.kid,
            alg: key.alg,
            state: key.state.as_str().to_string(),
            created_at: key.created_at,
            activates_at: key.activates_at,
            not_after: key.not_after,
        }
    }
}

/// Body of `POST /admin/keys/rotate`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKeyBody {
    /// `ES256`, `RS256` or `EdDSA` (default: the configured `signing_alg`).
    pub alg: Option<String>,
    /// Seconds until the new key signs (default `keys.activation_delay_secs`;
    /// at most 30 days).
    #[schema(maximum = 2592000)]
    pub activation_delay_secs: Option<u64>,
}

/// The started rotation.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedKey {
    /// The new key's id (already in JWKS).
    pub kid: String,
    /// Its algorithm.
    pub alg: String,
    /// When it starts signing.
    pub activates_at: DateTime<Utc>,
}

/// The tenant's signing keys.
#[utoipa::path(get, path = "/api/v1/admin/keys", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = ItemList<KeyJson>)))]
pub async fn list_keys(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
) -> Result<Json<ItemList<KeyJson>>, ApiError> {
    let keys = state.admin.list_keys(&caller.permit()?).await?;
    Ok(Json(ItemList {
        items: keys.into_iter().map(KeyJson::from).collect(),
    }))
}

/// Starts a key rotation: the new key is published at once and signs
/// after the activation delay.
#[utoipa::path(post, path = "/api/v1/admin/keys/rotate", tag = "admin", security(("bearer" = [])), request_body = RotateKeyBody,
    responses((status = 201, body = RotatedKey)))]
pub async fn rotate_key(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    ApiJson(body): ApiJson<RotateKeyBody>,
) -> Result<Response, ApiError> {
    let alg = match body.alg.as_deref() {
        None => None,
        Some(name) => Some(SigningAlg::parse(name).ok_or_else(|| {
            ApiError::from(tessera_core::AuthError::Validation(vec![
                tessera_core::FieldViolation {
                    field: "alg",
                    rule: "unknown_value",
                    message: "one of ES256, RS256, EdDSA".into(),
                },
            ]))
        })?),
    };
    let key = state
        .admin
        .rotate_key(&caller.permit()?, alg, body.activation_delay_secs)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RotatedKey {
            kid: key.kid,
            alg: key.alg,
            activates_at: key.activates_at,
        }),
    )
        .into_response())
}
