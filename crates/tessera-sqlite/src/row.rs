//! How values are laid out in SQLite: ids as hyphenated uuid text, times as
//! unix milliseconds, JSON (and lists) as text, booleans as 0/1.

use chrono::{DateTime, TimeZone, Utc};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Row as _, Sqlite};
use tessera_sql::{column_error, Arg, SqlRow};
use tessera_store::{StoreError, StoreResult};
use uuid::Uuid;

/// A statement with its parameters bound in SQLite's encoding.
pub(crate) fn bind<'q>(
    sql: &'q str,
    args: &[Arg<'q>],
) -> StoreResult<Query<'q, Sqlite, SqliteArguments<'q>>> {
    let mut query = sqlx::query(sql);
    for arg in args {
        query = match *arg {
            Arg::Id(v) => query.bind(v.hyphenated().to_string()),
            Arg::OptId(v) => query.bind(v.map(|v| v.hyphenated().to_string())),
            Arg::Time(t) => query.bind(t.timestamp_millis()),
            Arg::OptTime(t) => query.bind(t.map(|t| t.timestamp_millis())),
            Arg::Text(v) => query.bind(v),
            Arg::OptText(v) => query.bind(v),
            Arg::I32(v) => query.bind(v),
            Arg::I64(v) => query.bind(v),
            Arg::OptI64(v) => query.bind(v),
            Arg::Bool(v) => query.bind(v),
            Arg::OptBool(v) => query.bind(v),
            Arg::Json(v) => query.bind(json_text(v)?),
            Arg::OptJson(v) => query.bind(v.map(json_text).transpose()?),
            Arg::List(items) => query.bind(json_text(items)?),
            Arg::Bytes(v) => query.bind(v),
        };
    }
    Ok(query)
}

fn json_text(value: &(impl serde::Serialize + ?Sized)) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Other(format!("encode json: {e}")))
}

/// A result row of SQLite.
pub struct Row(pub(crate) SqliteRow);

impl Row {
    fn get<'r, T>(&'r self, column: &str) -> StoreResult<T>
    where
        T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
    {
        self.0.try_get(column).map_err(|e| column_error(column, e))
    }
}

fn parse_id(column: &str, text: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(|e| column_error(column, e))
}

fn millis(column: &str, millis: i64) -> StoreResult<DateTime<Utc>> {
    Utc.timestamp_millis_opt(millis)
        .single()
        .ok_or_else(|| column_error(column, format!("time {millis} out of range")))
}

fn parse_json<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| column_error(column, e))
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

    fn text(&self, column: &str) -> StoreResult<String> {
        self.get(column)
    }

    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        self.get(column)
    }

    fn i64(&self, column: &str) -> StoreResult<i64> {
        self.get(column)
    }

    fn opt_i64(&self, column: &str) -> StoreResult<Option<i64>> {
        self.get(column)
    }

    fn bool(&self, column: &str) -> StoreResult<bool> {
        self.get(column)
    }

    fn json(&self, column: &str) -> StoreResult<serde_json::Value> {
        parse_json(column, self.get::<&str>(column)?)
    }

    fn opt_json(&self, column: &str) -> StoreResult<Option<serde_json::Value>> {
        self.get::<Option<&str>>(column)?
            .map(|text| parse_json(column, text))
            .transpose()
    }

    fn list(&self, column: &str) -> StoreResult<Vec<String>> {
        parse_json(column, self.get::<&str>(column)?)
    }

    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>> {
        self.get(column)
    }
}
