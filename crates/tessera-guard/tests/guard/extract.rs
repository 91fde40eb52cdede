//! The extractors' answers: status codes, challenges and problem bodies.

use axum::body::Body;
use axum::extract::FromRef;
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use tessera_guard::{permission, role, Authenticated, Guard, RequirePermission, RequireRole};
use tower::ServiceExt;

use crate::support::{claims, dead_issuer, Stub, TestKey};

permission!(UserDelete, "user:delete");
permission!(ClientDelete, "client:delete");
role!(Admin, "admin");
role!(SuperAdmin, "super_admin");

/// A service state holding the guard among other things, as real services do.
#[derive(Clone, FromRef)]
struct AppState {
    guard: Guard,
    name: &'static str,
}

fn app(guard: Guard) -> Router {
    Router::new()
        .route(
            "/me",
            get(|Authenticated(claims): Authenticated| async move { Json(json!({"sub": claims.sub})) }),
        )
        .route(
            "/users",
            get(|RequirePermission(claims, _): RequirePermission<UserDelete>| async move { claims.sub }),
        )
        .route(
            "/clients",
            get(|_: RequirePermission<ClientDelete>| async { "ok" }),
        )
        .route("/admin", get(|_: RequireRole<Admin>| async { "ok" }))
        .route("/root", get(|_: RequireRole<SuperAdmin>| async { "ok" }))
        .route(
            "/name",
            get(|axum::extract::State(name): axum::extract::State<&'static str>| async move { name }),
        )
        .with_state(AppState { guard, name: "test" })
}

struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    content_type: Option<String>,
    body: Value,
}

async fn call(app: &Router, path: &str, authorization: Option<&str>) -> Answer {
    let mut request = Request::get(path);
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let text = |name| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    let challenge = text(header::WWW_AUTHENTICATE);
    let content_type = text(header::CONTENT_TYPE);
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        challenge,
        content_type,
        body,
    }
}

fn assert_problem(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status.as_u16(), status, "{}", answer.body);
    assert_eq!(answer.content_type.as_deref(), Some("application/problem+json"));
    assert_eq!(answer.body["status"], status);
    assert_eq!(answer.body["code"], code);
    assert_eq!(answer.body["type"], format!("urn:tessera:problem:{code}"));
    assert!(answer.body["title"].is_string());
    assert!(answer.body["detail"].is_string());
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn no_token_is_a_401_with_a_bare_bearer_challenge() {
    let stub = Stub::start(&[&TestKey::es256("k1")]).await;
    let app = app(stub.guard());

    for path in ["/me", "/users", "/admin"] {
        let answer = call(&app, path, None).await;
        assert_problem(&answer, 401, "invalid_token");
        assert_eq!(answer.challenge.as_deref(), Some("Bearer"));
    }
    let basic = call(&app, "/me", Some("Basic dXNlcjpwYXNz")).await;
    assert_problem(&basic, 401, "invalid_token");
    assert_eq!(basic.challenge.as_deref(), Some("Bearer"));
}

#[tokio::test]
async fn an_invalid_token_is_a_401_with_invalid_token() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let app = app(stub.guard());
    let mut expired = claims(&stub.url);
    expired["exp"] = json!(crate::support::now() - 3600);

    for authorization in [
        bearer("garbage"),
        "Bearer ".to_string(),
        bearer(&key.sign(&expired)),
        bearer(&TestKey::es256("k1").sign(&claims(&stub.url))),
    ] {
        let answer = call(&app, "/users", Some(&authorization)).await;
        assert_problem(&answer, 401, "invalid_token");
        assert_eq!(
            answer.challenge.as_deref(),
            Some(r#"Bearer error="invalid_token""#)
        );
    }
}

#[tokio::test]
async fn a_valid_token_reaches_the_handler() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let app = app(stub.guard());
    let token = bearer(&key.sign(&claims(&stub.url)));

    let me = call(&app, "/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["sub"], "0192f5a0-0000-7000-8000-000000000001");
    // `user:*` grants user:delete; the role admin is held directly.
    assert_eq!(call(&app, "/users", Some(&token)).await.status, StatusCode::OK);
    assert_eq!(call(&app, "/admin", Some(&token)).await.status, StatusCode::OK);
    assert_eq!(call(&app, "/name", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_missing_permission_or_role_is_a_403_with_insufficient_scope() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let app = app(stub.guard());
    let token = bearer(&key.sign(&claims(&stub.url)));

    let permission = call(&app, "/clients", Some(&token)).await;
    assert_problem(&permission, 403, "forbidden");
    assert_eq!(
        permission.challenge.as_deref(),
        Some(r#"Bearer error="insufficient_scope""#)
    );
    assert!(permission.body["detail"]
        .as_str()
        .unwrap()
        .contains("client:delete"));

    // Roles match exactly: holding admin does not make one a super_admin.
    let role = call(&app, "/root", Some(&token)).await;
    assert_problem(&role, 403, "forbidden");
    assert_eq!(
        role.challenge.as_deref(),
        Some(r#"Bearer error="insufficient_scope""#)
    );
    assert!(role.body["detail"].as_str().unwrap().contains("super_admin"));
}

#[tokio::test]
async fn the_star_permission_passes_every_permission_check() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let app = app(stub.guard());
    let mut body = claims(&stub.url);
    body["permissions"] = json!(["*"]);
    body["roles"] = json!(["super_admin"]);
    let token = bearer(&key.sign(&body));

    assert_eq!(call(&app, "/users", Some(&token)).await.status, StatusCode::OK);
    assert_eq!(call(&app, "/clients", Some(&token)).await.status, StatusCode::OK);
    assert_eq!(call(&app, "/root", Some(&token)).await.status, StatusCode::OK);
    assert_problem(&call(&app, "/admin", Some(&token)).await, 403, "forbidden");
}

#[tokio::test]
async fn a_token_without_a_permissions_claim_fails_require_permission_with_403() {
    let key = TestKey::es256("k1");
    let stub = Stub::start(&[&key]).await;
    let app = app(stub.guard());
    let mut body = claims(&stub.url);
    body.as_object_mut().unwrap().remove("permissions");
    let token = bearer(&key.sign(&body));

    let answer = call(&app, "/users", Some(&token)).await;

    assert_problem(&answer, 403, "forbidden");
    assert!(answer.body["detail"]
        .as_str()
        .unwrap()
        .contains("permissions claim"));
    assert_eq!(call(&app, "/me", Some(&token)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_unreachable_jwks_is_a_503_with_an_opaque_body() {
    let key = TestKey::es256("k1");
    let issuer = dead_issuer().await;
    let app = app(Guard::new(tessera_guard::GuardConfig::new(issuer.clone())).unwrap());

    let answer = call(&app, "/me", Some(&bearer(&key.sign(&claims(&issuer))))).await;

    assert_problem(&answer, 503, "jwks_unavailable");
    assert_eq!(answer.challenge, None);
    assert!(!answer.body.to_string().contains(&issuer), "{}", answer.body);
}
