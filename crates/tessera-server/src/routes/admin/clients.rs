//! `/api/v1/admin/clients`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_core::admin::{ClientChanges, ClientView};
use tessera_core::NewClient;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use super::{path_id, ItemList};
use crate::error::ApiError;
use crate::extract::{AdminCaller, ApiJson};
use crate::routes::admin::users::RoleBody;
use crate::routes::double_option;
use crate::state::AppState;

/// Routes under `/api/v1/admin/clients`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(crate::documented!(list_clients, create_client))
        .routes(crate::documented!(get_client, update_client, delete_client))
        .routes(crate::documented!(rotate_secret))
        .routes(crate::documented!(assign_role))
        .routes(crate::documented!(remove_role))
}

/// A client registration (never a secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientJson {
    /// The OAuth `client_id`.
    pub client_id: Uuid,
    /// Display name.
    pub name: String,
    /// `confidential` or `public`.
    pub client_type: String,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Grant types.
    pub grant_types: Vec<String>,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Token endpoint authentication method.
    pub token_endpoint_auth_method: String,
    /// JWK Set for `private_key_jwt`.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Skips consent.
    pub first_party: bool,
    /// Access-token lifetime override, seconds.
    pub access_token_ttl_secs: Option<i64>,
    /// Refresh-token idle lifetime override, seconds.
    pub refresh_idle_ttl_secs: Option<i64>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// ID-token algorithm (`null` = RS256).
    pub id_token_signed_response_alg: Option<String>,
    /// Whether access tokens carry `permissions`.
    pub token_permissions: bool,
    /// A legacy confidential client let off PKCE when it sends a `nonce`.
    pub pkce_optional: bool,
    /// The resource (RFC 8707) the client stands for: the `aud` of tokens
    /// other clients get for it.
    pub resource: Option<String>,
    /// The scopes of that resource.
    pub resource_scopes: Vec<String>,
    /// Roles of the client (for its client-credentials tokens).
    pub roles: Vec<String>,
    /// Lifetime of each secret issued to it, seconds (`null` = no expiry).
    pub secret_ttl_secs: Option<i64>,
    /// When its current secret expires (`null` = never; RFC 7591
    /// `client_secret_expires_at`).
    pub secret_expires_at: Option<DateTime<Utc>>,
    /// When the secret before the last rotation expires, if there is one
    /// and it expires.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Whether the client is disabled (it can then neither authenticate nor
    /// start an authorization request).
    pub disabled: bool,
    /// Since when it is disabled.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Registration time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<ClientView> for ClientJson {
    fn from(view: ClientView) -> Self {
        let c = view.client;
        ClientJson {
            client_id: c.client_id,
            name: c.name,
            client_type: c.client_type.as_str().to_string(),
            redirect_uris: c.redirect_uris,
            grant_types: c.grant_types.iter().map(|g| g.as_str().to_string()).collect(),
            scopes: c.scopes,
            token_endpoint_auth_method: c.token_endpoint_auth_method.as_str().to_string(),
            jwks: c.jwks,
            first_party: c.first_party,
            access_token_ttl_secs: c.access_token_ttl_secs,
            refresh_idle_ttl_secs: c.refresh_idle_ttl_secs,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            id_token_signed_response_alg: c.id_token_signed_response_alg,
            token_permissions: c.token_permissions,
            pkce_optional: c.pkce_optional,
            resource: c.resource,
            resource_scopes: c.resource_scopes,
            roles: view.roles,
            secret_ttl_secs: c.secret_ttl_secs,
            secret_expires_at: c.secret_expires_at,
            previous_secret_expires_at: c.previous_secret_expires_at,
            disabled: c.disabled_at.is_some(),
            disabled_at: c.disabled_at,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A newly registered client and its secret (shown this once).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedClient {
    /// The registration.
    #[serde(flatten)]
    pub client: ClientJson,
    /// The secret, for `client_secret_*` clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// A new secret (shown this once).
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedSecret {
    /// The client.
    pub client_id: Uuid,
    /// Its new secret; the previous one stays valid until the next
    /// rotation (or its own expiry).
    pub client_secret: String,
    /// When the new secret expires (`null` = never).
    pub client_secret_expires_at: Option<DateTime<Utc>>,
}

/// Body of `POST /admin/clients` (the fields of `tessera clients create`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClientBody {
    /// Display name.
    pub name: String,
    /// `confidential` or `public`.
    pub client_type: String,
    /// Redirect URIs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Grant types.
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// Scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Token endpoint authentication method.
    pub token_endpoint_auth_method: Option<String>,
    /// JWK Set for `private_key_jwt`.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Skips consent.
    #[serde(default)]
    pub first_party: bool,
    /// Access-token lifetime override, seconds.
    pub access_token_ttl_secs: Option<i64>,
    /// Refresh-token idle lifetime override, seconds.
    pub refresh_idle_ttl_secs: Option<i64>,
    /// Post-logout redirect URIs.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// ID-token algorithm.
    pub id_token_signed_response_alg: Option<String>,
    /// Whether access tokens carry `permissions` (default true).
    pub token_permissions: Option<bool>,
    /// Let a legacy confidential client off PKCE when its authorization
    /// request sends a `nonce` (default false: PKCE required, OAuth 2.1).
    #[serde(default)]
    pub pkce_optional: bool,
    /// The resource (RFC 8707) the client stands for, as a resource server:
    /// an absolute URI without fragment, unique in the tenant. Other
    /// clients send it as `resource` and get tokens with this `aud`; this
    /// client may introspect them.
    pub resource: Option<String>,
    /// The scopes of that resource (not OpenID Connect's or Tessera's).
    #[serde(default)]
    pub resource_scopes: Vec<String>,
    /// Lifetime of each secret issued to the client, seconds (60 to five
    /// years; default: secrets do not expire). Only for `client_secret_*`.
    pub secret_ttl_secs: Option<i64>,
    /// Register the client disabled (default false).
    #[serde(default)]
    pub disabled: bool,
}

/// Body of `PATCH /admin/clients/{id}`: absent fields stay, `null` clears.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClientBody {
    /// Display name.
    pub name: Option<String>,
    /// Redirect URIs.
    pub redirect_uris: Option<Vec<String>>,
    /// Grant types.
    pub grant_types: Option<Vec<String>>,
    /// Scopes.
    pub scopes: Option<Vec<String>>,
    /// JWK Set.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<Option<serde_json::Value>>,
    /// Skips consent.
    pub first_party: Option<bool>,
    /// Access-token lifetime override.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub access_token_ttl_secs: Option<Option<i64>>,
    /// Refresh-token idle lifetime override.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub refresh_idle_ttl_secs: Option<Option<i64>>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// ID-token algorithm.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub id_token_signed_response_alg: Option<Option<String>>,
    /// Whether access tokens carry `permissions`.
    pub token_permissions: Option<bool>,
    /// Let a legacy confidential client off PKCE when it sends a `nonce`.
    pub pkce_optional: Option<bool>,
    /// The resource (RFC 8707) it stands for; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub resource: Option<Option<String>>,
    /// The scopes of that resource.
    pub resource_scopes: Option<Vec<String>>,
    /// Lifetime of secrets issued from now on (the current secret keeps its
    /// expiry); `null` = secrets issued from now on do not expire.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub secret_ttl_secs: Option<Option<i64>>,
    /// `true` disables the client at once (token requests, introspection,
    /// revocation and authorization requests are refused with a reason);
    /// `false` enables it again.
    pub disabled: Option<bool>,
}

/// Every client.
#[utoipa::path(get, path = "/api/v1/admin/clients", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = ItemList<ClientJson>)))]
pub async fn list_clients(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
) -> Result<Json<ItemList<ClientJson>>, ApiError> {
    let clients = state.admin.list_clients(&caller.permit()?).await?;
    Ok(Json(ItemList {
        items: clients.into_iter().map(ClientJson::from).collect(),
    }))
}

/// Registers a client; its secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/admin/clients", tag = "admin", security(("bearer" = [])), request_body = CreateClientBody,
    responses((status = 201, body = CreatedClient)))]
pub async fn create_client(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    ApiJson(body): ApiJson<CreateClientBody>,
) -> Result<Response, ApiError> {
    let input = NewClient {
        name: body.name,
        client_type: body.client_type,
        redirect_uris: body.redirect_uris,
        grant_types: body.grant_types,
        scopes: body.scopes,
        token_endpoint_auth_method: body.token_endpoint_auth_method,
        jwks: body.jwks,
        first_party: body.first_party,
        access_token_ttl_secs: body.access_token_ttl_secs,
        refresh_idle_ttl_secs: body.refresh_idle_ttl_secs,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        id_token_signed_response_alg: body.id_token_signed_response_alg,
        token_permissions: body.token_permissions,
        pkce_optional: body.pkce_optional,
        resource: body.resource,
        resource_scopes: body.resource_scopes,
        secret_ttl_secs: body.secret_ttl_secs,
        disabled: body.disabled,
    };
    let registered = state.admin.create_client(&caller.permit()?, input).await?;
    let created = CreatedClient {
        client_secret: registered.secret.as_ref().map(|s| s.expose().to_string()),
        client: ClientJson::from(ClientView {
            client: registered.client,
            roles: Vec::new(),
        }),
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// One client.
#[utoipa::path(get, path = "/api/v1/admin/clients/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Client id")),
    responses((status = 200, body = ClientJson)))]
pub async fn get_client(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<ClientJson>, ApiError> {
    Ok(Json(
        state
            .admin
            .get_client(&caller.permit()?, path_id(&id)?)
            .await?
            .into(),
    ))
}

/// Changes a client's registration.
#[utoipa::path(patch, path = "/api/v1/admin/clients/{id}", tag = "admin", security(("bearer" = [])), request_body = UpdateClientBody,
    params(("id" = String, Path, description = "Client id")),
    responses((status = 200, body = ClientJson)))]
pub async fn update_client(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateClientBody>,
) -> Result<Json<ClientJson>, ApiError> {
    let changes = ClientChanges {
        name: body.name,
        redirect_uris: body.redirect_uris,
        grant_types: body.grant_types,
        scopes: body.scopes,
        jwks: body.jwks,
        first_party: body.first_party,
        access_token_ttl_secs: body.access_token_ttl_secs,
        refresh_idle_ttl_secs: body.refresh_idle_ttl_secs,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        id_token_signed_response_alg: body.id_token_signed_response_alg,
        token_permissions: body.token_permissions,
        pkce_optional: body.pkce_optional,
        resource: body.resource,
        resource_scopes: body.resource_scopes,
        secret_ttl_secs: body.secret_ttl_secs,
        disabled: body.disabled,
    };
    let client = state
        .admin
        .update_client(&caller.permit()?, path_id(&id)?, changes)
        .await?;
    Ok(Json(client.into()))
}

/// Deletes a client.
#[utoipa::path(delete, path = "/api/v1/admin/clients/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Client id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_client(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .admin
        .delete_client(&caller.permit()?, path_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotates a client's secret.
#[utoipa::path(post, path = "/api/v1/admin/clients/{id}/secret", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Client id")),
    responses((status = 200, body = RotatedSecret)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
) -> Result<Json<RotatedSecret>, ApiError> {
    let client_id = path_id(&id)?;
    let secret = state
        .admin
        .rotate_client_secret(&caller.permit()?, client_id)
        .await?;
    Ok(Json(RotatedSecret {
        client_id,
        client_secret: secret.expose().to_string(),
        client_secret_expires_at: secret.expires_at(),
    }))
}

/// Assigns a role to a client.
#[utoipa::path(post, path = "/api/v1/admin/clients/{id}/roles", tag = "admin", security(("bearer" = [])), request_body = RoleBody,
    params(("id" = String, Path, description = "Client id")),
    responses((status = 200, body = ClientJson)))]
pub async fn assign_role(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<Json<ClientJson>, ApiError> {
    let client = state
        .admin
        .assign_client_role(&caller.permit()?, path_id(&id)?, &body.role)
        .await?;
    Ok(Json(client.into()))
}

/// Removes a role from a client.
#[utoipa::path(delete, path = "/api/v1/admin/clients/{id}/roles/{role}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Client id"), ("role" = String, Path, description = "Role name")),
    responses((status = 200, body = ClientJson)))]
pub async fn remove_role(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    Path((id, role)): Path<(String, String)>,
) -> Result<Json<ClientJson>, ApiError> {
    let client = state
        .admin
        .remove_client_role(&caller.permit()?, path_id(&id)?, &role)
        .await?;
    Ok(Json(client.into()))
}
