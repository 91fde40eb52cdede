//! Conformance checks of the administration of users: creation with roles,
//! administrators' profile changes, the admin listing (filters, orders,
//! pages), status changes, soft deletion, erasure, and the guard that keeps
//! the last holder of a protected role.
//!
//! This module holds the fixtures they share.

use uuid::Uuid;

use crate::{KeepLastHolder, Store, User, UserQuery};

mod last_holder;
mod lifecycle;
mod listing;
mod profile;

pub use last_holder::*;
pub use lifecycle::*;
pub use listing::*;
pub use profile::*;

// --- helpers -----------------------------------------------------------------

/// The guard the admin API puts on its writes.
const KEEP: KeepLastHolder<'static> = KeepLastHolder { role: "super_admin" };

fn query(limit: u32) -> UserQuery {
    UserQuery {
        limit,
        ..UserQuery::default()
    }
}

async fn listed<S: Store>(store: &S, tenant_id: Uuid, q: &UserQuery) -> Vec<Uuid> {
    store
        .list_users(tenant_id, q)
        .await
        .expect("list_users")
        .into_iter()
        .map(|u| u.user_id)
        .collect()
}

fn ids(users: &[&User]) -> Vec<Uuid> {
    users.iter().map(|u| u.user_id).collect()
}
