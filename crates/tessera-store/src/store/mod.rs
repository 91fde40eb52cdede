//! The storage contract, one trait per aggregate. [`Store`] is their sum:
//! a backend implements each trait in the module of its entity, and is a
//! `Store` by that alone.
//!
//! All lookups are scoped by `tenant_id`: a row of another tenant is
//! [`crate::StoreError::NotFound`], exactly like a missing one.

mod clients;
mod keys;
mod mail;
mod oidc;
mod rbac;
mod sessions;
mod tenants;
mod users;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use clients::{ClientStore, RevokedTokenStore};
pub use keys::SigningKeyStore;
pub use mail::{MailOutboxStore, OneTimeTokenStore};
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

    /// Whether Tessera's migrations have run in this database: `false` for
    /// a database that exists but was never set up (the admin commands
    /// refuse to set one up unless told to).
    async fn is_migrated(&self) -> StoreResult<bool>;
}

/// Removal of rows nobody can use any more.
#[async_trait]
pub trait Housekeeping: Send + Sync + 'static {
    /// Deletes, across all tenants, authorization codes and browser
    /// sessions whose expiry is before `now`, and revoked access-token and
    /// used client-assertion rows whose token or assertion expired before
    /// `now`; mailed one-time tokens expired before `now` and issued more
    /// than a day before it; delivery records of mail no longer pending and
    /// queued more than 30 days before it.
    async fn purge_expired(&self, now: DateTime<Utc>) -> StoreResult<PurgeCounts>;
}

/// People and their sessions: users, login sessions with their refresh
/// tokens, browser sessions, authorization codes (whose redemption opens a
/// session), consents (whose withdrawal ends sessions), the one-time tokens
/// mailed to them and the outbox that mail leaves through (queued in the
/// same transaction as the change that causes it). The service layer
/// writes these through one component that also keeps its caches right.
pub trait AccountStore:
    UserStore
    + SessionStore
    + BrowserSessionStore
    + AuthorizationCodeStore
    + ConsentStore
    + OneTimeTokenStore
    + MailOutboxStore
{
}

impl<T: ?Sized> AccountStore for T where
    T: UserStore
        + SessionStore
        + BrowserSessionStore
        + AuthorizationCodeStore
        + ConsentStore
        + OneTimeTokenStore
        + MailOutboxStore
{
}

/// What the tenant is made of besides its people and its roles: the tenant
/// itself, signing keys, clients, revoked tokens, and the database.
pub trait ResourceStore:
    Database + Housekeeping + TenantStore + SigningKeyStore + ClientStore + RevokedTokenStore
{
}

impl<T: ?Sized> ResourceStore for T where
    T: Database + Housekeeping + TenantStore + SigningKeyStore + ClientStore + RevokedTokenStore
{
}

/// Everything Tessera persists: accounts, roles and resources. One
/// implementation per database engine; implemented for every type that
/// implements the parts, and upcast to its parts (`Arc<dyn Store>` →
/// `Arc<dyn AccountStore>`) where a component may only touch one of them.
pub trait Store: AccountStore + RbacStore + ResourceStore {}

impl<T: ?Sized> Store for T where T: AccountStore + RbacStore + ResourceStore {}
