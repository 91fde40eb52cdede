//! Users' remembered approvals of clients.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqlitePool;
use tessera_store::{Consent, StoreError, StoreResult};
use uuid::Uuid;

use crate::error::map_err;
use crate::row::{self, consent_columns, id, list_text, ms};
use crate::BEGIN_WRITE;

/// See [`tessera_store::Store::get_consent`].
pub(crate) async fn get(
    reader: &SqlitePool,
    tenant_id: Uuid,
    user_id: Uuid,
    client_id: Uuid,
) -> StoreResult<Consent> {
    let row = sqlx::query(concat!(
        "select ",
        consent_columns!(),
        " from consent where tenant_id = $1 and user_id = $2 and client_id = $3"
    ))
    .bind(id(tenant_id))
    .bind(id(user_id))
    .bind(id(client_id))
    .fetch_one(reader)
    .await
    .map_err(map_err)?;
    row::consent(&row)
}

/// See [`tessera_store::Store::upsert_consent`].
pub(crate) async fn upsert(writer: &SqlitePool, consent: &Consent) -> StoreResult<()> {
    sqlx::query(concat!(
        "insert into consent (",
        consent_columns!(),
        ") values ($1, $2, $3, $4, $5, $6) \
         on conflict (tenant_id, user_id, client_id) do update set \
            scopes = excluded.scopes, updated_at = excluded.updated_at"
    ))
    .bind(id(consent.tenant_id))
    .bind(id(consent.user_id))
    .bind(id(consent.client_id))
    .bind(list_text(&consent.scopes)?)
    .bind(ms(consent.created_at))
    .bind(ms(consent.updated_at))
    .execute(writer)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// See [`tessera_store::Store::list_consents`].
pub(crate) async fn list(reader: &SqlitePool, tenant_id: Uuid, user_id: Uuid) -> StoreResult<Vec<Consent>> {
    let rows = sqlx::query(concat!(
        "select ",
        consent_columns!(),
        " from consent where tenant_id = $1 and user_id = $2 order by created_at, client_id"
    ))
    .bind(id(tenant_id))
    .bind(id(user_id))
    .fetch_all(reader)
    .await
    .map_err(map_err)?;
    rows.iter().map(row::consent).collect()
}

/// See [`tessera_store::Store::delete_consent`].
pub(crate) async fn delete(
    writer: &SqlitePool,
    tenant_id: Uuid,
    user_id: Uuid,
    client_id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Uuid>> {
    let mut tx = writer.begin_with(BEGIN_WRITE).await.map_err(map_err)?;
    let deleted = sqlx::query("delete from consent where tenant_id = $1 and user_id = $2 and client_id = $3")
        .bind(id(tenant_id))
        .bind(id(user_id))
        .bind(id(client_id))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    if deleted.rows_affected() == 0 {
        tx.rollback().await.map_err(map_err)?;
        return Err(StoreError::NotFound);
    }
    let rows = sqlx::query(
        "update session set revoked_at = $5, revoke_reason = $4 \
         where tenant_id = $1 and user_id = $2 and client_id = $3 and revoked_at is null \
         returning session_id",
    )
    .bind(id(tenant_id))
    .bind(id(user_id))
    .bind(id(client_id))
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
