//! The command line: options, their parsing and the checks clap cannot do.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Parser;

use crate::load::Scenario;

/// Load harness for Tessera.
#[derive(Parser)]
#[command(name = "tessera-bench", args_override_self = true)]
pub struct Args {
    /// Scenarios to run, in order, against each backend; the reference
    /// `oidc-provider-client-credentials` runs once, after the backends.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "login,login-overload,refresh,me,jwks,client-credentials,introspect,authorization-code,oidc-provider-client-credentials"
    )]
    pub scenarios: Vec<Scenario>,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Unmeasured warm-up seconds per scenario.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Also run against PostgreSQL: a fresh database is created on this
    /// server (the URL's database is only used to connect) and dropped after.
    #[arg(long, env = "TESSERA_BENCH_POSTGRES_URL")]
    pub postgres_url: Option<String>,
    /// Also run against MariaDB/MySQL: a fresh database is created on this
    /// server (the URL's database is only used to connect) and dropped after.
    #[arg(long, env = "TESSERA_BENCH_MYSQL_URL")]
    pub mysql_url: Option<String>,
    /// Skip the SQLite run (only with --postgres-url or --mysql-url).
    #[arg(long)]
    pub skip_sqlite: bool,
    /// Server binary; default <workspace>/target/release/tessera, built
    /// with `cargo build --release -p tessera` when missing.
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// Connections per scenario, e.g. `--concurrency login=16,me=64`.
    #[arg(long, value_delimiter = ',', value_parser = parse_concurrency)]
    pub concurrency: Vec<(Scenario, usize)>,
    /// Accounts registered in setup (login spreads over them).
    #[arg(long, default_value_t = 64)]
    pub accounts: usize,
    /// Timed argon2id runs for the hash time (median).
    #[arg(long, default_value_t = 20)]
    pub argon2_runs: usize,
    /// Threads of the load generator (1 keeps it off the server's other core).
    #[arg(long, default_value_t = 1)]
    pub client_threads: usize,
    /// Extra server environment, `KEY=VALUE` (repeatable).
    #[arg(long = "server-env", value_parser = parse_env)]
    pub server_env: Vec<(String, String)>,
    /// Where results go.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results"))]
    pub results_dir: PathBuf,
    /// Keep the server's temp dir (data and log) after the run.
    #[arg(long)]
    pub keep_temp: bool,
}

/// One `SCENARIO=N` of `--concurrency`.
fn parse_concurrency(text: &str) -> Result<(Scenario, usize), String> {
    let (name, n) = text.split_once('=').ok_or("expected SCENARIO=N")?;
    let scenario = <Scenario as clap::ValueEnum>::from_str(name, true)?;
    let n: usize = n.parse().map_err(|e| format!("{n}: {e}"))?;
    if n == 0 {
        return Err("concurrency must be at least 1".into());
    }
    Ok((scenario, n))
}

/// One `KEY=VALUE` of `--server-env`.
fn parse_env(text: &str) -> Result<(String, String), String> {
    let (key, value) = text.split_once('=').ok_or("expected KEY=VALUE")?;
    Ok((key.to_string(), value.to_string()))
}

impl Args {
    /// Rejects option values and combinations clap lets through.
    pub fn check(&self) -> Result<()> {
        if self.duration <= 0.0 || self.warmup < 0.0 {
            bail!("--duration must be positive and --warmup not negative");
        }
        if self.accounts == 0 {
            bail!("--accounts must be at least 1");
        }
        if self.skip_sqlite && self.postgres_url.is_none() && self.mysql_url.is_none() {
            bail!("--skip-sqlite needs --postgres-url or --mysql-url");
        }
        Ok(())
    }

    /// Connections for `scenario`: the last `--concurrency` for it, else its
    /// default. The reference follows Tessera's `client-credentials` unless it
    /// is given its own, so both get the same load.
    pub fn concurrency_of(&self, scenario: Scenario) -> usize {
        let given = |wanted: Scenario| {
            self.concurrency
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
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    /// The options as clap parses them after the program name.
    fn args(options: &[&str]) -> Args {
        let mut argv = vec!["tessera-bench"];
        argv.extend_from_slice(options);
        Args::try_parse_from(argv).expect("valid options")
    }

    #[test]
    fn the_reference_follows_client_credentials_connections_unless_given_its_own() {
        let follows = args(&["--concurrency", "client-credentials=16,me=64"]);
        let own = args(&[
            "--concurrency",
            "client-credentials=16,oidc-provider-client-credentials=8",
        ]);

        assert_eq!(
            follows.concurrency_of(Scenario::OidcProviderClientCredentials),
            16
        );
        assert_eq!(follows.concurrency_of(Scenario::Me), 64);
        assert_eq!(follows.concurrency_of(Scenario::Login), 8);
        assert_eq!(own.concurrency_of(Scenario::OidcProviderClientCredentials), 8);
    }

    #[test]
    fn concurrency_needs_a_known_scenario_and_at_least_one_connection() {
        assert!(parse_concurrency("me=0").is_err());
        assert!(parse_concurrency("nope=4").is_err());
        assert!(parse_concurrency("me").is_err());
        assert_eq!(parse_concurrency("users-me=4"), Ok((Scenario::Me, 4)));
    }
}
