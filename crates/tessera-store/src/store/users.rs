use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    IdentifierKind, IdentifierReport, KeepLastHolder, OneTimeToken, OutgoingMail, StoreResult, User,
    UserProfileUpdate, UserQuery, UserStatus,
};

/// Accounts: who they are, their credentials' state and their lifecycle.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Inserts a new user holding `roles` (names of existing roles of the
    /// tenant), in one transaction. `Conflict(Email)` / `Conflict(Username)`
    /// when the normalised value is taken in the tenant; `NotFound`
    /// (nothing written) when a role does not exist.
    async fn create_user(&self, user: &User, roles: &[String]) -> StoreResult<()> {
        self.create_user_with_mail(user, roles, None, &[]).await
    }

    /// [`UserStore::create_user`], and in the same transaction stores
    /// `token` (the verification of the new address) and queues `mail`:
    /// a crash cannot leave an account whose verification mail was lost.
    async fn create_user_with_mail(
        &self,
        user: &User,
        roles: &[String],
        token: Option<&OneTimeToken>,
        mail: &[OutgoingMail],
    ) -> StoreResult<()>;

    /// The user with this id in this tenant.
    async fn get_user(&self, tenant_id: Uuid, user_id: Uuid) -> StoreResult<User>;

    /// The user whose normalised email or username equals `identifier`.
    async fn find_user_by_identifier(&self, tenant_id: Uuid, identifier: &str) -> StoreResult<User>;

    /// Puts every stored email and username, across all tenants, into the
    /// form `canonical` gives it (`None`: it has none, leave it). A row is
    /// rewritten only when no other row of its tenant has, or would get,
    /// the same canonical value of that kind; such rows are reported as a
    /// collision and left alone, never merged. Reads in batches, so memory
    /// holds only the rows that change. Idempotent: a second run rewrites
    /// nothing (for an idempotent `canonical`).
    async fn canonicalise_identifiers(
        &self,
        // Higher-ranked spelled out: `async_trait` would name an elided lifetime.
        canonical: &(dyn for<'s> Fn(IdentifierKind, &'s str) -> Option<String> + Send + Sync),
    ) -> StoreResult<IdentifierReport>;

    /// Applies profile changes and returns the updated user.
    /// `Conflict(Username)` / `Conflict(Email)` when the new value is taken.
    async fn update_user_profile(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        update: &UserProfileUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<User>;

    /// Stores a new password hash and, in the same transaction, revokes every
    /// session of the user except `keep_session` with `reason`.
    async fn set_password_hash(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        password_hash: &str,
        keep_session: Option<Uuid>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Records a failed login: adds one to the consecutive-failure count in
    /// the database (so concurrent failures all count, none overwrites
    /// another), then locks the account until `lock_for(new count)`, when
    /// that is `Some`, never shortening a lock already in place; one
    /// transaction. Returns the new count. `NotFound` for an unknown user.
    async fn record_login_failure(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        lock_for: &(dyn Fn(i32) -> Option<DateTime<Utc>> + Send + Sync),
    ) -> StoreResult<i32>;

    /// The users matching `query`, in its order, at most `query.limit`.
    async fn list_users(&self, tenant_id: Uuid, query: &UserQuery) -> StoreResult<Vec<User>>;

    /// Sets the user's status (and clears `deleted_at` when `status` is
    /// `Active`: reactivation also undoes a soft delete). With
    /// `revoke_sessions`, every open session of the user is revoked with that
    /// reason in the same transaction. With `keep`, refuses with
    /// `Conflict(LastHolder)` when the change would leave no active,
    /// undeleted holder of that role. Returns the updated user.
    async fn set_user_status(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        status: UserStatus,
        revoke_sessions: Option<&str>,
        keep: Option<KeepLastHolder<'_>>,
        now: DateTime<Utc>,
    ) -> StoreResult<User>;

    /// Soft-deletes a user (`deleted_at` = `now`) and revokes its sessions
    /// with reason `deleted`, in one transaction; `keep` as above.
    async fn soft_delete_user(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        keep: Option<KeepLastHolder<'_>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Erases a user and everything that is theirs (sessions, refresh
    /// tokens, browser sessions, codes, consents, role assignments), in one
    /// transaction; `keep` as above.
    async fn erase_user(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        keep: Option<KeepLastHolder<'_>>,
    ) -> StoreResult<()>;
}
