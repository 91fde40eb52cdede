//! Signing keys (their private halves encrypted by the caller).

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqlitePool;
use tessera_store::{SigningKey, StoreResult};
use uuid::Uuid;

use crate::error::{conflict_on, map_err};
use crate::row::{self, id, json_text, ms, opt_ms, signing_key_columns};
use crate::BEGIN_WRITE;

/// See [`tessera_store::Store::list_signing_keys`].
pub(crate) async fn list(reader: &SqlitePool, tenant_id: Uuid) -> StoreResult<Vec<SigningKey>> {
    let rows = sqlx::query(concat!(
        "select ",
        signing_key_columns!(),
        " from signing_key where tenant_id = $1 order by created_at, kid"
    ))
    .bind(id(tenant_id))
    .fetch_all(reader)
    .await
    .map_err(map_err)?;
    rows.iter().map(row::signing_key).collect()
}

/// See [`tessera_store::Store::insert_signing_key`].
pub(crate) async fn insert(writer: &SqlitePool, key: &SigningKey) -> StoreResult<()> {
    sqlx::query(concat!(
        "insert into signing_key (",
        signing_key_columns!(),
        ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(&key.kid)
    .bind(id(key.tenant_id))
    .bind(&key.alg)
    .bind(json_text(&key.public_jwk)?)
    .bind(&key.private_key_encrypted)
    .bind(key.state.as_str())
    .bind(ms(key.created_at))
    .bind(ms(key.activates_at))
    .bind(opt_ms(key.not_after))
    .execute(writer)
    .await
    .map_err(conflict_on("kid"))?;
    Ok(())
}

/// See [`tessera_store::Store::rotate_signing_key`].
pub(crate) async fn rotate(
    writer: &SqlitePool,
    key: &SigningKey,
    retire_at: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = writer.begin_with(BEGIN_WRITE).await.map_err(map_err)?;
    sqlx::query(
        "update signing_key set state = 'retired', not_after = $3 \
         where tenant_id = $1 and alg = $2 and not_after is null",
    )
    .bind(id(key.tenant_id))
    .bind(&key.alg)
    .bind(ms(retire_at))
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    sqlx::query(concat!(
        "insert into signing_key (",
        signing_key_columns!(),
        ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(&key.kid)
    .bind(id(key.tenant_id))
    .bind(&key.alg)
    .bind(json_text(&key.public_jwk)?)
    .bind(&key.private_key_encrypted)
    .bind(key.state.as_str())
    .bind(ms(key.created_at))
    .bind(ms(key.activates_at))
    .bind(opt_ms(key.not_after))
    .execute(&mut *tx)
    .await
    .map_err(conflict_on("kid"))?;
    tx.commit().await.map_err(map_err)
}
