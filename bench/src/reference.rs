//! The reference server: node `oidc-provider` from bench/oidc-provider,
//! loaded with exactly the `client-credentials` load Tessera gets (same
//! load generator, connections, warm-up, duration, request body and
//! client authentication), once per run. It gives the issue's "≥ 10×
//! oidc-provider" target a denominator measured on the same machine in the
//! same run instead of a figure from elsewhere.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::http;
use crate::load::{self, Clients, Scenario};
use crate::report::{ReferenceReport, ScenarioReport};
use crate::server::{self, Server};

/// The reference's only client (server.mjs reads these from its environment).
const CLIENT_ID: &str = "bench-reference";
const CLIENT_SECRET: &str = "bench-reference-secret-0123456789abcdef";
/// Answered once the provider is up.
const DISCOVERY: &str = "/.well-known/openid-configuration";

/// How the reference is loaded.
pub struct Load {
    /// Connections (those of Tessera's `client-credentials`).
    pub concurrency: usize,
    /// Unmeasured warm-up.
    pub warmup: Duration,
    /// Measured window.
    pub duration: Duration,
    /// Keep the temp dir with node's log even after a successful run.
    pub keep_temp: bool,
}

/// Installs (if needed), starts, loads and stops oidc-provider. Never
/// fails: a reference that cannot run is reported with its error, and the
/// Tessera figures stand on their own.
pub async fn run(project: &Path, load: &Load) -> ReferenceReport {
    let mut report = ReferenceReport {
        implementation: "node oidc-provider".into(),
        ..ReferenceReport::default()
    };
    let temp = std::env::temp_dir().join(format!("tessera-bench-reference-{}", server::unique_suffix()));
    let result = run_inner(project, load, &temp, &mut report).await;
    match result {
        Ok(scenario) => {
            report.scenario = Some(scenario);
            if !load.keep_temp {
                let _ = std::fs::remove_dir_all(&temp);
            }
        }
        Err(err) => {
            eprintln!("warning: the oidc-provider reference did not run: {err:#}");
            if temp.exists() {
                eprintln!("its log is kept in {}", temp.display());
            }
            report.error = Some(format!("{err:#}"));
        }
    }
    report
}

/// Installs, starts, loads and stops the reference; its scenario's figures.
async fn run_inner(
    project: &Path,
    load: &Load,
    temp: &Path,
    report: &mut ReferenceReport,
) -> Result<ScenarioReport> {
    install(project)?;
    report.version = package_version(&project.join("node_modules/oidc-provider/package.json"))?;
    report.node_version = node_version()?;
    std::fs::create_dir_all(temp)?;

    let reference = start(project, temp, report).await?;

    let clients = Clients {
        service: Some(load::basic_client_auth(CLIENT_ID, CLIENT_SECRET)?),
        web: None,
    };
    let scenario = Scenario::OidcProviderClientCredentials;
    eprintln!(
        "{}: {} connections, {:.0} s + {:.0} s warm-up…",
        scenario.name(),
        load.concurrency,
        load.duration.as_secs_f64(),
        load.warmup.as_secs_f64()
    );
    let outcome = load::run_scenario(
        &reference,
        &Arc::new(Vec::new()),
        &clients,
        scenario,
        load.concurrency,
        load.warmup,
        load.duration,
    )
    .await;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(err) => {
            eprintln!("oidc-provider log tail:\n{}", reference.log_tail(30));
            return Err(err.context(format!("scenario {}", scenario.name())));
        }
    };
    report.peak_rss_kib = reference.status_kib("VmHWM")?;
    let stopped = reference.stop()?;
    let figures = ScenarioReport::from_outcome(&outcome);
    eprintln!(
        "{}: {:.1} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors; node peak RSS {:.1} MiB; stopped ({})",
        figures.name,
        figures.rps,
        figures.latency_ms.map_or(0.0, |l| l.p50),
        figures.latency_ms.map_or(0.0, |l| l.p99),
        figures.errors,
        report.peak_rss_kib as f64 / 1024.0,
        stopped.exit_status
    );
    Ok(figures)
}

/// Starts `node server.mjs` on a free port, waits until it is ready and
/// records its start-up time and idle RSS.
async fn start(project: &Path, temp: &Path, report: &mut ReferenceReport) -> Result<Server> {
    let addr = server::free_addr()?;
    let mut command = Command::new("node");
    command
        .arg(project.join("server.mjs"))
        .arg(addr.port().to_string())
        .current_dir(project)
        .env("NODE_ENV", "production")
        .env("HOST", addr.ip().to_string())
        .env("PORT", addr.port().to_string())
        .env("BENCH_CLIENT_ID", CLIENT_ID)
        .env("BENCH_CLIENT_SECRET", CLIENT_SECRET);
    let started = Server::spawn(command, addr, temp.join("oidc-provider.log"), DISCOVERY)
        .await
        .context("starting node bench/oidc-provider/server.mjs")?;
    let reference = started.server;
    report.ready_ms = started.ready.as_secs_f64() * 1000.0;
    eprintln!(
        "oidc-provider {} (node {}) pid {} on {}: ready after {:.0} ms",
        report.version, report.node_version, reference.pid, reference.addr, report.ready_ms
    );

    // Idle: as for Tessera, a few cheap requests first.
    {
        let mut client = http::Client::new(reference.addr)?;
        for _ in 0..20 {
            client.get(DISCOVERY, None).await?;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    report.idle_rss_kib = reference.status_kib("VmRSS")?;
    Ok(reference)
}

/// `npm ci` when oidc-provider is not installed yet (exact versions from
/// package-lock.json).
fn install(project: &Path) -> Result<()> {
    if project.join("node_modules/oidc-provider/package.json").exists() {
        return Ok(());
    }
    eprintln!("npm ci --prefix {}", project.display());
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(project)
        .stdin(Stdio::null())
        .status()
        .context("running npm (is Node.js installed?)")?;
    if !status.success() {
        bail!("npm ci --prefix {} failed ({status})", project.display());
    }
    Ok(())
}

/// The `version` of a package.json.
fn package_version(path: &PathBuf) -> Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)?;
    json.get("version")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .with_context(|| format!("no version in {}", path.display()))
}

/// `node --version`.
fn node_version() -> Result<String> {
    let output = Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .context("running node --version")?;
    if !output.status.success() {
        bail!("node --version failed ({})", output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}
