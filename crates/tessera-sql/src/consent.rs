//! Users' remembered approvals of clients.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tessera_store::{Consent, ConsentStore, StoreError, StoreResult};
use uuid::Uuid;

use crate::decode::{self, CONSENT_COLUMNS};
use crate::engine::{Engine, Exec, Transaction};
use crate::session::revoke_found_sessions;
use crate::{args, SqlStore};

#[async_trait]
impl<E: Engine> ConsentStore for SqlStore<E> {
    async fn get_consent(&self, tenant_id: Uuid, user_id: Uuid, client_id: Uuid) -> StoreResult<Consent> {
        let sql = format!(
            "select {CONSENT_COLUMNS} from consent where tenant_id = $1 and user_id = $2 and client_id = $3"
        );
        let row = self
            .engine
            .reader()
            .fetch_one(&sql, &args![tenant_id, user_id, client_id])
            .await?;
        decode::consent(&row)
    }

    async fn upsert_consent(&self, consent: &Consent) -> StoreResult<()> {
        // Insert, or (when the approval exists) replace its scopes: one
        // transaction, and no engine-specific upsert syntax.
        let mut tx = self.engine.begin().await?;
        let sql = format!("insert into consent ({CONSENT_COLUMNS}) values ($1, $2, $3, $4, $5, $6)");
        let inserted = tx
            .insert_unless_duplicate(
                &sql,
                &args![
                    consent.tenant_id,
                    consent.user_id,
                    consent.client_id,
                    &consent.scopes,
                    consent.created_at,
                    consent.updated_at
                ],
            )
            .await?;
        if !inserted {
            tx.execute(
                "update consent set scopes = $4, updated_at = $5 \
                 where tenant_id = $1 and user_id = $2 and client_id = $3",
                &args![
                    consent.tenant_id,
                    consent.user_id,
                    consent.client_id,
                    &consent.scopes,
                    consent.updated_at
                ],
            )
            .await?;
        }
        tx.commit().await
    }

    async fn list_consents(&self, tenant_id: Uuid, user_id: Uuid) -> StoreResult<Vec<Consent>> {
        let sql = format!(
            "select {CONSENT_COLUMNS} from consent where tenant_id = $1 and user_id = $2 \
             order by created_at, client_id"
        );
        let rows = self
            .engine
            .reader()
            .fetch_all(&sql, &args![tenant_id, user_id])
            .await?;
        rows.iter().map(decode::consent).collect()
    }

    async fn delete_consent(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        client_id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>> {
        let mut tx = self.engine.begin().await?;
        let deleted = tx
            .execute(
                "delete from consent where tenant_id = $1 and user_id = $2 and client_id = $3",
                &args![tenant_id, user_id, client_id],
            )
            .await?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        let revoked = revoke_found_sessions(
            &mut tx,
            tenant_id,
            "select session_id from session \
             where tenant_id = $1 and user_id = $2 and client_id = $3 and revoked_at is null \
             order by session_id",
            &args![tenant_id, user_id, client_id],
            reason,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(revoked)
    }
}
