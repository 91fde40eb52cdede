//! Setup that is not measured: the pre-registered accounts, their logins,
//! and the credentials the OAuth scenarios authenticate with.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use hyper::header::HeaderValue;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{LOGIN, REGISTER, SETUP_PARALLELISM};
use crate::http::{Client, Response};

/// A pre-registered account.
pub struct Account {
    /// Its email.
    pub email: String,
    /// Its password (the hosted login form sends it form-encoded).
    pub password: String,
    /// The login request body, ready to send.
    pub login_body: Bytes,
}

/// Tokens from login or refresh.
#[derive(Deserialize)]
pub(super) struct Tokens {
    /// Bearer token of the session.
    pub(super) access_token: String,
    /// Single-use token that continues the session.
    pub(super) refresh_token: String,
}

#[derive(Serialize)]
struct RegisterBody<'a> {
    email: &'a str,
    password: &'a str,
}

#[derive(Serialize)]
struct LoginBody<'a> {
    identifier: &'a str,
    password: &'a str,
}

/// Registers `count` accounts (not measured).
pub async fn register_accounts(addr: SocketAddr, count: usize) -> Result<Arc<Vec<Account>>> {
    let permits = Arc::new(Semaphore::new(SETUP_PARALLELISM));
    let mut tasks = JoinSet::new();
    for n in 0..count {
        let permits = permits.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await?;
            let email = format!("bench-user-{n}@example.com");
            let password = format!("bench-Passphrase-{n}-xyz");
            let body = Bytes::from(serde_json::to_vec(&RegisterBody {
                email: &email,
                password: &password,
            })?);
            let mut client = Client::new(addr)?;
            let response = retry_busy(&mut client, REGISTER, &body).await?;
            if response.status != 201 {
                bail!("register {email}: {} {}", response.status, response.body_text());
            }
            let login_body = Bytes::from(serde_json::to_vec(&LoginBody {
                identifier: &email,
                password: &password,
            })?);
            anyhow::Ok((
                n,
                Account {
                    email,
                    password,
                    login_body,
                },
            ))
        });
    }
    let mut accounts: Vec<(usize, Account)> = Vec::with_capacity(count);
    while let Some(joined) = tasks.join_next().await {
        accounts.push(joined??);
    }
    accounts.sort_by_key(|(n, _)| *n);
    Ok(Arc::new(
        accounts.into_iter().map(|(_, account)| account).collect(),
    ))
}

/// POSTs, retrying while the server answers 503 (busy); setup only.
async fn retry_busy(client: &mut Client, path: &str, body: &Bytes) -> Result<Response> {
    for _ in 0..100 {
        let response = client.post_json(path, body.clone()).await?;
        if response.status != 503 {
            return Ok(response);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{path} still answered 503 after 100 attempts")
}

/// Logs in (not measured) and returns the tokens.
pub(super) async fn login(client: &mut Client, account: &Account) -> Result<Tokens> {
    let response = retry_busy(client, LOGIN, &account.login_body).await?;
    if response.status != 200 {
        bail!(
            "login {}: {} {}",
            account.email,
            response.status,
            response.body_text()
        );
    }
    serde_json::from_slice(&response.body).context("login response without tokens")
}

/// `Authorization: Bearer` with a user's access token.
pub(super) fn bearer(access_token: &str) -> Result<HeaderValue> {
    Ok(HeaderValue::from_str(&format!("Bearer {access_token}"))?)
}

/// `Authorization: Basic` for a client (RFC 6749 §2.3.1: id and secret are
/// each form-urlencoded before they are joined and base64-encoded).
pub fn basic_client_auth(client_id: &str, client_secret: &str) -> Result<HeaderValue> {
    use base64::Engine as _;
    let encode = |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let credentials = format!("{}:{}", encode(client_id), encode(client_secret));
    let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
    Ok(HeaderValue::from_str(&format!("Basic {encoded}"))?)
}

/// The bench's OAuth clients, as far as the scenarios need them.
#[derive(Default)]
pub struct Clients {
    /// `Authorization: Basic` of the service client (`client_credentials`).
    pub service: Option<HeaderValue>,
    /// The first-party web client (`authorization_code`).
    pub web: Option<WebClient>,
}

/// The first-party confidential client of the `authorization-code` scenario.
#[derive(Clone)]
pub struct WebClient {
    /// Its id (a query parameter of the authorization request).
    pub client_id: String,
    /// Its `Authorization: Basic` value.
    pub authorization: HeaderValue,
}
