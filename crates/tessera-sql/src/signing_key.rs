//! Signing keys (their private halves encrypted by the caller).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tessera_store::{Conflict, SigningKey, SigningKeyStore, StoreResult};
use uuid::Uuid;

use crate::decode::{self, SIGNING_KEY_COLUMNS};
use crate::engine::{Engine, Exec, Transaction};
use crate::{args, SqlStore};

/// Inserts a key (inside `exec`).
async fn insert(exec: &mut impl Exec, key: &SigningKey) -> StoreResult<()> {
    let sql = format!(
        "insert into signing_key ({SIGNING_KEY_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    );
    exec.execute(
        &sql,
        &args![
            &key.kid,
            key.tenant_id,
            &key.alg,
            &key.public_jwk,
            &key.private_key_encrypted,
            key.state.as_str(),
            key.created_at,
            key.activates_at,
            key.not_after
        ],
    )
    .await
    .map_err(|e| e.on(Conflict::Kid))?;
    Ok(())
}

#[async_trait]
impl<E: Engine> SigningKeyStore for SqlStore<E> {
    async fn list_signing_keys(&self, tenant_id: Uuid) -> StoreResult<Vec<SigningKey>> {
        let sql = format!(
            "select {SIGNING_KEY_COLUMNS} from signing_key where tenant_id = $1 order by created_at, kid"
        );
        let rows = self.engine.reader().fetch_all(&sql, &args![tenant_id]).await?;
        rows.iter().map(decode::signing_key).collect()
    }

    async fn insert_signing_key(&self, key: &SigningKey) -> StoreResult<()> {
        insert(&mut self.engine.writer(), key).await
    }

    async fn rotate_signing_key(&self, key: &SigningKey, retire_at: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.engine.begin().await?;
        // Serialises rotations of one tenant: otherwise a concurrent one
        // would not see (and so not retire) the key this one inserts.
        tx.lock("select 1 from tenant where tenant_id = $1", &args![key.tenant_id])
            .await?;
        tx.execute(
            "update signing_key set state = 'retired', not_after = $3 \
             where tenant_id = $1 and alg = $2 and not_after is null",
            &args![key.tenant_id, &key.alg, retire_at],
        )
        .await?;
        insert(&mut tx, key).await?;
        tx.commit().await
    }
}
