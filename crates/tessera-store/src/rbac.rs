//! Models of authorization and administration: permissions, roles and
//! their assignments, and the queries the admin API runs over users.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{IdentifierPrefix, UserStatus};

/// A named permission (`resource:action`) in a tenant's catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// `resource:action`, e.g. `user:create`; unique per tenant.
    pub name: String,
    /// What it allows, for people.
    pub description: Option<String>,
    /// Seeded by Tessera (guards its own admin API); cannot be deleted.
    pub builtin: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A role: permissions granted directly, plus everything its parent (and
/// the parent's parent …) grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Unique per tenant; how the API addresses the role.
    pub name: String,
    /// What the role is for, for people.
    pub description: Option<String>,
    /// Name of the role it inherits from, if any.
    pub parent: Option<String>,
    /// Permissions granted directly (names or wildcards `resource:*`, `*`),
    /// sorted.
    pub permissions: Vec<String>,
    /// Seeded by Tessera (`super_admin` … `guest`); cannot be deleted.
    pub builtin: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change of description, parent or permissions.
    pub updated_at: DateTime<Utc>,
}

/// Changes to a role (PATCH semantics: `None` keeps, `Some(None)` clears).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleUpdate {
    /// New description.
    pub description: Option<Option<String>>,
    /// New parent role name.
    pub parent: Option<Option<String>>,
}

/// Order of an admin user listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserSort {
    /// Oldest first (default).
    #[default]
    CreatedAsc,
    /// Newest first.
    CreatedDesc,
    /// By email, a → z.
    EmailAsc,
    /// By email, z → a.
    EmailDesc,
}

/// Where the previous page of a listing ended: the sort key of its last
/// row and that row's id (keyset pagination; stable under inserts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCursor {
    /// After (`created_at`, `user_id`) in the sort direction.
    Created(DateTime<Utc>, Uuid),
    /// After (`email`, `user_id`) in the sort direction.
    Email(String, Uuid),
}

/// Filters, order and page of an admin user listing. Soft-deleted users
/// are listed only when `deleted` is true (and then only they are).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Email or username starts with this (each in its canonical form).
    pub prefix: Option<IdentifierPrefix>,
    /// Only users in this state.
    pub status: Option<UserStatus>,
    /// List the soft-deleted users instead of the live ones.
    pub deleted: bool,
    /// Only users holding this role directly.
    pub role: Option<String>,
    /// Created at or after.
    pub created_after: Option<DateTime<Utc>>,
    /// Created strictly before.
    pub created_before: Option<DateTime<Utc>>,
    /// Order.
    pub sort: UserSort,
    /// Continue after this row (must match `sort`'s key).
    pub after: Option<UserCursor>,
    /// Most rows to return (the caller asks for one more than a page to
    /// learn whether another page follows).
    pub limit: u32,
}

/// A guard some admin writes carry: refuse (with `Conflict(LastHolder)`,
/// nothing changed) when the write would leave the tenant without an active,
/// undeleted user holding `role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepLastHolder<'a> {
    /// The protected role (`super_admin`).
    pub role: &'a str,
}
