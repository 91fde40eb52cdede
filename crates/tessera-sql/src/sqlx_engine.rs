//! What the sqlx-based engines share, written once: the mapping of sqlx
//! errors to store errors (each engine says which of its server's errors
//! mean "unavailable"), and [`sqlx_engine!`](crate::sqlx_engine), which
//! implements the engine port on sqlx pools for an engine that supplies its
//! row decoding, its statement binding and its few SQL differences.

use sqlx::error::DatabaseError;
use tessera_store::{Conflict, StoreError};

/// Maps a driver error: no row → `NotFound`, unique violation →
/// `Conflict(Unique)` (callers that know the field rename it), pool
/// timeouts, I/O, lost connections and whatever the engine's `unavailable`
/// says of a server error → `Unavailable` (worth retrying), the rest →
/// `Other`.
pub fn map_sqlx_error(err: sqlx::Error, unavailable: fn(&dyn DatabaseError) -> bool) -> StoreError {
    match &err {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(Conflict::Unique),
        sqlx::Error::Database(db) if unavailable(db.as_ref()) => StoreError::Unavailable(err.to_string()),
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(err.to_string()),
        _ => StoreError::Other(err.to_string()),
    }
}

/// Maps a migration failure; database errors as [`map_sqlx_error`].
pub fn map_migrate_error(
    err: sqlx::migrate::MigrateError,
    unavailable: fn(&dyn DatabaseError) -> bool,
) -> StoreError {
    match err {
        sqlx::migrate::MigrateError::Execute(e) => map_sqlx_error(e, unavailable),
        other => StoreError::Other(format!("migration failed: {other}")),
    }
}

/// Implements the engine port for an sqlx engine: `map_err` (its errors as
/// store errors, by `unavailable`), a pool handle and a transaction type
/// (both [`crate::Exec`]), and [`crate::Engine`].
///
/// The engine supplies, in its crate: `Row` (its [`crate::SqlRow`]), a
/// `Statement<'q>` with `fn new(sql: &'q str, args: &[Arg<'q>]) ->
/// StoreResult<Statement<'q>>` and `fn query(&self) -> StoreResult<Query<…>>`
/// (its placeholders and encodings), `map_err`, and the parts named below:
/// how an insert ignores a duplicate (`on_conflict`: append `on conflict
/// do nothing`; `catch`: a plain insert whose duplicate-key error is caught,
/// for engines without that clause), how rows are locked (`for_update`, or
/// `none` where write transactions already exclude each other), where reads
/// and writes run, how a write transaction begins, and its migrations.
/// Extra methods of the `Engine` impl (an engine's faster refresh rotation)
/// go in `extra { … }`.
#[macro_export]
macro_rules! sqlx_engine {
    // An engine with one pool in its field `pool`, for reads and writes,
    // transactions begun plainly, migrations from `MIGRATOR`.
    (
        one pool: $engine:ty, $db:ty,
        unavailable: $unavailable:path,
        types: $handle:ident, $tx:ident,
        insert_unless_duplicate: $insert:ident,
        lock: $lock:ident $(,)?
    ) => {
        $crate::sqlx_engine! {
            engine: $engine,
            database: $db,
            unavailable: $unavailable,
            pool_handle: $handle,
            transaction: $tx,
            insert_unless_duplicate: $insert,
            lock: $lock,
            reader: |engine| &engine.pool,
            writer: |engine| &engine.pool,
            begin: |engine| engine.pool.begin(),
            migrate: |engine| MIGRATOR.run(&engine.pool).await.map_err(map_migrate_err),
        }
    };
    (
        engine: $engine:ty,
        database: $db:ty,
        unavailable: $unavailable:path,
        pool_handle: $handle:ident,
        transaction: $tx:ident,
        insert_unless_duplicate: $insert:ident,
        lock: $lock:ident,
        reader: |$reader_self:ident| $reader:expr,
        writer: |$writer_self:ident| $writer:expr,
        begin: |$begin_self:ident| $begin:expr,
        migrate: |$migrate_self:ident| $migrate:expr
        $(, extra { $($extra:item)* })? $(,)?
    ) => {
        /// Maps a driver error of this engine (see
        /// [`tessera_sql::sqlx_engine::map_sqlx_error`]).
        pub(crate) fn map_err(err: ::sqlx::Error) -> ::tessera_store::StoreError {
            $crate::sqlx_engine::map_sqlx_error(err, $unavailable)
        }

        /// Maps a migration failure of this engine.
        fn map_migrate_err(err: ::sqlx::migrate::MigrateError) -> ::tessera_store::StoreError {
            $crate::sqlx_engine::map_migrate_error(err, $unavailable)
        }

        /// A pool: each statement runs on any of its connections, in autocommit.
        #[derive(Debug, Clone, Copy)]
        pub struct $handle<'p>(&'p ::sqlx::Pool<$db>);

        /// A write transaction; dropped without commit, it rolls back.
        #[derive(Debug)]
        pub struct $tx(::sqlx::Transaction<'static, $db>);

        $crate::sqlx_engine!(@exec $handle<'_>, $insert, $lock, this => this.0);
        $crate::sqlx_engine!(@exec $tx, $insert, $lock, this => &mut *this.0);

        #[::async_trait::async_trait]
        impl $crate::Transaction for $tx {
            async fn commit(self) -> ::tessera_store::StoreResult<()> {
                self.0.commit().await.map_err(map_err)
            }
        }

        #[::async_trait::async_trait]
        impl $crate::Engine for $engine {
            type Row = Row;
            type Pool<'p> = $handle<'p>;
            type Tx = $tx;

            fn reader(&self) -> $handle<'_> {
                let $reader_self = self;
                $handle($reader)
            }

            fn writer(&self) -> $handle<'_> {
                let $writer_self = self;
                $handle($writer)
            }

            async fn begin(&self) -> ::tessera_store::StoreResult<$tx> {
                let $begin_self = self;
                Ok($tx($begin.await.map_err(map_err)?))
            }

            async fn migrate(&self) -> ::tessera_store::StoreResult<()> {
                let $migrate_self = self;
                $migrate
            }

            async fn ping(&self) -> ::tessera_store::StoreResult<()> {
                ::sqlx::query("select 1").execute(self.reader().0).await.map_err(map_err)?;
                Ok(())
            }

            $($($extra)*)?
        }
    };
    (@exec $ty:ty, $insert:ident, $lock:ident, $this:ident => $executor:expr) => {
        #[::async_trait::async_trait]
        impl $crate::Exec for $ty {
            type Row = Row;

            async fn execute(&mut self, sql: &str, args: &[$crate::Arg<'_>]) -> ::tessera_store::StoreResult<u64> {
                let $this = self;
                let statement = Statement::new(sql, args)?;
                let done = statement.query()?.execute($executor).await.map_err(map_err)?;
                Ok(done.rows_affected())
            }

            async fn fetch_all(&mut self, sql: &str, args: &[$crate::Arg<'_>]) -> ::tessera_store::StoreResult<Vec<Row>> {
                let $this = self;
                let statement = Statement::new(sql, args)?;
                let rows = statement.query()?.fetch_all($executor).await.map_err(map_err)?;
                Ok(rows.into_iter().map(Row).collect())
            }

            async fn fetch_optional(
                &mut self,
                sql: &str,
                args: &[$crate::Arg<'_>],
            ) -> ::tessera_store::StoreResult<Option<Row>> {
                let $this = self;
                let statement = Statement::new(sql, args)?;
                let row = statement.query()?.fetch_optional($executor).await.map_err(map_err)?;
                Ok(row.map(Row))
            }

            async fn insert_unless_duplicate(
                &mut self,
                insert: &str,
                args: &[$crate::Arg<'_>],
            ) -> ::tessera_store::StoreResult<bool> {
                $crate::sqlx_engine!(@insert $insert, self, insert, args)
            }

            async fn lock(&mut self, select: &str, args: &[$crate::Arg<'_>]) -> ::tessera_store::StoreResult<()> {
                $crate::sqlx_engine!(@lock $lock, self, select, args)
            }
        }
    };
    (@insert on_conflict, $self:ident, $insert:ident, $args:ident) => {{
        let sql = format!("{} on conflict do nothing", $insert);
        Ok($crate::Exec::execute($self, &sql, $args).await? == 1)
    }};
    // No `on conflict do nothing` (MariaDB), and `insert ignore` would also
    // swallow foreign-key and truncation errors: a plain insert whose
    // duplicate-key error is caught. A failed statement is undone alone; the
    // transaction goes on.
    (@insert catch, $self:ident, $insert:ident, $args:ident) => {{
        match $crate::Exec::execute($self, $insert, $args).await {
            Ok(inserted) => Ok(inserted == 1),
            Err(::tessera_store::StoreError::Conflict(::tessera_store::Conflict::Unique)) => Ok(false),
            Err(other) => Err(other),
        }
    }};
    (@lock for_update, $self:ident, $select:ident, $args:ident) => {{
        let sql = format!("{} for update", $select);
        $crate::Exec::fetch_all($self, &sql, $args).await.map(drop)
    }};
    // Write transactions exclude each other already (SQLite's `begin
    // immediate`).
    (@lock none, $self:ident, $select:ident, $args:ident) => {{
        let _ = ($select, $args);
        Ok(())
    }};
}

/// The result row of an sqlx engine: `pub struct $row(…)` over the
/// engine's row, with `get`, which decodes a column with sqlx's type check
/// and names the column in the error.
#[macro_export]
macro_rules! sqlx_row {
    ($row:ident, $db:ty, $inner:ty) => {
        /// A result row of this engine.
        pub struct $row(pub(crate) $inner);

        impl $row {
            fn get<'r, T>(&'r self, column: &str) -> ::tessera_store::StoreResult<T>
            where
                T: ::sqlx::Decode<'r, $db> + ::sqlx::Type<$db>,
            {
                ::sqlx::Row::try_get(&self.0, column).map_err(|e| $crate::column_error(column, e))
            }
        }
    };
}

/// [`crate::SqlRow`] methods that decode a column as the model's type
/// directly (`self.get(column)`): `native_getters!(id: Uuid, text: String)`;
/// a leading `native uuid and time;` adds `id`, `opt_id`, `time` and
/// `opt_time` (engines with uuid and timestamp types sqlx maps to ours).
#[macro_export]
macro_rules! native_getters {
    (native uuid and time; $($name:ident: $ty:ty),* $(,)?) => {
        $crate::native_getters!(
            id: ::uuid::Uuid,
            opt_id: Option<::uuid::Uuid>,
            time: ::chrono::DateTime<::chrono::Utc>,
            opt_time: Option<::chrono::DateTime<::chrono::Utc>>,
            $($name: $ty),*
        );
    };
    ($($name:ident: $ty:ty),* $(,)?) => {
        $(
            fn $name(&self, column: &str) -> ::tessera_store::StoreResult<$ty> {
                self.get(column)
            }
        )*
    };
}

/// The common arms of binding [`crate::Arg`]s: text, integers, booleans
/// and bytes bind as they are on every engine; the engine gives the arms of
/// its own encodings (ids, times, JSON, lists). `query` names the query
/// being bound, so the given arms can bind to it.
#[macro_export]
macro_rules! bind_args {
    ($query:ident, $args:expr, { $($arm:pat => $bind:expr),* $(,)? }) => {{
        let mut $query = $query;
        for arg in $args {
            $query = match *arg {
                $crate::Arg::Text(v) => $query.bind(v),
                $crate::Arg::OptText(v) => $query.bind(v),
                $crate::Arg::I32(v) => $query.bind(v),
                $crate::Arg::I64(v) => $query.bind(v),
                $crate::Arg::OptI64(v) => $query.bind(v),
                $crate::Arg::Bool(v) => $query.bind(v),
                $crate::Arg::OptBool(v) => $query.bind(v),
                $crate::Arg::Bytes(v) => $query.bind(v),
                $($arm => $bind,)*
            };
        }
        $query
    }};
}

/// `Statement<'q>` of an engine whose placeholders are the store's own
/// `$1`, `$2`, …: the statement text as it is, its arguments bound by
/// [`bind_args!`](crate::bind_args) with the engine's arms (which bind to
/// the query named between the bars).
#[macro_export]
macro_rules! numbered_statement {
    ($db:ty, |$query:ident| { $($arm:pat => $bind:expr),* $(,)? }) => {
        /// A statement and its arguments, bound in this engine's encoding by
        /// [`Statement::query`].
        pub(crate) struct Statement<'q> {
            sql: &'q str,
            args: &'q [$crate::Arg<'q>],
        }

        impl<'q> Statement<'q> {
            /// `sql` and `args`.
            pub(crate) fn new(sql: &'q str, args: &'q [$crate::Arg<'q>]) -> ::tessera_store::StoreResult<Statement<'q>> {
                Ok(Statement { sql, args })
            }

            /// The query with every argument bound.
            pub(crate) fn query(
                &self,
            ) -> ::tessera_store::StoreResult<
                ::sqlx::query::Query<'q, $db, <$db as ::sqlx::Database>::Arguments<'q>>,
            > {
                let $query = ::sqlx::query(self.sql);
                Ok($crate::bind_args!($query, self.args, { $($arm => $bind),* }))
            }
        }
    };
}
