//! One closed-loop worker of the plain scenarios: what it keeps between
//! requests, how it is set up (not measured), and its request loop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use hyper::header::HeaderValue;
use serde::Serialize;
use tokio::sync::Semaphore;

use super::accounts::{bearer, login, Tokens};
use super::code_flow::{authorize_path, sign_in_browser, CodeFlow};
use super::stats::Stats;
use super::{
    contains, Account, Scenario, WebClient, Window, CLIENT_CREDENTIALS_BODY, INTROSPECT, JWKS, LOGIN, ME,
    REFERENCE_TOKEN, REFRESH, TOKEN,
};
use crate::http::{Client, Response};

/// What an active introspection answer contains (compact JSON).
const ACTIVE: &[u8] = b"\"active\":true";

#[derive(Serialize)]
struct RefreshBody<'a> {
    refresh_token: &'a str,
}

/// What a worker keeps between requests.
pub(super) enum WorkerState {
    Login {
        accounts: Arc<Vec<Account>>,
        next: usize,
        stride: usize,
    },
    Refresh {
        accounts: Arc<Vec<Account>>,
        account: usize,
        refresh_token: String,
    },
    Me {
        authorization: HeaderValue,
    },
    Jwks,
    ClientCredentials {
        /// Tessera's or the reference's token endpoint.
        path: &'static str,
        authorization: HeaderValue,
        body: Bytes,
    },
    Introspect {
        authorization: HeaderValue,
        body: Bytes,
    },
    AuthorizationCode(CodeFlow),
}

/// What every worker of a scenario is set up from; each setup task gets
/// its own copy.
#[derive(Clone)]
pub(super) struct Setup {
    /// The server under load.
    pub(super) addr: SocketAddr,
    /// Which scenario.
    pub(super) scenario: Scenario,
    /// Its connections (the login workers' stride over the accounts).
    pub(super) concurrency: usize,
    /// The pre-registered accounts (none for the reference).
    pub(super) accounts: Arc<Vec<Account>>,
    /// Bounds the setup requests that hash a password.
    pub(super) permits: Arc<Semaphore>,
    /// `Authorization: Basic` of the service client, if registered.
    pub(super) client_auth: Option<HeaderValue>,
    /// The first-party web client, if registered.
    pub(super) web: Option<WebClient>,
}

impl Setup {
    /// Connects worker number `worker` and prepares what it sends: its
    /// session where the scenario needs one (logins are not measured).
    pub(super) async fn worker(self, worker: usize) -> Result<(Client, WorkerState)> {
        let Setup {
            addr,
            scenario,
            concurrency,
            accounts,
            permits,
            client_auth,
            web,
        } = self;
        let mut client = Client::new(addr)?;
        client.connect().await?;
        // The reference scenario has no accounts.
        let account = worker.checked_rem(accounts.len()).unwrap_or(0);
        let state = match scenario {
            Scenario::Login | Scenario::LoginOverload => WorkerState::Login {
                accounts,
                next: worker,
                stride: concurrency,
            },
            Scenario::Refresh => {
                let _permit = permits.acquire().await?;
                let tokens = login(&mut client, &accounts[account]).await?;
                WorkerState::Refresh {
                    accounts,
                    account,
                    refresh_token: tokens.refresh_token,
                }
            }
            Scenario::Me => {
                let _permit = permits.acquire().await?;
                let tokens = login(&mut client, &accounts[account]).await?;
                WorkerState::Me {
                    authorization: bearer(&tokens.access_token)?,
                }
            }
            Scenario::Jwks => WorkerState::Jwks,
            Scenario::ClientCredentials => WorkerState::ClientCredentials {
                path: TOKEN,
                authorization: client_auth.context("no client authentication")?,
                body: Bytes::from_static(CLIENT_CREDENTIALS_BODY.as_bytes()),
            },
            Scenario::OidcProviderClientCredentials => WorkerState::ClientCredentials {
                path: REFERENCE_TOKEN,
                authorization: client_auth.context("no client authentication")?,
                body: Bytes::from_static(CLIENT_CREDENTIALS_BODY.as_bytes()),
            },
            Scenario::AuthorizationCode => {
                let web = web.context("no web client")?;
                let authorize_path = authorize_path(&web.client_id);
                let _permit = permits.acquire().await?;
                let session = sign_in_browser(&mut client, &accounts[account], &authorize_path).await?;
                WorkerState::AuthorizationCode(CodeFlow {
                    authorize_path,
                    session,
                    authorization: web.authorization,
                })
            }
            Scenario::Introspect => {
                let _permit = permits.acquire().await?;
                let tokens = login(&mut client, &accounts[account]).await?;
                WorkerState::Introspect {
                    authorization: client_auth.context("no client authentication")?,
                    body: form_body("token", &tokens.access_token),
                }
            }
        };
        Ok((client, state))
    }
}

/// A form body with one field.
fn form_body(key: &str, value: &str) -> Bytes {
    Bytes::from(
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair(key, value)
            .finish(),
    )
}

/// One closed-loop worker until the window ends.
pub(super) async fn worker(mut client: Client, mut state: WorkerState, window: Window) -> Result<Stats> {
    let mut stats = Stats::new()?;
    loop {
        let sent = Instant::now();
        if sent >= window.end {
            break;
        }
        let result = match &mut state {
            WorkerState::Login {
                accounts,
                next,
                stride,
            } => {
                let body = accounts[*next % accounts.len()].login_body.clone();
                *next += *stride;
                client.post_json(LOGIN, body).await
            }
            WorkerState::Refresh { refresh_token, .. } => {
                let body = Bytes::from(serde_json::to_vec(&RefreshBody { refresh_token })?);
                client.post_json(REFRESH, body).await
            }
            WorkerState::Me { authorization } => client.get(ME, Some(authorization)).await,
            WorkerState::Jwks => client.get(JWKS, None).await,
            WorkerState::ClientCredentials {
                path,
                authorization,
                body,
            } => client.post_form(path, body.clone(), authorization).await,
            WorkerState::Introspect { authorization, body } => {
                client.post_form(INTROSPECT, body.clone(), authorization).await
            }
            WorkerState::AuthorizationCode(_) => bail!("authorization-code runs in code_worker"),
        };
        let answered = Instant::now();
        if sent >= window.start && answered <= window.end {
            let checks_active = matches!(state, WorkerState::Introspect { .. });
            record(&mut stats, &result, answered - sent, checks_active);
        }
        if let WorkerState::Refresh {
            accounts,
            account,
            refresh_token,
        } = &mut state
        {
            let continued = continue_refresh_chain(
                &mut client,
                &accounts[*account],
                refresh_token,
                &result,
                &mut stats,
            )
            .await;
            if !continued {
                break;
            }
        }
    }
    Ok(stats)
}

/// Counts a measured request; with `checks_active` (introspection) a 200
/// without `"active":true` is an error.
fn record(stats: &mut Stats, result: &Result<Response>, latency: Duration, checks_active: bool) {
    match result {
        Ok(response) if checks_active && response.status == 200 && !contains(&response.body, ACTIVE) => {
            stats.record_rejected(response, latency)
        }
        Ok(response) => stats.record(response, latency),
        Err(err) => {
            stats.transport_errors += 1;
            stats.sample(format!("transport: {err:#}"));
        }
    }
}

/// A refresh token is single-use: continue the chain with the new one; if
/// the answer is anything else the chain may be spent or revoked, so start
/// a new session (not measured). False when the worker has to give up.
async fn continue_refresh_chain(
    client: &mut Client,
    account: &Account,
    refresh_token: &mut String,
    result: &Result<Response>,
    stats: &mut Stats,
) -> bool {
    let next = match result {
        Ok(response) if response.status == 200 => serde_json::from_slice::<Tokens>(&response.body).ok(),
        _ => None,
    };
    match next {
        Some(tokens) => *refresh_token = tokens.refresh_token,
        None => match login(client, account).await {
            Ok(tokens) => {
                stats.relogins += 1;
                *refresh_token = tokens.refresh_token;
            }
            Err(err) => {
                stats.failed_workers += 1;
                stats.sample(format!("worker gave up: {err:#}"));
                return false;
            }
        },
    }
    true
}
