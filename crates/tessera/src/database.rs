//! Which database a command works on, said plainly, and the guard that
//! keeps the admin commands from creating one by accident.
//!
//! `tessera users create` run from the wrong folder used to find no
//! `./tessera-data/tessera.db`, create a second database and master key
//! there and report success, while the real server never saw the account.
//! Every command now names its database on stderr, and the commands other
//! than `serve` and `migrate` refuse a database that does not exist yet
//! (a SQLite file that is missing, a PostgreSQL or MariaDB database without
//! Tessera's schema) unless told `--create`.

use std::path::PathBuf;

use anyhow::Context;
use tessera_sql::{Engine, Exec};

use crate::config::{redact_url, Config, DatabaseEngine};

/// sqlx's bookkeeping table: present once any migration has been applied.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// The database of `config` for a person: the absolute file of a SQLite
/// database, the URL (password redacted) of a server database.
pub fn location(config: &Config) -> String {
    let url = &config.database_url;
    match DatabaseEngine::of_url(url) {
        Some(DatabaseEngine::Sqlite) => match sqlite_file(url) {
            Some(path) => format!("{} (SQLite)", path.display()),
            None => "in-memory SQLite".to_owned(),
        },
        Some(DatabaseEngine::Postgres) => format!("{} (PostgreSQL)", redact_url(url)),
        Some(DatabaseEngine::MySql) => format!("{} (MariaDB/MySQL)", redact_url(url)),
        None => redact_url(url),
    }
}

/// The file a `sqlite:` URL names, made absolute against the current
/// directory (as SQLite will open it); `None` for an in-memory database.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" || query.split('&').any(|p| p == "mode=memory") {
        return None;
    }
    let path = PathBuf::from(path);
    Some(std::path::absolute(&path).unwrap_or(path))
}

/// A command other than `serve` or `migrate` found no database where the
/// configuration points and did not create one: the binary exits with
/// status 2.
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

/// Fails with [`NoDatabase`] when the configured database does not exist
/// yet, having created nothing: a SQLite file is looked for, a server
/// database is asked whether Tessera's migrations have run in it.
pub async fn refuse_if_new(config: &Config) -> anyhow::Result<()> {
    let url = &config.database_url;
    match DatabaseEngine::of_url(url) {
        Some(DatabaseEngine::Sqlite) => match sqlite_file(url) {
            Some(path) if !path.exists() => Err(NoDatabase(format!(
                "no database at {}: refusing to create a new one (and a new master key). {HOW_TO_POINT}.",
                path.display()
            ))
            .into()),
            _ => Ok(()),
        },
        Some(DatabaseEngine::Postgres) => {
            let store = tessera_postgres::connect(url, 1)
                .await
                .context("cannot connect to PostgreSQL")?;
            let sql = "select 1 from information_schema.tables \
                       where table_schema = current_schema() and table_name = $1";
            let found = store
                .engine()
                .reader()
                .fetch_optional(sql, &tessera_sql::args![MIGRATIONS_TABLE])
                .await;
            store.engine().close().await;
            refuse_unless_migrated(
                config,
                found.context("cannot read PostgreSQL's catalogue")?.is_some(),
            )
        }
        Some(DatabaseEngine::MySql) => {
            let store = tessera_mysql::connect(url, 1)
                .await
                .context("cannot connect to MariaDB / MySQL")?;
            let sql = "select 1 from information_schema.tables \
                       where table_schema = database() and table_name = $1";
            let found = store
                .engine()
                .reader()
                .fetch_optional(sql, &tessera_sql::args![MIGRATIONS_TABLE])
                .await;
            store.engine().close().await;
            refuse_unless_migrated(
                config,
                found.context("cannot read MariaDB's catalogue")?.is_some(),
            )
        }
        None => Ok(()),
    }
}

fn refuse_unless_migrated(config: &Config, migrated: bool) -> anyhow::Result<()> {
    if migrated {
        return Ok(());
    }
    Err(NoDatabase(format!(
        "the database {} has no Tessera schema yet (no migrations applied): refusing to set up a \
         new one. {HOW_TO_POINT} (or run `tessera migrate` first).",
        redact_url(&config.database_url)
    ))
    .into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sqlite_urls_name_an_absolute_file_or_memory() {
        let here = std::env::current_dir().unwrap();
        assert_eq!(
            sqlite_file("sqlite://./tessera-data/tessera.db"),
            Some(here.join("tessera-data/tessera.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:///srv/t.db?mode=rwc"),
            Some(PathBuf::from("/srv/t.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://file.db?mode=memory&cache=shared"), None);
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
