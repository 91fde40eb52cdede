//! `tessera keys …`: signing keys from the command line.
//!
//! Each command opens the configured database (migrating it) and calls one
//! [`KeyRing`] method. A rotation writes to the database only: running
//! servers read their keys again within `keys.cache_ttl_secs`, so the new
//! key shows in their JWKS by then and signs from its `activates_at` on.

use std::process::ExitCode;

use crate::command::Target;
use crate::Config;
use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Subcommand;
use serde_json::json;
use tessera_core::{retention_secs, KeyInfo, SigningAlg};

/// The `tessera keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the signing keys: kid, algorithm, status (pending, active,
    /// retired) and times. Never prints private material.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Generate a new signing key: published in JWKS at once (on running
    /// servers within `keys.cache_ttl_secs`), signing after the activation
    /// delay; the keys of the same algorithm it replaces stay published until
    /// every token they signed has expired.
    Rotate {
        /// RS256, ES256 or EdDSA (default: the configured `signing_alg`).
        #[arg(long, value_name = "ALG", value_parser = parse_alg)]
        alg: Option<SigningAlg>,
        /// Seconds until the new key signs (default: `keys.activation_delay_secs`).
        #[arg(long, value_name = "SECS")]
        activation_delay_secs: Option<u64>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn parse_alg(name: &str) -> Result<SigningAlg, String> {
    SigningAlg::parse(name).ok_or_else(|| format!("'{name}' is not one of RS256, ES256, EdDSA"))
}

/// Runs one `tessera keys` command on the keys of `target`'s tenant:
/// output on stdout, a clear message on stderr and a non-zero status on
/// failure (2 when there is no database).
pub async fn run(config: &Config, target: &Target, command: KeysCommand) -> ExitCode {
    match execute(config, target, command).await {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            // A refused value (e.g. too long an activation delay) names the
            // field and the rule, not only "validation failed".
            let message = match err.downcast_ref::<tessera_core::AuthError>() {
                Some(auth) => crate::users::describe(auth),
                None => format!("{err:#}"),
            };
            crate::command::fail(&err, &message)
        }
    }
}

/// Executes a command and renders what it prints.
async fn execute(config: &Config, target: &Target, command: KeysCommand) -> anyhow::Result<String> {
    let services = target.services(config).await?;
    let context = &services.context;
    let (keys, tenant_id) = (context.keys(), context.tenant_id());
    match command {
        KeysCommand::List { json } => {
            let list = keys.list(tenant_id, context.now()).await?;
            if json {
                let text = serde_json::to_string_pretty(&list).context("cannot encode JSON")?;
                Ok(format!("{text}\n"))
            } else {
                Ok(table(&list))
            }
        }
        KeysCommand::Rotate {
            alg,
            activation_delay_secs,
            json,
        } => {
            let alg = alg.unwrap_or(config.signing_alg);
            let delay = activation_delay_secs.unwrap_or(config.keys.activation_delay_secs);
            let client_ttls = services
                .clients
                .list()
                .await?
                .into_iter()
                .map(|client| client.access_token_ttl_secs);
            let retain = retention_secs(&config.tokens, client_ttls);
            let key = keys.rotate(tenant_id, alg, delay, retain, context.now()).await?;
            let activates_at = time(key.activates_at);
            Ok(if json {
                format!(
                    "{}\n",
                    json!({ "kid": key.kid, "alg": key.alg, "activates_at": activates_at })
                )
            } else {
                format!(
                    "kid:          {}\nalg:          {}\nactivates_at: {activates_at}\n\
                     Published in JWKS now (on running servers within {} s); signs from \
                     activates_at on.\n",
                    key.kid, key.alg, config.keys.cache_ttl_secs
                )
            })
        }
    }
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The human listing: one line per key, aligned columns.
fn table(keys: &[KeyInfo]) -> String {
    if keys.is_empty() {
        return "no keys\n".to_owned();
    }
    let header = ["KID", "ALG", "STATE", "CREATED", "ACTIVATES_AT", "NOT_AFTER"];
    let rows: Vec<[String; 6]> = keys
        .iter()
        .map(|k| {
            [
                k.kid.clone(),
                k.alg.clone(),
                k.state.as_str().to_owned(),
                time(k.created_at),
                time(k.activates_at),
                k.not_after.map(time).unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    crate::command::columns(header, &rows)
}
