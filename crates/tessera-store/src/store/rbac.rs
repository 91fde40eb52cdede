use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{KeepLastHolder, Permission, Role, RoleUpdate, StoreResult};

/// Permissions, roles and their assignment to users and machine clients.
#[async_trait]
pub trait RbacStore: Send + Sync + 'static {
    /// If the tenant has no role yet, inserts `permissions` and `roles` (with
    /// their permissions and parents; parents come before children in the
    /// slice) in one transaction and returns true; otherwise changes nothing
    /// and returns false. Safe when several nodes start at once.
    async fn seed_rbac(
        &self,
        tenant_id: Uuid,
        permissions: &[Permission],
        roles: &[Role],
    ) -> StoreResult<bool>;

    /// The tenant's permission catalogue, by name.
    async fn list_permissions(&self, tenant_id: Uuid) -> StoreResult<Vec<Permission>>;

    /// Adds a permission. `Conflict(Permission)` if the name exists.
    async fn create_permission(&self, permission: &Permission) -> StoreResult<()>;

    /// Deletes a permission and detaches it from every role, in one
    /// transaction. `NotFound` if it does not exist.
    async fn delete_permission(&self, tenant_id: Uuid, name: &str) -> StoreResult<()>;

    /// Every role of the tenant with its direct permissions, by name.
    async fn list_roles(&self, tenant_id: Uuid) -> StoreResult<Vec<Role>>;

    /// One role with its direct permissions.
    async fn get_role(&self, tenant_id: Uuid, name: &str) -> StoreResult<Role>;

    /// Adds a role (its `permissions` too; the service has validated their
    /// names). `Conflict(Role)` if the name exists; `NotFound` if its
    /// parent does not.
    async fn create_role(&self, role: &Role) -> StoreResult<()>;

    /// Changes description and/or parent; returns the updated role.
    /// `NotFound` if the role (or the new parent) does not exist.
    async fn update_role(
        &self,
        tenant_id: Uuid,
        name: &str,
        update: &RoleUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<Role>;

    /// Deletes a role, its permission grants and its assignments to users
    /// and clients, in one transaction. `NotFound` if it does not exist;
    /// `Conflict(Parent)` (nothing changed) while another role names it as
    /// parent.
    async fn delete_role(&self, tenant_id: Uuid, name: &str) -> StoreResult<()>;

    /// Grants a permission (a catalogue name or a wildcard the caller has
    /// validated) to a role; granting it again is not an error. `NotFound`
    /// if the role does not exist.
    async fn grant_role_permission(
        &self,
        tenant_id: Uuid,
        role: &str,
        permission: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Takes a directly granted permission from a role. `NotFound` if the
    /// role does not exist or does not hold it directly.
    async fn revoke_role_permission(
        &self,
        tenant_id: Uuid,
        role: &str,
        permission: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Names of the roles assigned directly to a user, sorted.
    async fn list_user_roles(&self, tenant_id: Uuid, user_id: Uuid) -> StoreResult<Vec<String>>;

    /// Assigns a role to a user; assigning it again is not an error.
    /// `NotFound` if the user or the role does not exist in the tenant.
    async fn assign_user_role(&self, tenant_id: Uuid, user_id: Uuid, role: &str) -> StoreResult<()>;

    /// Removes a role from a user. `NotFound` if it was not assigned; `keep`
    /// as for [`crate::UserStore::set_user_status`].
    async fn remove_user_role(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        role: &str,
        keep: Option<KeepLastHolder<'_>>,
    ) -> StoreResult<()>;

    /// Names of the roles assigned to a machine client, sorted.
    async fn list_client_roles(&self, tenant_id: Uuid, client_id: Uuid) -> StoreResult<Vec<String>>;

    /// Assigns a role to a client; again is not an error. `NotFound` if the
    /// client or the role does not exist in the tenant.
    async fn assign_client_role(&self, tenant_id: Uuid, client_id: Uuid, role: &str) -> StoreResult<()>;

    /// Removes a role from a client. `NotFound` if it was not assigned.
    async fn remove_client_role(&self, tenant_id: Uuid, client_id: Uuid, role: &str) -> StoreResult<()>;
}
