//! `/t/{slug}/…`: requests for a tenant other than the default one are
//! answered by that tenant's own routes (its own issuer, keys, users,
//! clients and roles), with the prefix taken off the path.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;

use crate::error::{ApiError, ErrorCode};
use crate::state::TenantDirectory;

/// Forwards the request to the routes of the tenant its path names; an
/// unknown or disabled tenant is 404.
pub async fn dispatch(State(directory): State<Arc<dyn TenantDirectory>>, request: Request) -> Response {
    let Some((slug, rest)) = split_tenant_path(request.uri()) else {
        return no_such_tenant();
    };
    forward(directory.as_ref(), &slug, rest, request).await
}

/// `GET /.well-known/oauth-authorization-server/t/{slug}`: where RFC 8414
/// §3.1 puts the metadata of an issuer with a path (the well-known segment
/// goes between host and path), answered by the tenant's own metadata.
pub async fn authorization_server_metadata(
    State(directory): State<Arc<dyn TenantDirectory>>,
    request: Request,
) -> Response {
    let slug = request
        .uri()
        .path()
        .strip_prefix("/.well-known/oauth-authorization-server/t/")
        .unwrap_or_default()
        .to_string();
    if slug.is_empty() || slug.contains('/') {
        return no_such_tenant();
    }
    forward(
        directory.as_ref(),
        &slug,
        "/.well-known/oauth-authorization-server".to_string(),
        request,
    )
    .await
}

/// Answers `request` with the routes of tenant `slug`, its path replaced by
/// `rest` (path and query within the tenant).
async fn forward(
    directory: &dyn TenantDirectory,
    slug: &str,
    rest: String,
    mut request: Request,
) -> Response {
    let handle = match directory.tenant(slug).await {
        Ok(Some(handle)) => handle,
        Ok(None) => return no_such_tenant(),
        Err(err) => return ApiError::from(err).into_response(),
    };
    let Ok(uri) = rest.parse::<Uri>() else {
        return no_such_tenant();
    };
    // A fresh request: the outer router's path parameters live in the
    // extensions and would confuse the tenant's own `Path` extractors; only
    // the peer address is carried over.
    let connect_info = request.extensions_mut().remove::<ConnectInfo<SocketAddr>>();
    let (parts, body) = request.into_parts();
    let mut forwarded = Request::new(body);
    *forwarded.method_mut() = parts.method;
    *forwarded.uri_mut() = uri;
    *forwarded.version_mut() = parts.version;
    *forwarded.headers_mut() = parts.headers;
    if let Some(info) = connect_info {
        forwarded.extensions_mut().insert(info);
    }
    match handle.routes.clone().oneshot(forwarded).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// `("acme", "/oauth2/token?x=1")` for `/t/acme/oauth2/token?x=1`; the rest
/// is `/` when the path ends at the slug.
fn split_tenant_path(uri: &Uri) -> Option<(String, String)> {
    let after = uri.path().strip_prefix("/t/")?;
    let (slug, path) = match after.find('/') {
        Some(at) => (&after[..at], &after[at..]),
        None => (after, "/"),
    };
    if slug.is_empty() {
        return None;
    }
    let rest = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    };
    Some((slug.to_string(), rest))
}

fn no_such_tenant() -> Response {
    ApiError::new(ErrorCode::NotFound, Some("no such tenant".into())).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_paths_split_into_slug_and_the_rest() {
        let split = |s: &str| split_tenant_path(&s.parse::<Uri>().unwrap_or_default());
        assert_eq!(
            split("/t/acme/oauth2/token?a=1"),
            Some(("acme".into(), "/oauth2/token?a=1".into()))
        );
        assert_eq!(split("/t/acme"), Some(("acme".into(), "/".into())));
        assert_eq!(split("/t//x"), None);
        assert_eq!(split("/x/acme"), None);
    }
}
