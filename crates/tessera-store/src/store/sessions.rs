use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{RefreshToken, Session, SessionWithUser, StoreResult};

/// Login sessions and their refresh-token families.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Creates a session and its first refresh token (if it gets one) in one
    /// transaction, and clears the user's failed-login count and lock (a
    /// successful login).
    async fn create_session(&self, session: &Session, first_token: Option<&RefreshToken>) -> StoreResult<()>;

    /// The session with this id (revoked or not) and its user.
    async fn get_session_with_user(&self, tenant_id: Uuid, session_id: Uuid) -> StoreResult<SessionWithUser>;

    /// The sessions of a user that are neither revoked nor past `now`'s
    /// absolute expiry, newest first.
    async fn list_active_sessions(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Session>>;

    /// Revokes one session (no-op if already revoked). `NotFound` if it does
    /// not exist in the tenant.
    async fn revoke_session(
        &self,
        tenant_id: Uuid,
        session_id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Revokes every unrevoked session of a user except `keep_session`;
    /// returns the ids it revoked.
    async fn revoke_user_sessions(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        keep_session: Option<Uuid>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>>;

    /// The refresh token with this hash.
    async fn get_refresh_token(&self, tenant_id: Uuid, token_hash: &str) -> StoreResult<RefreshToken>;

    /// Spends `old_hash` and stores `next` in one transaction, and marks the
    /// session used at `now`. Returns `false`, writing nothing, when
    /// `old_hash` was already spent (a concurrent or replayed use): the
    /// caller treats that as reuse.
    async fn rotate_refresh_token(
        &self,
        tenant_id: Uuid,
        old_hash: &str,
        next: &RefreshToken,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}
