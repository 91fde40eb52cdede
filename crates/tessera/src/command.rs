//! What the admin command groups (`tessera users`, `clients`, `keys`) share:
//! the tenant they work on, the database guard, and how a failure ends the
//! process.

use std::process::ExitCode;

use clap::Args;
use tessera_store::DEFAULT_TENANT_SLUG;

use crate::app::{App, Services};
use crate::config::Config;
use crate::database::NoDatabase;

/// Exit status of a command refused for its input or its surroundings (as
/// clap's usage errors): invalid values, no database where one was expected.
pub const EXIT_USAGE: u8 = 2;

/// Options of every admin command group; given before or after the
/// subcommand (`tessera clients --tenant acme list` or `tessera clients
/// list --tenant acme`).
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// Slug of the tenant to work on.
    #[arg(long, global = true, value_name = "SLUG", default_value = DEFAULT_TENANT_SLUG)]
    pub tenant: String,
    /// Create the database (and a master key) when none exists where the
    /// configuration points, instead of refusing with exit status 2.
    #[arg(long, global = true)]
    pub create: bool,
}

impl Target {
    /// The services of the tenant, on a database that must already exist
    /// unless `--create` was given.
    pub async fn services(&self, config: &Config) -> anyhow::Result<Services> {
        let builder = App::builder(config);
        let builder = if self.create {
            builder
        } else {
            builder.refuse_new_database()
        };
        builder.services(&self.tenant).await
    }
}

/// Prints `message` as the command's error and picks the exit status: 2 for
/// a missing database, 1 for anything else.
pub fn fail(err: &anyhow::Error, message: &str) -> ExitCode {
    eprintln!("tessera: {message}");
    if err.downcast_ref::<NoDatabase>().is_some() {
        ExitCode::from(EXIT_USAGE)
    } else {
        ExitCode::FAILURE
    }
}

/// Rows under a header in aligned columns, two spaces apart, for the
/// listings meant for people.
pub fn columns<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header);
    for row in rows {
        out.push_str(&line(row.each_ref().map(String::as_str)));
    }
    out
}
