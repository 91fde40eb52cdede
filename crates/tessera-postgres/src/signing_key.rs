//! Signing keys (their private halves encrypted by the caller).

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;
use tessera_store::{SigningKey, StoreResult};
use uuid::Uuid;

use crate::error::{conflict_on, map_err};
use crate::row::{self, ms, opt_ms, signing_key_columns};

/// See [`tessera_store::Store::list_signing_keys`].
pub(crate) async fn list(pool: &PgPool, tenant_id: Uuid) -> StoreResult<Vec<SigningKey>> {
    let rows = sqlx::query(concat!(
        "select ",
        signing_key_columns!(),
        " from signing_key where tenant_id = $1 order by created_at, kid"
    ))
    .bind(tenant_id)
    .fetch_all(pool)
    .await
    .map_err(map_err)?;
    rows.iter().map(row::signing_key).collect()
}

/// See [`tessera_store::Store::insert_signing_key`].
pub(crate) async fn insert(pool: &PgPool, key: &SigningKey) -> StoreResult<()> {
    sqlx::query(concat!(
        "insert into signing_key (",
        signing_key_columns!(),
        ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(&key.kid)
    .bind(key.tenant_id)
    .bind(&key.alg)
    .bind(&key.public_jwk)
    .bind(&key.private_key_encrypted)
    .bind(key.state.as_str())
    .bind(ms(key.created_at))
    .bind(ms(key.activates_at))
    .bind(opt_ms(key.not_after))
    .execute(pool)
    .await
    .map_err(conflict_on("kid"))?;
    Ok(())
}

/// See [`tessera_store::Store::rotate_signing_key`].
pub(crate) async fn rotate(pool: &PgPool, key: &SigningKey, retire_at: DateTime<Utc>) -> StoreResult<()> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    // Serialises rotations of one tenant: otherwise a concurrent one
    // would not see (and so not retire) the key this one inserts.
    sqlx::query("select 1 from tenant where tenant_id = $1 for update")
        .bind(key.tenant_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
    sqlx::query(
        "update signing_key set state = 'retired', not_after = $3 \
         where tenant_id = $1 and alg = $2 and not_after is null",
    )
    .bind(key.tenant_id)
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
    .bind(key.tenant_id)
    .bind(&key.alg)
    .bind(&key.public_jwk)
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
