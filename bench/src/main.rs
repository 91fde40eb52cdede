//! `tessera-bench`: starts the Tessera server on SQLite (and PostgreSQL when
//! a URL is given), loads it from this separate process at fixed
//! concurrency, and writes `bench/results/<backend>-<utc>.json` plus
//! `bench/results/summary.md`. Usually run through `bash bench/run.sh`;
//! see bench/README.md. Not part of the test suite: targets are reported,
//! never asserted.

mod http;
mod load;
mod reference;
mod report;
mod server;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;

use load::Scenario;
use report::{Argon2Report, Machine, ReferenceReport, RunConfig, RunReport, ScenarioReport, ServerReport};
use server::{PgDatabase, Server};

/// Load harness for Tessera.
#[derive(Parser)]
#[command(name = "tessera-bench", args_override_self = true)]
struct Args {
    /// Scenarios to run, in order, against each backend; the reference
    /// `oidc-provider-client-credentials` runs once, after the backends.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "login,login-overload,refresh,me,jwks,client-credentials,introspect,authorization-code,oidc-provider-client-credentials"
    )]
    scenarios: Vec<Scenario>,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Unmeasured warm-up seconds per scenario.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Also run against PostgreSQL: a fresh database is created on this
    /// server (the URL's database is only used to connect) and dropped after.
    #[arg(long, env = "TESSERA_BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// Skip the SQLite run (only with --postgres-url).
    #[arg(long)]
    skip_sqlite: bool,
    /// Server binary; default <workspace>/target/release/tessera, built
    /// with `cargo build --release -p tessera` when missing.
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Connections per scenario, e.g. `--concurrency login=16,me=64`.
    #[arg(long, value_delimiter = ',', value_parser = parse_concurrency)]
    concurrency: Vec<(Scenario, usize)>,
    /// Accounts registered in setup (login spreads over them).
    #[arg(long, default_value_t = 64)]
    accounts: usize,
    /// Timed argon2id runs for the hash time (median).
    #[arg(long, default_value_t = 20)]
    argon2_runs: usize,
    /// Threads of the load generator (1 keeps it off the server's other core).
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Extra server environment, `KEY=VALUE` (repeatable).
    #[arg(long = "server-env", value_parser = parse_env)]
    server_env: Vec<(String, String)>,
    /// Where results go.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results"))]
    results_dir: PathBuf,
    /// Keep the server's temp dir (data and log) after the run.
    #[arg(long)]
    keep_temp: bool,
}

fn parse_concurrency(text: &str) -> Result<(Scenario, usize), String> {
    let (name, n) = text.split_once('=').ok_or("expected SCENARIO=N")?;
    let scenario = <Scenario as clap::ValueEnum>::from_str(name, true)?;
    let n: usize = n.parse().map_err(|e| format!("{n}: {e}"))?;
    if n == 0 {
        return Err("concurrency must be at least 1".into());
    }
    Ok((scenario, n))
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    let (key, value) = text.split_once('=').ok_or("expected KEY=VALUE")?;
    Ok((key.to_string(), value.to_string()))
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.duration <= 0.0 || args.warmup < 0.0 {
        bail!("--duration must be positive and --warmup not negative");
    }
    if args.accounts == 0 {
        bail!("--accounts must be at least 1");
    }
    if args.skip_sqlite && args.postgres_url.is_none() {
        bail!("--skip-sqlite needs --postgres-url");
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let server_bin = match &args.server_bin {
        Some(bin) => bin.clone(),
        None => default_server_bin(&workspace)?,
    };
    if !server_bin.exists() {
        bail!("server binary {} does not exist", server_bin.display());
    }
    std::fs::create_dir_all(&args.results_dir)?;

    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let machine = machine(cores);
    let started = chrono::Utc::now();
    let timestamp = started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let file_stamp = started.format("%Y%m%dT%H%M%SZ").to_string();
    let (git_commit, git_dirty) = git_state(&workspace);

    // The hash time first, while nothing else of ours runs.
    eprintln!(
        "argon2id: timing {} runs in-process on one core…",
        args.argon2_runs
    );
    let argon2 = time_argon2(args.argon2_runs.max(1), cores)?;
    eprintln!(
        "argon2id: median {:.1} ms → hash bound {:.1}/s on {cores} cores",
        argon2.median_ms, argon2.hash_bound_per_s
    );

    let runtime = if args.client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.client_threads)
            .enable_all()
            .build()?
    };

    let mut backends: Vec<(&str, Option<String>)> = Vec::new();
    if !args.skip_sqlite {
        backends.push(("sqlite", None));
    }
    if let Some(url) = &args.postgres_url {
        backends.push(("postgres", Some(url.clone())));
    }

    let mut reports = Vec::new();
    for (backend, pg_url) in backends {
        eprintln!("\n=== {backend} ===");
        let config = RunConfig {
            duration_s: args.duration,
            warmup_s: args.warmup,
            client_threads: args.client_threads.max(1),
            accounts: args.accounts,
            server_bin: server_bin.display().to_string(),
            server_env: args.server_env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            database: String::new(),
        };
        let base = BaseReport {
            backend,
            timestamp: &timestamp,
            git_commit: &git_commit,
            git_dirty,
            machine: &machine,
            argon2: &argon2,
        };
        let report = runtime.block_on(run_backend(&args, &server_bin, pg_url.as_deref(), config, base))?;
        let path = args.results_dir.join(format!("{backend}-{file_stamp}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&report)?)?;
        eprintln!("wrote {}", path.display());
        reports.push((path, report));
    }

    // The reference once, after every backend, with the load Tessera's
    // client-credentials got.
    let reference: Option<ReferenceReport> = if args.scenarios.iter().any(|s| s.is_reference()) {
        eprintln!("\n=== reference: node oidc-provider ===");
        let load = reference::Load {
            concurrency: concurrency_of(&args, Scenario::OidcProviderClientCredentials),
            warmup: Duration::from_secs_f64(args.warmup),
            duration: Duration::from_secs_f64(args.duration),
            keep_temp: args.keep_temp,
        };
        let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc-provider");
        Some(runtime.block_on(reference::run(&project, &load)))
    } else {
        None
    };

    // The same single-core timing once more: on a shared machine the hash
    // time drifts, and the bound is only as good as this figure.
    let after = median_hash_ms(args.argon2_runs.max(1))?;
    eprintln!("argon2id after the run: median {after:.1} ms");
    let reports: Vec<RunReport> = reports
        .into_iter()
        .map(|(path, mut report)| {
            report.argon2.median_ms_after_run = Some(after);
            report.client_credentials_vs_reference = reference
                .as_ref()
                .and_then(|r| r.scenario.as_ref())
                .filter(|r| r.ok_rps > 0.0)
                .zip(
                    report
                        .scenarios
                        .iter()
                        .find(|s| s.name == Scenario::ClientCredentials.name()),
                )
                .map(|(r, s)| s.ok_rps / r.ok_rps);
            report.reference = reference.clone();
            report.targets = report::check_targets(
                &report.backend,
                &report.argon2,
                &report.server,
                &report.scenarios,
                report.reference.as_ref(),
            );
            std::fs::write(&path, serde_json::to_vec_pretty(&report)?)?;
            anyhow::Ok(report)
        })
        .collect::<Result<_>>()?;

    let summary = report::markdown(&reports);
    let summary_path = args.results_dir.join("summary.md");
    std::fs::write(&summary_path, &summary)?;
    println!("{summary}");
    eprintln!("wrote {}", summary_path.display());
    Ok(())
}

/// Run-wide facts shared by every backend's report.
struct BaseReport<'a> {
    backend: &'a str,
    timestamp: &'a str,
    git_commit: &'a Option<String>,
    git_dirty: Option<bool>,
    machine: &'a Machine,
    argon2: &'a Argon2Report,
}

/// One backend: database, server, setup, scenarios, stop, clean up.
async fn run_backend(
    args: &Args,
    server_bin: &Path,
    pg_admin_url: Option<&str>,
    mut config: RunConfig,
    base: BaseReport<'_>,
) -> Result<RunReport> {
    let data_dir = std::env::temp_dir().join(format!("tessera-bench-{}", server::unique_suffix()));
    std::fs::create_dir_all(&data_dir)?;
    let database = match pg_admin_url {
        Some(url) => {
            let version = server::pg_version(url).await.unwrap_or_else(|_| "?".into());
            let db = PgDatabase::create(url).await?;
            config.database = format!("PostgreSQL {version}, fresh database {}", db.name);
            Some(db)
        }
        None => {
            config.database = "SQLite (default file in a fresh data dir)".into();
            None
        }
    };
    let db_url = database.as_ref().map(|db| db.url.clone());
    let result = drive_server(args, server_bin, &data_dir, db_url.as_deref()).await;
    if let Some(db) = database {
        if let Err(err) = db.drop_database().await {
            eprintln!("warning: {err:#}");
        }
    }
    match &result {
        Ok(_) if !args.keep_temp => {
            let _ = std::fs::remove_dir_all(&data_dir);
        }
        _ => eprintln!("server data dir and log kept in {}", data_dir.display()),
    }
    let (server, scenarios) = result?;
    // Checked again with the reference once it has run.
    let targets = report::check_targets(base.backend, base.argon2, &server, &scenarios, None);
    Ok(RunReport {
        backend: base.backend.into(),
        timestamp: base.timestamp.into(),
        git_commit: base.git_commit.clone(),
        git_dirty: base.git_dirty,
        machine: base.machine.clone(),
        config,
        argon2: base.argon2.clone(),
        server,
        scenarios,
        reference: None,
        client_credentials_vs_reference: None,
        targets,
    })
}

/// Connections for `scenario`: the last `--concurrency` for it, else its
/// default. The reference follows Tessera's `client-credentials` unless it
/// is given its own, so both get the same load.
fn concurrency_of(args: &Args, scenario: Scenario) -> usize {
    let given = |wanted: Scenario| {
        args.concurrency
            .iter()
            .rev()
            .find(|(s, _)| *s == wanted)
            .map(|(_, n)| *n)
    };
    match scenario {
        Scenario::OidcProviderClientCredentials => given(scenario)
            .or_else(|| given(Scenario::ClientCredentials))
            .unwrap_or(scenario.default_concurrency()),
        _ => given(scenario).unwrap_or(scenario.default_concurrency()),
    }
}

async fn drive_server(
    args: &Args,
    server_bin: &Path,
    data_dir: &Path,
    database_url: Option<&str>,
) -> Result<(ServerReport, Vec<ScenarioReport>)> {
    let started = Server::start(server_bin, data_dir, database_url, &args.server_env).await?;
    let server = started.server;
    let mut report = ServerReport {
        ready_ms: started.ready.as_secs_f64() * 1000.0,
        ..ServerReport::default()
    };
    eprintln!(
        "server pid {} on {}: ready after {:.0} ms",
        server.pid, server.addr, report.ready_ms
    );

    // Idle: a few cheap requests (first-touch of the router, JWKS cache), no hashing yet.
    {
        let mut client = http::Client::new(server.addr)?;
        for _ in 0..20 {
            client.get("/health/ready", None).await?;
            client.get("/.well-known/jwks.json", None).await?;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    report.idle_rss_kib = server.status_kib("VmRSS")?;

    let result = load_server(args, &server, &mut report, |client_args| {
        server::create_client(server_bin, data_dir, database_url, &args.server_env, client_args)
    })
    .await;
    let scenarios = match result {
        Ok(scenarios) => scenarios,
        Err(err) => {
            eprintln!("server log tail:\n{}", server.log_tail(30));
            return Err(err);
        }
    };
    report.rss_end_kib = server.status_kib("VmRSS")?;
    report.peak_rss_kib = server.status_kib("VmHWM")?;
    report.threads_end = server.status_kib("Threads")?;
    let log_path = server.log_path.clone();
    let stopped = server.stop()?;
    report.shutdown_ms = stopped.shutdown.as_secs_f64() * 1000.0;
    report.exit_status = stopped.exit_status;
    let log = std::fs::read(&log_path).unwrap_or_default();
    report.log_bytes = log.len() as u64;
    report.log_lines = log.iter().filter(|b| **b == b'\n').count() as u64;
    Ok((report, scenarios))
}

async fn load_server(
    args: &Args,
    server: &Server,
    report: &mut ServerReport,
    create_client: impl Fn(&[&str]) -> Result<server::OAuthClient>,
) -> Result<Vec<ScenarioReport>> {
    let registering = Instant::now();
    let accounts = load::register_accounts(server.addr, args.accounts).await?;
    report.register_s = registering.elapsed().as_secs_f64();
    eprintln!(
        "registered {} accounts in {:.1} s",
        accounts.len(),
        report.register_s
    );

    // Confidential clients for the OAuth scenarios, registered through the
    // server's own CLI against its database (not measured).
    let mut clients = load::Clients::default();
    if args.scenarios.iter().any(|s| s.needs_oauth_client()) {
        let client =
            create_client(server::SERVICE_CLIENT_ARGS).context("registering the bench's OAuth client")?;
        eprintln!("registered OAuth client {}", client.client_id);
        clients.service = Some(load::basic_client_auth(&client.client_id, &client.client_secret)?);
    }
    if args.scenarios.iter().any(|s| s.needs_web_client()) {
        let client = create_client(server::WEB_CLIENT_ARGS)
            .context("registering the bench's first-party web client")?;
        eprintln!("registered first-party web client {}", client.client_id);
        clients.web = Some(load::WebClient {
            authorization: load::basic_client_auth(&client.client_id, &client.client_secret)?,
            client_id: client.client_id,
        });
    }

    let mut scenarios = Vec::new();
    for &scenario in args.scenarios.iter().filter(|s| !s.is_reference()) {
        let concurrency = concurrency_of(args, scenario);
        eprintln!(
            "{}: {concurrency} connections, {:.0} s + {:.0} s warm-up…",
            scenario.name(),
            args.duration,
            args.warmup
        );
        let outcome = load::run_scenario(
            server,
            &accounts,
            &clients,
            scenario,
            concurrency,
            Duration::from_secs_f64(args.warmup),
            Duration::from_secs_f64(args.duration),
        )
        .await
        .with_context(|| format!("scenario {}", scenario.name()))?;
        let figures = ScenarioReport::from_outcome(&outcome);
        eprintln!(
            "{}: {:.1} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors ({} × 503)",
            figures.name,
            figures.rps,
            figures.latency_ms.map_or(0.0, |l| l.p50),
            figures.latency_ms.map_or(0.0, |l| l.p99),
            figures.errors,
            figures.busy_503
        );
        scenarios.push(figures);
    }
    Ok(scenarios)
}

/// Times argon2id at OWASP parameters: one untimed run, then `runs` timed.
fn time_argon2(runs: usize, cores: usize) -> Result<Argon2Report> {
    let params = tessera_argon2::Params {
        memory_kib: 19456,
        iterations: 2,
        parallelism: 1,
    };
    let salt = *b"bench-salt-16byt";
    let mut times = Vec::with_capacity(runs);
    let mut first_run_ms = 0.0;
    for run in 0..=runs {
        let password = format!("bench-Passphrase-{run}-xyz");
        let began = Instant::now();
        let encoded = tessera_argon2::hash_encoded(password.as_bytes(), &salt, params)
            .map_err(|err| anyhow::anyhow!("argon2: {err}"))?;
        let elapsed = began.elapsed().as_secs_f64() * 1000.0;
        std::hint::black_box(encoded);
        if run > 0 {
            times.push(elapsed);
        } else {
            first_run_ms = elapsed;
        }
    }
    // The same hash on every core at once: the bound assumes linear scaling;
    // memory bandwidth and shared caches may disagree. One untimed hash per
    // thread first (its allocator arena's first touch), then a common start.
    let per_thread = runs.max(10);
    let barrier = std::sync::Barrier::new(cores);
    let hash = |password: String| -> Result<()> {
        let encoded = tessera_argon2::hash_encoded(password.as_bytes(), &salt, params)
            .map_err(|err| anyhow::anyhow!("argon2: {err}"))?;
        std::hint::black_box(encoded);
        Ok(())
    };
    let elapsed: Vec<Result<f64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..cores)
            .map(|thread| {
                let (barrier, hash) = (&barrier, &hash);
                scope.spawn(move || {
                    hash(format!("bench-Passphrase-{thread}-warm"))?;
                    barrier.wait();
                    let began = Instant::now();
                    for run in 0..per_thread {
                        hash(format!("bench-Passphrase-{thread}-{run}"))?;
                    }
                    anyhow::Ok(began.elapsed().as_secs_f64())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .map_err(|_| anyhow::anyhow!("argon2 thread panicked"))?
            })
            .collect()
    });
    let slowest = elapsed
        .into_iter()
        .collect::<Result<Vec<f64>>>()?
        .into_iter()
        .fold(0.0, f64::max);
    let parallel_per_s = (per_thread * cores) as f64 / slowest;

    times.sort_by(f64::total_cmp);
    let n = times.len();
    let median = if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2.0
    };
    Ok(Argon2Report {
        memory_kib: params.memory_kib,
        iterations: params.iterations,
        parallelism: params.parallelism,
        runs,
        median_ms: median,
        min_ms: times[0],
        max_ms: times[n - 1],
        first_run_ms,
        median_ms_after_run: None,
        cores,
        hash_bound_per_s: cores as f64 / (median / 1000.0),
        parallel_hashes: per_thread * cores,
        parallel_per_s,
    })
}

/// Median single-core argon2id time of `runs` hashes (after one untimed).
fn median_hash_ms(runs: usize) -> Result<f64> {
    let params = tessera_argon2::Params {
        memory_kib: 19456,
        iterations: 2,
        parallelism: 1,
    };
    let mut times = Vec::with_capacity(runs);
    for run in 0..=runs {
        let password = format!("bench-Passphrase-after-{run}");
        let began = Instant::now();
        let encoded = tessera_argon2::hash_encoded(password.as_bytes(), b"bench-salt-16byt", params)
            .map_err(|err| anyhow::anyhow!("argon2: {err}"))?;
        let elapsed = began.elapsed().as_secs_f64() * 1000.0;
        std::hint::black_box(encoded);
        if run > 0 {
            times.push(elapsed);
        }
    }
    times.sort_by(f64::total_cmp);
    let n = times.len();
    Ok(if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2.0
    })
}

/// `<target dir>/release/tessera`, building it when missing.
fn default_server_bin(workspace: &Path) -> Result<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let bin = target.join("release").join("tessera");
    if !bin.exists() {
        eprintln!("{} missing: cargo build --release -p tessera", bin.display());
        let status = Command::new("cargo")
            .args(["build", "--release", "-p", "tessera"])
            .current_dir(workspace)
            .status()
            .context("running cargo")?;
        if !status.success() {
            bail!("cargo build --release -p tessera failed");
        }
    }
    Ok(bin)
}

fn git_state(workspace: &Path) -> (Option<String>, Option<bool>) {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(workspace)
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "--verify", "-q", "HEAD"]).filter(|c| !c.is_empty());
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).map(|s| !s.is_empty());
    (commit, dirty)
}

fn machine(cores: usize) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split_once(':'))
        .map(|(_, model)| model.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let kernel = format!(
        "{} {}",
        read("/proc/sys/kernel/ostype"),
        read("/proc/sys/kernel/osrelease")
    );
    let memory_mib = read("/proc/meminfo")
        .lines()
        .find(|line| line.starts_with("MemTotal:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or(0, |kib| kib / 1024);
    let load_average_at_start = read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    Machine {
        cores,
        cpu_model,
        kernel,
        memory_mib,
        load_average_at_start,
    }
}
