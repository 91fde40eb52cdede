//! How values are laid out in PostgreSQL: native `uuid`, `timestamptz` (at
//! millisecond precision), `jsonb` (lists too), `boolean` and `bytea`.

use chrono::{DateTime, Timelike, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{Column as _, Postgres, Row as _, TypeInfo as _};
use tessera_sql::{column_error, Arg, SqlRow};
use tessera_store::StoreResult;

/// A time as stored: truncated to the millisecond, the precision every
/// engine keeps, so that all return the same values.
fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    // Keeps the leap-second marker (nanosecond >= 1e9) intact.
    t.with_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t)
}

tessera_sql::numbered_statement!(Postgres, |query| {
    Arg::Id(v) => query.bind(v),
    Arg::OptId(v) => query.bind(v),
    Arg::Time(t) => query.bind(ms(t)),
    Arg::OptTime(t) => query.bind(t.map(ms)),
    Arg::Json(v) => query.bind(Json(v)),
    Arg::OptJson(v) => query.bind(v.map(Json)),
    Arg::List(items) => query.bind(Json(items)),
});

tessera_sql::sqlx_row!(Row, Postgres, PgRow);

impl Row {
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
    tessera_sql::native_getters!(
        native uuid and time;
        text: String,
        opt_text: Option<String>,
        bool: bool,
        bytes: Vec<u8>,
        json: serde_json::Value,
        opt_json: Option<serde_json::Value>,
    );

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

    fn list(&self, column: &str) -> StoreResult<Vec<String>> {
        Ok(self.get::<Json<Vec<String>>>(column)?.0)
    }
}
