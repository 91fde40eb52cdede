//! `tessera-bench`: starts the Tessera server on SQLite (and on PostgreSQL
//! and MariaDB/MySQL when their URLs are given), loads it from this separate process at fixed
//! concurrency, and writes `bench/results/<backend>-<utc>.json` plus
//! `bench/results/summary.md`. Usually run through `bash bench/run.sh`;
//! see bench/README.md. Not part of the test suite: targets are reported,
//! never asserted.

mod argon2;
mod backend;
mod cli;
mod database;
mod http;
mod load;
mod provenance;
mod reference;
mod report;
mod server;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;

use backend::{Backend, RunFacts};
use cli::Args;
use database::ServerEngine;
use load::Scenario;
use report::{ReferenceReport, RunConfig, RunReport};

fn main() -> Result<()> {
    let args = Args::parse();
    args.check()?;
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
    let machine = provenance::machine(cores);
    // The run's own wall-clock start, for its report (the bench is outside
    // the service and its Clock port).
    #[allow(clippy::disallowed_methods)]
    let started = chrono::Utc::now();
    let timestamp = started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let file_stamp = started.format("%Y%m%dT%H%M%SZ").to_string();
    let (git_commit, git_dirty) = provenance::git_state(&workspace);

    // The hash time first, while nothing else of ours runs.
    eprintln!(
        "argon2id: timing {} runs in-process on one core…",
        args.argon2_runs
    );
    let argon2 = argon2::time_argon2(args.argon2_runs.max(1), cores)?;
    eprintln!(
        "argon2id: median {:.1} ms → hash bound {:.1}/s on {cores} cores",
        argon2.median_ms, argon2.hash_bound_per_s
    );

    let facts = RunFacts {
        timestamp,
        git_commit,
        git_dirty,
        machine,
        argon2,
    };
    let runtime = client_runtime(args.client_threads)?;
    let reports = run_backends(&args, &runtime, &server_bin, &facts, &file_stamp)?;
    let reference = run_reference(&args, &runtime);

    // The same single-core timing once more: on a shared machine the hash
    // time drifts, and the bound is only as good as this figure.
    let after = argon2::median_hash_ms(args.argon2_runs.max(1))?;
    eprintln!("argon2id after the run: median {after:.1} ms");
    let reports: Vec<RunReport> = reports
        .into_iter()
        .map(|(path, report)| {
            let report = with_reference(report, reference.as_ref(), after);
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

/// The load generator's runtime: single-threaded unless `--client-threads`
/// asks for more, so it stays off the server's cores.
fn client_runtime(client_threads: usize) -> Result<tokio::runtime::Runtime> {
    Ok(if client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(client_threads)
            .enable_all()
            .build()?
    })
}

/// Runs every backend in turn and writes each one's JSON as soon as it is
/// done; returns the files with their reports.
fn run_backends(
    args: &Args,
    runtime: &tokio::runtime::Runtime,
    server_bin: &Path,
    facts: &RunFacts,
    file_stamp: &str,
) -> Result<Vec<(PathBuf, RunReport)>> {
    let mut reports = Vec::new();
    for backend in backends(args) {
        let name = backend.name();
        eprintln!("\n=== {name} ===");
        let config = run_config(args, server_bin);
        let report = runtime.block_on(backend::run_backend(args, server_bin, &backend, config, facts))?;
        let path = args.results_dir.join(format!("{name}-{file_stamp}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&report)?)?;
        eprintln!("wrote {}", path.display());
        reports.push((path, report));
    }
    Ok(reports)
}

/// The backends to run, in order: SQLite, PostgreSQL, MariaDB/MySQL.
fn backends(args: &Args) -> Vec<Backend> {
    let mut backends = Vec::new();
    if !args.skip_sqlite {
        backends.push(Backend::Sqlite);
    }
    if let Some(url) = &args.postgres_url {
        backends.push(Backend::Server(ServerEngine::Postgres, url.clone()));
    }
    if let Some(url) = &args.mysql_url {
        backends.push(Backend::Server(ServerEngine::Mysql, url.clone()));
    }
    backends
}

/// The run's configuration as a report records it (the database is
/// described once it exists).
fn run_config(args: &Args, server_bin: &Path) -> RunConfig {
    RunConfig {
        duration_s: args.duration,
        warmup_s: args.warmup,
        client_threads: args.client_threads.max(1),
        accounts: args.accounts,
        server_bin: server_bin.display().to_string(),
        server_env: args.server_env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        database: String::new(),
    }
}

/// The reference once, after every backend, with the load Tessera's
/// client-credentials got; `None` unless its scenario was asked for.
fn run_reference(args: &Args, runtime: &tokio::runtime::Runtime) -> Option<ReferenceReport> {
    if !args.scenarios.iter().any(|s| s.is_reference()) {
        return None;
    }
    eprintln!("\n=== reference: node oidc-provider ===");
    let load = reference::Load {
        concurrency: args.concurrency_of(Scenario::OidcProviderClientCredentials),
        warmup: Duration::from_secs_f64(args.warmup),
        duration: Duration::from_secs_f64(args.duration),
        keep_temp: args.keep_temp,
    };
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc-provider");
    Some(runtime.block_on(reference::run(&project, &load)))
}

/// A backend's report completed once the reference and the second hash
/// timing are known: the ratio to the reference and the targets again.
fn with_reference(mut report: RunReport, reference: Option<&ReferenceReport>, after: f64) -> RunReport {
    report.argon2.median_ms_after_run = Some(after);
    report.client_credentials_vs_reference = reference
        .and_then(|r| r.scenario.as_ref())
        .filter(|r| r.ok_rps > 0.0)
        .zip(
            report
                .scenarios
                .iter()
                .find(|s| s.name == Scenario::ClientCredentials.name()),
        )
        .map(|(r, s)| s.ok_rps / r.ok_rps);
    report.reference = reference.cloned();
    report.targets = report::check_targets(
        &report.backend,
        &report.argon2,
        &report.server,
        &report.scenarios,
        report.reference.as_ref(),
    );
    report
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
