//! The test harness: a real Tessera server on 127.0.0.1:0 with a fresh
//! database per test (a temp SQLite file, or a throw-away PostgreSQL
//! database), typed helpers for the common calls, and the captured logs.
//!
//! Here: the engines and the `every_engine!` macros (kept in this file so
//! that they are in textual scope for every test module declared after
//! `helpers`), and the small shared helpers. The server itself is in
//! `server`, the typed calls in `calls`, direct database access in `db`,
//! log capture in `logs`, and the admin API helpers in `admin`; everything
//! public is re-exported, so tests `use crate::helpers::…` as before.

use base64::Engine as _;
use reqwest::Response;
use serde_json::Value;

/// Which database engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
    MySql,
}

/// Runs each listed async test body once per engine, `mod name { sqlite(),
/// postgres(), mysql() }`; a networked engine's tests are ignored (not
/// passed) when its server is not configured (see tessera-sql's build.rs).
#[macro_export]
macro_rules! every_engine {
    ($( $(#[$meta:meta])* async fn $name:ident($app:ident) $body:block )*) => {
        $crate::every_engine_with! {
            $( $(#[$meta])* async fn $name($app) with |_| {}; $body )*
        }
    };
}

/// Like `every_engine!` but the body also gets a config tweak, applied
/// before the server starts: `async fn name(app) with |config| { … } { body }`.
#[macro_export]
macro_rules! every_engine_with {
    ($( $(#[$meta:meta])* async fn $name:ident($app:ident) with $tweak:expr; $body:block )*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn body($app: $crate::helpers::TestApp) $body
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    body($crate::helpers::TestApp::spawn_with($crate::helpers::Engine::Sqlite, $tweak).await).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(test_postgres), ignore = "PostgreSQL is not configured")]
                async fn postgres() {
                    if let Some(app) = $crate::helpers::TestApp::try_spawn($crate::helpers::Engine::Postgres, $tweak).await {
                        body(app).await
                    }
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(test_mysql), ignore = "MariaDB is not configured")]
                async fn mysql() {
                    if let Some(app) = $crate::helpers::TestApp::try_spawn($crate::helpers::Engine::MySql, $tweak).await {
                        body(app).await
                    }
                }
            }
        )*
    };
}

/// The token response of login/refresh.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub refresh_token: String,
    pub session_id: String,
}

/// Decodes the JSON of a JWT part without verifying anything.
pub fn jwt_part(token: &str, index: usize) -> Value {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let part = token.split('.').nth(index).expect("jwt part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("json")
}

/// Asserts a problem+json response with `status` and `code`; returns the body.
pub async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.expect("problem json");
    assert_eq!(body["code"], code, "problem code in {body}");
    assert_eq!(body["status"], status);
    assert!(body["type"].as_str().is_some_and(|t| t.ends_with(code)));
    assert!(body["title"].is_string());
    body
}

// --- shared helpers of the HTTP suite ---------------------------------------

/// A fresh, unique email address.
pub fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// The user id (`id`) of a user JSON.
pub fn user_id(user: &Value) -> String {
    user["id"].as_str().expect("user id").to_string()
}

/// Lowercase hex SHA-256 of `text` (how bearer secrets are stored).
pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// A header value as text ("" when absent).
pub fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

mod admin;
mod calls;
mod db;
mod logs;
mod mailbox;
mod server;
pub mod smtp;

pub use admin::*;
// No test names `Db` or `Rows` today (they get them from `app.db()`), but
// they stay reachable as `helpers::Db` and `helpers::Rows`, as before.
#[allow(unused_imports)]
pub use db::*;
pub use logs::*;
pub use mailbox::*;
pub use server::*;
