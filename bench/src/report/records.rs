//! The records a run writes as JSON: one [`RunReport`] per backend, with
//! the machine, the configuration, the argon2id timing, the server process
//! and every scenario's figures.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::load::Outcome;

/// Everything one backend's run produced; written as one JSON file.
#[derive(Serialize)]
pub struct RunReport {
    /// `sqlite`, `postgres` or `mysql` (MariaDB or MySQL).
    pub backend: String,
    /// UTC start of the run, RFC 3339.
    pub timestamp: String,
    /// `git rev-parse HEAD`, if there is a commit.
    pub git_commit: Option<String>,
    /// Whether the work tree had changes.
    pub git_dirty: Option<bool>,
    /// The machine.
    pub machine: Machine,
    /// How the run was configured.
    pub config: RunConfig,
    /// In-process argon2id timing.
    pub argon2: Argon2Report,
    /// Server start, memory and stop.
    pub server: ServerReport,
    /// One entry per scenario, in run order.
    pub scenarios: Vec<ScenarioReport>,
    /// The reference run (node oidc-provider), once per run: the same in
    /// every backend's file.
    pub reference: Option<ReferenceReport>,
    /// This backend's `client-credentials` rate ÷ the reference's (2xx/s).
    pub client_credentials_vs_reference: Option<f64>,
    /// The targets, pass or miss (not asserted).
    pub targets: Vec<TargetCheck>,
}

/// node oidc-provider loaded with the `client-credentials` load, for the
/// issue's "≥ 10× oidc-provider" target.
#[derive(Serialize, Clone, Default)]
pub struct ReferenceReport {
    /// What ran.
    pub implementation: String,
    /// oidc-provider's version (from its installed package.json).
    pub version: String,
    /// `node --version`.
    pub node_version: String,
    /// From spawn to the first 200 on its discovery document, ms.
    pub ready_ms: f64,
    /// VmRSS of the node process after ready and a few requests, KiB.
    pub idle_rss_kib: u64,
    /// VmHWM of the node process at the end: peak RSS, KiB.
    pub peak_rss_kib: u64,
    /// The scenario's figures (absent when the reference failed).
    pub scenario: Option<ScenarioReport>,
    /// Why the reference did not run, if it did not.
    pub error: Option<String>,
}

/// The machine the run happened on.
#[derive(Serialize, Clone)]
pub struct Machine {
    /// Cores available to processes.
    pub cores: usize,
    /// From /proc/cpuinfo.
    pub cpu_model: String,
    /// `uname -sr`-like text from /proc.
    pub kernel: String,
    /// Total memory, MiB.
    pub memory_mib: u64,
    /// /proc/loadavg before the run (other work on the machine skews figures).
    pub load_average_at_start: String,
}

/// Configuration of the run.
#[derive(Serialize, Clone)]
pub struct RunConfig {
    /// Measured seconds per scenario.
    pub duration_s: f64,
    /// Unmeasured warm-up seconds per scenario.
    pub warmup_s: f64,
    /// Threads of the load generator's runtime.
    pub client_threads: usize,
    /// Accounts registered in setup.
    pub accounts: usize,
    /// Server binary.
    pub server_bin: String,
    /// Extra environment given to the server.
    pub server_env: Vec<String>,
    /// Database description (no password).
    pub database: String,
}

/// argon2id timing, one core, in-process.
#[derive(Serialize, Clone)]
pub struct Argon2Report {
    /// m, KiB.
    pub memory_kib: u32,
    /// t.
    pub iterations: u32,
    /// p.
    pub parallelism: u32,
    /// Timed runs (one more untimed first).
    pub runs: usize,
    /// Median, ms.
    pub median_ms: f64,
    /// Fastest, ms.
    pub min_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
    /// The untimed first run (fresh memory: page faults included), ms.
    pub first_run_ms: f64,
    /// The same median timed again after every backend ran (drift check), ms.
    pub median_ms_after_run: Option<f64>,
    /// Cores used for the bound.
    pub cores: usize,
    /// cores ÷ median hash time: the most logins per second the machine can do.
    pub hash_bound_per_s: f64,
    /// Hashes run on all cores at once (in-process) for the next figure.
    pub parallel_hashes: usize,
    /// Hashes per second measured with every core hashing at once.
    pub parallel_per_s: f64,
}

/// The server process.
#[derive(Serialize, Default)]
pub struct ServerReport {
    /// From spawn to the first 200 on /health/ready (polled every 5 ms).
    pub ready_ms: f64,
    /// VmRSS after ready and a few cheap requests, before any load, KiB.
    pub idle_rss_kib: u64,
    /// VmRSS after registration and all scenarios, KiB.
    pub rss_end_kib: u64,
    /// VmHWM at the end: peak RSS, KiB.
    pub peak_rss_kib: u64,
    /// OS threads of the server at the end.
    pub threads_end: u64,
    /// From SIGTERM to exit, ms.
    pub shutdown_ms: f64,
    /// Exit status.
    pub exit_status: String,
    /// Size of the server's log (default level), bytes.
    pub log_bytes: u64,
    /// Lines in the server's log.
    pub log_lines: u64,
    /// Time to register the accounts (setup, not a target), s.
    pub register_s: f64,
}

/// Latency percentiles, ms.
#[derive(Serialize, Clone, Copy)]
pub struct Latency {
    /// Answers counted.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Slowest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

impl Latency {
    fn of(histogram: &Histogram<u64>) -> Option<Latency> {
        if histogram.is_empty() {
            return None;
        }
        let ms = |micros: u64| micros as f64 / 1000.0;
        Some(Latency {
            count: histogram.len(),
            p50: ms(histogram.value_at_quantile(0.50)),
            p90: ms(histogram.value_at_quantile(0.90)),
            p99: ms(histogram.value_at_quantile(0.99)),
            p999: ms(histogram.value_at_quantile(0.999)),
            max: ms(histogram.max()),
            mean: histogram.mean() / 1000.0,
        })
    }
}

/// One scenario's figures.
#[derive(Serialize, Clone)]
pub struct ScenarioReport {
    /// Scenario name.
    pub name: String,
    /// What it calls.
    pub endpoint: String,
    /// Connections (= requests in flight).
    pub concurrency: usize,
    /// Measured seconds.
    pub duration_s: f64,
    /// Answers in the window (any status).
    pub requests: u64,
    /// Answers per second (any status).
    pub rps: f64,
    /// 2xx answers per second.
    pub ok_rps: f64,
    /// Everything that was not 2xx, plus transport errors.
    pub errors: u64,
    /// 503 answers.
    pub busy_503: u64,
    /// Errors other than 503.
    pub errors_excluding_503: u64,
    /// Requests without an HTTP answer.
    pub transport_errors: u64,
    /// 503s without `Retry-After`.
    pub busy_without_retry_after: u64,
    /// Refresh chains restarted after a failure.
    pub relogins: u64,
    /// Workers that gave up.
    pub failed_workers: u64,
    /// 2xx answers that failed the scenario's check (introspection not
    /// `"active":true`); included in `errors`.
    pub rejected_2xx: u64,
    /// Answers by status.
    pub status_counts: BTreeMap<String, u64>,
    /// All answers.
    pub latency_ms: Option<Latency>,
    /// 2xx answers.
    pub ok_latency_ms: Option<Latency>,
    /// 503 answers.
    pub busy_latency_ms: Option<Latency>,
    /// Server CPU seconds in the window (user + system).
    pub server_cpu_s: f64,
    /// Of which in the kernel.
    pub server_cpu_system_s: f64,
    /// Server CPU per answer, µs.
    pub server_cpu_us_per_request: f64,
    /// Server CPU seconds per second (cores busy).
    pub server_cores_busy: f64,
    /// Load-generator CPU seconds per second.
    pub client_cores_busy: f64,
    /// Whole machine, busy cores (server + client + database + anything else).
    pub machine_cores_busy: f64,
    /// Busy cores outside server and client: the database server
    /// (PostgreSQL, MariaDB), other work.
    pub other_cores_busy: f64,
    /// Cores' worth of time stolen by the hypervisor.
    pub steal_cores: f64,
    /// Server VmRSS after the scenario, KiB.
    pub rss_after_kib: u64,
    /// authorization-code: the token request alone (complete exchanges);
    /// `latency_ms` is the authorization request + token request pair.
    pub token_request_latency_ms: Option<Latency>,
    /// A few distinct error answers.
    pub error_samples: Vec<String>,
}

impl ScenarioReport {
    /// Figures from an outcome.
    pub fn from_outcome(outcome: &Outcome) -> ScenarioReport {
        let stats = &outcome.stats;
        let secs = outcome.duration.as_secs_f64();
        let requests = stats.all.len();
        let ok = stats.ok.len();
        let busy = stats.busy.len();
        let errors = requests - ok + stats.transport_errors;
        let server_cpu = outcome.server_cpu.user + outcome.server_cpu.system;
        ScenarioReport {
            name: outcome.scenario.name().into(),
            endpoint: outcome.scenario.endpoint().into(),
            concurrency: outcome.concurrency,
            duration_s: secs,
            requests,
            rps: requests as f64 / secs,
            ok_rps: ok as f64 / secs,
            errors,
            busy_503: busy,
            errors_excluding_503: errors - busy,
            transport_errors: stats.transport_errors,
            busy_without_retry_after: stats.busy_without_retry_after,
            relogins: stats.relogins,
            failed_workers: stats.failed_workers,
            rejected_2xx: stats.rejected_2xx,
            status_counts: stats.statuses.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            latency_ms: Latency::of(&stats.all),
            ok_latency_ms: Latency::of(&stats.ok),
            busy_latency_ms: Latency::of(&stats.busy),
            server_cpu_s: server_cpu,
            server_cpu_system_s: outcome.server_cpu.system,
            server_cpu_us_per_request: if requests > 0 {
                server_cpu * 1e6 / requests as f64
            } else {
                0.0
            },
            server_cores_busy: server_cpu / secs,
            client_cores_busy: outcome.client_cpu / secs,
            machine_cores_busy: outcome.machine_cpu.busy / secs,
            other_cores_busy: ((outcome.machine_cpu.busy - server_cpu - outcome.client_cpu) / secs).max(0.0),
            steal_cores: outcome.machine_cpu.steal / secs,
            rss_after_kib: outcome.rss_after_kib,
            token_request_latency_ms: Latency::of(&stats.token),
            error_samples: stats.error_samples.clone(),
        }
    }
}

/// One target of the issue, checked (never asserted).
#[derive(Serialize)]
pub struct TargetCheck {
    /// What is measured.
    pub target: String,
    /// The goal, as text.
    pub goal: String,
    /// The measured value, as text.
    pub actual: String,
    /// Met or not; `None` when not measured or not applicable.
    pub pass: Option<bool>,
}
