//! Mailed one-time tokens: issuing (retiring older ones, carrying their
//! failure count), lookup, counting wrong codes and spending — the spend
//! decided by one conditional update, its effect and mail in the same
//! transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tessera_store::{
    Conflict, OneTimePurpose, OneTimeToken, OneTimeTokenStore, OutgoingMail, StoreError, StoreResult,
    TokenEffect,
};
use uuid::Uuid;

use crate::decode::parsed;
use crate::engine::{Engine, Exec, SqlRow, Transaction};
use crate::mail_outbox::insert_mail;
use crate::{args, session, SqlStore};

const COLUMNS: &str =
    "token_id, tenant_id, user_id, purpose, token_hash, code_hash, email, failed_attempts, \
     created_at, expires_at, used_at";

fn one_time_token(row: &impl SqlRow) -> StoreResult<OneTimeToken> {
    Ok(OneTimeToken {
        token_id: row.id("token_id")?,
        tenant_id: row.id("tenant_id")?,
        user_id: row.id("user_id")?,
        purpose: parsed("purpose", row.text("purpose")?, OneTimePurpose::parse)?,
        token_hash: row.text("token_hash")?,
        code_hash: row.text("code_hash")?,
        email: row.text("email")?,
        failed_attempts: row.i32("failed_attempts")?,
        created_at: row.time("created_at")?,
        expires_at: row.time("expires_at")?,
        used_at: row.opt_time("used_at")?,
    })
}

/// Whether the user already has a token of `token`'s purpose to the same
/// address issued after `quiet_since`.
async fn within_cooldown(
    tx: &mut impl Exec,
    token: &OneTimeToken,
    quiet_since: Option<DateTime<Utc>>,
) -> StoreResult<bool> {
    let Some(quiet_since) = quiet_since else {
        return Ok(false);
    };
    let recent = tx
        .fetch_optional(
            "select token_id from one_time_token \
             where tenant_id = $1 and user_id = $2 and purpose = $3 and email = $5 and created_at > $4 \
             limit 1",
            &args![
                token.tenant_id,
                token.user_id,
                token.purpose.as_str(),
                quiet_since,
                &token.email
            ],
        )
        .await?;
    Ok(recent.is_some())
}

/// Retires every unused token of the user, of every purpose, inside `tx`:
/// a new password or a new address makes what was mailed before void (a
/// pending email change must not outlive a password reset, and a reset link
/// sent to an old address must not outlive the change).
pub(crate) async fn retire_tokens_of(
    tx: &mut impl Exec,
    tenant_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    tx.execute(
        "update one_time_token set used_at = $3 where tenant_id = $1 and user_id = $2 and used_at is null",
        &args![tenant_id, user_id, now],
    )
    .await
    .map(drop)
}

/// Issues `token` inside `tx`: see [`OneTimeTokenStore::issue_one_time_token`].
pub(crate) async fn insert_token(
    tx: &mut impl Exec,
    token: &OneTimeToken,
    failures_since: DateTime<Utc>,
    quiet_since: Option<DateTime<Utc>>,
) -> StoreResult<Option<i32>> {
    // Lock the user's row: two concurrent requests for a code of the same
    // user are serialised, so neither reads a count the other is retiring,
    // and only one passes the cooldown.
    tx.lock(
        "select user_id from user_account where tenant_id = $1 and user_id = $2",
        &args![token.tenant_id, token.user_id],
    )
    .await?;
    if within_cooldown(tx, token, quiet_since).await? {
        return Ok(None);
    }
    let carried = tx
        .fetch_optional(
            "select max(failed_attempts) as failed from one_time_token \
             where tenant_id = $1 and user_id = $2 and purpose = $3 and created_at >= $4",
            &args![
                token.tenant_id,
                token.user_id,
                token.purpose.as_str(),
                failures_since
            ],
        )
        .await?
        .map(|row| row.opt_i64("failed"))
        .transpose()?
        .flatten()
        .unwrap_or(0);
    let carried = i32::try_from(carried)
        .unwrap_or(i32::MAX)
        .max(token.failed_attempts);
    tx.execute(
        "update one_time_token set used_at = $4 \
         where tenant_id = $1 and user_id = $2 and purpose = $3 and used_at is null",
        &args![
            token.tenant_id,
            token.user_id,
            token.purpose.as_str(),
            token.created_at
        ],
    )
    .await?;
    let sql = format!(
        "insert into one_time_token ({COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    );
    tx.execute(
        &sql,
        &args![
            token.token_id,
            token.tenant_id,
            token.user_id,
            token.purpose.as_str(),
            &token.token_hash,
            &token.code_hash,
            &token.email,
            carried,
            token.created_at,
            token.expires_at,
            token.used_at
        ],
    )
    .await?;
    Ok(Some(carried))
}

#[async_trait]
impl<E: Engine> OneTimeTokenStore for SqlStore<E> {
    async fn issue_one_time_token(
        &self,
        token: &OneTimeToken,
        failures_since: DateTime<Utc>,
        quiet_since: Option<DateTime<Utc>>,
        mail: &[OutgoingMail],
    ) -> StoreResult<Option<i32>> {
        let mut tx = self.engine.begin().await?;
        let Some(carried) = insert_token(&mut tx, token, failures_since, quiet_since).await? else {
            return Ok(None);
        };
        insert_mail(&mut tx, mail).await?;
        tx.commit().await?;
        Ok(Some(carried))
    }

    async fn find_one_time_token(
        &self,
        tenant_id: Uuid,
        purpose: OneTimePurpose,
        token_hash: &str,
    ) -> StoreResult<OneTimeToken> {
        let sql = format!(
            "select {COLUMNS} from one_time_token \
             where tenant_id = $1 and token_hash = $2 and purpose = $3 and used_at is null"
        );
        let row = self
            .engine
            .reader()
            .fetch_one(&sql, &args![tenant_id, token_hash, purpose.as_str()])
            .await?;
        one_time_token(&row)
    }

    async fn latest_one_time_token(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        purpose: OneTimePurpose,
    ) -> StoreResult<OneTimeToken> {
        let sql = format!(
            "select {COLUMNS} from one_time_token \
             where tenant_id = $1 and user_id = $2 and purpose = $3 and used_at is null \
             order by created_at desc, token_id desc limit 1"
        );
        let row = self
            .engine
            .reader()
            .fetch_one(&sql, &args![tenant_id, user_id, purpose.as_str()])
            .await?;
        one_time_token(&row)
    }

    async fn latest_one_time_token_for_email(
        &self,
        tenant_id: Uuid,
        purpose: OneTimePurpose,
        email: &str,
    ) -> StoreResult<OneTimeToken> {
        let sql = format!(
            "select {COLUMNS} from one_time_token \
             where tenant_id = $1 and email = $2 and purpose = $3 and used_at is null \
             order by created_at desc, token_id desc limit 1"
        );
        let row = self
            .engine
            .reader()
            .fetch_one(&sql, &args![tenant_id, email, purpose.as_str()])
            .await?;
        one_time_token(&row)
    }

    async fn record_code_failure(&self, tenant_id: Uuid, token_id: Uuid) -> StoreResult<i32> {
        let mut tx = self.engine.begin().await?;
        let updated = tx
            .execute(
                "update one_time_token set failed_attempts = failed_attempts + 1 \
                 where tenant_id = $1 and token_id = $2",
                &args![tenant_id, token_id],
            )
            .await?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        let row = tx
            .fetch_one(
                "select failed_attempts from one_time_token where tenant_id = $1 and token_id = $2",
                &args![tenant_id, token_id],
            )
            .await?;
        let count = row.i32("failed_attempts")?;
        tx.commit().await?;
        Ok(count)
    }

    async fn spend_one_time_token(
        &self,
        tenant_id: Uuid,
        token_id: Uuid,
        max_failures: i32,
        now: DateTime<Utc>,
        effect: TokenEffect<'_>,
        mail: &[OutgoingMail],
    ) -> StoreResult<()> {
        let mut tx = self.engine.begin().await?;
        let spent = tx
            .execute(
                "update one_time_token set used_at = $3 where tenant_id = $1 and token_id = $2 \
                 and used_at is null and expires_at > $3 and failed_attempts < $4",
                &args![tenant_id, token_id, now, max_failures],
            )
            .await?;
        if spent == 0 {
            return Err(StoreError::NotFound);
        }
        let row = tx
            .fetch_one(
                "select user_id, email, purpose from one_time_token where tenant_id = $1 and token_id = $2",
                &args![tenant_id, token_id],
            )
            .await?;
        let user_id = row.id("user_id")?;
        // A proof succeeded: the count of wrong codes starts again.
        tx.execute(
            "update one_time_token set failed_attempts = 0 where tenant_id = $1 and user_id = $2 and purpose = $3",
            &args![tenant_id, user_id, &row.text("purpose")?],
        )
        .await?;
        match effect {
            TokenEffect::Nothing => {}
            TokenEffect::VerifyEmail => {
                let email = row.text("email")?;
                let updated = tx
                    .execute(
                        "update user_account set email = $3, email_verified = $4, updated_at = $5 \
                         where tenant_id = $1 and user_id = $2",
                        &args![tenant_id, user_id, &email, true, now],
                    )
                    .await
                    .map_err(|e| match e {
                        StoreError::Conflict(_) => StoreError::Conflict(Conflict::Email),
                        other => other,
                    })?;
                if updated == 0 {
                    return Err(StoreError::NotFound);
                }
                retire_tokens_of(&mut tx, tenant_id, user_id, now).await?;
            }
            TokenEffect::SetPassword {
                password_hash,
                reason,
            } => {
                let updated = tx
                    .execute(
                        "update user_account set password_hash = $3, updated_at = $4, \
                         failed_login_count = 0, locked_until = null \
                         where tenant_id = $1 and user_id = $2",
                        &args![tenant_id, user_id, password_hash, now],
                    )
                    .await?;
                if updated == 0 {
                    return Err(StoreError::NotFound);
                }
                session::revoke_sessions_of(&mut tx, tenant_id, user_id, None, reason, now).await?;
                retire_tokens_of(&mut tx, tenant_id, user_id, now).await?;
            }
        }
        insert_mail(&mut tx, mail).await?;
        tx.commit().await
    }
}
