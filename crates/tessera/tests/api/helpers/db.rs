//! A direct connection to the test database, on whichever engine the test
//! runs: for arranging states the API cannot reach, and for inspecting what
//! is stored.

use super::{Engine, TestApp};

impl TestApp {
    /// Runs SQL against the server's database (for arranging states the
    /// API cannot reach yet, and for inspecting what is stored).
    pub async fn db(&self) -> Db {
        let url = &self.config.database_url;
        match self.engine {
            Engine::Sqlite => Db::Sqlite(sqlx::SqlitePool::connect(url).await.expect("sqlite")),
            Engine::Postgres => Db::Postgres(sqlx::PgPool::connect(url).await.expect("pg")),
            Engine::MySql => Db::MySql(sqlx::MySqlPool::connect(url).await.expect("mysql")),
        }
    }

    /// Sets a user's status directly in the database.
    pub async fn set_user_status(&self, user_id: &str, status: &str) {
        let db = self.db().await;
        db.execute_with_user(
            "update user_account set status = $1 where user_id = $2",
            status,
            user_id,
        )
        .await;
    }
}

/// A direct connection to the test database, for arranging states the API
/// cannot reach and for inspecting what is stored.
pub enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
    MySql(sqlx::MySqlPool),
}

/// Fetches every row of `$sql` (no parameters) from whichever pool `$db`
/// holds.
macro_rules! fetch_all {
    ($db:expr, $sql:expr) => {
        match $db {
            Db::Sqlite(pool) => sqlx::query($sql).fetch_all(pool).await.map(Rows::Sqlite),
            Db::Postgres(pool) => sqlx::query($sql).fetch_all(pool).await.map(Rows::Postgres),
            Db::MySql(pool) => sqlx::query($sql).fetch_all(pool).await.map(Rows::MySql),
        }
        .expect($sql)
    };
}

/// Rows of one of the engines.
pub enum Rows {
    Sqlite(Vec<sqlx::sqlite::SqliteRow>),
    Postgres(Vec<sqlx::postgres::PgRow>),
    MySql(Vec<sqlx::mysql::MySqlRow>),
}

impl Rows {
    /// Column 0 of each row, decoded as `T` (MariaDB's `_bin` text columns
    /// are decoded without sqlx's type check, which takes them for bytes).
    fn first_column<T>(&self) -> Vec<T>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
        T: for<'r> sqlx::Decode<'r, sqlx::MySql>,
    {
        use sqlx::Row;
        match self {
            Rows::Sqlite(rows) => rows.iter().map(|r| r.get::<T, _>(0)).collect(),
            Rows::Postgres(rows) => rows.iter().map(|r| r.get::<T, _>(0)).collect(),
            Rows::MySql(rows) => rows
                .iter()
                .map(|r| r.try_get_unchecked::<T, _>(0).expect("column"))
                .collect(),
        }
    }
}

impl Db {
    /// Executes `sql` without parameters (the same text on every engine).
    pub async fn execute(&self, sql: &str) {
        match self {
            Db::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(drop),
            Db::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop),
            Db::MySql(pool) => sqlx::query(sql).execute(pool).await.map(drop),
        }
        .expect(sql);
    }

    /// Executes `sql` with a text `$1` and a user id `$2` (in each engine's
    /// id encoding).
    pub async fn execute_with_user(&self, sql: &str, value: &str, user_id: &str) {
        let id = uuid::Uuid::parse_str(user_id).expect("uuid");
        match self {
            Db::Sqlite(pool) => sqlx::query(sql)
                .bind(value)
                .bind(user_id)
                .execute(pool)
                .await
                .map(drop),
            Db::Postgres(pool) => sqlx::query(sql)
                .bind(value)
                .bind(id)
                .execute(pool)
                .await
                .map(drop),
            Db::MySql(pool) => {
                let sql = sql.replace("$1", "?").replace("$2", "?");
                sqlx::query(&sql)
                    .bind(value)
                    .bind(id)
                    .execute(pool)
                    .await
                    .map(drop)
            }
        }
        .expect("execute");
    }

    /// The rows of a one-text-column query.
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        fetch_all!(self, sql).first_column()
    }

    /// The rows of a one-bytes-column query.
    pub async fn blobs(&self, sql: &str) -> Vec<Vec<u8>> {
        fetch_all!(self, sql).first_column()
    }

    /// The number of rows of `table`.
    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("select count(*) from {table}");
        fetch_all!(self, &sql).first_column::<i64>()[0]
    }

    /// The ids in column `column` of `table`, in each engine's id encoding.
    pub async fn ids(&self, table: &str, column: &str) -> Vec<uuid::Uuid> {
        use sqlx::Row;
        let sql = format!("select {column} from {table}");
        match fetch_all!(self, &sql) {
            Rows::Sqlite(rows) => rows
                .iter()
                .map(|r| uuid::Uuid::parse_str(&r.get::<String, _>(0)).expect("uuid"))
                .collect(),
            Rows::Postgres(rows) => rows.iter().map(|r| r.get::<uuid::Uuid, _>(0)).collect(),
            Rows::MySql(rows) => rows.iter().map(|r| r.get::<uuid::Uuid, _>(0)).collect(),
        }
    }
}
