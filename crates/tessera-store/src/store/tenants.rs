use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{StoreResult, Tenant};

/// Tenants: the isolated namespaces every other row belongs to.
#[async_trait]
pub trait TenantStore: Send + Sync + 'static {
    /// Returns the tenant with `slug`, creating it with `name` if missing.
    async fn ensure_tenant(&self, slug: &str, name: &str, now: DateTime<Utc>) -> StoreResult<Tenant>;

    /// The tenant with this slug (disabled or not).
    async fn get_tenant_by_slug(&self, slug: &str) -> StoreResult<Tenant>;

    /// Creates a tenant. `Conflict(Slug)` if the slug is taken.
    async fn create_tenant(&self, tenant: &Tenant) -> StoreResult<()>;

    /// Every tenant, oldest first.
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>>;

    /// Renames a tenant and/or sets its `disabled_at` (`None` keeps a
    /// field); returns the updated tenant.
    async fn update_tenant(
        &self,
        slug: &str,
        name: Option<&str>,
        disabled_at: Option<Option<DateTime<Utc>>>,
    ) -> StoreResult<Tenant>;
}
