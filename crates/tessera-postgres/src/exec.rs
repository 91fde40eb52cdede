//! Running statements on PostgreSQL's pool and transactions.

use async_trait::async_trait;
use sqlx::postgres::PgPool;
use sqlx::Postgres;
use tessera_sql::{Arg, Exec, Transaction};
use tessera_store::StoreResult;

use crate::error::map_err;
use crate::row::{bind, Row};

/// The pool: each statement runs on any of its connections, in autocommit.
#[derive(Debug, Clone, Copy)]
pub struct PgPoolHandle<'p>(pub(crate) &'p PgPool);

/// A transaction (`read committed`); dropped without commit, it rolls back.
#[derive(Debug)]
pub struct PgTransaction(pub(crate) sqlx::Transaction<'static, Postgres>);

/// The same operations on the pool and on a transaction.
macro_rules! exec_impl {
    ($ty:ty, $executor:ident => $get:expr) => {
        #[async_trait]
        impl Exec for $ty {
            type Row = Row;

            async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
                let $executor = self;
                let done = bind(sql, args).execute($get).await.map_err(map_err)?;
                Ok(done.rows_affected())
            }

            async fn fetch_all(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Vec<Row>> {
                let $executor = self;
                let rows = bind(sql, args).fetch_all($get).await.map_err(map_err)?;
                Ok(rows.into_iter().map(Row).collect())
            }

            async fn fetch_optional(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Option<Row>> {
                let $executor = self;
                let row = bind(sql, args)
                    .fetch_optional($get)
                    .await
                    .map_err(map_err)?;
                Ok(row.map(Row))
            }

            async fn insert_unless_duplicate(&mut self, insert: &str, args: &[Arg<'_>]) -> StoreResult<bool> {
                let sql = format!("{insert} on conflict do nothing");
                Ok(self.execute(&sql, args).await? == 1)
            }

            async fn lock(&mut self, select: &str, args: &[Arg<'_>]) -> StoreResult<()> {
                let sql = format!("{select} for update");
                self.fetch_all(&sql, args).await.map(drop)
            }
        }
    };
}

exec_impl!(PgPoolHandle<'_>, this => this.0);
exec_impl!(PgTransaction, this => &mut *this.0);

#[async_trait]
impl Transaction for PgTransaction {
    async fn commit(self) -> StoreResult<()> {
        self.0.commit().await.map_err(map_err)
    }
}
