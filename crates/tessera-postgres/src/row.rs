//! How values are laid out in PostgreSQL: native `uuid`, `timestamptz` (at
//! millisecond precision), `jsonb` (lists too), `boolean` and `bytea`.

use chrono::{DateTime, Timelike, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{Column as _, Postgres, Row as _, TypeInfo as _};
use tessera_sql::{column_error, Arg, SqlRow};
use tessera_store::StoreResult;
use uuid::Uuid;

/// A time as stored: truncated to the millisecond, the precision every
/// engine keeps, so that all return the same values.
fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    // Keeps the leap-second marker (nanosecond >= 1e9) intact.
    t.with_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t)
}

/// A statement with its parameters bound in PostgreSQL's encoding.
pub(crate) fn bind<'q>(sql: &'q str, args: &[Arg<'q>]) -> Query<'q, Postgres, PgArguments> {
    let mut query = sqlx::query(sql);
    for arg in args {
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
            Arg::Json(v) => query.bind(Json(v)),
            Arg::OptJson(v) => query.bind(v.map(Json)),
            Arg::List(items) => query.bind(Json(items)),
            Arg::Bytes(v) => query.bind(v),
        };
    }
    query
}

/// A result row of PostgreSQL.
pub struct Row(pub(crate) PgRow);

impl Row {
    fn get<'r, T>(&'r self, column: &str) -> StoreResult<T>
    where
        T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    {
        self.0.try_get(column).map_err(|e| column_error(column, e))
    }

    /// The column's type name (`INT4`, `INT8`, …).
    fn type_name(&self, column: &str) -> StoreResult<&str> {
        self.0
            .columns()
            .iter()
            .find(|c| c.name() == column)
            .map(|c| c.type_info().name())
            .ok_or_else(|| column_error(column, "no such column"))
    }
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
        self.get(column)
    }

    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        self.get(column)
    }

    fn i64(&self, column: &str) -> StoreResult<i64> {
        self.opt_i64(column)?
            .ok_or_else(|| column_error(column, "unexpected null"))
    }

    fn opt_i64(&self, column: &str) -> StoreResult<Option<i64>> {
        // sqlx checks integer widths strictly; `integer` columns are INT4.
        match self.type_name(column)? {
            "INT2" => Ok(self.get::<Option<i16>>(column)?.map(i64::from)),
            "INT4" => Ok(self.get::<Option<i32>>(column)?.map(i64::from)),
            _ => self.get(column),
        }
    }

    fn bool(&self, column: &str) -> StoreResult<bool> {
        self.get(column)
    }

    fn json(&self, column: &str) -> StoreResult<serde_json::Value> {
        self.get(column)
    }

    fn opt_json(&self, column: &str) -> StoreResult<Option<serde_json::Value>> {
        self.get(column)
    }

    fn list(&self, column: &str) -> StoreResult<Vec<String>> {
        Ok(self.get::<Json<Vec<String>>>(column)?.0)
    }

    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>> {
        self.get(column)
    }
}
