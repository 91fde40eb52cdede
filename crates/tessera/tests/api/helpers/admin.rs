//! Helpers of the RBAC and admin API tests: a bootstrap super_admin, users
//! and machine clients created through the admin API, admin calls.

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use tessera::Config;

use super::{unique_email, user_id, TestApp, Tokens};

/// Email of the bootstrap super_admin of [`with_bootstrap_admin`].
pub const ROOT_EMAIL: &str = "root@example.com";
/// Password of the bootstrap super_admin.
pub const ROOT_PASSWORD: &str = "Harbor-Lantern-Quartz-2024";
/// A password every test user can have (passes the default policy).
pub const MEMBER_PASSWORD: &str = "plausible-Passphrase-93";

/// Config tweak: the first start creates [`ROOT_EMAIL`] as `super_admin`.
pub fn with_bootstrap_admin(config: &mut Config) {
    config.bootstrap_admin_email = Some(ROOT_EMAIL.into());
    config.bootstrap_admin_password = Some(ROOT_PASSWORD.to_string().into());
}

/// Like `every_engine!`, on a server started with a bootstrap
/// super_admin ([`with_bootstrap_admin`]).
#[macro_export]
macro_rules! every_engine_admin {
    ($( $(#[$meta:meta])* async fn $name:ident($app:ident) $body:block )*) => {
        $crate::every_engine_with! {
            $( $(#[$meta])* async fn $name($app) with $crate::helpers::with_bootstrap_admin; $body )*
        }
    };
}

/// An access token of the bootstrap super_admin.
pub async fn admin_token(app: &TestApp) -> String {
    app.login(ROOT_EMAIL, ROOT_PASSWORD).await.access_token
}

/// A user created through the admin API, signed in.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub email: String,
    pub tokens: Tokens,
}

/// Creates a user holding exactly `roles` (as `admin`, 201 expected) and
/// signs it in.
pub async fn member_with_roles(app: &TestApp, admin: &str, roles: &[&str]) -> Member {
    let email = unique_email("member");
    let body = json!({"email": email, "password": MEMBER_PASSWORD, "roles": roles});
    let user = app
        .admin_ok(Method::POST, "/api/v1/admin/users", admin, Some(body), 201)
        .await;
    let tokens = app.login(&email, MEMBER_PASSWORD).await;
    Member {
        id: user_id(&user),
        email,
        tokens,
    }
}

/// A user holding `role`, created by `admin`: its id and an access token.
pub async fn user_with_role(app: &TestApp, admin: &str, role: &str) -> (String, String) {
    let member = member_with_roles(app, admin, &[role]).await;
    (member.id, member.tokens.access_token)
}

/// A machine client registered through the admin API.
#[derive(Debug, Clone)]
pub struct MachineClient {
    pub id: String,
    pub secret: String,
}

/// Registers a confidential `client_credentials` client (Basic auth) with
/// `extra` merged into the body; returns it and the 201 answer.
pub async fn machine_client(app: &TestApp, admin: &str, extra: Value) -> (MachineClient, Value) {
    let mut body = json!({
        "name": "Machine",
        "client_type": "confidential",
        "grant_types": ["client_credentials"],
        "scopes": ["invoices:read"],
        "token_endpoint_auth_method": "client_secret_basic",
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        for (key, value) in extra {
            body.insert(key.clone(), value.clone());
        }
    }
    let created = app
        .admin_ok(Method::POST, "/api/v1/admin/clients", admin, Some(body), 201)
        .await;
    let client = MachineClient {
        id: created["client_id"].as_str().expect("client_id").to_string(),
        secret: created["client_secret"]
            .as_str()
            .expect("client_secret shown once")
            .to_string(),
    };
    (client, created)
}

/// `POST /oauth2/token` with `grant_type=client_credentials` and HTTP Basic.
pub async fn client_credentials_response(app: &TestApp, id: &str, secret: &str) -> Response {
    app.client
        .post(app.at("/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("request")
}

/// A client-credentials access token (200 expected).
pub async fn client_credentials_token(app: &TestApp, id: &str, secret: &str) -> String {
    let response = client_credentials_response(app, id, secret).await;
    let status = response.status();
    let body: Value = response.json().await.expect("token json");
    assert_eq!(
        status,
        StatusCode::OK,
        "client_credentials for {id}: expected 200, got {body}"
    );
    body["access_token"].as_str().expect("access_token").to_string()
}

impl TestApp {
    /// An admin API call with a bearer token.
    pub async fn admin_call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Response {
        self.call(method, path, Some(token), body).await
    }

    /// An admin API call that must answer `status`; returns its JSON
    /// (`Null` for an empty body).
    pub async fn admin_ok(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let response = self.admin_call(method.clone(), path, token, body).await;
        let got = response.status().as_u16();
        let text = response.text().await.expect("body");
        assert_eq!(
            got, status,
            "{method} {path}: expected {status}, got {got}: {text}"
        );
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("json body")
        }
    }
}
