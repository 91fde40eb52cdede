//! Which database a command works on, said plainly, and the guard that
//! keeps the admin commands from creating one by accident.
//!
//! `tessera users create` run from the wrong folder used to find no
//! `./tessera-data/tessera.db`, create a second database and master key
//! there and report success, while the real server never saw the account.
//! Every command now names its database on stderr, and the commands other
//! than `serve` and `migrate` refuse a database that does not exist yet
//! (a SQLite file that is missing, a PostgreSQL or MariaDB database without
//! Tessera's schema), or one whose master key is not where the server keeps
//! it, unless told `--create`.

use crate::config::{redact_url, Config, DatabaseEngine};
use crate::master_key::GENERATED_KEY_FILE;
use crate::DatabaseState;

/// The database of `config` for a person: the absolute file of a SQLite
/// database, the URL (password redacted) of a server database.
pub fn location(config: &Config) -> String {
    let url = &config.database_url;
    match DatabaseEngine::of_url(url) {
        Some(DatabaseEngine::Sqlite) => match tessera_sqlite::database_file(url) {
            Ok(Some(path)) => format!("{} (SQLite)", path.display()),
            Ok(None) => "in-memory SQLite".to_owned(),
            Err(_) => format!("{} (SQLite, malformed URL)", redact_url(url)),
        },
        Some(DatabaseEngine::Postgres) => format!("{} (PostgreSQL)", redact_url(url)),
        Some(DatabaseEngine::MySql) => format!("{} (MariaDB/MySQL)", redact_url(url)),
        None => redact_url(url),
    }
}

/// A command other than `serve` or `migrate` found no database (or no
/// master key) where the configuration points and did not create one: the
/// binary exits with status 2.
#[derive(Debug)]
pub struct NoDatabase(String);

impl std::fmt::Display for NoDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NoDatabase {}

/// How to point a command at the right database, the end of every refusal.
const HOW_TO_POINT: &str = "Point at the existing database with --data-dir DIR, TESSERA_DATA_DIR or \
     TESSERA_DATABASE_URL (or run from the directory that holds tessera-data/), \
     or pass --create to start a new, empty one";

/// Fails with [`NoDatabase`], having created nothing, when the configured
/// database does not exist yet (a missing SQLite file, a server database
/// without Tessera's schema), or when it exists but no master key is
/// configured or found where the server keeps its generated one: a new
/// master key would seal signing keys the server cannot open.
pub async fn refuse_if_new(config: &Config) -> anyhow::Result<()> {
    match crate::database_state(config).await? {
        DatabaseState::Missing(path) => {
            return Err(NoDatabase(format!(
                "no database at {}: refusing to create a new one (and a new master key). {HOW_TO_POINT}.",
                path.display()
            ))
            .into())
        }
        DatabaseState::Unmigrated => {
            return Err(NoDatabase(format!(
                "the database {} has no Tessera schema yet (no migrations applied): refusing to set up \
                 a new one. {HOW_TO_POINT} (or run `tessera migrate` first).",
                redact_url(&config.database_url)
            ))
            .into())
        }
        DatabaseState::Migrated => {}
    }
    let generated = config.data_dir.join(GENERATED_KEY_FILE);
    if config.master_key_value().is_none() && config.master_key_file.is_none() && !generated.exists() {
        let shown = std::path::absolute(&generated).unwrap_or(generated);
        return Err(NoDatabase(format!(
            "no master key at {}: the database's signing keys are sealed with the server's master key, \
             and a new one would seal keys the server cannot open. Give the server's TESSERA_MASTER_KEY \
             or TESSERA_MASTER_KEY_FILE, or --data-dir / TESSERA_DATA_DIR of the folder holding \
             master.key; --create generates a new one.",
            shown.display()
        ))
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sqlite_locations_name_an_absolute_file_or_memory() {
        let here = std::env::current_dir().unwrap();
        let config = |url: &str| Config {
            database_url: url.into(),
            ..Config::default()
        };
        assert_eq!(
            location(&config("sqlite://./tessera-data/tessera.db")),
            format!("{} (SQLite)", here.join("tessera-data/tessera.db").display())
        );
        assert_eq!(
            location(&config("sqlite:///srv/t.db?mode=rwc")),
            "/srv/t.db (SQLite)"
        );
        assert_eq!(location(&config("sqlite::memory:")), "in-memory SQLite");
    }

    #[test]
    fn server_locations_hide_the_password() {
        let config = Config {
            database_url: "postgres://app:hunter2@db.example:5432/tessera".into(),
            ..Config::default()
        };
        let shown = location(&config);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("db.example:5432/tessera"), "{shown}");
    }
}
