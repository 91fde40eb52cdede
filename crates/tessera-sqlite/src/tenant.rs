//! Tenants: the isolated namespaces every other row belongs to.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqlitePool;
use tessera_store::{StoreResult, Tenant};
use uuid::Uuid;

use crate::error::{conflict_on, map_err};
use crate::row::{self, id, ms, opt_ms};

/// Columns of `tenant`, as [`row::tenant`] reads them.
const TENANT_COLUMNS: &str = "tenant_id, slug, name, created_at, disabled_at";

/// See [`tessera_store::Store::ensure_tenant`].
pub(crate) async fn ensure(
    writer: &SqlitePool,
    reader: &SqlitePool,
    slug: &str,
    name: &str,
    now: DateTime<Utc>,
) -> StoreResult<Tenant> {
    // Race-safe: a concurrent creator makes this insert a no-op.
    sqlx::query(
        "insert into tenant (tenant_id, slug, name, created_at) values ($1, $2, $3, $4) \
         on conflict (slug) do nothing",
    )
    .bind(id(Uuid::now_v7()))
    .bind(slug)
    .bind(name)
    .bind(ms(now))
    .execute(writer)
    .await
    .map_err(map_err)?;
    get_by_slug(reader, slug).await
}

/// See [`tessera_store::Store::get_tenant_by_slug`].
pub(crate) async fn get_by_slug(reader: &SqlitePool, slug: &str) -> StoreResult<Tenant> {
    let row = sqlx::query(&format!("select {TENANT_COLUMNS} from tenant where slug = $1"))
        .bind(slug)
        .fetch_one(reader)
        .await
        .map_err(map_err)?;
    row::tenant(&row)
}

/// See [`tessera_store::Store::create_tenant`].
pub(crate) async fn create(writer: &SqlitePool, tenant: &Tenant) -> StoreResult<()> {
    sqlx::query(
        "insert into tenant (tenant_id, slug, name, created_at, disabled_at) \
         values ($1, $2, $3, $4, $5)",
    )
    .bind(id(tenant.tenant_id))
    .bind(&tenant.slug)
    .bind(&tenant.name)
    .bind(ms(tenant.created_at))
    .bind(opt_ms(tenant.disabled_at))
    .execute(writer)
    .await
    // Ids are fresh v7 uuids: the slug is the one unique value a caller
    // can collide on.
    .map_err(conflict_on("slug"))?;
    Ok(())
}

/// See [`tessera_store::Store::list_tenants`].
pub(crate) async fn list(reader: &SqlitePool) -> StoreResult<Vec<Tenant>> {
    let rows = sqlx::query(&format!(
        "select {TENANT_COLUMNS} from tenant order by created_at, tenant_id"
    ))
    .fetch_all(reader)
    .await
    .map_err(map_err)?;
    rows.iter().map(row::tenant).collect()
}

/// See [`tessera_store::Store::update_tenant`].
pub(crate) async fn update(
    writer: &SqlitePool,
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
    .fetch_one(writer)
    .await
    .map_err(map_err)?;
    row::tenant(&row)
}
