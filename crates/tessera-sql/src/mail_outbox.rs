//! The mail outbox: queueing (also inside other writes' transactions),
//! claiming by lease, and the delivery record.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tessera_store::{
    ClaimedMail, MailOutboxStore, MailQuery, MailRecord, MailStatus, OutgoingMail, StoreError, StoreResult,
};
use uuid::Uuid;

use crate::decode::parsed;
use crate::engine::{Arg, Engine, Exec, SqlRow, Transaction};
use crate::{args, SqlStore};

const OUTGOING_COLUMNS: &str = "mail_id, tenant_id, kind, recipient, sealed_message, created_at";
const RECORD_COLUMNS: &str =
    "mail_id, tenant_id, kind, recipient, status, attempts, last_error, created_at, next_attempt_at, sent_at";

/// Queues `mail` inside `exec` (the transaction of the change causing it):
/// pending, due at once.
pub(crate) async fn insert_mail(exec: &mut impl Exec, mail: &[OutgoingMail]) -> StoreResult<()> {
    for mail in mail {
        exec.execute(
            "insert into mail_outbox (mail_id, tenant_id, kind, recipient, sealed_message, status, attempts, \
             created_at, next_attempt_at) values ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)",
            &args![
                mail.mail_id,
                mail.tenant_id,
                &mail.kind,
                &mail.recipient,
                &mail.sealed_message,
                mail.created_at
            ],
        )
        .await?;
    }
    Ok(())
}

fn outgoing(row: &impl SqlRow) -> StoreResult<OutgoingMail> {
    Ok(OutgoingMail {
        mail_id: row.id("mail_id")?,
        tenant_id: row.id("tenant_id")?,
        kind: row.text("kind")?,
        recipient: row.text("recipient")?,
        sealed_message: row.bytes("sealed_message")?,
        created_at: row.time("created_at")?,
    })
}

fn record(row: &impl SqlRow) -> StoreResult<MailRecord> {
    Ok(MailRecord {
        mail_id: row.id("mail_id")?,
        tenant_id: row.id("tenant_id")?,
        kind: row.text("kind")?,
        recipient: row.text("recipient")?,
        status: parsed("status", row.text("status")?, MailStatus::parse)?,
        attempts: row.i32("attempts")?,
        last_error: row.opt_text("last_error")?,
        created_at: row.time("created_at")?,
        next_attempt_at: row.time("next_attempt_at")?,
        sent_at: row.opt_time("sent_at")?,
    })
}

#[async_trait]
impl<E: Engine> MailOutboxStore for SqlStore<E> {
    async fn queue_mail(&self, mail: &OutgoingMail) -> StoreResult<()> {
        let mut tx = self.engine.begin().await?;
        insert_mail(&mut tx, std::slice::from_ref(mail)).await?;
        tx.commit().await
    }

    async fn claim_due_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedMail>> {
        let sql = format!(
            "select {OUTGOING_COLUMNS}, attempts, next_attempt_at from mail_outbox \
             where status = 'pending' and next_attempt_at <= $1 order by next_attempt_at, mail_id limit $2"
        );
        let rows = self
            .engine
            .reader()
            .fetch_all(&sql, &args![now, i64::from(limit)])
            .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            let mail = outgoing(&row)?;
            let due = row.time("next_attempt_at")?;
            // The lease: only the worker whose update still sees the
            // attempt time it read gets the mail.
            let won = self
                .engine
                .writer()
                .execute(
                    "update mail_outbox set next_attempt_at = $3 \
                     where mail_id = $1 and status = 'pending' and next_attempt_at = $2",
                    &args![mail.mail_id, due, lease_until],
                )
                .await?;
            if won == 1 {
                claimed.push(ClaimedMail {
                    mail,
                    attempts: row.i32("attempts")?,
                });
            }
        }
        Ok(claimed)
    }

    async fn record_mail_sent(&self, mail_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        let empty: &[u8] = &[];
        let updated = self
            .engine
            .writer()
            .execute(
                "update mail_outbox set status = 'sent', attempts = attempts + 1, sent_at = $2, \
                 last_error = null, sealed_message = $3 where mail_id = $1 and status = 'pending'",
                &args![mail_id, now, Arg::Bytes(empty)],
            )
            .await?;
        found(updated)
    }

    async fn record_mail_failure(
        &self,
        mail_id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        let empty: &[u8] = &[];
        let updated = match retry_at {
            Some(retry_at) => {
                self.engine
                    .writer()
                    .execute(
                        "update mail_outbox set attempts = attempts + 1, last_error = $2, \
                         next_attempt_at = $3 where mail_id = $1 and status = 'pending'",
                        &args![mail_id, error, retry_at],
                    )
                    .await?
            }
            None => self
                .engine
                .writer()
                .execute(
                    "update mail_outbox set status = 'failed', attempts = attempts + 1, last_error = $2, \
                         sealed_message = $3 where mail_id = $1 and status = 'pending'",
                    &args![mail_id, error, Arg::Bytes(empty)],
                )
                .await?,
        };
        found(updated)
    }

    async fn list_mail(&self, tenant_id: Uuid, query: &MailQuery) -> StoreResult<Vec<MailRecord>> {
        let status = query.status.map(MailStatus::as_str);
        let (before_time, before_id) = match query.before {
            Some((time, id)) => (Some(time), Some(id)),
            None => (None, None),
        };
        let sql = format!(
            "select {RECORD_COLUMNS} from mail_outbox where tenant_id = $1 \
             and ($2 is null or status = $2) \
             and ($3 is null or created_at < $3 or (created_at = $3 and mail_id < $4)) \
             order by created_at desc, mail_id desc limit $5"
        );
        let rows = self
            .engine
            .reader()
            .fetch_all(
                &sql,
                &args![tenant_id, status, before_time, before_id, i64::from(query.limit)],
            )
            .await?;
        rows.iter().map(record).collect()
    }
}

fn found(updated: u64) -> StoreResult<()> {
    if updated == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
