//! The OAuth 2.0 endpoints: token (RFC 6749: authorization code with PKCE,
//! refresh token, client credentials), introspection (RFC 7662) and
//! revocation (RFC 7009). They take
//! `application/x-www-form-urlencoded` bodies, authenticate the calling
//! client, and answer errors as RFC 6749 §5.2 JSON ([`ApiError::oauth`]).

use std::collections::HashMap;
use utoipa_axum::router::OpenApiRouter;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tessera_core::{ClientAuthEndpoint, Introspection};
use tessera_store::{Client, GrantType};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorCode, OAuthErrorBody};
use crate::state::AppState;

mod client_auth;
use client_auth::authenticate_client;

/// Routes under `/oauth2`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(crate::documented!(issue_token))
        .routes(crate::documented!(introspect_token))
        .routes(crate::documented!(revoke_token))
}

/// Form of the token request (RFC 6749 §4.1.3, §6, §4.4.2), as
/// documentation: the body is parsed by hand so that repeated parameters
/// can be refused (§3.2).
#[derive(Debug, ToSchema)]
pub struct TokenForm {
    /// `authorization_code`, `refresh_token` or `client_credentials`.
    pub grant_type: String,
    /// authorization_code: the code from the authorization response.
    pub code: Option<String>,
    /// authorization_code: the redirect URI of the authorization request.
    pub redirect_uri: Option<String>,
    /// authorization_code: the PKCE verifier (RFC 7636 §4.5).
    pub code_verifier: Option<String>,
    /// refresh_token: the refresh token.
    pub refresh_token: Option<String>,
    /// Space-separated scopes. client_credentials: absent means every scope
    /// of the client; refresh_token: a subset of the granted ones.
    pub scope: Option<String>,
    /// RFC 8707 resource indicator. client_credentials: a registered
    /// resource the token is for (its `aud`); authorization_code and
    /// refresh_token: may repeat the grant's resource, nothing else.
    pub resource: Option<String>,
    /// With `client_secret_post`: the client id (optional with
    /// `private_key_jwt`, then equal to the assertion's issuer).
    pub client_id: Option<String>,
    /// With `client_secret_post`: the client secret.
    pub client_secret: Option<String>,
    /// With `private_key_jwt`:
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    pub client_assertion_type: Option<String>,
    /// With `private_key_jwt`: the signed client assertion (RFC 7523 §2.2).
    pub client_assertion: Option<String>,
}

/// Form of introspection and revocation requests (RFC 7662 §2.1, RFC 7009
/// §2.1), plus the client credentials of `client_secret_post` or
/// `private_key_jwt`.
#[derive(Debug, ToSchema)]
pub struct TokenActionForm {
    /// The access or refresh token.
    pub token: String,
    /// `access_token` or `refresh_token`; optional, and not needed (the
    /// type is told by the token's shape).
    pub token_type_hint: Option<String>,
    /// With `client_secret_post`: the client id (optional with
    /// `private_key_jwt`, then equal to the assertion's issuer).
    pub client_id: Option<String>,
    /// With `client_secret_post`: the client secret.
    pub client_secret: Option<String>,
    /// With `private_key_jwt`:
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    pub client_assertion_type: Option<String>,
    /// With `private_key_jwt`: the signed client assertion (RFC 7523 §2.2).
    pub client_assertion: Option<String>,
}

/// Successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthTokenResponse {
    /// JWT access token (RFC 9068).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Lifetime of the access token, seconds.
    pub expires_in: u64,
    /// Granted scopes, space-separated (absent when the client has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Rotating refresh token (authorization code and refresh grants, for
    /// clients registered for `refresh_token`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// ID token (OIDC Core §3.1.3.3), when `openid` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl From<tessera_core::OidcTokens> for OAuthTokenResponse {
    fn from(tokens: tessera_core::OidcTokens) -> Self {
        OAuthTokenResponse {
            access_token: tokens.access_token,
            token_type: "Bearer",
            expires_in: tokens.expires_in,
            scope: Some(tokens.scope).filter(|s| !s.is_empty()),
            refresh_token: tokens.refresh_token,
            id_token: tokens.id_token,
        }
    }
}

/// Introspection response (RFC 7662 §2.2): `{"active": false}` alone for
/// any token that is not live.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct IntrospectionResponse {
    /// Whether the token is live.
    pub active: bool,
    /// Granted scopes, space-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Subject: user id, or client id for a client's own token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Expiry, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issue time, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Token id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// `Bearer` for access tokens, `refresh_token` for refresh tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    /// The user's session, for user tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// A parsed form body: each parameter at most once, empty values omitted.
type Form = HashMap<String, String>;

/// Issues tokens (RFC 6749 §3.2): exchanges an authorization code (with
/// PKCE, RFC 7636), rotates a refresh token, or issues a client its own
/// token (client credentials). Public clients identify themselves with
/// `client_id` alone; confidential clients authenticate with the method
/// they registered: HTTP Basic (`client_secret_basic`), `client_id` and
/// `client_secret` in the form (`client_secret_post`), or a signed
/// `client_assertion` (`private_key_jwt`).
#[utoipa::path(post, path = "/oauth2/token", tag = "oauth", security((), ("client_basic" = [])),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Access token, and refresh and ID tokens where granted; Cache-Control: no-store", body = OAuthTokenResponse),
        (status = 400, description = "invalid_request, unsupported_grant_type, unauthorized_client, invalid_scope or invalid_target (RFC 8707)", body = OAuthErrorBody),
        (status = 401, description = "invalid_client (WWW-Authenticate: Basic when Basic was tried)", body = OAuthErrorBody),
        (status = 503, description = "temporarily_unavailable: database down", body = OAuthErrorBody),
    ))]
pub async fn issue_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut grant_label = "unknown";
    let result = async {
        let form = parse_form(&headers, body)?;
        let grant_type = form
            .get("grant_type")
            .ok_or_else(|| invalid_request("grant_type is required"))?;
        let grant = GrantType::parse(grant_type);
        grant_label = grant.map_or("unsupported", GrantType::as_str);
        let Some(grant) = grant else {
            return Err(ApiError::new(
                ErrorCode::UnsupportedGrantType,
                Some("supported: authorization_code, refresh_token, client_credentials".into()),
            ));
        };
        let client = authenticate_client(
            &state,
            &headers,
            &form,
            grant != GrantType::ClientCredentials,
            ClientAuthEndpoint::Token,
        )
        .await?;
        // RFC 6749 §5.2: a grant the client is not registered for is
        // unauthorized_client, whatever else the request lacks.
        if !client.grant_types.contains(&grant) {
            return Err(tessera_core::AuthError::UnauthorizedClient.into());
        }
        grant_response(&state, &client, grant, &form).await
    }
    .await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(err) => err.code().describe().0,
    };
    metrics::counter!("tessera_tokens_issued_total", "grant_type" => grant_label, "result" => outcome)
        .increment(1);
    match result {
        Ok(body) => no_store(Json(body).into_response()),
        Err(err) => err.oauth().into_response(),
    }
}

/// The token response of an authenticated `client` for `grant`, from the
/// form's parameters.
async fn grant_response(
    state: &AppState,
    client: &Client,
    grant: GrantType,
    form: &Form,
) -> Result<OAuthTokenResponse, ApiError> {
    let field = |name: &str| form.get(name).map(String::as_str);
    Ok(match grant {
        GrantType::ClientCredentials => {
            let resource = match field("resource") {
                Some(identifier) => Some(state.clients.resource(identifier).await?),
                None => None,
            };
            let issued = state
                .auth
                .issue_client_credentials(client, field("scope"), resource.as_ref())
                .await?;
            OAuthTokenResponse {
                access_token: issued.access_token,
                token_type: "Bearer",
                expires_in: issued.expires_in,
                scope: issued.scope,
                refresh_token: None,
                id_token: None,
            }
        }
        GrantType::AuthorizationCode => {
            let code = field("code").ok_or_else(|| invalid_request("code is required"))?;
            state
                .oidc
                .exchange_code(
                    client,
                    code,
                    field("redirect_uri"),
                    field("code_verifier"),
                    field("resource"),
                )
                .await?
                .into()
        }
        GrantType::RefreshToken => {
            let token = field("refresh_token").ok_or_else(|| invalid_request("refresh_token is required"))?;
            state
                .oidc
                .refresh(client, token, field("scope"), field("resource"))
                .await?
                .into()
        }
    })
}

/// Tells a client whether a token is live, and what it carries (RFC 7662).
///
/// Only confidential clients may introspect; they authenticate as at the
/// token endpoint (HTTP Basic, `client_secret_post` or `private_key_jwt`).
#[utoipa::path(post, path = "/oauth2/introspect", tag = "oauth", security(("client_basic" = [])),
    request_body(content = TokenActionForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token's state; {\"active\": false} alone when not live", body = IntrospectionResponse),
        (status = 400, description = "invalid_request: not a form, or no token", body = OAuthErrorBody),
        (status = 401, description = "invalid_client", body = OAuthErrorBody),
        (status = 503, description = "temporarily_unavailable: database down", body = OAuthErrorBody),
    ))]
pub async fn introspect_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let form = parse_form(&headers, body)?;
        let caller =
            authenticate_client(&state, &headers, &form, false, ClientAuthEndpoint::Introspection).await?;
        let token = form
            .get("token")
            .ok_or_else(|| invalid_request("token is required"))?;
        let issuer = state.auth.issuer().to_string();
        Ok::<_, ApiError>(match state.auth.introspect(token, &caller).await? {
            Introspection::Inactive => IntrospectionResponse::default(),
            Introspection::AccessToken(claims) => IntrospectionResponse {
                active: true,
                scope: claims.scope.clone(),
                client_id: Some(claims.client_id.clone()),
                sub: Some(claims.sub.clone()),
                exp: Some(claims.exp),
                iat: Some(claims.iat),
                iss: Some(claims.iss.clone()),
                aud: Some(claims.aud.clone()),
                jti: Some(claims.jti.clone()),
                token_type: Some("Bearer"),
                sid: claims.sid.map(|sid| sid.to_string()),
            },
            Introspection::RefreshToken {
                user_id,
                client_id,
                scope,
                session_id,
                issued_at,
                expires_at,
            } => IntrospectionResponse {
                active: true,
                scope,
                client_id: Some(client_id.map_or_else(
                    || tessera_core::jwt::FIRST_PARTY_CLIENT_ID.to_string(),
                    |id| id.to_string(),
                )),
                sub: Some(user_id.to_string()),
                exp: Some(expires_at.timestamp()),
                iat: Some(issued_at.timestamp()),
                iss: Some(issuer),
                token_type: Some("refresh_token"),
                sid: Some(session_id.to_string()),
                ..IntrospectionResponse::default()
            },
        })
    }
    .await;
    match result {
        Ok(body) => no_store(Json(body).into_response()),
        Err(err) => err.oauth().into_response(),
    }
}

/// Revokes a token (RFC 7009): a refresh token ends its session, an access
/// token is denied until it expires. Unknown or invalid tokens are a
/// success too (§2.2). Confidential clients authenticate as at the token
/// endpoint; public clients send their `client_id` (§2.1).
#[utoipa::path(post, path = "/oauth2/revoke", tag = "oauth", security((), ("client_basic" = [])),
    request_body(content = TokenActionForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke (empty body)"),
        (status = 400, description = "invalid_request: not a form, or no token", body = OAuthErrorBody),
        (status = 401, description = "invalid_client", body = OAuthErrorBody),
        (status = 503, description = "temporarily_unavailable: database down", body = OAuthErrorBody),
    ))]
pub async fn revoke_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let form = parse_form(&headers, body)?;
        // RFC 7009 §2.1: public clients may revoke their own tokens too.
        let client =
            authenticate_client(&state, &headers, &form, true, ClientAuthEndpoint::Revocation).await?;
        let token = form
            .get("token")
            .ok_or_else(|| invalid_request("token is required"))?;
        state
            .auth
            .revoke_token(token, &client)
            .await
            .map_err(|err| match err {
                tessera_core::AuthError::UnauthorizedClient => ApiError::new(
                    ErrorCode::UnauthorizedClient,
                    Some("the token was not issued to this client".into()),
                ),
                other => other.into(),
            })?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(err) => err.oauth().into_response(),
    }
}

/// RFC 6749 §5.1: token responses must not be cached.
fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn invalid_request(why: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, Some(why.to_string()))
}

/// Parses an `application/x-www-form-urlencoded` body. Parameters without
/// a value count as omitted (RFC 6749 §3.1); a repeated one is an error
/// (§3.1, §3.2).
fn parse_form(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Form, ApiError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let body = body.map_err(|_| invalid_request("the body could not be read (too large?)"))?;
    let mut form = Form::new();
    for (name, value) in url::form_urlencoded::parse(&body) {
        if value.is_empty() {
            continue;
        }
        if form.insert(name.to_string(), value.into_owned()).is_some() {
            return Err(invalid_request(&format!("parameter {name} is repeated")));
        }
    }
    Ok(form)
}
