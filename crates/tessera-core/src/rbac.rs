//! Role-based access control, the pure part: permission names and their
//! wildcards, the seeded roles and permission catalogue (the documented
//! default matrix), effective permissions over the role hierarchy, and the
//! subset test behind the rank rule.

use std::collections::{BTreeSet, HashMap};

use tessera_store::Role;

/// The role every seeded tenant keeps at the top; nobody may remove its
/// last active holder.
pub const SUPER_ADMIN: &str = "super_admin";

/// The role new users get.
pub const DEFAULT_USER_ROLE: &str = "user";

pub use tessera_claims::permission::{covers, is_grantable, is_permission_name, ALL};
use tessera_claims::permission::{is_name_part, MAX_NAME_LEN};

/// A seeded role: name, description, parent, permissions granted directly.
pub struct SeedRole {
    /// Role name.
    pub name: &'static str,
    /// What it is for.
    pub description: &'static str,
    /// The role it inherits from.
    pub parent: Option<&'static str>,
    /// Permissions granted directly (wildcards allowed).
    pub permissions: &'static [&'static str],
}

/// The default matrix, parents first: each role inherits everything below
/// it. `docs/rbac.md` prints this table and the permission-matrix test is
/// generated from it.
pub const SEED_ROLES: &[SeedRole] = &[
    SeedRole {
        name: "guest",
        description: "Nothing beyond managing their own account",
        parent: None,
        permissions: &[],
    },
    SeedRole {
        name: DEFAULT_USER_ROLE,
        description: "Every new user: nothing beyond their own account",
        parent: Some("guest"),
        permissions: &[],
    },
    SeedRole {
        name: "moderator",
        description: "Reads and suspends users, ends sessions, reads the audit log",
        parent: Some(DEFAULT_USER_ROLE),
        permissions: &["audit:read", "session:revoke", "user:read", "user:suspend"],
    },
    SeedRole {
        name: "admin",
        description: "Manages users, roles, clients, sessions and the audit log",
        parent: Some("moderator"),
        permissions: &[
            "audit:*",
            "client:*",
            "permission:read",
            "role:*",
            "session:*",
            "user:*",
        ],
    },
    SeedRole {
        name: SUPER_ADMIN,
        description: "Everything, including tenants, signing keys and the permission catalogue",
        parent: Some("admin"),
        permissions: &[ALL],
    },
];

pub use crate::capability::BUILTIN_PERMISSIONS;

/// Whether `name` is a valid role name (`[a-z][a-z0-9_.-]*`, ≤ 64).
pub fn is_role_name(name: &str) -> bool {
    name.len() <= MAX_NAME_LEN && is_name_part(name)
}

/// A set of grants (permission names and wildcards), reduced so that no
/// grant is covered by another one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants(BTreeSet<String>);

impl Grants {
    /// The reduced set of `grants`.
    pub fn of<I: IntoIterator<Item = S>, S: Into<String>>(grants: I) -> Grants {
        let all: BTreeSet<String> = grants.into_iter().map(Into::into).collect();
        let reduced = all
            .iter()
            .filter(|grant| !all.iter().any(|other| other != *grant && covers(other, grant)))
            .cloned()
            .collect();
        Grants(reduced)
    }

    /// Whether these grants allow `permission` (a name or a wildcard).
    pub fn allows(&self, permission: &str) -> bool {
        self.0.iter().any(|held| covers(held, permission))
    }

    /// Whether every grant of `other` is covered by these (`other ⊆ self`).
    pub fn contains_all(&self, other: &Grants) -> bool {
        other.0.iter().all(|grant| self.allows(grant))
    }

    /// Whether `other ⊂ self` strictly: contained, and not the other way
    /// round.
    pub fn strictly_contains(&self, other: &Grants) -> bool {
        self.contains_all(other) && !other.contains_all(self)
    }

    /// The grants, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A tenant's roles by name, for walking the hierarchy.
#[derive(Debug, Clone, Default)]
pub struct RoleGraph {
    roles: HashMap<String, Role>,
}

impl RoleGraph {
    /// The graph of `roles`.
    pub fn new(roles: Vec<Role>) -> RoleGraph {
        RoleGraph {
            roles: roles.into_iter().map(|role| (role.name.clone(), role)).collect(),
        }
    }

    /// The role called `name`.
    pub fn get(&self, name: &str) -> Option<&Role> {
        self.roles.get(name)
    }

    /// `name` and its ancestors, nearest first. Stops at a cycle or a
    /// missing parent (neither can be stored through the service, but a
    /// walk must terminate whatever the data).
    pub fn lineage<'a>(&'a self, name: &'a str) -> Vec<&'a Role> {
        let mut chain: Vec<&Role> = Vec::new();
        let mut next = Some(name);
        while let Some(current) = next {
            let Some(role) = self.roles.get(current) else {
                break;
            };
            if chain.iter().any(|seen| seen.name == role.name) {
                break;
            }
            chain.push(role);
            next = role.parent.as_deref();
        }
        chain
    }

    /// The effective grants of holding all of `roles`: the union of their
    /// and their ancestors' permissions.
    pub fn effective<'a, I: IntoIterator<Item = &'a str>>(&self, roles: I) -> Grants {
        Grants::of(roles.into_iter().flat_map(|role| {
            self.lineage(role)
                .into_iter()
                .flat_map(|r| r.permissions.iter().cloned())
        }))
    }

    /// Whether making `parent` the parent of `child` would close a cycle
    /// (`parent` is `child` or descends from it).
    pub fn would_cycle(&self, child: &str, parent: &str) -> bool {
        parent == child || self.lineage(parent).iter().any(|role| role.name == child)
    }

    /// Roles whose parent is `name`.
    pub fn children_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Role> + 'a {
        self.roles
            .values()
            .filter(move |role| role.parent.as_deref() == Some(name))
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn seeded() -> RoleGraph {
        use crate::clock::Clock as _;
        let now = crate::clock::ManualClock::starting_now().now();
        RoleGraph::new(
            SEED_ROLES
                .iter()
                .map(|seed| Role {
                    tenant_id: Uuid::nil(),
                    name: seed.name.into(),
                    description: None,
                    parent: seed.parent.map(Into::into),
                    permissions: seed.permissions.iter().map(|p| p.to_string()).collect(),
                    builtin: true,
                    created_at: now,
                    updated_at: now,
                })
                .collect(),
        )
    }

    #[test]
    fn names_and_grants_are_validated() {
        assert!(is_permission_name("user:create"));
        assert!(is_permission_name("report.pdf:export-all"));
        for bad in [
            "user",
            "user:",
            ":create",
            "User:create",
            "user:*",
            "*",
            "a:b:c",
            "user: read",
            "",
        ] {
            assert!(!is_permission_name(bad), "{bad}");
        }
        assert!(is_grantable("user:*") && is_grantable("*") && is_grantable("user:read"));
        assert!(!is_grantable("*:read") && !is_grantable("user:**") && !is_grantable("**"));
        assert!(is_role_name("support_l2") && !is_role_name("Admin") && !is_role_name("2fa"));
    }

    #[test]
    fn seeded_roles_inherit_everything_below_them() {
        let graph = seeded();
        let moderator = graph.effective(["moderator"]);
        assert!(moderator.allows("user:suspend") && moderator.allows("audit:read"));
        assert!(!moderator.allows("user:create"));
        let admin = graph.effective(["admin"]);
        assert!(
            admin.allows("user:create") && admin.allows("user:suspend") && admin.allows("permission:read")
        );
        assert!(
            !admin.allows("permission:create")
                && !admin.allows("tenant:create")
                && !admin.allows("key:rotate")
        );
        let super_admin = graph.effective([SUPER_ADMIN]);
        assert_eq!(super_admin.names().collect::<Vec<_>>(), vec!["*"]);
        assert!(graph.effective(["user"]).is_empty() && graph.effective(["guest"]).is_empty());
    }

    #[test]
    fn rank_order_is_strict_along_the_ladder() {
        let graph = seeded();
        let ladder = ["guest", "user", "moderator", "admin", SUPER_ADMIN];
        let grants: Vec<Grants> = ladder.iter().map(|r| graph.effective([*r])).collect();
        assert!(grants[4].strictly_contains(&grants[3]));
        assert!(grants[3].strictly_contains(&grants[2]));
        assert!(grants[2].strictly_contains(&grants[1]));
        assert!(
            !grants[3].strictly_contains(&grants[3]),
            "an admin does not outrank an admin"
        );
        assert!(
            grants[3].contains_all(&grants[3]),
            "but may grant its own role's permissions"
        );
        assert!(!grants[3].contains_all(&grants[4]));
        assert!(
            !grants[1].strictly_contains(&grants[0]),
            "user and guest are equal"
        );
    }

    #[test]
    fn cycles_are_detected() {
        let graph = seeded();
        assert!(graph.would_cycle("admin", "admin"));
        assert!(graph.would_cycle("moderator", "super_admin"));
        assert!(!graph.would_cycle("super_admin", "moderator"));
    }

    #[test]
    fn reduction_drops_covered_grants() {
        let grants = Grants::of(["user:read", "user:*", "role:read"]);
        assert_eq!(grants.names().collect::<Vec<_>>(), vec!["role:read", "user:*"]);
        assert_eq!(Grants::of(["*", "user:*"]).names().collect::<Vec<_>>(), vec!["*"]);
    }
}
