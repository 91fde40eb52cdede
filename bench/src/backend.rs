//! One backend's run: its database, the server on it, the setup the
//! scenarios need, the scenarios, and the clean-up afterwards.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::cli::Args;
use crate::database::{ServerEngine, ThrowawayDatabase};
use crate::report::{self, Argon2Report, Machine, RunConfig, RunReport, ScenarioReport, ServerReport};
use crate::server::{self, Server};
use crate::{http, load};

/// One backend of the run.
pub enum Backend {
    /// SQLite: the server's default file in a fresh data dir.
    Sqlite,
    /// A database server, with the URL of an existing database on it (used
    /// only to connect, to create and drop the run's own database).
    Server(ServerEngine, String),
}

impl Backend {
    /// Its name in reports and result file names.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Server(engine, _) => engine.backend(),
        }
    }
}

/// Run-wide facts shared by every backend's report.
pub struct RunFacts {
    /// UTC start of the run, RFC 3339.
    pub timestamp: String,
    /// `git rev-parse HEAD`, if there is a commit.
    pub git_commit: Option<String>,
    /// Whether the work tree had changes.
    pub git_dirty: Option<bool>,
    /// The machine.
    pub machine: Machine,
    /// The argon2id timing at the start of the run.
    pub argon2: Argon2Report,
}

/// One backend: database, server, setup, scenarios, stop, clean up.
pub async fn run_backend(
    args: &Args,
    server_bin: &Path,
    backend: &Backend,
    mut config: RunConfig,
    facts: &RunFacts,
) -> Result<RunReport> {
    let data_dir = std::env::temp_dir().join(format!("tessera-bench-{}", server::unique_suffix()));
    std::fs::create_dir_all(&data_dir)?;
    let database = match backend {
        Backend::Server(engine, admin_url) => {
            let product = engine.describe(admin_url).await;
            let db = ThrowawayDatabase::create(*engine, admin_url).await?;
            config.database = format!("{product}, fresh database {}", db.name);
            Some(db)
        }
        Backend::Sqlite => {
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
    let targets = report::check_targets(backend.name(), &facts.argon2, &server, &scenarios, None);
    Ok(RunReport {
        backend: backend.name().into(),
        timestamp: facts.timestamp.clone(),
        git_commit: facts.git_commit.clone(),
        git_dirty: facts.git_dirty,
        machine: facts.machine.clone(),
        config,
        argon2: facts.argon2.clone(),
        server,
        scenarios,
        reference: None,
        client_credentials_vs_reference: None,
        targets,
    })
}

/// Starts the server, measures it idle, loads it, stops it.
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

/// Registers the accounts and clients the scenarios need, then runs them.
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
        let concurrency = args.concurrency_of(scenario);
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
