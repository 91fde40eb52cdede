//! How values are laid out in SQLite: ids as hyphenated uuid text, times as
//! unix milliseconds, JSON (and lists) as text, booleans as 0/1.

use chrono::{DateTime, TimeZone, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::Sqlite;
use tessera_sql::{column_error, json_text, Arg, SqlRow};
use tessera_store::StoreResult;
use uuid::Uuid;

tessera_sql::numbered_statement!(Sqlite, |query| {
    Arg::Id(v) => query.bind(v.hyphenated().to_string()),
    Arg::OptId(v) => query.bind(v.map(|v| v.hyphenated().to_string())),
    Arg::Time(t) => query.bind(t.timestamp_millis()),
    Arg::OptTime(t) => query.bind(t.map(|t| t.timestamp_millis())),
    Arg::Json(v) => query.bind(json_text(v)?),
    Arg::OptJson(v) => query.bind(v.map(json_text).transpose()?),
    Arg::List(items) => query.bind(json_text(items)?),
});

tessera_sql::sqlx_row!(Row, Sqlite, SqliteRow);

fn parse_id(column: &str, text: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(|e| column_error(column, e))
}

fn millis(column: &str, millis: i64) -> StoreResult<DateTime<Utc>> {
    Utc.timestamp_millis_opt(millis)
        .single()
        .ok_or_else(|| column_error(column, format!("time {millis} out of range")))
}

impl SqlRow for Row {
    fn id(&self, column: &str) -> StoreResult<Uuid> {
        parse_id(column, self.get::<&str>(column)?)
    }

    fn opt_id(&self, column: &str) -> StoreResult<Option<Uuid>> {
        self.get::<Option<&str>>(column)?
            .map(|text| parse_id(column, text))
            .transpose()
    }

    fn time(&self, column: &str) -> StoreResult<DateTime<Utc>> {
        millis(column, self.get(column)?)
    }

    fn opt_time(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        self.get::<Option<i64>>(column)?
            .map(|m| millis(column, m))
            .transpose()
    }

    tessera_sql::native_getters!(
        text: String,
        opt_text: Option<String>,
        i64: i64,
        opt_i64: Option<i64>,
        bool: bool,
        bytes: Vec<u8>,
    );
}
