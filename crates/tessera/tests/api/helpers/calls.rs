//! Typed calls of the common endpoints: register, log in, refresh, JWKS.

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use super::{unique_email, TestApp, Tokens};

impl TestApp {
    /// Absolute URL of `path`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    /// A request with JSON body and optional bearer token.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self.client.request(method, self.at(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request")
    }

    pub async fn post_json(&self, path: &str, body: Value) -> Response {
        self.call(Method::POST, path, None, Some(body)).await
    }

    pub async fn get_with(&self, path: &str, token: &str) -> Response {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// Registers `email` with `password` (201 expected) and returns the user.
    pub async fn register(&self, email: &str, password: &str) -> Value {
        let response = self
            .post_json(
                "/api/v1/auth/register",
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "register {email}");
        response.json().await.expect("user json")
    }

    /// Logs in (200 expected) and returns the token response.
    pub async fn login(&self, identifier: &str, password: &str) -> Tokens {
        let response = self.login_response(identifier, password).await;
        assert_eq!(response.status(), StatusCode::OK, "login {identifier}");
        response.json().await.expect("token json")
    }

    pub async fn login_response(&self, identifier: &str, password: &str) -> Response {
        self.post_json(
            "/api/v1/auth/login",
            json!({"identifier": identifier, "password": password}),
        )
        .await
    }

    /// Registers a fresh random user and logs in.
    pub async fn signed_in_user(&self) -> (Value, Tokens, String) {
        let email = format!("user-{}@example.com", uuid::Uuid::new_v4().simple());
        let password = "plausible-Passphrase-93".to_string();
        let user = self.register(&email, &password).await;
        let tokens = self.login(&email, &password).await;
        (user, tokens, password)
    }

    pub async fn refresh_response(&self, refresh_token: &str) -> Response {
        self.post_json("/api/v1/auth/refresh", json!({"refresh_token": refresh_token}))
            .await
    }

    /// A request builder for `path` (no body, no auth).
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.at(path))
    }

    /// Registers a fresh user with an explicit password, returns the user
    /// and its email.
    pub async fn fresh_user(&self, password: &str) -> (Value, String) {
        let email = unique_email("user");
        let user = self.register(&email, password).await;
        (user, email)
    }

    /// Logs in sending a `User-Agent`.
    pub async fn login_with_agent(&self, identifier: &str, password: &str, agent: &str) -> Tokens {
        let response = self
            .request(Method::POST, "/api/v1/auth/login")
            .header("user-agent", agent)
            .json(&json!({"identifier": identifier, "password": password}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK, "login {identifier}");
        response.json().await.expect("token json")
    }

    /// Refreshes (200 expected) and returns the new tokens.
    pub async fn refresh(&self, refresh_token: &str) -> Tokens {
        let response = self.refresh_response(refresh_token).await;
        assert_eq!(response.status(), StatusCode::OK, "refresh");
        response.json().await.expect("token json")
    }

    /// GET /api/v1/users/me with a bearer token.
    pub async fn me(&self, access_token: &str) -> Response {
        self.get_with("/api/v1/users/me", access_token).await
    }

    /// The published JWKS.
    pub async fn jwks(&self) -> Value {
        let response = self
            .client
            .get(self.at("/.well-known/jwks.json"))
            .send()
            .await
            .expect("jwks");
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("jwks json")
    }
}
