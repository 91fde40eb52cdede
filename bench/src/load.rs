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
use crate::server::{machine_cpu, proc_cpu_seconds, CpuTime, MachineCpu, Server, WEB_REDIRECT_URI};

const REGISTER: &str = "/api/v1/auth/register";
const LOGIN: &str = "/api/v1/auth/login";
const REFRESH: &str = "/api/v1/auth/refresh";
const ME: &str = "/api/v1/users/me";
const JWKS: &str = "/.well-known/jwks.json";
const TOKEN: &str = "/oauth2/token";
const INTROSPECT: &str = "/oauth2/introspect";
const AUTHORIZE: &str = "/oauth2/authorize";
const HOSTED_LOGIN: &str = "/login";
/// node oidc-provider's token endpoint (its default route).
const REFERENCE_TOKEN: &str = "/token";
/// Browser session cookie of Tessera's hosted pages.
const SSO_COOKIE: &str = "tessera_sso";
/// CSRF cookie of Tessera's hosted forms (echoed in the `csrf_token` field).
const FORM_CSRF_COOKIE: &str = "tessera_form_csrf";
/// A fixed PKCE verifier and its S256 challenge (RFC 7636 §4.2:
/// base64url(SHA-256(verifier)), no padding), computed once outside the
/// bench: `printf %s "$verifier" | openssl dgst -sha256 -binary | base64 |
/// tr '+/' '-_' | tr -d '='`. The bench needs no hashing dependency.
const PKCE_VERIFIER: &str = "dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk";
const PKCE_CHALLENGE: &str = "ngF5GsXcbwljx6u133FFr3Xht9xooA_DuaX_3QwODtc";
/// The client-credentials request body, the same for Tessera and the
/// reference (both clients are registered with the scope `api`).
const CLIENT_CREDENTIALS_BODY: &str = "grant_type=client_credentials&scope=api";
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
    /// A signed-in browser's `GET /oauth2/authorize` (PKCE S256, first-party
    /// client, no consent) and the code's exchange at `POST /oauth2/token`,
    /// measured as one operation.
    AuthorizationCode,
    /// Reference: the `client-credentials` load against node oidc-provider
    /// (bench/oidc-provider), once per run rather than per backend.
    OidcProviderClientCredentials,
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
            Scenario::AuthorizationCode => "authorization-code",
            Scenario::OidcProviderClientCredentials => "oidc-provider-client-credentials",
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
            Scenario::AuthorizationCode => {
                "GET /oauth2/authorize (SSO cookie, PKCE) + POST /oauth2/token (authorization_code, Basic)"
            }
            Scenario::OidcProviderClientCredentials => {
                "node oidc-provider: POST /token (client_credentials, Basic)"
            }
        }
    }

    /// Whether it needs the bench's service client (`client_credentials`).
    pub fn needs_oauth_client(self) -> bool {
        matches!(self, Scenario::ClientCredentials | Scenario::Introspect)
    }

    /// Whether it needs the bench's first-party web client.
    pub fn needs_web_client(self) -> bool {
        matches!(self, Scenario::AuthorizationCode)
    }

    /// Whether it loads the reference server instead of Tessera.
    pub fn is_reference(self) -> bool {
        matches!(self, Scenario::OidcProviderClientCredentials)
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
            | Scenario::Introspect
            | Scenario::AuthorizationCode
            | Scenario::OidcProviderClientCredentials => 32,
        }
    }
}

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

/// The authorization request every iteration sends (RFC 6749 §4.1.1 with
/// PKCE, RFC 7636 §4.3); fixed `state`, no `nonce`.
fn authorize_path(client_id: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", WEB_REDIRECT_URI)
        .append_pair("scope", "openid")
        .append_pair("state", "s")
        .append_pair("code_challenge", PKCE_CHALLENGE)
        .append_pair("code_challenge_method", "S256")
        .finish();
    format!("{AUTHORIZE}?{query}")
}

/// Signs a browser in through the hosted login form (not measured):
/// `GET /login` for the CSRF cookie and field, then `POST /login`.
/// Returns the `Cookie` value carrying the browser session.
async fn sign_in_browser(client: &mut Client, account: &Account, return_to: &str) -> Result<HeaderValue> {
    let page_path = format!(
        "{HOSTED_LOGIN}?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("return_to", return_to)
            .finish()
    );
    let page = client.get(&page_path, None).await?;
    if page.status != 200 {
        bail!("GET {HOSTED_LOGIN}: {} {}", page.status, page.body_text());
    }
    let csrf_cookie = page
        .cookie(FORM_CSRF_COOKIE)
        .with_context(|| format!("GET {HOSTED_LOGIN} set no {FORM_CSRF_COOKIE} cookie"))?;
    let cookie = HeaderValue::from_str(&format!("{FORM_CSRF_COOKIE}={csrf_cookie}"))?;
    let csrf_token = hidden_input(&String::from_utf8_lossy(&page.body), "csrf_token")
        .with_context(|| format!("GET {HOSTED_LOGIN}: no hidden csrf_token input"))?;
    let body = Bytes::from(
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("csrf_token", &csrf_token)
            .append_pair("return_to", return_to)
            .append_pair("identifier", &account.email)
            .append_pair("password", &account.password)
            .finish(),
    );
    // The form hashes the password: retry while the server is busy.
    for _ in 0..100 {
        let response = client
            .post_form_with(HOSTED_LOGIN, body.clone(), None, Some(&cookie))
            .await?;
        if response.status == 503 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        if !(300..400).contains(&response.status) {
            bail!(
                "POST {HOSTED_LOGIN} as {}: {} {}",
                account.email,
                response.status,
                response.body_text()
            );
        }
        let session = response
            .cookie(SSO_COOKIE)
            .with_context(|| format!("POST {HOSTED_LOGIN} set no {SSO_COOKIE} cookie"))?;
        return Ok(HeaderValue::from_str(&format!("{SSO_COOKIE}={session}"))?);
    }
    bail!("POST {HOSTED_LOGIN} still answered 503 after 100 attempts")
}

/// The `value` of the `<input>` named `name` in an HTML page, unescaped.
fn hidden_input(html: &str, name: &str) -> Option<String> {
    let wanted = format!("name=\"{name}\"");
    html.split("<input").skip(1).find_map(|tag| {
        let tag = &tag[..tag.find('>')?];
        if !tag.contains(&wanted) {
            return None;
        }
        let start = tag.find("value=\"")? + "value=\"".len();
        let end = start + tag[start..].find('"')?;
        Some(unescape_html(&tag[start..end]))
    })
}

/// Undoes the HTML escaping a server applies to attribute values.
fn unescape_html(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
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

/// What an `authorization-code` worker sends.
struct CodeFlow {
    /// `/oauth2/authorize?…`, the same every time.
    authorize_path: String,
    /// `Cookie: tessera_sso=…` of the worker's own browser session.
    session: HeaderValue,
    /// The web client's `Authorization: Basic`.
    authorization: HeaderValue,
}

/// How one authorization-code exchange ended.
enum Exchange {
    /// The token request was answered (check its status and body).
    Answered {
        response: Response,
        token_latency: Duration,
    },
    /// The authorization request gave no code.
    NoCode { status: u16, detail: String },
}

impl CodeFlow {
    /// Authorization request, then the code's exchange (RFC 6749 §4.1.3
    /// with the PKCE verifier, RFC 7636 §4.5).
    async fn exchange(&self, client: &mut Client) -> Result<Exchange> {
        let authorize = client
            .get_with_cookie(&self.authorize_path, None, Some(&self.session))
            .await?;
        let code = match (authorize.status, authorize.location.as_deref()) {
            (302 | 303, Some(location)) => code_of(location),
            _ => None,
        };
        let Some(code) = code else {
            let detail = format!(
                "authorize: {} Location {:?} {}",
                authorize.status,
                authorize.location,
                authorize.body_text()
            );
            return Ok(Exchange::NoCode {
                status: authorize.status,
                detail,
            });
        };
        let body = Bytes::from(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "authorization_code")
                .append_pair("code", &code)
                .append_pair("redirect_uri", WEB_REDIRECT_URI)
                .append_pair("code_verifier", PKCE_VERIFIER)
                .finish(),
        );
        let sent = Instant::now();
        let response = client.post_form(TOKEN, body, &self.authorization).await?;
        Ok(Exchange::Answered {
            response,
            token_latency: sent.elapsed(),
        })
    }
}

/// The `code` of a redirect to the client (absolute or relative Location).
fn code_of(location: &str) -> Option<String> {
    let base = url::Url::parse("http://relative.invalid/").ok()?;
    let url = base.join(location).ok()?;
    let redirect = WEB_REDIRECT_URI.trim_end_matches('/');
    if !url.as_str().starts_with(redirect) {
        return None;
    }
    url.query_pairs()
        .find(|(key, _)| key == "code")
        .map(|(_, value)| value.into_owned())
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
    /// authorization-code: the token request alone, of complete exchanges, µs.
    pub token: Histogram<u64>,
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
            token: histogram()?,
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

    /// An operation that failed before its last request (authorization-code:
    /// the authorization request gave no code), with the status it got.
    fn record_failed(&mut self, status: u16, latency: Duration, detail: String) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.all.saturating_record(micros);
        *self.statuses.entry(status).or_default() += 1;
        self.sample(detail);
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
        self.token.add(&other.token)?;
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

/// Runs `scenario` against `server` (Tessera, or the reference for
/// [`Scenario::OidcProviderClientCredentials`]): setup, warm-up, measured
/// window. `clients` holds what the OAuth scenarios authenticate with.
pub async fn run_scenario(
    server: &Server,
    accounts: &Arc<Vec<Account>>,
    clients: &Clients,
    scenario: Scenario,
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<Outcome> {
    let addr = server.addr;
    let client_auth = clients.service.as_ref();
    if (scenario.needs_oauth_client() || scenario.is_reference()) && client_auth.is_none() {
        bail!("{} needs the bench's OAuth client", scenario.name());
    }
    if scenario.needs_web_client() && clients.web.is_none() {
        bail!("{} needs the bench's web client", scenario.name());
    }
    // Setup: connections (and sessions where needed), not measured.
    let permits = Arc::new(Semaphore::new(SETUP_PARALLELISM));
    let mut setup = JoinSet::new();
    for worker in 0..concurrency {
        let accounts = accounts.clone();
        let permits = permits.clone();
        let client_auth = client_auth.cloned();
        let web = clients.web.clone();
        setup.spawn(async move {
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
        match state {
            WorkerState::AuthorizationCode(flow) => running.spawn(code_worker(client, flow, window)),
            state => running.spawn(worker(client, state, window)),
        };
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

/// One closed-loop authorization-code worker until the window ends: each
/// operation is the authorization request plus the code's exchange, and
/// its latency is the pair's.
async fn code_worker(mut client: Client, flow: CodeFlow, window: Window) -> Result<Stats> {
    let mut stats = Stats::new()?;
    loop {
        let sent = Instant::now();
        if sent >= window.end {
            break;
        }
        let result = flow.exchange(&mut client).await;
        let answered = Instant::now();
        if !(sent >= window.start && answered <= window.end) {
            continue;
        }
        let latency = answered - sent;
        match result {
            Ok(Exchange::Answered {
                response,
                token_latency,
            }) => {
                if response.status == 200
                    && !(contains(&response.body, b"\"access_token\"")
                        && contains(&response.body, b"\"id_token\""))
                {
                    stats.record_rejected(&response, latency);
                } else {
                    stats.record(&response, latency);
                    if response.status == 200 {
                        let micros = u64::try_from(token_latency.as_micros()).unwrap_or(u64::MAX);
                        stats.token.saturating_record(micros);
                    }
                }
            }
            Ok(Exchange::NoCode { status, detail }) => stats.record_failed(status, latency, detail),
            Err(err) => {
                stats.transport_errors += 1;
                stats.sample(format!("transport: {err:#}"));
            }
        }
    }
    Ok(stats)
}

/// Whether `haystack` contains `needle`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_input_finds_the_named_field_in_any_attribute_order_and_unescapes_it() {
        let html = r#"<form method="post" action="/login">
            <input type="hidden" name="return_to" value="/oauth2/authorize?a=1&amp;b=2">
            <input value="tok&amp;en" type="hidden" name="csrf_token"/>
            <input id="identifier" name="identifier"></form>"#;

        assert_eq!(hidden_input(html, "csrf_token").as_deref(), Some("tok&en"));
        assert_eq!(
            hidden_input(html, "return_to").as_deref(),
            Some("/oauth2/authorize?a=1&b=2")
        );
        assert_eq!(hidden_input(html, "missing"), None);
    }

    #[test]
    fn code_of_reads_the_code_of_a_redirect_to_the_client_only() {
        assert_eq!(
            code_of("http://127.0.0.1:9/cb?code=abc%2Bd&state=s&iss=http%3A%2F%2F127.0.0.1%3A1").as_deref(),
            Some("abc+d")
        );
        assert_eq!(code_of("http://127.0.0.1:9/cb?error=access_denied&state=s"), None);
        assert_eq!(code_of("/login?return_to=%2Foauth2%2Fauthorize%3Fcode%3Dx"), None);
    }

    #[test]
    fn authorize_path_carries_pkce_s256_and_the_registered_redirect_uri() {
        let path = authorize_path("client 1");

        assert!(path.starts_with("/oauth2/authorize?response_type=code&client_id=client+1&"));
        assert!(path.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb"));
        assert!(path.contains(&format!(
            "code_challenge={PKCE_CHALLENGE}&code_challenge_method=S256"
        )));
    }
}
