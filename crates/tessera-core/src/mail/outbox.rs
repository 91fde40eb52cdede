//! The outbox: a mail is composed and sealed by the service, stored in the
//! transaction of the change that causes it, and sent by
//! [`MailDispatcher`] — on any node, with retries and backoff — so that
//! neither a crash nor a mail-server outage loses it, and nothing is sent
//! for a change that rolled back.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hkdf;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use tessera_store::{ClaimedMail, MailOutboxStore, OutgoingMail};
use tokio::sync::Notify;
use uuid::Uuid;

use super::templates::{MailKind, MailTemplates, MailTheme, MailVars};
use crate::clock::Clock;
use crate::error::{AuthError, AuthResult};
use crate::ports::{MailMessage, Mailer};

/// Mails sent per pass of the dispatcher.
const BATCH: usize = 20;
/// How long a claimed mail is reserved for the worker that claimed it:
/// longer than one delivery can take (the SMTP timeout, at most 300 s, per
/// step). Mails are claimed one at a time, so the lease covers one send.
const LEASE_SECS: i64 = 900;
/// How often the dispatcher looks for due mail when nothing wakes it
/// (mail queued by another node, retries coming due).
const POLL: StdDuration = StdDuration::from_secs(2);
/// Attempts before a mail is given up (about 9 hours of retries).
pub const MAX_ATTEMPTS: i32 = 12;

/// The delay before the attempt after `attempts` failed ones: 30 s,
/// doubling, at most an hour.
pub fn retry_delay(attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(7);
    Duration::seconds((30i64 << doublings).min(3600))
}

/// What services need to put mail in the outbox: the templates and theme,
/// the key that seals queued messages (a message may carry a link with a
/// token: it is not kept readable in the database), the key of mailed
/// codes' hashes, and the wake-up of this node's dispatcher.
pub struct Outbox {
    templates: MailTemplates,
    theme: MailTheme,
    seal_key: LessSafeKey,
    code_key: hmac::Key,
    rng: SystemRandom,
    wake: Notify,
}

/// HKDF `info` of the key that seals queued messages.
const SEAL_INFO: &[&[u8]] = &[b"tessera mail-seal v1"];
/// HKDF `info` of the key of mailed codes' hashes.
const CODE_INFO: &[&[u8]] = &[b"tessera mail-code v1"];

/// The master key's pseudorandom key for HKDF-SHA256 (RFC 5869): each use
/// expands its own key from it, so that no two uses share key material.
fn master_prk(master_key: &[u8; 32]) -> hkdf::Prk {
    hkdf::Salt::new(hkdf::HKDF_SHA256, b"tessera").extract(master_key)
}

fn derivation_failed(_: ring::error::Unspecified) -> AuthError {
    AuthError::Internal("key derivation failed".into())
}

impl Outbox {
    /// The outbox of an installation whose master key is `master_key`.
    pub fn new(master_key: &[u8; 32], templates: MailTemplates, theme: MailTheme) -> AuthResult<Outbox> {
        let prk = master_prk(master_key);
        let unbound = UnboundKey::from(prk.expand(SEAL_INFO, &AES_256_GCM).map_err(derivation_failed)?);
        let code_key = hmac::Key::from(
            prk.expand(CODE_INFO, hmac::HMAC_SHA256)
                .map_err(derivation_failed)?,
        );
        Ok(Outbox {
            templates,
            theme,
            seal_key: LessSafeKey::new(unbound),
            code_key,
            rng: SystemRandom::new(),
            wake: Notify::new(),
        })
    }

    /// Renders a mail of `kind` to `to` for the tenant `tenant_slug` and
    /// seals it for the outbox.
    pub fn compose(
        &self,
        tenant_id: Uuid,
        tenant_slug: &str,
        kind: MailKind,
        to: &str,
        vars: &MailVars,
        now: DateTime<Utc>,
    ) -> AuthResult<OutgoingMail> {
        let message = self
            .templates
            .render(tenant_slug, kind, to, &self.theme, vars)
            .map_err(|e| AuthError::Internal(format!("mail template {}: {e}", kind.as_str())))?;
        let mail_id = Uuid::now_v7();
        Ok(OutgoingMail {
            mail_id,
            tenant_id,
            kind: kind.as_str().to_string(),
            recipient: to.to_string(),
            sealed_message: self.seal(mail_id, &message)?,
            created_at: now,
        })
    }

    /// Tells this node's dispatcher that mail was queued (others find it
    /// by polling).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The stored form of a mailed code of token `token_id`: an HMAC with
    /// a key derived from the master key, because a 6-digit code's plain
    /// hash would be reversed by trying all million codes.
    pub fn code_hash(&self, token_id: Uuid, code: &str) -> String {
        let mut data = token_id.as_bytes().to_vec();
        data.extend_from_slice(code.as_bytes());
        hex::encode(hmac::sign(&self.code_key, &data).as_ref())
    }

    fn seal(&self, mail_id: Uuid, message: &MailMessage) -> AuthResult<Vec<u8>> {
        let mut sealed =
            serde_json::to_vec(message).map_err(|e| AuthError::Internal(format!("mail encoding: {e}")))?;
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| AuthError::Internal("random generator failed".into()))?;
        self.seal_key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(mail_id.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| AuthError::Internal("mail sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The message of a queued mail; an error when it was sealed with
    /// another master key, tampered with, or moved to another row.
    pub fn open(&self, mail: &OutgoingMail) -> AuthResult<MailMessage> {
        let corrupt = || AuthError::Internal(format!("mail {} cannot be opened", mail.mail_id));
        if mail.sealed_message.len() < NONCE_LEN {
            return Err(corrupt());
        }
        let (nonce, ciphertext) = mail.sealed_message.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| corrupt())?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .seal_key
            .open_in_place(nonce, Aad::from(mail.mail_id.as_bytes()), &mut buffer)
            .map_err(|_| corrupt())?;
        serde_json::from_slice(plain).map_err(|_| corrupt())
    }
}

/// Sends what the outbox holds: claims due mail, hands each to the
/// [`Mailer`], records the outcome, and retries failures with backoff
/// until [`MAX_ATTEMPTS`].
pub struct MailDispatcher {
    store: Arc<dyn MailOutboxStore>,
    outbox: Arc<Outbox>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
}

impl MailDispatcher {
    /// A dispatcher over `store`, sending through `mailer`.
    pub fn new(
        store: Arc<dyn MailOutboxStore>,
        outbox: Arc<Outbox>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
    ) -> MailDispatcher {
        MailDispatcher {
            store,
            outbox,
            mailer,
            clock,
        }
    }

    /// Runs for ever: a pass whenever mail is queued on this node, and
    /// every couple of seconds for mail queued elsewhere or coming due.
    /// A database outage is logged once, when it starts, and once when it
    /// ends.
    pub async fn run(self) {
        let mut failing = false;
        loop {
            match self.deliver_due().await {
                Ok(claimed) => {
                    if failing {
                        tracing::info!("mail outbox reachable again");
                        failing = false;
                    }
                    if claimed == BATCH {
                        continue;
                    }
                }
                Err(err) => {
                    if !failing {
                        tracing::warn!(error = %err, "mail outbox unreachable; retrying");
                        failing = true;
                    }
                }
            }
            tokio::select! {
                () = self.outbox.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// One pass: claims due mail one at a time (each lease covers one
    /// send) and tries to send it, up to a batch; returns how many were
    /// claimed.
    pub async fn deliver_due(&self) -> AuthResult<usize> {
        let mut count = 0;
        while count < BATCH {
            let now = self.clock.now();
            let claimed = self
                .store
                .claim_due_mail(now, now + Duration::seconds(LEASE_SECS), 1)
                .await?;
            let Some(mail) = claimed.into_iter().next() else {
                break;
            };
            count += 1;
            match self.deliver(mail).await {
                // Another worker finished it after this one's lease ran out.
                Err(AuthError::NotFound) => tracing::info!("mail already delivered by another worker"),
                other => other?,
            }
        }
        Ok(count)
    }

    async fn deliver(&self, claimed: ClaimedMail) -> AuthResult<()> {
        let ClaimedMail { mail, attempts } = claimed;
        let outcome = match self.outbox.open(&mail) {
            Ok(message) => self.mailer.send(&message).await.map_err(|e| e.0),
            Err(err) => Err(err.to_string()),
        };
        let now = self.clock.now();
        match outcome {
            Ok(()) => {
                metrics::counter!("tessera_mail_sent_total").increment(1);
                tracing::info!(mail_id = %mail.mail_id, kind = %mail.kind, "mail sent");
                self.store.record_mail_sent(mail.mail_id, now).await?;
            }
            Err(reason) => {
                let attempts = attempts + 1;
                let retry_at = (attempts < MAX_ATTEMPTS).then(|| now + retry_delay(attempts));
                metrics::counter!("tessera_mail_failures_total").increment(1);
                if retry_at.is_some() {
                    tracing::warn!(mail_id = %mail.mail_id, kind = %mail.kind, attempts, error = %reason, "mail not sent; will retry");
                } else {
                    metrics::counter!("tessera_mail_given_up_total").increment(1);
                    tracing::error!(mail_id = %mail.mail_id, kind = %mail.kind, attempts, error = %reason, "mail given up");
                }
                let reason: String = reason.chars().take(500).collect();
                self.store
                    .record_mail_failure(mail.mail_id, &reason, retry_at)
                    .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(retry_delay(1), Duration::seconds(30));
        assert_eq!(retry_delay(2), Duration::seconds(60));
        assert_eq!(retry_delay(4), Duration::seconds(240));
        assert_eq!(retry_delay(8), Duration::seconds(3600));
        assert_eq!(retry_delay(40), Duration::seconds(3600));
    }
}
