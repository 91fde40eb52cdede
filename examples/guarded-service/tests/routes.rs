//! The example's routes without a Tessera: what needs no key set.
//! (The full flow against a real Tessera is `crates/tessera/tests/api/guard.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use tessera_guard::{Guard, GuardConfig};
use tower::ServiceExt;

fn app() -> axum::Router {
    // Nothing listens here: these requests must not need the key set.
    guarded_service::app(Guard::new(GuardConfig::new("http://127.0.0.1:9")).unwrap())
}

async fn get(path: &str, authorization: Option<&str>) -> (StatusCode, Option<String>, serde_json::Value) {
    let mut request = Request::get(path);
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    let response = app().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
    (status, challenge, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn public_needs_no_token() {
    let (status, _, body) = get("/public", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, serde_json::json!({"ok": true}));
}

#[tokio::test]
async fn protected_routes_answer_401_without_a_token() {
    for path in ["/me", "/reports", "/admin"] {
        let (status, challenge, body) = get(path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(challenge.as_deref(), Some("Bearer"));
        assert_eq!(body["code"], "invalid_token");
    }
}

#[tokio::test]
async fn a_malformed_token_is_refused_without_fetching_keys() {
    let (status, challenge, body) = get("/me", Some("Bearer not-a-jwt")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge.as_deref(), Some(r#"Bearer error="invalid_token""#));
    assert_eq!(body["code"], "invalid_token");
}
