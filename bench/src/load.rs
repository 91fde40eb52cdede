//! The load generator: fixed concurrency, one keep-alive connection per
//! worker, closed loop (a worker sends its next request when the previous
//! answer is read). Latencies go to HdrHistograms in microseconds.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use hdrhistogram::Histogram;
use hyper::header::HeaderValue;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::http::{Client, Response};
use crate::server::{machine_cpu, proc_cpu_seconds, CpuTime, MachineCpu, Server};

const REGISTER: &str = "/api/v1/auth/register";
const LOGIN: &str = "/api/v1/auth/login";
const REFRESH: &str = "/api/v1/auth/refresh";
const ME: &str = "/api/v1/users/me";
const JWKS: &str = "/.well-known/jwks.json";
const TOKEN: &str = "/oauth2/token";
const INTROSPECT: &str = "/oauth2/introspect";
/// What an active introspection answer contains (compact JSON).
const ACTIVE: &[u8] = b"\"active\":true";

/// Requests that hash a password run at most this many at once during
/// setup, well inside the server's queue, so setup never sees 503s.
const SETUP_PARALLELISM: usize = 4;

/// A load scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// `POST /api/v1/auth/login` over the pre-registered users.
    Login,
    /// The same at high concurrency, to see admission control answer 503.
    LoginOverload,
    /// `POST /api/v1/auth/refresh`, each worker chaining its own session.
    Refresh,
    /// `GET /api/v1/users/me` with a bearer token.
    #[value(alias = "users-me")]
    Me,
    /// `GET /.well-known/jwks.json`.
    Jwks,
    /// `POST /oauth2/token` (`grant_type=client_credentials`, HTTP Basic).
    ClientCredentials,
    /// `POST /oauth2/introspect` of a user access token (HTTP Basic).
    Introspect,
}

impl Scenario {
    /// Name used in options and reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Login => "login",
            Scenario::LoginOverload => "login-overload",
            Scenario::Refresh => "refresh",
            Scenario::Me => "me",
            Scenario::Jwks => "jwks",
            Scenario::ClientCredentials => "client-credentials",
            Scenario::Introspect => "introspect",
        }
    }

    /// What it calls, for reports.
    pub fn endpoint(self) -> &'static str {
        match self {
            Scenario::Login | Scenario::LoginOverload => "POST /api/v1/auth/login",
            Scenario::Refresh => "POST /api/v1/auth/refresh",
            Scenario::Me => "GET /api/v1/users/me (Bearer)",
            Scenario::Jwks => "GET /.well-known/jwks.json",
            Scenario::ClientCredentials => "POST /oauth2/token (client_credentials, Basic)",
            Scenario::Introspect => "POST /oauth2/introspect (user access token, Basic)",
        }
    }

    /// Whether it needs the bench's OAuth client.
    pub fn needs_oauth_client(self) -> bool {
        matches!(self, Scenario::ClientCredentials | Scenario::Introspect)
    }

    /// Default number of connections.
    pub fn default_concurrency(self) -> usize {
        match self {
            Scenario::Login => 8,
            Scenario::LoginOverload => 64,
            Scenario::Refresh
            | Scenario::Me
            | Scenario::Jwks
            | Scenario::ClientCredentials
            | Scenario::Introspect => 32,
        }
    }
}

/// A pre-registered account.
pub struct Account {
    /// Its email.
    pub email: String,
    /// The login request body, ready to send.
    pub login_body: Bytes,
}

/// Tokens from login or refresh.
#[derive(Deserialize)]
struct Tokens {
    access_token: String,
    refresh_token: String,
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

#[derive(Serialize)]
struct RefreshBody<'a> {
    refresh_token: &'a str,
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
            anyhow::Ok((n, Account { email, login_body }))
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
async fn retry_busy(client: &mut Client, path: &'static str, body: &Bytes) -> Result<Response> {
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
async fn login(client: &mut Client, account: &Account) -> Result<Tokens> {
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

fn bearer(access_token: &str) -> Result<HeaderValue> {
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

/// A form body with one field.
fn form_body(key: &str, value: &str) -> Bytes {
    Bytes::from(
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair(key, value)
            .finish(),
    )
}

/// What a worker keeps between requests.
enum WorkerState {
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
        authorization: HeaderValue,
        body: Bytes,
    },
    Introspect {
        authorization: HeaderValue,
        body: Bytes,
    },
}

/// Latencies and counts of one worker or of a whole scenario.
pub struct Stats {
    /// Every answered request, µs.
    pub all: Histogram<u64>,
    /// 2xx answers, µs.
    pub ok: Histogram<u64>,
    /// 503 answers, µs.
    pub busy: Histogram<u64>,
    /// Answers by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests that got no HTTP answer (connection errors).
    pub transport_errors: u64,
    /// 503 answers without a numeric `Retry-After`.
    pub busy_without_retry_after: u64,
    /// Refresh chains restarted by a login after a failed refresh.
    pub relogins: u64,
    /// Workers that gave up (could not restart their session).
    pub failed_workers: u64,
    /// 2xx answers that failed the scenario's check (introspection: not
    /// `"active":true`); counted as errors, not in `ok`.
    pub rejected_2xx: u64,
    /// First few error descriptions, for the report.
    pub error_samples: Vec<String>,
}

impl Stats {
    fn new() -> Result<Stats> {
        let histogram = || Histogram::<u64>::new_with_bounds(1, 600_000_000, 3);
        Ok(Stats {
            all: histogram()?,
            ok: histogram()?,
            busy: histogram()?,
            statuses: BTreeMap::new(),
            transport_errors: 0,
            busy_without_retry_after: 0,
            relogins: 0,
            failed_workers: 0,
            rejected_2xx: 0,
            error_samples: Vec::new(),
        })
    }

    fn record(&mut self, response: &Response, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.all.saturating_record(micros);
        *self.statuses.entry(response.status).or_default() += 1;
        if (200..300).contains(&response.status) {
            self.ok.saturating_record(micros);
        } else {
            if response.status == 503 {
                self.busy.saturating_record(micros);
                if response.retry_after.is_none() {
                    self.busy_without_retry_after += 1;
                }
            }
            self.sample(format!("{} {}", response.status, response.body_text()));
        }
    }

    /// A 2xx answer whose body is wrong: an error, not a success.
    fn record_rejected(&mut self, response: &Response, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.all.saturating_record(micros);
        *self.statuses.entry(response.status).or_default() += 1;
        self.rejected_2xx += 1;
        self.sample(format!("{} {}", response.status, response.body_text()));
    }

    fn sample(&mut self, text: String) {
        if self.error_samples.len() < 5 && !self.error_samples.contains(&text) {
            self.error_samples.push(text);
        }
    }

    fn merge(&mut self, other: Stats) -> Result<()> {
        self.all.add(&other.all)?;
        self.ok.add(&other.ok)?;
        self.busy.add(&other.busy)?;
        for (status, count) in other.statuses {
            *self.statuses.entry(status).or_default() += count;
        }
        self.transport_errors += other.transport_errors;
        self.busy_without_retry_after += other.busy_without_retry_after;
        self.relogins += other.relogins;
        self.failed_workers += other.failed_workers;
        self.rejected_2xx += other.rejected_2xx;
        for sample in other.error_samples {
            self.sample(sample);
        }
        Ok(())
    }
}

/// Measured window of a scenario.
#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    end: Instant,
}

/// The outcome of one scenario.
pub struct Outcome {
    /// Which.
    pub scenario: Scenario,
    /// Connections.
    pub concurrency: usize,
    /// Measured seconds.
    pub duration: Duration,
    /// Merged statistics of the measured window.
    pub stats: Stats,
    /// Server CPU during the measured window.
    pub server_cpu: CpuTime,
    /// Bench-process CPU seconds during the measured window.
    pub client_cpu: f64,
    /// Whole-machine CPU during the window (busy, steal, total over cores).
    pub machine_cpu: MachineCpu,
    /// Server RSS at the end of the scenario, KiB.
    pub rss_after_kib: u64,
}

/// Runs `scenario` against `server`: setup, warm-up, measured window.
/// `client_auth` is the bench client's `Authorization: Basic` value, needed
/// by the OAuth scenarios.
pub async fn run_scenario(
    server: &Server,
    accounts: &Arc<Vec<Account>>,
    client_auth: Option<&HeaderValue>,
    scenario: Scenario,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<Outcome> {
    let addr = server.addr;
    if scenario.needs_oauth_client() && client_auth.is_none() {
        bail!("{} needs the bench's OAuth client", scenario.name());
    }
    // Setup: connections (and sessions where needed), not measured.
    let permits = Arc::new(Semaphore::new(SETUP_PARALLELISM));
    let mut setup = JoinSet::new();
    for worker in 0..concurrency {
        let accounts = accounts.clone();
        let permits = permits.clone();
        let client_auth = client_auth.cloned();
        setup.spawn(async move {
            let mut client = Client::new(addr)?;
            client.connect().await?;
            let account = worker % accounts.len();
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
                    authorization: client_auth.context("no client authentication")?,
                    body: form_body("grant_type", "client_credentials"),
                },
                Scenario::Introspect => {
                    let _permit = permits.acquire().await?;
                    let tokens = login(&mut client, &accounts[account]).await?;
                    WorkerState::Introspect {
                        authorization: client_auth.context("no client authentication")?,
                        body: form_body("token", &tokens.access_token),
                    }
                }
            };
            anyhow::Ok((client, state))
        });
    }
    let mut workers = Vec::with_capacity(concurrency);
    while let Some(joined) = setup.join_next().await {
        workers.push(joined??);
    }

    let start = Instant::now() + warmup;
    let window = Window {
        start,
        end: start + duration,
    };
    let sampler = tokio::spawn(cpu_sampler(server.pid, window));
    let mut running = JoinSet::new();
    for (client, state) in workers {
        running.spawn(worker(client, state, window));
    }
    let mut stats = Stats::new()?;
    while let Some(joined) = running.join_next().await {
        stats.merge(joined??)?;
    }
    let (server_cpu, client_cpu, machine_cpu) = sampler.await??;
    Ok(Outcome {
        scenario,
        concurrency,
        duration,
        stats,
        server_cpu,
        client_cpu,
        machine_cpu,
        rss_after_kib: server.status_kib("VmRSS").unwrap_or_default(),
    })
}

/// CPU seconds of the server and of this process over `window`.
async fn cpu_sampler(pid: u32, window: Window) -> Result<(CpuTime, f64, MachineCpu)> {
    let pid = pid.to_string();
    tokio::time::sleep_until(window.start.into()).await;
    let server0 = proc_cpu_seconds(&pid)?;
    let client0 = proc_cpu_seconds("self")?;
    let machine0 = machine_cpu()?;
    tokio::time::sleep_until(window.end.into()).await;
    let server1 = proc_cpu_seconds(&pid)?;
    let client1 = proc_cpu_seconds("self")?;
    let machine1 = machine_cpu()?;
    let machine = MachineCpu {
        busy: machine1.busy - machine0.busy,
        steal: machine1.steal - machine0.steal,
        total: machine1.total - machine0.total,
    };
    let server = CpuTime {
        user: server1.user - server0.user,
        system: server1.system - server0.system,
    };
    let client = (client1.user + client1.system) - (client0.user + client0.system);
    Ok((server, client, machine))
}

/// One closed-loop worker until the window ends.
async fn worker(mut client: Client, mut state: WorkerState, window: Window) -> Result<Stats> {
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
            WorkerState::ClientCredentials { authorization, body } => {
                client.post_form(TOKEN, body.clone(), authorization).await
            }
            WorkerState::Introspect { authorization, body } => {
                client.post_form(INTROSPECT, body.clone(), authorization).await
            }
        };
        let answered = Instant::now();
        let measured = sent >= window.start && answered <= window.end;
        match &result {
            Ok(response)
                if measured
                    && response.status == 200
                    && matches!(state, WorkerState::Introspect { .. })
                    && !contains(&response.body, ACTIVE) =>
            {
                stats.record_rejected(response, answered - sent)
            }
            Ok(response) if measured => stats.record(response, answered - sent),
            Err(err) if measured => {
                stats.transport_errors += 1;
                stats.sample(format!("transport: {err:#}"));
            }
            _ => {}
        }
        if let WorkerState::Refresh {
            accounts,
            account,
            refresh_token,
        } = &mut state
        {
            // A refresh token is single-use: continue the chain with the new
            // one; if the answer is anything else the chain may be spent or
            // revoked, so start a new session (not measured).
            let next = match &result {
                Ok(response) if response.status == 200 => {
                    serde_json::from_slice::<Tokens>(&response.body).ok()
                }
                _ => None,
            };
            match next {
                Some(tokens) => *refresh_token = tokens.refresh_token,
                None => match login(&mut client, &accounts[*account]).await {
                    Ok(tokens) => {
                        stats.relogins += 1;
                        *refresh_token = tokens.refresh_token;
                    }
                    Err(err) => {
                        stats.failed_workers += 1;
                        stats.sample(format!("worker gave up: {err:#}"));
                        break;
                    }
                },
            }
        }
    }
    Ok(stats)
}

/// Whether `haystack` contains `needle`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}
