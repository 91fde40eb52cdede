//! Effective permissions of users and machine clients, computed from the
//! store's roles and cached: the role graph of the tenant and each
//! principal's roles are read at most once per `ttl` per node, and dropped
//! locally the moment this node changes them (other nodes see a change
//! within `ttl`, the same bound as session state).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tessera_store::{Permission, Role, Store};
use uuid::Uuid;

use crate::error::{AuthError, AuthResult};
use crate::rbac::{Grants, RoleGraph, BUILTIN_PERMISSIONS, SEED_ROLES};

/// What a principal holds: its directly assigned roles and the effective
/// grants over them and their ancestors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// Directly assigned role names, sorted.
    pub roles: Vec<String>,
    /// Effective permissions (reduced; may hold wildcards).
    pub grants: Grants,
}

/// Who a cached [`Access`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Principal {
    User(Uuid),
    Client(Uuid),
}

/// Roles, permissions and their caches for one tenant.
pub struct AccessControl {
    store: Arc<dyn Store>,
    tenant_id: Uuid,
    graph: moka::future::Cache<(), Arc<RoleGraph>>,
    principals: moka::future::Cache<Principal, Arc<Access>>,
}

impl AccessControl {
    /// Access control for `tenant_id`, caching for `ttl`.
    pub fn new(store: Arc<dyn Store>, tenant_id: Uuid, ttl: Duration) -> AccessControl {
        AccessControl {
            store,
            tenant_id,
            graph: moka::future::Cache::builder()
                .max_capacity(1)
                .time_to_live(ttl)
                .build(),
            principals: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// Seeds the permission catalogue and the five roles of the default
    /// matrix if the tenant has no role yet; true if this call did.
    pub async fn seed(&self, now: DateTime<Utc>) -> AuthResult<bool> {
        let permissions: Vec<Permission> = BUILTIN_PERMISSIONS
            .iter()
            .map(|(name, description)| Permission {
                tenant_id: self.tenant_id,
                name: (*name).into(),
                description: Some((*description).into()),
                builtin: true,
                created_at: now,
            })
            .collect();
        let roles: Vec<Role> = SEED_ROLES
            .iter()
            .map(|seed| Role {
                tenant_id: self.tenant_id,
                name: seed.name.into(),
                description: Some(seed.description.into()),
                parent: seed.parent.map(Into::into),
                permissions: seed.permissions.iter().map(|p| (*p).to_string()).collect(),
                builtin: true,
                created_at: now,
                updated_at: now,
            })
            .collect();
        let seeded = self.store.seed_rbac(self.tenant_id, &permissions, &roles).await?;
        if seeded {
            self.forget_all();
        }
        Ok(seeded)
    }

    /// The tenant's role graph (cached).
    pub async fn graph(&self) -> AuthResult<Arc<RoleGraph>> {
        self.graph
            .try_get_with((), async {
                let roles = self.store.list_roles(self.tenant_id).await?;
                Ok::<_, AuthError>(Arc::new(RoleGraph::new(roles)))
            })
            .await
            .map_err(unshare)
    }

    /// What user `user_id` holds (cached).
    pub async fn for_user(&self, user_id: Uuid) -> AuthResult<Arc<Access>> {
        self.access_of(Principal::User(user_id)).await
    }

    /// What machine client `client_id` holds (cached).
    pub async fn for_client(&self, client_id: Uuid) -> AuthResult<Arc<Access>> {
        self.access_of(Principal::Client(client_id)).await
    }

    /// The effective grants of holding `roles`.
    pub async fn grants_of_roles(&self, roles: &[&str]) -> AuthResult<Grants> {
        Ok(self.graph().await?.effective(roles.iter().copied()))
    }

    async fn access_of(&self, principal: Principal) -> AuthResult<Arc<Access>> {
        self.principals
            .try_get_with(principal, async {
                let roles = match principal {
                    Principal::User(id) => self.store.list_user_roles(self.tenant_id, id).await?,
                    Principal::Client(id) => self.store.list_client_roles(self.tenant_id, id).await?,
                };
                let graph = self.graph().await?;
                let grants = graph.effective(roles.iter().map(String::as_str));
                Ok::<_, AuthError>(Arc::new(Access { roles, grants }))
            })
            .await
            .map_err(unshare)
    }

    /// Drops the cached roles of one user (after assigning or removing).
    pub async fn forget_user(&self, user_id: Uuid) {
        self.principals.invalidate(&Principal::User(user_id)).await;
    }

    /// Drops the cached roles of one client.
    pub async fn forget_client(&self, client_id: Uuid) {
        self.principals.invalidate(&Principal::Client(client_id)).await;
    }

    /// Drops everything (after a role or permission changed).
    pub fn forget_all(&self) {
        self.graph.invalidate_all();
        self.principals.invalidate_all();
    }
}

/// Turns the shared error of a cache loader back into an owned one.
fn unshare(err: Arc<AuthError>) -> AuthError {
    match err.as_ref() {
        AuthError::Unavailable(msg) => AuthError::Unavailable(msg.clone()),
        AuthError::NotFound => AuthError::NotFound,
        other => AuthError::Internal(other.to_string()),
    }
}
