//! tessera-guard against a real Tessera: the example service
//! (`examples/guarded-service`) runs in-process on 127.0.0.1:0 and accepts
//! only what this server's tokens grant.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tessera_guard::{Guard, GuardConfig};

use crate::helpers::{assert_problem, header, jwt_part, user_id, user_with_role, TestApp};

const ROOT_EMAIL: &str = "guard-root@example.com";
const ROOT_PASSWORD: &str = "Sentinel-passphrase-58-kite";

/// The first start creates [`ROOT_EMAIL`] as `super_admin`.
fn bootstrap_root(config: &mut tessera::Config) {
    config.bootstrap_admin_email = Some(ROOT_EMAIL.into());
    config.bootstrap_admin_password = Some(ROOT_PASSWORD.to_string().into());
}

/// The example service, guarded by `issuer`'s tokens; its base URL.
async fn spawn_service(issuer: &str) -> String {
    let guard = Guard::new(GuardConfig::new(issuer)).expect("guard");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, guarded_service::app(guard)).await;
    });
    url
}

/// `method path` on the service, with an optional bearer token.
async fn call(
    app: &TestApp,
    service: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
) -> reqwest::Response {
    let mut request = app.client.request(method, format!("{service}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request to the guarded service")
}

/// Asserts a 403 of a missing permission or role.
async fn assert_forbidden(response: reqwest::Response) {
    assert_eq!(
        header(&response, "www-authenticate"),
        r#"Bearer error="insufficient_scope""#
    );
    assert_problem(response, 403, "forbidden").await;
}

/// `token` with its payload replaced by `claims` (signature kept).
fn with_payload(token: &str, claims: &Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let parts: Vec<&str> = token.split('.').collect();
    format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    )
}

crate::every_engine_with! {
    async fn the_example_service_accepts_only_what_tessera_tokens_grant(app) with bootstrap_root; {
        let service = spawn_service(&app.url).await;

        // No token: public is open, the rest answers 401 with a bare challenge.
        let public = call(&app, &service, Method::GET, "/public", None).await;
        assert_eq!(public.status(), StatusCode::OK);
        assert_eq!(public.json::<Value>().await.unwrap(), json!({"ok": true}));
        let anonymous = call(&app, &service, Method::GET, "/me", None).await;
        assert_eq!(header(&anonymous, "www-authenticate"), "Bearer");
        assert_problem(anonymous, 401, "invalid_token").await;

        // A registered user: role `user`, no admin permissions.
        let (user, tokens, _) = app.signed_in_user().await;
        let token = tokens.access_token.as_str();
        let me = call(&app, &service, Method::GET, "/me", Some(token)).await;
        assert_eq!(me.status(), StatusCode::OK);
        let me: Value = me.json().await.unwrap();
        assert_eq!(me["sub"], user_id(&user));
        assert_eq!(me["roles"], json!(["user"]));
        assert_eq!(me["tid"], jwt_part(token, 1)["tid"]);
        assert_forbidden(call(&app, &service, Method::GET, "/reports", Some(token)).await).await;
        assert_forbidden(call(&app, &service, Method::DELETE, "/users/x", Some(token)).await).await;
        assert_forbidden(call(&app, &service, Method::GET, "/admin", Some(token)).await).await;

        // The bootstrap super_admin: every permission (`*`), but not the
        // role `admin` itself — RequireRole matches roles exactly.
        let root = app.login(ROOT_EMAIL, ROOT_PASSWORD).await.access_token;
        assert_eq!(jwt_part(&root, 1)["roles"], json!(["super_admin"]));
        let reports = call(&app, &service, Method::GET, "/reports", Some(&root)).await;
        assert_eq!(reports.status(), StatusCode::OK);
        let deleted = call(&app, &service, Method::DELETE, "/users/x", Some(&root)).await;
        assert_eq!(deleted.status(), StatusCode::OK);
        assert_eq!(deleted.json::<Value>().await.unwrap()["deleted"], "x");
        assert_forbidden(call(&app, &service, Method::GET, "/admin", Some(&root)).await).await;

        // A user holding the role `admin` passes both kinds of check.
        let (_, admin) = user_with_role(&app, &root, "admin").await;
        for (method, path) in [(Method::GET, "/admin"), (Method::GET, "/reports"), (Method::DELETE, "/users/x")] {
            let response = call(&app, &service, method, path, Some(&admin)).await;
            assert_eq!(response.status(), StatusCode::OK, "admin on {path}");
        }

        // A user token whose payload was edited to claim everything.
        let mut elevated = jwt_part(token, 1);
        elevated["roles"] = json!(["admin"]);
        elevated["permissions"] = json!(["*"]);
        let tampered = with_payload(token, &elevated);
        let refused = call(&app, &service, Method::GET, "/reports", Some(&tampered)).await;
        assert_eq!(header(&refused, "www-authenticate"), r#"Bearer error="invalid_token""#);
        assert_problem(refused, 401, "invalid_token").await;

        // A token of another Tessera (its own keys and issuer).
        let other = TestApp::spawn(app.engine).await;
        let (_, foreign, _) = other.signed_in_user().await;
        let refused = call(&app, &service, Method::GET, "/me", Some(&foreign.access_token)).await;
        assert_problem(refused, 401, "invalid_token").await;
        other.stop().await;
    }
}
