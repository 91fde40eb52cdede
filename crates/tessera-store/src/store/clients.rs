use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Client, SecretRotation, StoreResult};

/// Registered OAuth clients and the assertions they have used.
#[async_trait]
pub trait ClientStore: Send + Sync + 'static {
    /// Registers a client. `Conflict(ClientId)` if the id exists,
    /// `Conflict(Resource)` if another client of the tenant stands for its
    /// resource.
    async fn create_client(&self, client: &Client) -> StoreResult<()>;

    /// The client with this id in this tenant.
    async fn get_client(&self, tenant_id: Uuid, client_id: Uuid) -> StoreResult<Client>;

    /// The client that stands for the resource `identifier` (RFC 8707) in
    /// this tenant. `NotFound` if none does.
    async fn get_client_by_resource(&self, tenant_id: Uuid, identifier: &str) -> StoreResult<Client>;

    /// Every client of the tenant, oldest first.
    async fn list_clients(&self, tenant_id: Uuid) -> StoreResult<Vec<Client>>;

    /// Makes the rotation's secret the client's current one and its current
    /// one (with its expiry) the previous (dropping any older one), in one
    /// statement so that two concurrent rotations cannot lose a secret
    /// half-way. Returns the updated client.
    async fn rotate_client_secret(
        &self,
        tenant_id: Uuid,
        client_id: Uuid,
        rotation: &SecretRotation<'_>,
    ) -> StoreResult<Client>;

    /// Replaces a client's registration (everything but its id, tenant,
    /// secrets, their expiries and `created_at`; `disabled_at` and
    /// `secret_ttl_secs` included) and returns it. `NotFound` if missing,
    /// `Conflict(Resource)` if another client stands for its resource.
    async fn update_client(&self, client: &Client) -> StoreResult<Client>;

    /// Deletes a client. `NotFound` if it does not exist in the tenant.
    async fn delete_client(&self, tenant_id: Uuid, client_id: Uuid) -> StoreResult<()>;

    /// Records that the client used the assertion with this `jti` (RFC 7523
    /// §3: a `jti` is used once), to be remembered until `expires_at` (the
    /// assertion's expiry plus leeway). `true` on first use, `false` when
    /// the `jti` is already recorded for the client: a replay, on this node
    /// or any other. A row stays until a purge removes it, so a `jti` is
    /// refused again even shortly after its assertion expired.
    async fn record_client_assertion(
        &self,
        tenant_id: Uuid,
        client_id: Uuid,
        jti: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

/// Access tokens revoked before their expiry (RFC 7009).
#[async_trait]
pub trait RevokedTokenStore: Send + Sync + 'static {
    /// Denies the access token with this `jti` until `expires_at` (its own
    /// expiry; RFC 7009 revocation of a self-contained token). Revoking an
    /// already revoked `jti` again is not an error and keeps the first row.
    async fn revoke_access_token(
        &self,
        tenant_id: Uuid,
        jti: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// The `jti`s of the tenant's revoked access tokens that have not yet
    /// expired at `now`: the revocation set verifiers cache.
    async fn list_revoked_access_tokens(
        &self,
        tenant_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>>;
}
