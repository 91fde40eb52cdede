use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{SigningKey, StoreResult};

/// Signing keys (their private halves encrypted by the caller).
#[async_trait]
pub trait SigningKeyStore: Send + Sync + 'static {
    /// Every signing key of the tenant, any state, oldest first.
    async fn list_signing_keys(&self, tenant_id: Uuid) -> StoreResult<Vec<SigningKey>>;

    /// Inserts a key. `Conflict(Kid)` if the kid exists.
    async fn insert_signing_key(&self, key: &SigningKey) -> StoreResult<()>;

    /// A rotation, in one transaction: every key of `key`'s tenant and
    /// algorithm that has no `not_after` yet (the keys `key` replaces)
    /// becomes `retired` with `not_after = retire_at`, then `key` is
    /// inserted. Keys that already have a `not_after` keep it.
    /// `Conflict(Kid)` (and nothing changed) if the kid exists.
    async fn rotate_signing_key(&self, key: &SigningKey, retire_at: DateTime<Utc>) -> StoreResult<()>;
}
