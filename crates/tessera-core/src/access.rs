//! Roles and effective permissions of users and machine clients: the one
//! component that reads and writes the tenant's roles, and so the one that
//! keeps their caches right. The role graph and each principal's roles are
//! read at most once per `ttl` per node and dropped here the moment this
//! node changes them (other nodes see a change within `ttl`, the same bound
//! as session state).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tessera_store::{KeepLastHolder, Permission, RbacStore, Role, RoleUpdate};
use uuid::Uuid;

use crate::cache::TtlCache;
use crate::clock::Clock;
use crate::error::AuthResult;
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
    store: Arc<dyn RbacStore>,
    tenant_id: Uuid,
    clock: Arc<dyn Clock>,
    graph: TtlCache<(), Arc<RoleGraph>>,
    principals: TtlCache<Principal, Arc<Access>>,
}

impl AccessControl {
    /// Access control for `tenant_id`, caching for `ttl`.
    pub fn new(
        store: Arc<dyn RbacStore>,
        tenant_id: Uuid,
        clock: Arc<dyn Clock>,
        ttl: Duration,
    ) -> AccessControl {
        AccessControl {
            store,
            tenant_id,
            graph: TtlCache::new(clock.clone(), 1, ttl),
            principals: TtlCache::new(clock.clone(), 100_000, ttl),
            clock,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Seeds the permission catalogue and the five roles of the default
    /// matrix if the tenant has no role yet; true if this call did.
    pub async fn seed(&self) -> AuthResult<bool> {
        let now = self.now();
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
        let (store, tenant_id) = (self.store.clone(), self.tenant_id);
        self.graph
            .get_or_load((), async move {
                Ok(Arc::new(RoleGraph::new(store.list_roles(tenant_id).await?)))
            })
            .await
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
        let graph = self.graph().await?;
        let (store, tenant_id) = (self.store.clone(), self.tenant_id);
        self.principals
            .get_or_load(principal, async move {
                let roles = match principal {
                    Principal::User(id) => store.list_user_roles(tenant_id, id).await?,
                    Principal::Client(id) => store.list_client_roles(tenant_id, id).await?,
                };
                let grants = graph.effective(roles.iter().map(String::as_str));
                Ok(Arc::new(Access { roles, grants }))
            })
            .await
    }

    /// Drops the cached roles of one user.
    pub(crate) async fn forget_user(&self, user_id: Uuid) {
        self.principals.invalidate(&Principal::User(user_id)).await;
    }

    /// Drops the cached roles of one client.
    pub(crate) async fn forget_client(&self, client_id: Uuid) {
        self.principals.invalidate(&Principal::Client(client_id)).await;
    }

    /// Drops everything (after a role or permission changed).
    fn forget_all(&self) {
        self.graph.invalidate_all();
        self.principals.invalidate_all();
    }

    // --- reads and writes of the catalogue and the roles -----------------------------

    /// The permission catalogue.
    pub async fn permissions(&self) -> AuthResult<Vec<Permission>> {
        Ok(self.store.list_permissions(self.tenant_id).await?)
    }

    /// Adds a permission to the catalogue.
    pub async fn create_permission(&self, permission: &Permission) -> AuthResult<()> {
        Ok(self.store.create_permission(permission).await?)
    }

    /// Removes a permission from the catalogue and every role.
    pub async fn delete_permission(&self, name: &str) -> AuthResult<()> {
        self.store.delete_permission(self.tenant_id, name).await?;
        self.forget_all();
        Ok(())
    }

    /// Every role with its direct permissions.
    pub async fn roles(&self) -> AuthResult<Vec<Role>> {
        Ok(self.store.list_roles(self.tenant_id).await?)
    }

    /// One role with its direct permissions.
    pub async fn role(&self, name: &str) -> AuthResult<Role> {
        Ok(self.store.get_role(self.tenant_id, name).await?)
    }

    /// Adds a role.
    pub async fn create_role(&self, role: &Role) -> AuthResult<()> {
        self.store.create_role(role).await?;
        self.forget_all();
        Ok(())
    }

    /// Changes a role's description or parent.
    pub async fn update_role(&self, name: &str, update: &RoleUpdate) -> AuthResult<Role> {
        let role = self
            .store
            .update_role(self.tenant_id, name, update, self.now())
            .await?;
        self.forget_all();
        Ok(role)
    }

    /// Deletes a role.
    pub async fn delete_role(&self, name: &str) -> AuthResult<()> {
        self.store.delete_role(self.tenant_id, name).await?;
        self.forget_all();
        Ok(())
    }

    /// Grants a permission to a role.
    pub async fn grant(&self, role: &str, permission: &str) -> AuthResult<()> {
        self.store
            .grant_role_permission(self.tenant_id, role, permission, self.now())
            .await?;
        self.forget_all();
        Ok(())
    }

    /// Takes a directly granted permission from a role.
    pub async fn revoke(&self, role: &str, permission: &str) -> AuthResult<()> {
        self.store
            .revoke_role_permission(self.tenant_id, role, permission, self.now())
            .await?;
        self.forget_all();
        Ok(())
    }

    /// Assigns a role to a user.
    pub async fn assign_user_role(&self, user_id: Uuid, role: &str) -> AuthResult<()> {
        self.store.assign_user_role(self.tenant_id, user_id, role).await?;
        self.forget_user(user_id).await;
        Ok(())
    }

    /// Removes a role from a user (`keep`: the last holder guard).
    pub async fn remove_user_role(
        &self,
        user_id: Uuid,
        role: &str,
        keep: Option<KeepLastHolder<'_>>,
    ) -> AuthResult<()> {
        self.store
            .remove_user_role(self.tenant_id, user_id, role, keep)
            .await?;
        self.forget_user(user_id).await;
        Ok(())
    }

    /// Assigns a role to a machine client.
    pub async fn assign_client_role(&self, client_id: Uuid, role: &str) -> AuthResult<()> {
        self.store
            .assign_client_role(self.tenant_id, client_id, role)
            .await?;
        self.forget_client(client_id).await;
        Ok(())
    }

    /// Removes a role from a machine client.
    pub async fn remove_client_role(&self, client_id: Uuid, role: &str) -> AuthResult<()> {
        self.store
            .remove_client_role(self.tenant_id, client_id, role)
            .await?;
        self.forget_client(client_id).await;
        Ok(())
    }
}
