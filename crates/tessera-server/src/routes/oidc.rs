//! OpenID Connect resources: the discovery documents (OIDC Discovery 1.0,
//! RFC 8414), the UserInfo endpoint (OIDC Core §5.3), and the signed-in
//! user's remembered consents.

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode, Problem};
use crate::extract::bearer_credentials;
use crate::extract::Caller;
use crate::state::AppState;

/// Discovery, UserInfo and consent routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(crate::documented!(openid_configuration))
        .routes(crate::documented!(authorization_server_metadata))
        .routes(crate::documented!(userinfo))
        .routes(crate::documented!(list_consents))
        .routes(crate::documented!(revoke_consent))
}

/// The metadata both discovery documents share; the OIDC one adds the
/// UserInfo and ID-token fields (RFC 8414 §2 allows them in either).
fn metadata(issuer: &str) -> serde_json::Value {
    let auth_methods = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ];
    // What a private_key_jwt client may sign its assertion with.
    let assertion_algs = ["RS256", "ES256", "EdDSA"];
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth2/authorize"),
        "token_endpoint": format!("{issuer}/oauth2/token"),
        "userinfo_endpoint": format!("{issuer}/oauth2/userinfo"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "introspection_endpoint": format!("{issuer}/oauth2/introspect"),
        "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
        "end_session_endpoint": format!("{issuer}/oauth2/logout"),
        "scopes_supported": ["openid", "profile", "email", "roles", "tessera:account", "tessera:admin"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_supported": [
            "iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "at_hash", "amr", "sid",
            "name", "preferred_username", "updated_at", "email", "email_verified"
        ],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    })
}

/// The OpenID Provider configuration (OIDC Discovery 1.0 §4).
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "oauth",
    responses((status = 200, description = "OpenID Provider metadata", body = Object)))]
pub async fn openid_configuration(State(state): State<AppState>) -> Response {
    discovery_response(metadata(state.auth.issuer()))
}

/// The authorization server metadata (RFC 8414 §3).
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth",
    responses((status = 200, description = "Authorization server metadata", body = Object)))]
pub async fn authorization_server_metadata(State(state): State<AppState>) -> Response {
    discovery_response(metadata(state.auth.issuer()))
}

fn discovery_response(document: serde_json::Value) -> Response {
    let mut response = Json(document).into_response();
    // Changes only with a new release or issuer: a short public cache.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

/// Claims about the signed-in user (OIDC Core §5.3), by the scopes of the
/// access token: `sub`; with `profile` `name`, `preferred_username`,
/// `updated_at`; with `email` `email`, `email_verified`. The token comes
/// in the `Authorization: Bearer` header or, on POST, as the form field
/// `access_token` (RFC 6750 §2.2).
#[utoipa::path(method(get, post), path = "/oauth2/userinfo", tag = "oauth", security(("bearer" = [])),
    responses(
        (status = 200, description = "UserInfo claims", body = Object),
        (status = 401, description = "invalid_token (WWW-Authenticate: Bearer)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "insufficient_scope: the token was not granted openid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn userinfo(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, state.http.max_body_bytes)
        .await
        .map_err(|_| {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                Some("request body exceeds the limit".into()),
            )
        })?;
    let token = bearer_token(&parts.method, &parts.headers, &body)?;
    let claims = state.oidc.userinfo(&token).await?;
    let mut response = Json(claims).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The access token of a UserInfo request: from the header, or from a
/// form body on POST — never both (RFC 6750 §2: one method per request).
fn bearer_token(method: &Method, headers: &HeaderMap, body: &[u8]) -> Result<String, ApiError> {
    let missing = || ApiError::new(ErrorCode::InvalidToken, Some("access token missing".into()));
    let from_header = match headers.get(header::AUTHORIZATION) {
        Some(value) => match bearer_credentials(value) {
            Some(token) => Some(token.to_string()),
            None => {
                return Err(ApiError::new(
                    ErrorCode::InvalidToken,
                    Some("access token rejected: not a Bearer token".into()),
                ))
            }
        },
        None => None,
    };
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let from_body = if *method == Method::POST && is_form {
        url::form_urlencoded::parse(body)
            .find(|(name, _)| name == "access_token")
            .map(|(_, value)| value.into_owned())
    } else {
        None
    };
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            Some("send the access token in the header or the body, not both".into()),
        )),
        (Some(token), None) | (None, Some(token)) => Ok(token),
        (None, None) => Err(missing()),
    }
}

/// A client the signed-in user approved.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentView {
    /// The client's id.
    pub client_id: Uuid,
    /// Its display name (absent if the client was deleted).
    pub client_name: Option<String>,
    /// The approved scopes.
    pub scopes: Vec<String>,
    /// First approval.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// The applications the caller has approved on the consent page.
#[utoipa::path(get, path = "/api/v1/users/me/consents", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<ConsentView>),
    ))]
pub async fn list_consents(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ConsentView>>, ApiError> {
    let consents = state.oidc.list_consents(caller.auth.user().user_id).await?;
    Ok(Json(
        consents
            .into_iter()
            .map(|(consent, client_name)| ConsentView {
                client_id: consent.client_id,
                client_name,
                scopes: consent.scopes,
                created_at: consent.created_at,
                updated_at: consent.updated_at,
            })
            .collect(),
    ))
}

/// Withdraw an approval: the client must ask again, and every session the
/// caller granted it ends (its tokens stop working).
#[utoipa::path(delete, path = "/api/v1/users/me/consents/{client_id}", tag = "users", security(("bearer" = [])),
    params(("client_id" = Uuid, Path, description = "The approved client")),
    responses(
        (status = 204, description = "Withdrawn"),
    ))]
pub async fn revoke_consent(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
) -> Result<Response, ApiError> {
    let client_id = Uuid::parse_str(&client_id)
        .map_err(|_| ApiError::new(ErrorCode::NotFound, Some("no such consent".into())))?;
    state
        .oidc
        .revoke_consent(caller.auth.user().user_id, client_id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
