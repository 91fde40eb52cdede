//! How values are laid out in MariaDB / MySQL: ids as `binary(16)`, times as
//! `datetime(3)` in UTC, JSON (and lists) as text, booleans as `tinyint(1)`.

use chrono::{DateTime, Timelike, Utc};
use sqlx::mysql::{MySqlArguments, MySqlRow};
use sqlx::query::Query;
use sqlx::{MySql, Row as _};
use tessera_sql::{column_error, json_text, Arg, SqlRow};
use tessera_store::{StoreError, StoreResult};

use crate::placeholders;

/// A time as stored: truncated to the millisecond (MariaDB would round the
/// microseconds into `datetime(3)` instead).
fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t)
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
    pub(crate) fn query(&self) -> StoreResult<Query<'_, MySql, MySqlArguments>> {
        let query = sqlx::query(&self.sql);
        Ok(tessera_sql::bind_args!(query, &self.args, {
            Arg::Id(v) => query.bind(v),
            Arg::OptId(v) => query.bind(v),
            Arg::Time(t) => query.bind(ms(t)),
            Arg::OptTime(t) => query.bind(t.map(ms)),
            Arg::Json(v) => query.bind(json_text(v)?),
            Arg::OptJson(v) => query.bind(v.map(json_text).transpose()?),
            Arg::List(items) => query.bind(json_text(items)?),
        }))
    }
}

tessera_sql::sqlx_row!(Row, MySql, MySqlRow);

impl Row {
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

impl SqlRow for Row {
    tessera_sql::native_getters!(
        native uuid and time;
        i64: i64,
        opt_i64: Option<i64>,
        bool: bool,
        bytes: Vec<u8>,
    );

    fn text(&self, column: &str) -> StoreResult<String> {
        self.get_text(column)
    }

    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        self.get_text(column)
    }
}
