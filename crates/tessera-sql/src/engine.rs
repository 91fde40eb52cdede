//! The engine port: the little an SQL engine must provide so that the
//! store's statements can be written once. An engine binds typed
//! [`Arg`]s in its own native encoding (PostgreSQL's `uuid` and
//! `timestamptz`, SQLite's text ids and millisecond integers, MariaDB's
//! `binary(16)` and `datetime(3)`), reads typed columns back through
//! [`SqlRow`], runs statements on its pools ([`Exec`]) and opens write
//! transactions in its own way (`begin immediate` on SQLite).
//!
//! Statements use `$1`, `$2`, … placeholders (an engine with `?`
//! placeholders rewrites them) and the SQL the three engines share. What
//! they do not share is behind a method of [`Exec`] or [`Engine`]
//! (row locks, inserts that ignore duplicates, the refresh rotation), never
//! behind an `if` on the engine's name in an entity module.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tessera_store::{RefreshToken, StoreError, StoreResult};
use uuid::Uuid;

/// One statement parameter, typed so that each engine encodes it natively.
/// Times are truncated to the millisecond by every engine (what all of
/// them keep exactly).
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// A uuid.
    Id(Uuid),
    /// A uuid or `null`.
    OptId(Option<Uuid>),
    /// An instant.
    Time(DateTime<Utc>),
    /// An instant or `null`.
    OptTime(Option<DateTime<Utc>>),
    /// Text.
    Text(&'a str),
    /// Text or `null`.
    OptText(Option<&'a str>),
    /// A 32-bit integer.
    I32(i32),
    /// A 64-bit integer.
    I64(i64),
    /// A 64-bit integer or `null`.
    OptI64(Option<i64>),
    /// A boolean.
    Bool(bool),
    /// A boolean or `null`.
    OptBool(Option<bool>),
    /// A JSON document.
    Json(&'a serde_json::Value),
    /// A JSON document or `null`.
    OptJson(Option<&'a serde_json::Value>),
    /// A list of strings, stored as a JSON array.
    List(&'a [String]),
    /// Raw bytes.
    Bytes(&'a [u8]),
}

impl From<Uuid> for Arg<'_> {
    fn from(v: Uuid) -> Self {
        Arg::Id(v)
    }
}

impl From<Option<Uuid>> for Arg<'_> {
    fn from(v: Option<Uuid>) -> Self {
        Arg::OptId(v)
    }
}

impl From<DateTime<Utc>> for Arg<'_> {
    fn from(v: DateTime<Utc>) -> Self {
        Arg::Time(v)
    }
}

impl From<Option<DateTime<Utc>>> for Arg<'_> {
    fn from(v: Option<DateTime<Utc>>) -> Self {
        Arg::OptTime(v)
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(v)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(v)
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::OptText(v)
    }
}

impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Arg::OptText(v.as_deref())
    }
}

impl From<i32> for Arg<'_> {
    fn from(v: i32) -> Self {
        Arg::I32(v)
    }
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::I64(v)
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::OptI64(v)
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

impl From<Option<bool>> for Arg<'_> {
    fn from(v: Option<bool>) -> Self {
        Arg::OptBool(v)
    }
}

impl<'a> From<&'a serde_json::Value> for Arg<'a> {
    fn from(v: &'a serde_json::Value) -> Self {
        Arg::Json(v)
    }
}

impl<'a> From<Option<&'a serde_json::Value>> for Arg<'a> {
    fn from(v: Option<&'a serde_json::Value>) -> Self {
        Arg::OptJson(v)
    }
}

impl<'a> From<&'a [String]> for Arg<'a> {
    fn from(v: &'a [String]) -> Self {
        Arg::List(v)
    }
}

impl<'a> From<&'a Vec<String>> for Arg<'a> {
    fn from(v: &'a Vec<String>) -> Self {
        Arg::List(v)
    }
}

impl<'a> From<&'a Vec<u8>> for Arg<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Arg::Bytes(v)
    }
}

/// `[Arg::from(a), Arg::from(b), …]`: the parameters of a statement, in
/// placeholder order.
#[macro_export]
macro_rules! args {
    ($($arg:expr),* $(,)?) => {
        [$($crate::Arg::from($arg)),*]
    };
}

/// A result row, read by column name in the types the store's models use.
/// Each engine converts from its own column types (a SQLite time is a
/// millisecond integer, a PostgreSQL one a `timestamptz`).
pub trait SqlRow: Send + Sync + 'static {
    /// A uuid column.
    fn id(&self, column: &str) -> StoreResult<Uuid>;
    /// A nullable uuid column.
    fn opt_id(&self, column: &str) -> StoreResult<Option<Uuid>>;
    /// A time column.
    fn time(&self, column: &str) -> StoreResult<DateTime<Utc>>;
    /// A nullable time column.
    fn opt_time(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>>;
    /// A text column.
    fn text(&self, column: &str) -> StoreResult<String>;
    /// A nullable text column.
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>>;
    /// An integer column of any width (or an aggregate such as `count(*)`).
    fn i64(&self, column: &str) -> StoreResult<i64>;
    /// A nullable integer column.
    fn opt_i64(&self, column: &str) -> StoreResult<Option<i64>>;
    /// A boolean column (or a boolean expression such as `exists (…)`).
    fn bool(&self, column: &str) -> StoreResult<bool>;
    /// A bytes column.
    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>>;

    /// A JSON column (by default: JSON text).
    fn json(&self, column: &str) -> StoreResult<serde_json::Value> {
        parse_json(column, &self.text(column)?)
    }

    /// A nullable JSON column (by default: JSON text).
    fn opt_json(&self, column: &str) -> StoreResult<Option<serde_json::Value>> {
        self.opt_text(column)?
            .map(|text| parse_json(column, &text))
            .transpose()
    }

    /// A list of strings, stored as a JSON array (by default: its text).
    fn list(&self, column: &str) -> StoreResult<Vec<String>> {
        parse_json(column, &self.text(column)?)
    }

    /// An `integer` column that holds an `i32` in the model.
    fn i32(&self, column: &str) -> StoreResult<i32> {
        let value = self.i64(column)?;
        i32::try_from(value).map_err(|_| column_error(column, format!("{value} does not fit in 32 bits")))
    }
}

/// `value` as JSON text: how engines without a JSON type store JSON and
/// lists.
pub fn json_text(value: &(impl serde::Serialize + ?Sized)) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Other(format!("encode json: {e}")))
}

/// JSON text of `column`, parsed.
fn parse_json<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| column_error(column, e))
}

/// The error of a column that cannot be read as the model needs it.
pub fn column_error(column: &str, why: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("column {column}: {why}"))
}

/// Where statements run: a pool (each statement on any connection, in
/// autocommit) or an open transaction.
#[async_trait]
pub trait Exec: Send {
    /// The engine's row.
    type Row: SqlRow;

    /// Runs a statement; the number of rows it changed (for an `update`,
    /// the rows it matched).
    async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64>;

    /// Every row of a query.
    async fn fetch_all(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Vec<Self::Row>>;

    /// The first row of a query, if there is one.
    async fn fetch_optional(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Option<Self::Row>>;

    /// The first row of a query; `NotFound` if there is none.
    async fn fetch_one(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Self::Row> {
        self.fetch_optional(sql, args).await?.ok_or(StoreError::NotFound)
    }

    /// Runs an `insert` of one row that does nothing when the row would
    /// duplicate a unique key; whether it inserted. (`on conflict do
    /// nothing` where the engine has it; elsewhere the duplicate-key error
    /// is caught, which leaves the transaction usable.)
    async fn insert_unless_duplicate(&mut self, insert: &str, args: &[Arg<'_>]) -> StoreResult<bool>;

    /// Locks the rows a `select` finds until the transaction ends, so that
    /// concurrent writers that take the same lock run one after the other
    /// (`select … for update`). Nothing on an engine whose write
    /// transactions already exclude each other (SQLite).
    async fn lock(&mut self, select: &str, args: &[Arg<'_>]) -> StoreResult<()>;
}

/// An open write transaction; dropping it without [`Transaction::commit`]
/// rolls it back.
#[async_trait]
pub trait Transaction: Exec {
    /// Makes its writes durable and visible.
    async fn commit(self) -> StoreResult<()>;
}

/// An SQL engine the store runs on.
#[async_trait]
pub trait Engine: Send + Sync + 'static {
    /// The engine's row.
    type Row: SqlRow;
    /// A pool handle, for statements outside a transaction.
    type Pool<'p>: Exec<Row = Self::Row>
    where
        Self: 'p;
    /// A write transaction.
    type Tx: Transaction<Row = Self::Row>;

    /// Where queries that only read run.
    fn reader(&self) -> Self::Pool<'_>;

    /// Where single writes run (in autocommit).
    fn writer(&self) -> Self::Pool<'_>;

    /// Opens a write transaction, in the isolation the engine's statements
    /// are written for (see each engine's crate documentation).
    async fn begin(&self) -> StoreResult<Self::Tx>;

    /// Applies the engine's embedded migrations (idempotent).
    async fn migrate(&self) -> StoreResult<()>;

    /// A cheap round trip, for readiness checks.
    async fn ping(&self) -> StoreResult<()>;

    /// Spends the refresh token `old_hash` of session `next.session_id`,
    /// stores `next` and marks the session used at `now`, all or nothing;
    /// whether it did. `false` means nothing was written: the token is
    /// unknown, already spent or of another session (the caller finds out
    /// which). The one statement sequence an engine may replace with a
    /// faster equivalent: it is on the path of every refresh.
    async fn rotate_refresh_token(
        &self,
        tenant_id: Uuid,
        old_hash: &str,
        next: &RefreshToken,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        crate::session::rotate_in_transaction(self, tenant_id, old_hash, next, now).await
    }
}
