//! How values are laid out in MariaDB / MySQL: ids as `binary(16)`, times as
//! `datetime(3)` in UTC, JSON (and lists) as text, booleans as `tinyint(1)`.

use chrono::{DateTime, Timelike, Utc};
use sqlx::mysql::{MySqlArguments, MySqlRow};
use sqlx::query::Query;
use sqlx::{MySql, Row as _};
use tessera_sql::{column_error, Arg, SqlRow};
use tessera_store::{StoreError, StoreResult};
use uuid::Uuid;

use crate::placeholders;

/// A time as stored: truncated to the millisecond (MariaDB would round the
/// microseconds into `datetime(3)` instead).
fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t)
}

fn json_text(value: &(impl serde::Serialize + ?Sized)) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Other(format!("encode json: {e}")))
}

/// A statement in MySQL's form: `?` placeholders and their arguments in
/// order.
pub(crate) struct Statement<'q> {
    sql: String,
    args: Vec<Arg<'q>>,
}

impl<'q> Statement<'q> {
    /// Rewrites `sql`'s `$n` placeholders and orders `args` to match.
    pub(crate) fn new(sql: &str, args: &[Arg<'q>]) -> StoreResult<Statement<'q>> {
        let (sql, order) = placeholders::rewrite(sql);
        let args = order
            .into_iter()
            .map(|i| {
                args.get(i).copied().ok_or_else(|| {
                    StoreError::Other(format!(
                        "statement uses ${} but has {} arguments",
                        i + 1,
                        args.len()
                    ))
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Statement { sql, args })
    }

    /// The query, its arguments bound in MySQL's encoding.
    pub(crate) fn bind(&'q self) -> StoreResult<Query<'q, MySql, MySqlArguments>> {
        let mut query = sqlx::query(&self.sql);
        for arg in &self.args {
            query = match *arg {
                Arg::Id(v) => query.bind(v),
                Arg::OptId(v) => query.bind(v),
                Arg::Time(t) => query.bind(ms(t)),
                Arg::OptTime(t) => query.bind(t.map(ms)),
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
}

/// A result row of MariaDB / MySQL.
pub struct Row(pub(crate) MySqlRow);

impl Row {
    fn get<'r, T>(&'r self, column: &str) -> StoreResult<T>
    where
        T: sqlx::Decode<'r, MySql> + sqlx::Type<MySql>,
    {
        self.0.try_get(column).map_err(|e| column_error(column, e))
    }

    /// A text column. Columns with a `_bin` collation carry the binary
    /// flag, which sqlx takes for `varbinary` and refuses to decode as a
    /// string; the bytes are UTF-8 text all the same (checked on decode).
    fn get_text<'r, T>(&'r self, column: &str) -> StoreResult<T>
    where
        T: sqlx::Decode<'r, MySql>,
    {
        self.0
            .try_get_unchecked(column)
            .map_err(|e| column_error(column, e))
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| column_error(column, e))
}

impl SqlRow for Row {
    fn id(&self, column: &str) -> StoreResult<Uuid> {
        self.get(column)
    }

    fn opt_id(&self, column: &str) -> StoreResult<Option<Uuid>> {
        self.get(column)
    }

    fn time(&self, column: &str) -> StoreResult<DateTime<Utc>> {
        self.get(column)
    }

    fn opt_time(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        self.get(column)
    }

    fn text(&self, column: &str) -> StoreResult<String> {
        self.get_text(column)
    }

    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        self.get_text(column)
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
        parse_json(column, self.get_text::<&str>(column)?)
    }

    fn opt_json(&self, column: &str) -> StoreResult<Option<serde_json::Value>> {
        self.get_text::<Option<&str>>(column)?
            .map(|text| parse_json(column, text))
            .transpose()
    }

    fn list(&self, column: &str) -> StoreResult<Vec<String>> {
        parse_json(column, self.get_text::<&str>(column)?)
    }

    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>> {
        self.get(column)
    }
}
