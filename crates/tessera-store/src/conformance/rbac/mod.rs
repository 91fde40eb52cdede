//! Conformance checks of tenants, the permission and role catalogue, role
//! assignments to users and clients, and client updates.
//!
//! This module holds the fixtures they share.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::conformance::{now_ms, user};
use crate::{Permission, Role, Store, User};

mod assignments;
mod catalogue;
mod clients;
mod tenants;

pub use assignments::*;
pub use catalogue::*;
pub use clients::*;
pub use tenants::*;

// --- helpers -----------------------------------------------------------------

fn permission(tenant_id: Uuid, name: &str, now: DateTime<Utc>) -> Permission {
    Permission {
        tenant_id,
        name: name.to_owned(),
        description: Some(format!("Allows {name}")),
        builtin: false,
        created_at: now,
    }
}

fn role(tenant_id: Uuid, name: &str, parent: Option<&str>, permissions: &[&str], now: DateTime<Utc>) -> Role {
    Role {
        tenant_id,
        name: name.to_owned(),
        description: Some(format!("The {name} role")),
        parent: parent.map(str::to_owned),
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        builtin: false,
        created_at: now,
        updated_at: now,
    }
}

/// A small built-in catalogue; parents come before children. Permissions
/// of each role are sorted, as the store returns them.
fn seed_set(tenant_id: Uuid, now: DateTime<Utc>) -> (Vec<Permission>, Vec<Role>) {
    let permissions = ["role:read", "user:create", "user:read"]
        .iter()
        .map(|name| Permission {
            builtin: true,
            ..permission(tenant_id, name, now)
        })
        .collect();
    let roles = vec![
        Role {
            builtin: true,
            ..role(tenant_id, "super_admin", None, &["*"], now)
        },
        Role {
            builtin: true,
            ..role(tenant_id, "viewer", None, &["role:read", "user:read"], now)
        },
        Role {
            builtin: true,
            ..role(tenant_id, "admin", Some("viewer"), &["user:*"], now)
        },
    ];
    (permissions, roles)
}

/// Roles sorted by name, the order of `list_roles`.
fn by_name(mut roles: Vec<Role>) -> Vec<Role> {
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    roles
}

pub(super) async fn created_role<S: Store>(
    store: &S,
    tenant_id: Uuid,
    name: &str,
    parent: Option<&str>,
) -> Role {
    let r = role(tenant_id, name, parent, &[], now_ms());
    store.create_role(&r).await.expect("create_role");
    r
}

/// Creates a user holding `roles`.
pub(super) async fn user_with_roles<S: Store>(
    store: &S,
    tenant_id: Uuid,
    email: &str,
    roles: &[&str],
) -> User {
    let u = user(tenant_id, email, None, now_ms());
    let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
    store.create_user(&u, &roles).await.expect("create_user");
    u
}
