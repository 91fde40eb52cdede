//! Access tokens revoked before their expiry (RFC 7009), by `jti`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tessera_store::{RevokedTokenStore, StoreResult};
use uuid::Uuid;

use crate::engine::{Engine, Exec, SqlRow};
use crate::{args, SqlStore};

#[async_trait]
impl<E: Engine> RevokedTokenStore for SqlStore<E> {
    async fn revoke_access_token(
        &self,
        tenant_id: Uuid,
        jti: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.engine
            .writer()
            .insert_unless_duplicate(
                "insert into revoked_access_token (tenant_id, jti, expires_at, revoked_at) \
                 values ($1, $2, $3, $4)",
                &args![tenant_id, jti, expires_at, now],
            )
            .await?;
        Ok(())
    }

    async fn list_revoked_access_tokens(
        &self,
        tenant_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>> {
        let rows = self
            .engine
            .reader()
            .fetch_all(
                "select jti from revoked_access_token where tenant_id = $1 and expires_at > $2 order by jti",
                &args![tenant_id, now],
            )
            .await?;
        rows.iter().map(|row| row.text("jti")).collect()
    }
}
