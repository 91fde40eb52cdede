//! The tenants other than the default one, served under `/t/{slug}`:
//! started on first request and kept (with their caches) while they stay
//! enabled.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use tessera_core::cache::TtlCache;
use tessera_core::AuthError;
use tessera_server::{AppState, TenantDirectory, TenantHandle};
use tessera_store::{StoreError, Tenant, DEFAULT_TENANT_SLUG};

use crate::app::Shared;

/// How long a node trusts what it read about a tenant (exists, enabled)
/// before reading it again: renaming or disabling a tenant reaches every
/// node within this time (by the clock port).
const TENANT_CACHE_TTL: Duration = Duration::from_secs(5);

/// The directory of live tenants.
pub(crate) struct Directory {
    shared: Arc<Shared>,
    metrics: PrometheusHandle,
    /// Live tenants by slug (re-read after [`TENANT_CACHE_TTL`]).
    live: TtlCache<String, Tenant>,
    /// Started tenants by slug.
    handles: moka::future::Cache<String, Arc<TenantHandle>>,
}

impl Directory {
    /// An empty directory over `shared`.
    pub(crate) fn new(shared: Arc<Shared>, metrics: PrometheusHandle) -> Directory {
        Directory {
            live: TtlCache::new(shared.clock().clone(), 10_000, TENANT_CACHE_TTL),
            handles: moka::future::Cache::builder().max_capacity(10_000).build(),
            shared,
            metrics,
        }
    }

    /// The tenant `slug` as stored, through the cache; `None` if missing.
    async fn live_tenant(&self, slug: &str) -> Result<Option<Tenant>, AuthError> {
        if let Some(tenant) = self.live.get(&slug.to_string()).await {
            return Ok(Some(tenant));
        }
        match self.shared.store().get_tenant_by_slug(slug).await {
            Ok(tenant) => {
                self.live.insert(slug.to_string(), tenant.clone()).await;
                Ok(Some(tenant))
            }
            Err(StoreError::NotFound) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    /// Starts the services and routes of `tenant`.
    async fn start(&self, tenant: Tenant) -> Result<Arc<TenantHandle>, AuthError> {
        let slug = tenant.slug.clone();
        let services = self
            .shared
            .services_for(tenant)
            .await
            .map_err(|err| AuthError::Internal(format!("{err:#}")))?;
        let state = AppState {
            auth: services.auth,
            clients: services.clients,
            oidc: services.oidc,
            admin: services.admin,
            tenants: None,
            metrics: self.metrics.clone(),
            http: Arc::new(self.shared.http_settings(format!("/t/{slug}"))),
        };
        let routes = tessera_server::routes(state.clone());
        Ok(Arc::new(TenantHandle { state, routes }))
    }
}

#[async_trait::async_trait]
impl TenantDirectory for Directory {
    async fn tenant(&self, slug: &str) -> Result<Option<Arc<TenantHandle>>, AuthError> {
        if slug == DEFAULT_TENANT_SLUG || !tessera_core::admin::is_tenant_slug(slug) {
            return Ok(None);
        }
        let Some(tenant) = self.live_tenant(slug).await? else {
            return Ok(None);
        };
        if tenant.disabled_at.is_some() {
            return Ok(None);
        }
        let handle = self
            .handles
            .try_get_with(slug.to_string(), self.start(tenant))
            .await
            .map_err(|err: Arc<AuthError>| match err.as_ref() {
                AuthError::Unavailable(msg) => AuthError::Unavailable(msg.clone()),
                other => AuthError::Internal(other.to_string()),
            })?;
        Ok(Some(handle))
    }

    async fn forget(&self, slug: &str) {
        self.live.invalidate(&slug.to_string()).await;
    }
}
