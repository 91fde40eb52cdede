use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{AuthorizationCode, BrowserSession, CodeRedemption, Consent, RefreshToken, Session, StoreResult};

/// Browser (single sign-on) sessions of the hosted pages.
#[async_trait]
pub trait BrowserSessionStore: Send + Sync + 'static {
    /// Stores a new browser session and clears the user's failed-login count
    /// and lock (a successful login), in one transaction.
    async fn create_browser_session(&self, session: &BrowserSession) -> StoreResult<()>;

    /// The browser session whose cookie hashes to `token_hash` (any state).
    async fn get_browser_session(&self, tenant_id: Uuid, token_hash: &str) -> StoreResult<BrowserSession>;

    /// The browser session with this id (any state).
    async fn get_browser_session_by_id(
        &self,
        tenant_id: Uuid,
        browser_session_id: Uuid,
    ) -> StoreResult<BrowserSession>;

    /// The user's browser sessions that are neither ended nor expired at
    /// `now`, newest first.
    async fn list_active_browser_sessions(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<BrowserSession>>;

    /// Records that the browser session's cookie was used at `now` (its
    /// "last seen" in the person's session list). `NotFound` if it does not
    /// exist in the tenant.
    async fn touch_browser_session(
        &self,
        tenant_id: Uuid,
        browser_session_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Ends a browser session and, in the same transaction, revokes every
    /// unrevoked session granted from it (with `reason`). Returns the ids of
    /// the sessions it revoked. Ending an ended one again is not an error;
    /// `NotFound` if it does not exist in the tenant.
    async fn end_browser_session(
        &self,
        tenant_id: Uuid,
        browser_session_id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>>;
}

/// Single-use authorization codes (RFC 6749 §4.1.2).
#[async_trait]
pub trait AuthorizationCodeStore: Send + Sync + 'static {
    /// Stores a new authorization code.
    async fn insert_authorization_code(&self, code: &AuthorizationCode) -> StoreResult<()>;

    /// The code with this hash (used or not).
    async fn get_authorization_code(
        &self,
        tenant_id: Uuid,
        code_hash: &str,
    ) -> StoreResult<AuthorizationCode>;

    /// Redeems a code in one transaction: if it is unused, marks it used at
    /// `now` with `session`'s id and stores `session` and its first refresh
    /// token (if any); if it was used already, writes nothing and answers
    /// `AlreadyUsed` with the first redemption's session. Two concurrent
    /// redemptions: exactly one wins. `NotFound` if there is no such code.
    async fn redeem_authorization_code(
        &self,
        tenant_id: Uuid,
        code_hash: &str,
        session: &Session,
        first_token: Option<&RefreshToken>,
        now: DateTime<Utc>,
    ) -> StoreResult<CodeRedemption>;
}

/// Users' remembered approvals of clients.
#[async_trait]
pub trait ConsentStore: Send + Sync + 'static {
    /// The user's remembered approval of a client.
    async fn get_consent(&self, tenant_id: Uuid, user_id: Uuid, client_id: Uuid) -> StoreResult<Consent>;

    /// Stores an approval, replacing the scopes and `updated_at` of an
    /// existing one for the same user and client (keeping its `created_at`).
    async fn upsert_consent(&self, consent: &Consent) -> StoreResult<()>;

    /// The user's approvals, oldest first.
    async fn list_consents(&self, tenant_id: Uuid, user_id: Uuid) -> StoreResult<Vec<Consent>>;

    /// Withdraws an approval and, in the same transaction, revokes every
    /// unrevoked session of the user granted to that client (with
    /// `reason`). Returns the revoked session ids. `NotFound` if there was
    /// no approval.
    async fn delete_consent(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        client_id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>>;
}
