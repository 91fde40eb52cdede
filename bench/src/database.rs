//! The throw-away database a run creates on a PostgreSQL or MariaDB/MySQL
//! server, so every run starts from an empty schema and leaves nothing
//! behind. SQLite needs none: the server creates its file in a fresh data
//! dir.

use anyhow::{Context, Result};
use sqlx::{Connection, Executor, MySqlConnection, PgConnection};

use crate::server::unique_suffix;

/// A database server the bench can run Tessera on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerEngine {
    /// PostgreSQL (`postgres://`).
    Postgres,
    /// MariaDB or MySQL (`mysql://`).
    Mysql,
}

impl ServerEngine {
    /// The backend's name in reports and result file names.
    pub fn backend(self) -> &'static str {
        match self {
            ServerEngine::Postgres => "postgres",
            ServerEngine::Mysql => "mysql",
        }
    }

    /// The option that gives its URL, for error messages.
    fn option(self) -> &'static str {
        match self {
            ServerEngine::Postgres => "--postgres-url",
            ServerEngine::Mysql => "--mysql-url",
        }
    }

    /// `name` as a quoted identifier.
    fn quote(self, name: &str) -> String {
        match self {
            ServerEngine::Postgres => format!("\"{name}\""),
            ServerEngine::Mysql => format!("`{name}`"),
        }
    }

    /// Drops database `name`. PostgreSQL refuses while connections remain
    /// (a server killed mid-run may leave some), so it terminates them;
    /// MariaDB/MySQL drop regardless.
    fn drop_statement(self, name: &str) -> String {
        let quoted = self.quote(name);
        match self {
            ServerEngine::Postgres => format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"),
            ServerEngine::Mysql => format!("DROP DATABASE IF EXISTS {quoted}"),
        }
    }

    /// The server's product and version for the report, e.g. `PostgreSQL
    /// 15.14 (Debian 15.14-0+deb12u1)` or `MariaDB 10.11.19`.
    pub async fn describe(self, admin_url: &str) -> String {
        let version = self.version(admin_url).await.unwrap_or_else(|_| "?".into());
        match self {
            ServerEngine::Postgres => format!("PostgreSQL {version}"),
            ServerEngine::Mysql => match version.split_once("-MariaDB") {
                Some((number, _)) => format!("MariaDB {number}"),
                None => format!("MySQL {version}"),
            },
        }
    }

    /// The server's version string.
    async fn version(self, admin_url: &str) -> Result<String> {
        let (version,): (String,) = match self {
            ServerEngine::Postgres => {
                let mut conn = PgConnection::connect(admin_url).await?;
                let row = sqlx::query_as("SHOW server_version").fetch_one(&mut conn).await?;
                conn.close().await?;
                row
            }
            ServerEngine::Mysql => {
                let mut conn = MySqlConnection::connect(admin_url).await?;
                let row = sqlx::query_as("SELECT VERSION()").fetch_one(&mut conn).await?;
                conn.close().await?;
                row
            }
        };
        Ok(version)
    }

    /// Runs one statement on the server of `admin_url`, on a connection of
    /// its own that is closed afterwards.
    async fn execute(self, admin_url: &str, statement: &str) -> Result<()> {
        let connecting = || format!("connecting to {}", self.option());
        match self {
            ServerEngine::Postgres => {
                let mut conn = PgConnection::connect(admin_url).await.with_context(connecting)?;
                conn.execute(statement).await?;
                conn.close().await?;
            }
            ServerEngine::Mysql => {
                let mut conn = MySqlConnection::connect(admin_url)
                    .await
                    .with_context(connecting)?;
                conn.execute(statement).await?;
                conn.close().await?;
            }
        }
        Ok(())
    }
}

/// A database created for one run and dropped afterwards.
pub struct ThrowawayDatabase {
    engine: ServerEngine,
    admin_url: String,
    /// Its name.
    pub name: String,
    /// URL of the new database (credentials as given).
    pub url: String,
}

impl ThrowawayDatabase {
    /// Creates `tessera_bench_<random>` on the server of `admin_url` (the
    /// URL's own database is only used to connect).
    pub async fn create(engine: ServerEngine, admin_url: &str) -> Result<ThrowawayDatabase> {
        let name = format!("tessera_bench_{}", unique_suffix());
        let mut url =
            url::Url::parse(admin_url).with_context(|| format!("{} is not a URL", engine.option()))?;
        url.set_path(&format!("/{name}"));
        engine
            .execute(admin_url, &format!("CREATE DATABASE {}", engine.quote(&name)))
            .await
            .with_context(|| format!("creating database {name}"))?;
        Ok(ThrowawayDatabase {
            engine,
            admin_url: admin_url.to_string(),
            name,
            url: url.to_string(),
        })
    }

    /// Drops it.
    pub async fn drop_database(self) -> Result<()> {
        self.engine
            .execute(&self.admin_url, &self.engine.drop_statement(&self.name))
            .await
            .with_context(|| format!("dropping database {}", self.name))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::panic)]
    use super::*;

    /// The server URL from `variable`; these tests need a real server.
    fn admin_url(variable: &str) -> String {
        std::env::var(variable)
            .ok()
            .filter(|url| !url.is_empty())
            .unwrap_or_else(|| panic!("set {variable} to run this test"))
    }

    /// Whether `url`'s database accepts a connection.
    async fn reachable(engine: ServerEngine, url: &str) -> bool {
        match engine {
            ServerEngine::Postgres => PgConnection::connect(url).await.is_ok(),
            ServerEngine::Mysql => MySqlConnection::connect(url).await.is_ok(),
        }
    }

    async fn created_database_is_reachable_then_gone_after_drop(engine: ServerEngine, admin_url: &str) {
        let database = ThrowawayDatabase::create(engine, admin_url)
            .await
            .expect("creating the database");
        let url = database.url.clone();

        assert!(database.name.starts_with("tessera_bench_"));
        assert!(url.ends_with(&format!("/{}", database.name)), "{url}");
        assert!(reachable(engine, &url).await, "{url} is not reachable");
        database.drop_database().await.expect("dropping the database");
        assert!(
            !reachable(engine, &url).await,
            "{url} still exists after the drop"
        );
    }

    #[tokio::test]
    #[ignore = "needs MariaDB/MySQL: TESSERA_BENCH_MYSQL_URL=mysql://root@127.0.0.1:3306/test"]
    async fn mysql_throwaway_database_is_created_reachable_and_dropped() {
        let admin_url = admin_url("TESSERA_BENCH_MYSQL_URL");
        created_database_is_reachable_then_gone_after_drop(ServerEngine::Mysql, &admin_url).await;
        let described = ServerEngine::Mysql.describe(&admin_url).await;
        assert!(
            (described.starts_with("MariaDB ") || described.starts_with("MySQL "))
                && !described.ends_with('?'),
            "{described}"
        );
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL: TESSERA_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test"]
    async fn postgres_throwaway_database_is_created_reachable_and_dropped() {
        let admin_url = admin_url("TESSERA_BENCH_POSTGRES_URL");
        created_database_is_reachable_then_gone_after_drop(ServerEngine::Postgres, &admin_url).await;
        let described = ServerEngine::Postgres.describe(&admin_url).await;
        assert!(
            described.starts_with("PostgreSQL ") && !described.ends_with('?'),
            "{described}"
        );
    }
}
