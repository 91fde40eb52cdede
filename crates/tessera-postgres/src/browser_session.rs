//! Browser (single sign-on) sessions of the hosted pages.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;
use tessera_store::{BrowserSession, StoreError, StoreResult};
use uuid::Uuid;

use crate::error::map_err;
use crate::row::{self, browser_session_columns, list_json, ms, opt_ms};
use crate::session::clear_login_failures;

/// See [`tessera_store::Store::create_browser_session`].
pub(crate) async fn create(pool: &PgPool, session: &BrowserSession) -> StoreResult<()> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    // Also proves the user exists in the tenant; an error rolls back (drop).
    clear_login_failures(&mut *tx, session.tenant_id, session.user_id).await?;
    sqlx::query(concat!(
        "insert into browser_session (",
        browser_session_columns!(),
        ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(session.browser_session_id)
    .bind(session.tenant_id)
    .bind(session.user_id)
    .bind(&session.token_hash)
    .bind(ms(session.auth_time))
    .bind(list_json(&session.amr))
    .bind(ms(session.created_at))
    .bind(ms(session.expires_at))
    .bind(opt_ms(session.revoked_at))
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    tx.commit().await.map_err(map_err)
}

/// See [`tessera_store::Store::get_browser_session`].
pub(crate) async fn get_by_token_hash(
    pool: &PgPool,
    tenant_id: Uuid,
    token_hash: &str,
) -> StoreResult<BrowserSession> {
    let row = sqlx::query(concat!(
        "select ",
        browser_session_columns!(),
        " from browser_session where tenant_id = $1 and token_hash = $2"
    ))
    .bind(tenant_id)
    .bind(token_hash)
    .fetch_one(pool)
    .await
    .map_err(map_err)?;
    row::browser_session(&row)
}

/// See [`tessera_store::Store::get_browser_session_by_id`].
pub(crate) async fn get_by_id(
    pool: &PgPool,
    tenant_id: Uuid,
    browser_session_id: Uuid,
) -> StoreResult<BrowserSession> {
    let row = sqlx::query(concat!(
        "select ",
        browser_session_columns!(),
        " from browser_session where tenant_id = $1 and browser_session_id = $2"
    ))
    .bind(tenant_id)
    .bind(browser_session_id)
    .fetch_one(pool)
    .await
    .map_err(map_err)?;
    row::browser_session(&row)
}

/// See [`tessera_store::Store::end_browser_session`].
pub(crate) async fn end(
    pool: &PgPool,
    tenant_id: Uuid,
    browser_session_id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Uuid>> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    // The first end's time stays; zero rows means it is not in this tenant.
    let ended = sqlx::query(
        "update browser_session set revoked_at = coalesce(revoked_at, $3) \
         where tenant_id = $1 and browser_session_id = $2",
    )
    .bind(tenant_id)
    .bind(browser_session_id)
    .bind(ms(now))
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    if ended.rows_affected() == 0 {
        tx.rollback().await.map_err(map_err)?;
        return Err(StoreError::NotFound);
    }
    let rows = sqlx::query(
        "update session set revoked_at = $4, revoke_reason = $3 \
         where tenant_id = $1 and browser_session_id = $2 and revoked_at is null \
         returning session_id",
    )
    .bind(tenant_id)
    .bind(browser_session_id)
    .bind(reason)
    .bind(ms(now))
    .fetch_all(&mut *tx)
    .await
    .map_err(map_err)?;
    let revoked = rows
        .iter()
        .map(row::session_id)
        .collect::<StoreResult<Vec<_>>>()?;
    tx.commit().await.map_err(map_err)?;
    Ok(revoked)
}
