//! Tenants: the isolated namespaces every other row belongs to.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tessera_store::{Conflict, StoreError, StoreResult, Tenant, TenantStore};
use uuid::Uuid;

use crate::decode::{self, TENANT_COLUMNS};
use crate::engine::{Engine, Exec, Transaction};
use crate::{args, SqlStore};

#[async_trait]
impl<E: Engine> TenantStore for SqlStore<E> {
    async fn ensure_tenant(&self, slug: &str, name: &str, now: DateTime<Utc>) -> StoreResult<Tenant> {
        // Race-safe: a concurrent creator makes this insert a no-op.
        self.engine
            .writer()
            .insert_unless_duplicate(
                "insert into tenant (tenant_id, slug, name, created_at) values ($1, $2, $3, $4)",
                &args![Uuid::now_v7(), slug, name, now],
            )
            .await?;
        self.get_tenant_by_slug(slug).await
    }

    async fn get_tenant_by_slug(&self, slug: &str) -> StoreResult<Tenant> {
        let sql = format!("select {TENANT_COLUMNS} from tenant where slug = $1");
        decode::tenant(&self.engine.reader().fetch_one(&sql, &args![slug]).await?)
    }

    async fn create_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        self.engine
            .writer()
            .execute(
                "insert into tenant (tenant_id, slug, name, created_at, disabled_at) \
                 values ($1, $2, $3, $4, $5)",
                &args![
                    tenant.tenant_id,
                    &tenant.slug,
                    &tenant.name,
                    tenant.created_at,
                    tenant.disabled_at
                ],
            )
            .await
            // Ids are fresh v7 uuids: the slug is the one unique value a
            // caller can collide on.
            .map_err(|e| e.on(Conflict::Slug))?;
        Ok(())
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        let sql = format!("select {TENANT_COLUMNS} from tenant order by created_at, tenant_id");
        let rows = self.engine.reader().fetch_all(&sql, &[]).await?;
        rows.iter().map(decode::tenant).collect()
    }

    async fn update_tenant(
        &self,
        slug: &str,
        name: Option<&str>,
        disabled_at: Option<Option<DateTime<Utc>>>,
    ) -> StoreResult<Tenant> {
        let mut tx = self.engine.begin().await?;
        let updated = tx
            .execute(
                "update tenant set name = coalesce($2, name), \
                    disabled_at = case when $3 then $4 else disabled_at end \
                 where slug = $1",
                &args![slug, name, disabled_at.is_some(), disabled_at.flatten()],
            )
            .await?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        let sql = format!("select {TENANT_COLUMNS} from tenant where slug = $1");
        let tenant = decode::tenant(&tx.fetch_one(&sql, &args![slug]).await?)?;
        tx.commit().await?;
        Ok(tenant)
    }
}
