//! Removal of rows nobody can use any more.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;
use tessera_store::{PurgeCounts, StoreResult};

use crate::error::map_err;
use crate::row::ms;

/// See [`tessera_store::Store::purge_expired`].
pub(crate) async fn purge_expired(pool: &PgPool, now: DateTime<Utc>) -> StoreResult<PurgeCounts> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    let codes = sqlx::query("delete from authorization_code where expires_at < $1")
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    let access_tokens = sqlx::query("delete from revoked_access_token where expires_at < $1")
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    let assertions = sqlx::query("delete from client_assertion where expires_at < $1")
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    // A code (at most 60 s old) may still point at a browser session that
    // has just expired; that session goes in a later purge, after the code.
    let browser_sessions = sqlx::query(
        "delete from browser_session where expires_at < $1 \
         and not exists (select 1 from authorization_code c \
                         where c.browser_session_id = browser_session.browser_session_id)",
    )
    .bind(ms(now))
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    tx.commit().await.map_err(map_err)?;
    Ok(PurgeCounts {
        authorization_codes: codes.rows_affected(),
        revoked_access_tokens: access_tokens.rows_affected(),
        browser_sessions: browser_sessions.rows_affected(),
        client_assertions: assertions.rows_affected(),
    })
}
