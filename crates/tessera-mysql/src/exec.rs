//! Running statements on MariaDB's pool and transactions.

use async_trait::async_trait;
use sqlx::mysql::MySqlPool;
use sqlx::MySql;
use tessera_sql::{Arg, Exec, Transaction};
use tessera_store::{Conflict, StoreError, StoreResult};

use crate::error::map_err;
use crate::row::{Row, Statement};

/// The pool: each statement runs on any of its connections, in autocommit.
#[derive(Debug, Clone, Copy)]
pub struct MySqlPoolHandle<'p>(pub(crate) &'p MySqlPool);

/// A transaction (`read committed`); dropped without commit, it rolls back.
#[derive(Debug)]
pub struct MySqlTransaction(pub(crate) sqlx::Transaction<'static, MySql>);

/// The same operations on the pool and on a transaction.
macro_rules! exec_impl {
    ($ty:ty, $executor:ident => $get:expr) => {
        #[async_trait]
        impl Exec for $ty {
            type Row = Row;

            async fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<u64> {
                let $executor = self;
                let statement = Statement::new(sql, args)?;
                let done = statement.bind()?.execute($get).await.map_err(map_err)?;
                Ok(done.rows_affected())
            }

            async fn fetch_all(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Vec<Row>> {
                let $executor = self;
                let statement = Statement::new(sql, args)?;
                let rows = statement.bind()?.fetch_all($get).await.map_err(map_err)?;
                Ok(rows.into_iter().map(Row).collect())
            }

            async fn fetch_optional(&mut self, sql: &str, args: &[Arg<'_>]) -> StoreResult<Option<Row>> {
                let $executor = self;
                let statement = Statement::new(sql, args)?;
                let row = statement
                    .bind()?
                    .fetch_optional($get)
                    .await
                    .map_err(map_err)?;
                Ok(row.map(Row))
            }

            async fn insert_unless_duplicate(&mut self, insert: &str, args: &[Arg<'_>]) -> StoreResult<bool> {
                // No `on conflict do nothing` here, and `insert ignore` would
                // also swallow foreign-key and truncation errors. A failed
                // statement is undone alone; the transaction goes on.
                match self.execute(insert, args).await {
                    Ok(inserted) => Ok(inserted == 1),
                    Err(StoreError::Conflict(Conflict::Unique)) => Ok(false),
                    Err(other) => Err(other),
                }
            }

            async fn lock(&mut self, select: &str, args: &[Arg<'_>]) -> StoreResult<()> {
                let sql = format!("{select} for update");
                self.fetch_all(&sql, args).await.map(drop)
            }
        }
    };
}

exec_impl!(MySqlPoolHandle<'_>, this => this.0);
exec_impl!(MySqlTransaction, this => &mut *this.0);

#[async_trait]
impl Transaction for MySqlTransaction {
    async fn commit(self) -> StoreResult<()> {
        self.0.commit().await.map_err(map_err)
    }
}
