//! The storage contract, one trait per aggregate. [`Store`] is their sum:
//! a backend implements each trait in the module of its entity, and is a
//! `Store` by that alone.
//!
//! All lookups are scoped by `tenant_id`: a row of another tenant is
//! [`crate::StoreError::NotFound`], exactly like a missing one.

mod clients;
mod keys;
mod oidc;
mod rbac;
mod sessions;
mod tenants;
mod users;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use clients::{ClientStore, RevokedTokenStore};
pub use keys::SigningKeyStore;
pub use oidc::{AuthorizationCodeStore, BrowserSessionStore, ConsentStore};
pub use rbac::RbacStore;
pub use sessions::SessionStore;
pub use tenants::TenantStore;
pub use users::UserStore;

use crate::{PurgeCounts, StoreResult};

/// The database itself: its schema and whether it answers.
#[async_trait]
pub trait Database: Send + Sync + 'static {
    /// Applies the backend's embedded migrations (idempotent).
    async fn migrate(&self) -> StoreResult<()>;

    /// Cheap round trip to the database, for readiness checks.
    async fn ping(&self) -> StoreResult<()>;
}

/// Removal of rows nobody can use any more.
#[async_trait]
pub trait Housekeeping: Send + Sync + 'static {
    /// Deletes, across all tenants, authorization codes and browser
    /// sessions whose expiry is before `now`, and revoked access-token and
    /// used client-assertion rows whose token or assertion expired before
    /// `now`.
    async fn purge_expired(&self, now: DateTime<Utc>) -> StoreResult<PurgeCounts>;
}

/// Everything Tessera persists: the sum of the aggregate stores. One
/// implementation per database engine; implemented for every type that
/// implements the parts.
pub trait Store:
    Database
    + Housekeeping
    + TenantStore
    + UserStore
    + SessionStore
    + SigningKeyStore
    + ClientStore
    + RevokedTokenStore
    + BrowserSessionStore
    + AuthorizationCodeStore
    + ConsentStore
    + RbacStore
{
}

impl<T> Store for T where
    T: Database
        + Housekeeping
        + TenantStore
        + UserStore
        + SessionStore
        + SigningKeyStore
        + ClientStore
        + RevokedTokenStore
        + BrowserSessionStore
        + AuthorizationCodeStore
        + ConsentStore
        + RbacStore
{
}
