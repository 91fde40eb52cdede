//! The database itself (migrations, readiness) and the removal of rows
//! nobody can use any more.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use tessera_store::{Database, Housekeeping, PurgeCounts, StoreError, StoreResult};

use crate::engine::{Engine, Exec, Transaction};
use crate::{args, SqlStore};

#[async_trait]
impl<E: Engine> Database for SqlStore<E> {
    async fn migrate(&self) -> StoreResult<()> {
        self.engine.migrate().await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.engine.ping().await
    }

    async fn is_migrated(&self) -> StoreResult<bool> {
        // sqlx keeps its bookkeeping in `_sqlx_migrations` on every engine:
        // asking for none of its rows succeeds exactly when it exists. A
        // failure other than an outage is the missing table.
        let probe = "select 1 from _sqlx_migrations where 1 = 0";
        match self.engine.reader().fetch_optional(probe, &[]).await {
            Ok(_) => Ok(true),
            Err(StoreError::Unavailable(cause)) => Err(StoreError::Unavailable(cause)),
            Err(_) => Ok(false),
        }
    }
}

#[async_trait]
impl<E: Engine> Housekeeping for SqlStore<E> {
    async fn purge_expired(&self, now: DateTime<Utc>) -> StoreResult<PurgeCounts> {
        let mut tx = self.engine.begin().await?;
        let authorization_codes = tx
            .execute(
                "delete from authorization_code where expires_at < $1",
                &args![now],
            )
            .await?;
        let revoked_access_tokens = tx
            .execute(
                "delete from revoked_access_token where expires_at < $1",
                &args![now],
            )
            .await?;
        let client_assertions = tx
            .execute("delete from client_assertion where expires_at < $1", &args![now])
            .await?;
        // A code (at most 60 s old) may still point at a browser session that
        // has just expired; that session goes in a later purge, after the code.
        let browser_sessions = tx
            .execute(
                "delete from browser_session where expires_at < $1 \
                 and not exists (select 1 from authorization_code c \
                                 where c.browser_session_id = browser_session.browser_session_id)",
                &args![now],
            )
            .await?;
        let one_time_tokens = tx
            .execute(
                "delete from one_time_token where expires_at < $1 and created_at < $2",
                &args![now, now - Duration::days(1)],
            )
            .await?;
        let mail = tx
            .execute(
                "delete from mail_outbox where status <> 'pending' and created_at < $1",
                &args![now - Duration::days(30)],
            )
            .await?;
        tx.commit().await?;
        Ok(PurgeCounts {
            authorization_codes,
            revoked_access_tokens,
            browser_sessions,
            client_assertions,
            one_time_tokens,
            mail,
        })
    }
}
