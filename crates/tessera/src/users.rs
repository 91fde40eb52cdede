//! `tessera users …`: accounts from the command line — above all the first
//! `super_admin` when no bootstrap variables were set.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;
use tessera_core::admin::NewUser;
use tessera_core::AuthError;

use crate::Config;

/// The `tessera users` subcommands.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create an account with roles (default `user`). The operator running
    /// the binary against the database is trusted: no permission checks.
    Create {
        /// Email address.
        #[arg(long)]
        email: String,
        /// Role to give (repeatable), e.g. `--role super_admin`.
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// Read the password from standard input (one line; trailing
        /// newline dropped). Without it the account has no password.
        #[arg(long)]
        password_stdin: bool,
        /// Username.
        #[arg(long)]
        username: Option<String>,
        /// Slug of the tenant (default: the default tenant).
        #[arg(long, default_value = "default")]
        tenant: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one `tessera users` command: output on stdout, a clear message on
/// stderr and a non-zero status on failure.
pub async fn run(config: &Config, command: UsersCommand) -> ExitCode {
    match execute(config, command).await {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("tessera: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(config: &Config, command: UsersCommand) -> anyhow::Result<String> {
    let UsersCommand::Create {
        email,
        roles,
        password_stdin,
        username,
        tenant,
        json,
    } = command;
    let password = if password_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the password from standard input")?;
        let line = text.lines().next().unwrap_or_default().to_string();
        if line.is_empty() {
            anyhow::bail!("--password-stdin: standard input held no password");
        }
        Some(line)
    } else {
        None
    };
    let services = crate::App::builder(config).services(&tenant).await?;
    let input = NewUser {
        email,
        password,
        username,
        roles: (!roles.is_empty()).then_some(roles),
        ..NewUser::default()
    };
    // The operator at the shell is trusted with everything.
    let operator = tessera_core::Caller::operator();
    let created = services
        .admin
        .create_user(
            &operator.permit().map_err(|err| anyhow::anyhow!(describe(err)))?,
            input,
        )
        .await
        .map_err(|err| anyhow::anyhow!(describe(err)))?;
    Ok(if json {
        format!(
            "{}\n",
            json!({ "id": created.user.user_id, "email": created.user.email, "roles": created.roles })
        )
    } else {
        format!(
            "created user {} <{}> with roles {}\n",
            created.user.user_id,
            created.user.email,
            created.roles.join(", ")
        )
    })
}

/// A service error as one line for an operator.
pub fn describe(err: AuthError) -> String {
    match err {
        AuthError::Validation(violations) => violations
            .iter()
            .map(|v| format!("{}: {}", v.field, v.message))
            .collect::<Vec<_>>()
            .join("; "),
        AuthError::Conflict(field) => format!("{field} is already in use"),
        other => other.to_string(),
    }
}
