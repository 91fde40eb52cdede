//! The load generator: fixed concurrency, one keep-alive connection per
//! worker, closed loop (a worker sends its next request when the previous
//! answer is read). Latencies go to HdrHistograms in microseconds.

mod accounts;
mod code_flow;
mod scenario;
mod stats;
mod worker;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

pub use accounts::{basic_client_auth, register_accounts, Account, Clients, WebClient};
pub use scenario::Scenario;
use stats::Stats;
use worker::{Setup, WorkerState};

use crate::server::{machine_cpu, proc_cpu_seconds, CpuTime, MachineCpu, Server};

const REGISTER: &str = "/api/v1/auth/register";
const LOGIN: &str = "/api/v1/auth/login";
const REFRESH: &str = "/api/v1/auth/refresh";
const ME: &str = "/api/v1/users/me";
const JWKS: &str = "/.well-known/jwks.json";
const TOKEN: &str = "/oauth2/token";
const INTROSPECT: &str = "/oauth2/introspect";
/// node oidc-provider's token endpoint (its default route).
const REFERENCE_TOKEN: &str = "/token";
/// The client-credentials request body, the same for Tessera and the
/// reference (both clients are registered with the scope `api`).
const CLIENT_CREDENTIALS_BODY: &str = "grant_type=client_credentials&scope=api";

/// Requests that hash a password run at most this many at once during
/// setup, well inside the server's queue, so setup never sees 503s.
const SETUP_PARALLELISM: usize = 4;

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
    let client_auth = clients.service.as_ref();
    if (scenario.needs_oauth_client() || scenario.is_reference()) && client_auth.is_none() {
        bail!("{} needs the bench's OAuth client", scenario.name());
    }
    if scenario.needs_web_client() && clients.web.is_none() {
        bail!("{} needs the bench's web client", scenario.name());
    }
    // Setup: connections (and sessions where needed), not measured.
    let setup = Setup {
        addr: server.addr,
        scenario,
        concurrency,
        accounts: accounts.clone(),
        permits: Arc::new(Semaphore::new(SETUP_PARALLELISM)),
        client_auth: client_auth.cloned(),
        web: clients.web.clone(),
    };
    let mut setting_up = JoinSet::new();
    for worker in 0..concurrency {
        setting_up.spawn(setup.clone().worker(worker));
    }
    let mut workers = Vec::with_capacity(concurrency);
    while let Some(joined) = setting_up.join_next().await {
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
            WorkerState::AuthorizationCode(flow) => {
                running.spawn(code_flow::code_worker(client, flow, window))
            }
            state => running.spawn(worker::worker(client, state, window)),
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

/// Whether `haystack` contains `needle`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}
