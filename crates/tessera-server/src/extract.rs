//! Extractors that turn requests into typed input or a problem response.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use serde::de::DeserializeOwned;
use tessera_core::Authenticated;

use crate::cookies::{ACCESS_COOKIE, CSRF_HEADER, CSRF_NONCE_COOKIE};
use crate::csrf::{plausible_nonce, CsrfPurpose};
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// `Json<T>` whose rejections are problem documents with our codes. The body
/// must be a JSON object: every request body of this API is one, and letting
/// serde read a struct from an array would accept `["id","pw"]` as a login.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = read_body(Request::from_parts(parts.clone(), body), state).await?;
        decode_json_object(&parts.headers, &bytes).map(ApiJson)
    }
}

/// Decode a request body that must be `application/json` (or `+json`) holding
/// one JSON object, mapping each failure to its problem code.
pub fn decode_json_object<T: DeserializeOwned>(headers: &HeaderMap, bytes: &[u8]) -> Result<T, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|essence| {
            essence == "application/json"
                || (essence.starts_with("application/") && essence.ends_with("+json"))
        });
    if !is_json {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            Some("expected Content-Type: application/json".into()),
        ));
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        let code = if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
            ErrorCode::InvalidBody
        } else {
            ErrorCode::MalformedJson
        };
        return Err(ApiError::new(
            code,
            Some("request body must be a JSON object".into()),
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let code = if err.inner().is_data() {
            ErrorCode::InvalidBody
        } else {
            ErrorCode::MalformedJson
        };
        ApiError::new(code, Some(err.to_string()))
    })?;
    deserializer
        .end()
        .map_err(|err| ApiError::new(ErrorCode::MalformedJson, Some(err.to_string())))?;
    Ok(value)
}

/// A JSON object body that may also be absent (empty): `None` then. A body
/// that is present is held to the rules of [`ApiJson`].
pub struct OptionalJson<T>(pub Option<T>);

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = read_body(Request::from_parts(parts.clone(), body), state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        decode_json_object(&parts.headers, &bytes).map(|value| OptionalJson(Some(value)))
    }
}

/// The body of `req`, within the size limit.
async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                Some("request body exceeds the limit".into()),
            )
        } else {
            ApiError::new(ErrorCode::MalformedJson, Some(rejection.body_text()))
        }
    })
}

/// `Query<T>` whose rejections are problem documents (`invalid_query`).
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|rejection| ApiError::new(ErrorCode::InvalidQuery, Some(rejection.body_text())))
    }
}

/// A signed-in caller, from `Authorization: Bearer` or, in cookie mode, the
/// access-token cookie (then state-changing methods must carry the CSRF
/// token of the browser's CSRF nonce cookie in the CSRF header).
pub struct Caller {
    /// The verified identity.
    pub auth: Authenticated,
    /// Whether it came from a cookie (so responses should manage cookies).
    pub via_cookie: bool,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (token, via_cookie) = presented_token(parts, state)?;
        let auth = state.auth.authenticate(&token).await?;
        Ok(Caller { auth, via_cookie })
    }
}

/// A caller of the admin API: a signed-in user or a machine client (its
/// client-credentials token), with the roles and permissions it holds now.
/// Bearer token or, in cookie mode, the access-token cookie with the CSRF
/// check on writes.
pub struct AdminCaller(pub tessera_core::Caller);

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (token, _) = presented_token(parts, state)?;
        Ok(AdminCaller(state.admin.caller(&token).await?))
    }
}

/// The credentials of an `Authorization: Bearer <token>` header value; the
/// scheme is case-insensitive (RFC 7235 §2.1): `BEARER x` too. `None` for
/// another scheme or an empty token.
pub(crate) fn bearer_credentials(value: &HeaderValue) -> Option<&str> {
    value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
}

/// The access token of a request: from `Authorization: Bearer`, else from
/// the access-token cookie (after the CSRF check); whether it was the cookie.
fn presented_token(parts: &Parts, state: &AppState) -> Result<(String, bool), ApiError> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let token = bearer_credentials(value).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidToken,
                Some("Authorization must be 'Bearer <token>'".into()),
            )
        })?;
        return Ok((token.to_string(), false));
    }
    let Some(token) = ACCESS_COOKIE.read(&parts.headers, &state.http) else {
        return Err(ApiError::new(
            ErrorCode::InvalidToken,
            Some("access token missing".into()),
        ));
    };
    check_csrf(parts, state)?;
    Ok((token, true))
}

/// For cookie-authenticated requests with a state-changing method: the
/// CSRF header must carry the token of the browser's CSRF nonce.
pub fn check_csrf(parts: &Parts, state: &AppState) -> Result<(), ApiError> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    check_csrf_of_write(&parts.headers, state)
}

/// For a cookie-authenticated write: the CSRF header must be the token the
/// server derived from the `HttpOnly` nonce cookie (see [`crate::csrf`]).
/// Equal values planted in the readable CSRF cookie and the header prove
/// nothing: the readable cookie is not consulted.
pub fn check_csrf_of_write(headers: &HeaderMap, state: &AppState) -> Result<(), ApiError> {
    let nonce = CSRF_NONCE_COOKIE
        .read(headers, &state.http)
        .filter(|nonce| plausible_nonce(nonce));
    let header = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    match (nonce, header) {
        (Some(nonce), Some(header)) if state.http.csrf_key.verify(CsrfPurpose::Api, &nonce, "", header) => {
            Ok(())
        }
        _ => Err(ApiError::new(
            ErrorCode::CsrfFailed,
            Some(format!(
                "cookie-authenticated requests must send the {CSRF_HEADER} header"
            )),
        )),
    }
}

/// Where a request came from, recorded on new sessions.
pub struct ClientMeta {
    /// Peer IP address.
    pub ip: Option<String>,
    /// User-Agent header.
    pub user_agent: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ClientMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(ClientMeta { ip, user_agent })
    }
}
