//! Administration of roles and the permission catalogue.

use tessera_store::{Conflict, Permission, Role, RoleUpdate};

use super::AdminService;
// `can::RoleUpdate` (the permission) beside `tessera_store::RoleUpdate` (the change).
use crate::capability::{self as can, Permit};
use crate::error::{AuthError, AuthResult, FieldViolation};
use crate::rbac::{is_grantable, is_permission_name, is_role_name, Grants, ALL};

/// Longest description of a role or permission, characters.
const MAX_DESCRIPTION_CHARS: usize = 256;

/// A role as the API shows it: its own fields plus its effective
/// permissions (own and inherited).
#[derive(Debug, Clone)]
pub struct RoleView {
    /// The stored role (direct permissions).
    pub role: Role,
    /// Effective permissions over the parent chain.
    pub effective_permissions: Vec<String>,
}

/// Input of [`AdminService::create_role`].
#[derive(Debug, Clone, Default)]
pub struct NewRole {
    /// Name (`[a-z][a-z0-9_.-]*`).
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Parent role name.
    pub parent: Option<String>,
    /// Permissions granted directly.
    pub permissions: Vec<String>,
}

/// Changes to a role (PATCH semantics).
#[derive(Debug, Clone, Default)]
pub struct RoleChanges {
    /// New description (`Some(None)` clears).
    pub description: Option<Option<String>>,
    /// New parent (`Some(None)` clears).
    pub parent: Option<Option<String>>,
}

/// Input of [`AdminService::create_permission`].
#[derive(Debug, Clone, Default)]
pub struct NewPermission {
    /// `resource:action`.
    pub name: String,
    /// Description.
    pub description: Option<String>,
}

fn violation(field: &'static str, rule: &'static str, message: impl Into<String>) -> FieldViolation {
    FieldViolation {
        field,
        rule,
        message: message.into(),
    }
}

fn check_description(description: Option<&str>, violations: &mut Vec<FieldViolation>) {
    if let Some(text) = description {
        if text.chars().count() > MAX_DESCRIPTION_CHARS || text.chars().any(char::is_control) {
            violations.push(violation(
                "description",
                "invalid",
                format!("at most {MAX_DESCRIPTION_CHARS} printable characters"),
            ));
        }
    }
}

impl AdminService {
    /// Every role with its effective permissions (`role:read`).
    pub async fn list_roles(&self, _permit: &Permit<can::RoleRead>) -> AuthResult<Vec<RoleView>> {
        let graph = self.access().graph().await?;
        let mut roles = self.access().roles().await?;
        roles.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(roles
            .into_iter()
            .map(|role| {
                let effective = graph.effective([role.name.as_str()]);
                view(role, &effective)
            })
            .collect())
    }

    /// One role (`role:read`).
    pub async fn get_role(&self, _permit: &Permit<can::RoleRead>, name: &str) -> AuthResult<RoleView> {
        self.role_view(name).await
    }

    async fn role_view(&self, name: &str) -> AuthResult<RoleView> {
        let role = self.access().role(name).await?;
        let graph = self.access().graph().await?;
        let effective = graph.effective([name]);
        Ok(view(role, &effective))
    }

    /// Creates a role (`role:create`); what it would grant (its permissions
    /// and its parent's) must be within the caller's own.
    pub async fn create_role(
        &self,
        permit: &Permit<can::RoleCreate>,
        input: NewRole,
    ) -> AuthResult<RoleView> {
        let mut violations = Vec::new();
        if !is_role_name(&input.name) {
            violations.push(violation(
                "name",
                "invalid",
                "lowercase letters, digits, `_`, `.`, `-`, starting with a letter, at most 64",
            ));
        }
        check_description(input.description.as_deref(), &mut violations);
        let catalogue = self.access().permissions().await?;
        for permission in &input.permissions {
            if let Some(v) = check_grant(permission, &catalogue) {
                violations.push(v);
            }
        }
        let graph = self.access().graph().await?;
        if let Some(parent) = &input.parent {
            if graph.get(parent).is_none() {
                violations.push(violation(
                    "parent",
                    "unknown_role",
                    format!("no role named {parent}"),
                ));
            }
        }
        if !violations.is_empty() {
            return Err(AuthError::Validation(violations));
        }
        let inherited = input
            .parent
            .as_deref()
            .map(|parent| graph.effective([parent]))
            .unwrap_or_default();
        let grants = Grants::of(
            inherited
                .names()
                .chain(input.permissions.iter().map(String::as_str)),
        );
        permit.caller().may_grant(&grants, "the new role")?;
        let now = self.ctx.now();
        let mut permissions = input.permissions;
        permissions.sort();
        permissions.dedup();
        let role = Role {
            tenant_id: self.tenant_id(),
            name: input.name,
            description: input.description,
            parent: input.parent,
            permissions,
            builtin: false,
            created_at: now,
            updated_at: now,
        };
        match self.access().create_role(&role).await {
            Ok(()) => {}
            Err(AuthError::Conflict(_)) => return Err(AuthError::Conflict(Conflict::Role)),
            Err(other) => return Err(other),
        }
        Ok(view(role, &grants))
    }

    /// Changes a role's description or parent (`role:update`); the role
    /// must be within the caller's grants before and after, and the parent
    /// chain must not loop back to it.
    pub async fn update_role(
        &self,
        permit: &Permit<can::RoleUpdate>,
        name: &str,
        changes: RoleChanges,
    ) -> AuthResult<RoleView> {
        let mut violations = Vec::new();
        if let Some(description) = &changes.description {
            check_description(description.as_deref(), &mut violations);
        }
        let graph = self.access().graph().await?;
        let role = graph.get(name).ok_or(AuthError::NotFound)?;
        if let Some(Some(parent)) = &changes.parent {
            if graph.get(parent).is_none() {
                violations.push(violation(
                    "parent",
                    "unknown_role",
                    format!("no role named {parent}"),
                ));
            }
        }
        if !violations.is_empty() {
            return Err(AuthError::Validation(violations));
        }
        permit
            .caller()
            .may_grant(&graph.effective([name]), &format!("role {name}"))?;
        if let Some(parent) = &changes.parent {
            if let Some(parent) = parent {
                if graph.would_cycle(name, parent) {
                    return Err(AuthError::RoleCycle);
                }
            }
            let inherited = parent
                .as_deref()
                .map(|p| graph.effective([p]))
                .unwrap_or_default();
            let after = Grants::of(
                inherited
                    .names()
                    .chain(role.permissions.iter().map(String::as_str)),
            );
            permit
                .caller()
                .may_grant(&after, &format!("role {name} with that parent"))?;
        }
        let update = RoleUpdate {
            description: changes.description,
            parent: changes.parent,
        };
        self.access().update_role(name, &update).await?;
        self.role_view(name).await
    }

    /// Deletes a role that is not built in and that no role inherits from
    /// (`role:delete`, within the caller's grants); its holders lose it.
    pub async fn delete_role(&self, permit: &Permit<can::RoleDelete>, name: &str) -> AuthResult<()> {
        let graph = self.access().graph().await?;
        let role = graph.get(name).ok_or(AuthError::NotFound)?;
        if role.builtin {
            return Err(AuthError::Builtin(format!("role {name}")));
        }
        permit
            .caller()
            .may_grant(&graph.effective([name]), &format!("role {name}"))?;
        match self.access().delete_role(name).await {
            Ok(()) => {}
            Err(AuthError::Conflict(_)) => return Err(AuthError::Conflict(Conflict::Parent)),
            Err(other) => return Err(other),
        }
        Ok(())
    }

    /// Grants a permission (or wildcard) to a role (`role:update`): the
    /// caller must hold the role's grants and the permission.
    pub async fn grant_permission(
        &self,
        permit: &Permit<can::RoleUpdate>,
        role: &str,
        permission: &str,
    ) -> AuthResult<RoleView> {
        let catalogue = self.access().permissions().await?;
        match check_grant(permission, &catalogue) {
            // A permission named in the path that the catalogue lacks is
            // answered like any other missing resource.
            Some(v) if v.rule == "unknown_permission" => return Err(AuthError::NotFound),
            Some(v) => return Err(AuthError::Validation(vec![v])),
            None => {}
        }
        let current = self.role_grants(role).await?;
        permit.caller().may_grant(&current, &format!("role {role}"))?;
        permit
            .caller()
            .may_grant(&Grants::of([permission]), &format!("permission {permission}"))?;
        self.access().grant(role, permission).await?;
        self.role_view(role).await
    }

    /// Takes a directly granted permission from a role (`role:update`,
    /// within the caller's grants).
    pub async fn revoke_permission(
        &self,
        permit: &Permit<can::RoleUpdate>,
        role: &str,
        permission: &str,
    ) -> AuthResult<RoleView> {
        let current = self.role_grants(role).await?;
        permit.caller().may_grant(&current, &format!("role {role}"))?;
        if role == crate::rbac::SUPER_ADMIN && permission == ALL {
            return Err(AuthError::Builtin("the * permission of super_admin".into()));
        }
        self.access().revoke(role, permission).await?;
        self.role_view(role).await
    }

    /// The permission catalogue (`permission:read`).
    pub async fn list_permissions(
        &self,
        _permit: &Permit<can::PermissionRead>,
    ) -> AuthResult<Vec<Permission>> {
        let mut permissions = self.access().permissions().await?;
        permissions.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(permissions)
    }

    /// Adds a permission to the catalogue (`permission:create`), e.g. for
    /// another service's resources (`invoice:approve`).
    pub async fn create_permission(
        &self,
        _permit: &Permit<can::PermissionCreate>,
        input: NewPermission,
    ) -> AuthResult<Permission> {
        let mut violations = Vec::new();
        if !is_permission_name(&input.name) {
            violations.push(violation(
                "name",
                "invalid",
                "resource:action, each lowercase letters, digits, `_`, `.`, `-`, starting with a letter",
            ));
        }
        check_description(input.description.as_deref(), &mut violations);
        if !violations.is_empty() {
            return Err(AuthError::Validation(violations));
        }
        let permission = Permission {
            tenant_id: self.tenant_id(),
            name: input.name,
            description: input.description,
            builtin: false,
            created_at: self.ctx.now(),
        };
        match self.access().create_permission(&permission).await {
            Ok(()) => Ok(permission),
            Err(AuthError::Conflict(_)) => Err(AuthError::Conflict(Conflict::Permission)),
            Err(other) => Err(other),
        }
    }

    /// Removes a permission that is not built in from the catalogue and
    /// from every role (`permission:delete`).
    pub async fn delete_permission(
        &self,
        _permit: &Permit<can::PermissionDelete>,
        name: &str,
    ) -> AuthResult<()> {
        let catalogue = self.access().permissions().await?;
        let permission = catalogue
            .iter()
            .find(|p| p.name == name)
            .ok_or(AuthError::NotFound)?;
        if permission.builtin {
            return Err(AuthError::Builtin(format!("permission {name}")));
        }
        self.access().delete_permission(name).await?;
        Ok(())
    }
}

/// Why `grant` cannot be granted: not a name or wildcard, or a name (or
/// `resource:*`) the catalogue does not know.
fn check_grant(grant: &str, catalogue: &[Permission]) -> Option<FieldViolation> {
    if !is_grantable(grant) {
        return Some(violation(
            "permissions",
            "invalid",
            format!("{grant:?} is not resource:action, resource:* or *"),
        ));
    }
    let known = grant == ALL
        || catalogue.iter().any(|p| {
            p.name == grant
                || grant
                    .strip_suffix(":*")
                    .is_some_and(|r| p.name.starts_with(&format!("{r}:")))
        });
    (!known).then(|| {
        violation(
            "permissions",
            "unknown_permission",
            format!("{grant} is not in the permission catalogue"),
        )
    })
}

fn view(role: Role, effective: &Grants) -> RoleView {
    RoleView {
        role,
        effective_permissions: effective.names().map(str::to_string).collect(),
    }
}
