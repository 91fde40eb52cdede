//! Tenants: the isolated namespaces every other row belongs to.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;
use tessera_store::{StoreResult, Tenant};
use uuid::Uuid;

use crate::error::{conflict_on, map_err};
use crate::row::{self, ms, opt_ms};

/// Columns of `tenant`, as [`row::tenant`] reads them.
const TENANT_COLUMNS: &str = "tenant_id, slug, name, created_at, disabled_at";

/// See [`tessera_store::Store::ensure_tenant`].
pub(crate) async fn ensure(pool: &PgPool, slug: &str, name: &str, now: DateTime<Utc>) -> StoreResult<Tenant> {
    // Race-safe: a concurrent creator makes this insert a no-op.
    sqlx::query(
        "insert into tenant (tenant_id, slug, name, created_at) values ($1, $2, $3, $4) \
         on conflict (slug) do nothing",
    )
    .bind(Uuid::now_v7())
    .bind(slug)
    .bind(name)
    .bind(ms(now))
    .execute(pool)
    .await
    .map_err(map_err)?;
    get_by_slug(pool, slug).await
}

/// See [`tessera_store::Store::get_tenant_by_slug`].
pub(crate) async fn get_by_slug(pool: &PgPool, slug: &str) -> StoreResult<Tenant> {
    let row = sqlx::query(&format!("select {TENANT_COLUMNS} from tenant where slug = $1"))
        .bind(slug)
        .fetch_one(pool)
        .await
        .map_err(map_err)?;
    row::tenant(&row)
}

/// See [`tessera_store::Store::create_tenant`].
pub(crate) async fn create(pool: &PgPool, tenant: &Tenant) -> StoreResult<()> {
    sqlx::query(
        "insert into tenant (tenant_id, slug, name, created_at, disabled_at) \
         values ($1, $2, $3, $4, $5)",
    )
    .bind(tenant.tenant_id)
    .bind(&tenant.slug)
    .bind(&tenant.name)
    .bind(ms(tenant.created_at))
    .bind(opt_ms(tenant.disabled_at))
    .execute(pool)
    .await
    // Ids are fresh v7 uuids: the slug is the one unique value a caller
    // can collide on.
    .map_err(conflict_on("slug"))?;
    Ok(())
}

/// See [`tessera_store::Store::list_tenants`].
pub(crate) async fn list(pool: &PgPool) -> StoreResult<Vec<Tenant>> {
    let rows = sqlx::query(&format!(
        "select {TENANT_COLUMNS} from tenant order by created_at, tenant_id"
    ))
    .fetch_all(pool)
    .await
    .map_err(map_err)?;
    rows.iter().map(row::tenant).collect()
}

/// See [`tessera_store::Store::update_tenant`].
pub(crate) async fn update(
    pool: &PgPool,
    slug: &str,
    name: Option<&str>,
    disabled_at: Option<Option<DateTime<Utc>>>,
) -> StoreResult<Tenant> {
    let row = sqlx::query(&format!(
        "update tenant set name = coalesce($2, name), \
            disabled_at = case when $3 then $4 else disabled_at end \
         where slug = $1 returning {TENANT_COLUMNS}"
    ))
    .bind(slug)
    .bind(name)
    .bind(disabled_at.is_some())
    .bind(opt_ms(disabled_at.flatten()))
    .fetch_one(pool)
    .await
    .map_err(map_err)?;
    row::tenant(&row)
}
