//! The used `jti`s of client assertions (`private_key_jwt`).

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqlitePool;
use tessera_store::StoreResult;
use uuid::Uuid;

use crate::error::map_err;
use crate::row::{id, ms};

/// See [`tessera_store::Store::record_client_assertion`].
pub(crate) async fn record(
    writer: &SqlitePool,
    tenant_id: Uuid,
    client_id: Uuid,
    jti: &str,
    expires_at: DateTime<Utc>,
) -> StoreResult<bool> {
    // The primary key decides: of two nodes racing with one assertion, only
    // one inserts the row.
    let inserted = sqlx::query(
        "insert into client_assertion (tenant_id, client_id, jti, expires_at) \
         values ($1, $2, $3, $4) on conflict (tenant_id, client_id, jti) do nothing",
    )
    .bind(id(tenant_id))
    .bind(id(client_id))
    .bind(jti)
    .bind(ms(expires_at))
    .execute(writer)
    .await
    .map_err(map_err)?;
    Ok(inserted.rows_affected() == 1)
}
