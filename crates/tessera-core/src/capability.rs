//! Authorization as types. A [`Caller`] is someone authenticated (a user
//! with a live session, a machine client) or the operator at the shell; a
//! [`Permit<P>`] proves that a caller holds permission `P` and exists only
//! after that check. Operations that need a permission take its permit, so
//! code that has not checked cannot even name them; there is no "no caller,
//! no checks" path.

use std::marker::PhantomData;
use std::sync::Arc;

use uuid::Uuid;

use crate::access::Access;
use crate::error::{AuthError, AuthResult};
use crate::rbac::{Grants, ALL};

/// A permission an operation needs, as a type.
pub trait Permission: Send + Sync + 'static {
    /// Its name in the catalogue (`resource:action`).
    const NAME: &'static str;
}

/// Declares the built-in permissions: one marker type each, and the
/// catalogue seeded into every tenant, from one list.
macro_rules! permissions {
    ($( $ty:ident => $name:literal, $description:literal; )*) => {
        $(
            #[doc = concat!("`", $name, "`: ", $description, ".")]
            #[derive(Debug, Clone, Copy)]
            pub struct $ty;

            impl Permission for $ty {
                const NAME: &'static str = $name;
            }
        )*

        /// Every permission Tessera's own API checks, with what it allows
        /// (the seeded catalogue of each tenant).
        pub const BUILTIN_PERMISSIONS: &[(&str, &str)] = &[$(($name, $description)),*];
    };
}

permissions! {
    AuditRead => "audit:read", "Read the audit log";
    ClientCreate => "client:create", "Register OAuth clients";
    ClientDelete => "client:delete", "Delete OAuth clients";
    ClientRead => "client:read", "List and read OAuth clients";
    ClientUpdate => "client:update", "Change OAuth clients, rotate their secrets";
    KeyRead => "key:read", "List signing keys";
    KeyRotate => "key:rotate", "Rotate signing keys";
    PermissionCreate => "permission:create", "Add permissions to the catalogue";
    PermissionDelete => "permission:delete", "Remove permissions from the catalogue";
    PermissionRead => "permission:read", "List the permission catalogue";
    RoleAssign => "role:assign", "Assign roles to and remove them from users and clients";
    RoleCreate => "role:create", "Create roles";
    RoleDelete => "role:delete", "Delete roles";
    RoleRead => "role:read", "List and read roles";
    RoleUpdate => "role:update", "Change roles: description, parent, permissions";
    SessionRead => "session:read", "List other users' sessions";
    SessionRevoke => "session:revoke", "End other users' sessions (force logout)";
    TenantCreate => "tenant:create", "Create tenants (default tenant only)";
    TenantRead => "tenant:read", "List tenants (default tenant only)";
    TenantUpdate => "tenant:update", "Rename and disable tenants (default tenant only)";
    UserCreate => "user:create", "Create users";
    UserDelete => "user:delete", "Delete and erase users";
    UserDisable => "user:disable", "Disable users";
    UserRead => "user:read", "List and read users; ask for authorization decisions";
    UserSuspend => "user:suspend", "Suspend and reactivate users";
    UserUpdate => "user:update", "Change users' profile, email and password";
}

/// Who acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in user (a token with a live session).
    User(Uuid),
    /// A machine client (its client-credentials token).
    Client(Uuid),
    /// Whoever runs the `tessera` binary against the database (the admin
    /// commands, the bootstrap administrator): trusted with everything.
    Operator,
}

/// Someone authenticated and what they hold right now (read through the
/// access cache, not from the token, so a removed role stops working within
/// the cache lifetime even while the token lives).
#[derive(Debug, Clone)]
pub struct Caller {
    actor: Actor,
    access: Arc<Access>,
}

impl Caller {
    /// A user or client whose token checked out, holding `access`.
    pub(crate) fn authenticated(actor: Actor, access: Arc<Access>) -> Caller {
        Caller { actor, access }
    }

    /// The operator's capability: everything, for the commands an operator
    /// runs at the shell (`tessera users create`, the bootstrap
    /// administrator). Only the binary's admin commands call this; the HTTP
    /// layer never does.
    pub fn operator() -> Caller {
        Caller {
            actor: Actor::Operator,
            access: Arc::new(Access {
                roles: Vec::new(),
                grants: Grants::of([ALL]),
            }),
        }
    }

    /// Who this is.
    pub fn actor(&self) -> Actor {
        self.actor
    }

    /// What it holds.
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// The permit for `P`; `Forbidden` (naming it) unless the caller holds it.
    pub fn permit<P: Permission>(&self) -> AuthResult<Permit<P>> {
        if self.access.grants.allows(P::NAME) {
            Ok(Permit {
                caller: self.clone(),
                permission: PhantomData,
            })
        } else {
            Err(AuthError::Forbidden(P::NAME))
        }
    }

    /// The rank rule for managing an account holding `target`: its grants
    /// must be strictly below the caller's — except that a holder of `*`
    /// may manage every account of its tenant, other super admins included.
    pub fn may_manage(&self, target: &Grants, what: &str) -> AuthResult<()> {
        if self.access.grants.allows(ALL) || self.access.grants.strictly_contains(target) {
            Ok(())
        } else {
            Err(AuthError::RankRule(format!(
                "{what} holds permissions that are not strictly below yours"
            )))
        }
    }

    /// The rank rule for handing out, taking away or changing something
    /// that grants `grants`: the caller must hold all of it.
    pub fn may_grant(&self, grants: &Grants, what: &str) -> AuthResult<()> {
        if self.access.grants.contains_all(grants) {
            Ok(())
        } else {
            Err(AuthError::RankRule(format!(
                "{what} grants permissions you do not hold"
            )))
        }
    }
}

/// Proof that a caller holds permission `P`; made only by
/// [`Caller::permit`].
#[derive(Debug, Clone)]
pub struct Permit<P> {
    caller: Caller,
    permission: PhantomData<fn() -> P>,
}

impl<P: Permission> Permit<P> {
    /// The caller holding it (for the rank rule, or for a further permit an
    /// operation needs only in some cases).
    pub fn caller(&self) -> &Caller {
        &self.caller
    }
}

/// The right to make the first super admin of a tenant that has none: the
/// operator holds it for every tenant ([`Founder::operator`]); whoever
/// creates a tenant gets it for that tenant only (from
/// `AdminService::create_tenant`).
#[derive(Debug, Clone)]
pub struct Founder {
    /// The one tenant it is good for; `None`: every tenant.
    tenant_id: Option<Uuid>,
}

impl Founder {
    /// The operator's founding right; `Forbidden` for anyone else.
    pub fn operator(caller: &Caller) -> AuthResult<Founder> {
        match caller.actor() {
            Actor::Operator => Ok(Founder { tenant_id: None }),
            _ => Err(AuthError::Forbidden("tenant:create")),
        }
    }

    /// The founding right over the tenant `tenant_id`, just created.
    pub(crate) fn of_new_tenant(tenant_id: Uuid) -> Founder {
        Founder {
            tenant_id: Some(tenant_id),
        }
    }

    /// Whether it is good for `tenant_id`.
    pub(crate) fn covers(&self, tenant_id: Uuid) -> bool {
        self.tenant_id.is_none_or(|own| own == tenant_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holding(grants: &[&str]) -> Caller {
        Caller::authenticated(
            Actor::User(Uuid::nil()),
            Arc::new(Access {
                roles: Vec::new(),
                grants: Grants::of(grants.iter().copied()),
            }),
        )
    }

    #[test]
    fn a_permit_exists_only_for_what_the_caller_holds() {
        let moderator = holding(&["user:read", "user:suspend"]);
        assert!(moderator.permit::<UserRead>().is_ok());
        assert!(matches!(
            moderator.permit::<UserCreate>(),
            Err(AuthError::Forbidden("user:create"))
        ));
        let admin = holding(&["user:*"]);
        assert!(admin.permit::<UserDelete>().is_ok());
        assert!(admin.permit::<KeyRotate>().is_err());
    }

    #[test]
    fn the_operator_holds_everything_and_may_manage_anyone() {
        let operator = Caller::operator();
        assert_eq!(operator.actor(), Actor::Operator);
        assert!(operator.permit::<TenantCreate>().is_ok());
        assert!(operator.may_manage(&Grants::of(["*"]), "a super admin").is_ok());
    }

    #[test]
    fn founding_rights_are_the_operators_or_a_new_tenants_creators() {
        let tenant = Uuid::now_v7();
        assert!(Founder::operator(&Caller::operator()).is_ok_and(|f| f.covers(tenant)));
        assert!(
            Founder::operator(&holding(&["*"])).is_err(),
            "a super admin is not the operator"
        );
        let creator = Founder::of_new_tenant(tenant);
        assert!(creator.covers(tenant) && !creator.covers(Uuid::now_v7()));
    }

    #[test]
    fn every_permission_type_is_in_the_catalogue_and_well_formed() {
        for (name, _) in BUILTIN_PERMISSIONS {
            assert!(crate::rbac::is_permission_name(name), "{name}");
        }
        assert!(BUILTIN_PERMISSIONS
            .iter()
            .any(|(name, _)| *name == UserUpdate::NAME));
    }
}
