use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    ClaimedMail, MailQuery, MailRecord, OneTimePurpose, OneTimeToken, OutgoingMail, StoreResult, TokenEffect,
};

/// The outbox: mail queued with the change that causes it, claimed and
/// sent by a worker on any node, retried with backoff.
#[async_trait]
pub trait MailOutboxStore: Send + Sync + 'static {
    /// Queues one mail on its own (for a mail that no other write causes).
    async fn queue_mail(&self, mail: &OutgoingMail) -> StoreResult<()>;

    /// Claims up to `limit` pending mails, across tenants, whose next
    /// attempt is due at `now`, oldest first: each claimed mail's next
    /// attempt moves to `lease_until`, by a conditional update, so that two
    /// workers never claim the same mail for the same attempt (a worker
    /// that dies mid-send leaves the mail to be claimed again after the
    /// lease).
    async fn claim_due_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedMail>>;

    /// Records a delivered mail: status `sent`, one more attempt, its
    /// message erased. `NotFound` when the mail is no longer pending (a
    /// worker whose lease ran out finds another one finished it).
    async fn record_mail_sent(&self, mail_id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;

    /// Records a failed attempt with its reason: pending again from
    /// `retry_at`, or — with `None` — `failed` for good, its message erased;
    /// `NotFound` when it is no longer pending.
    async fn record_mail_failure(
        &self,
        mail_id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;

    /// The tenant's delivery records matching `query`, newest first.
    async fn list_mail(&self, tenant_id: Uuid, query: &MailQuery) -> StoreResult<Vec<MailRecord>>;
}

/// Mailed one-time tokens (verification, reset, sign-in by email).
#[async_trait]
pub trait OneTimeTokenStore: Send + Sync + 'static {
    /// Stores `token` and queues `mail`, in one transaction. Every unused
    /// token of the same user and purpose is retired (marked used), and the
    /// new token starts with the largest failure count of that user's
    /// tokens of this purpose issued since `failures_since` — so asking for
    /// a new code never resets the count of wrong ones. Returns that count;
    /// or `None`, having written nothing, when the user already has a token
    /// of this purpose to the same address issued after `quiet_since` (a
    /// cooldown per address, decided under
    /// the user's row lock, so concurrent requests cannot both pass it).
    async fn issue_one_time_token(
        &self,
        token: &OneTimeToken,
        failures_since: DateTime<Utc>,
        quiet_since: Option<DateTime<Utc>>,
        mail: &[OutgoingMail],
    ) -> StoreResult<Option<i32>>;

    /// The unused token of this purpose whose link secret hashes to
    /// `token_hash`, whatever its expiry (the caller says why it refuses).
    async fn find_one_time_token(
        &self,
        tenant_id: Uuid,
        purpose: OneTimePurpose,
        token_hash: &str,
    ) -> StoreResult<OneTimeToken>;

    /// The newest unused token of this purpose of `user_id`.
    async fn latest_one_time_token(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        purpose: OneTimePurpose,
    ) -> StoreResult<OneTimeToken>;

    /// The newest unused token of this purpose sent to `email` (the
    /// address it proves: for an email change, the new one).
    async fn latest_one_time_token_for_email(
        &self,
        tenant_id: Uuid,
        purpose: OneTimePurpose,
        email: &str,
    ) -> StoreResult<OneTimeToken>;

    /// Counts one wrong code against the token, in the database (so that
    /// concurrent guesses all count); returns the new count.
    async fn record_code_failure(&self, tenant_id: Uuid, token_id: Uuid) -> StoreResult<i32>;

    /// Spends the token — only if it is unused, unexpired at `now` and has
    /// fewer than `max_failures` wrong codes, decided by one conditional
    /// update so that of two concurrent spends exactly one wins (the other
    /// gets `NotFound`) — and applies `effect` and queues `mail` in the same
    /// transaction.
    async fn spend_one_time_token(
        &self,
        tenant_id: Uuid,
        token_id: Uuid,
        max_failures: i32,
        now: DateTime<Utc>,
        effect: TokenEffect<'_>,
        mail: &[OutgoingMail],
    ) -> StoreResult<()>;
}
