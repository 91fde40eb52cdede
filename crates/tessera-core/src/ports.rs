//! The ports the identity logic talks to besides the store: the clock
//! ([`crate::clock`]), outgoing mail and the event sink. Each is a trait
//! with a production implementation and an in-memory one that tests
//! inspect; one builder (the binary's `App::builder`) chooses them, for
//! `main` and for the test harness alike.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::clock::Clock;
use crate::mail::compose::{compose, Sender};

/// One email to one recipient, rendered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MailMessage {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body, when there is one.
    pub html: Option<String>,
}

/// Why a message could not be handed over (it stays queued and is retried
/// by the caller).
#[derive(Debug, thiserror::Error)]
#[error("mail not sent: {0}")]
pub struct MailError(pub String);

/// Where outgoing mail goes.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Hands `message` over for delivery.
    async fn send(&self, message: &MailMessage) -> Result<(), MailError>;
}

/// Writes each message as an RFC 5322 `.eml` file into a directory: what
/// an installation without an SMTP server gets, so that mail is never lost
/// and an operator can read it.
pub struct EmlDirectoryMailer {
    dir: PathBuf,
    from: Sender,
    transport: lettre::AsyncFileTransport<lettre::Tokio1Executor>,
}

impl EmlDirectoryMailer {
    /// Writes into `dir` (created with the first message), as sent by
    /// `name <address>`.
    pub fn new(dir: PathBuf, name: &str, address: &str) -> Result<EmlDirectoryMailer, MailError> {
        Ok(EmlDirectoryMailer {
            from: Sender::new(name, address)?,
            transport: lettre::AsyncFileTransport::new(dir.clone()),
            dir,
        })
    }

    /// The directory the files are written to.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for EmlDirectoryMailer {
    async fn send(&self, message: &MailMessage) -> Result<(), MailError> {
        use lettre::AsyncTransport;
        // The same message an SMTP relay would get (`mail::compose`).
        let email = compose(&self.from, message)?;
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| MailError(format!("cannot create {}: {e}", self.dir.display())))?;
        self.transport
            .send(email)
            .await
            .map(drop)
            .map_err(|e| MailError(e.to_string()))
    }
}

/// Keeps every message in memory: tests read what was "sent".
#[derive(Debug, Default)]
pub struct MemoryMailer {
    sent: Mutex<Vec<MailMessage>>,
}

impl MemoryMailer {
    /// Every message sent so far, oldest first.
    pub fn sent(&self) -> Vec<MailMessage> {
        self.sent.lock().map(|sent| sent.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, message: &MailMessage) -> Result<(), MailError> {
        self.sent
            .lock()
            .map_err(|_| MailError("capture poisoned".into()))?
            .push(message.clone());
        Ok(())
    }
}

/// Something that happened in a tenant, for webhooks, NATS and the audit
/// log (`user.created`, `session.revoked`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// What happened, `noun.verb`.
    pub kind: String,
    /// Where.
    pub tenant_id: Uuid,
    /// When, by the service's clock.
    pub at: DateTime<Utc>,
    /// What it concerns (never a secret).
    pub data: serde_json::Value,
}

/// Why an event could not be handed over (it stays queued and is retried).
#[derive(Debug, thiserror::Error)]
#[error("event not delivered: {0}")]
pub struct EventError(pub String);

/// Where events go.
#[async_trait]
pub trait EventSink: Send + Sync + 'static {
    /// Hands `event` over for delivery.
    async fn publish(&self, event: &Event) -> Result<(), EventError>;
}

/// The sink of an installation that has not configured any destination:
/// events are dropped (at debug level in the log).
#[derive(Debug, Default)]
pub struct NoEventSink;

#[async_trait]
impl EventSink for NoEventSink {
    async fn publish(&self, event: &Event) -> Result<(), EventError> {
        tracing::debug!(kind = %event.kind, tenant_id = %event.tenant_id, "event without a destination");
        Ok(())
    }
}

/// Keeps every event in memory: tests read what was published.
#[derive(Debug, Default)]
pub struct MemoryEventSink {
    published: Mutex<Vec<Event>>,
}

impl MemoryEventSink {
    /// Every event published so far, oldest first.
    pub fn published(&self) -> Vec<Event> {
        self.published
            .lock()
            .map(|events| events.clone())
            .unwrap_or_default()
    }
}

#[async_trait]
impl EventSink for MemoryEventSink {
    async fn publish(&self, event: &Event) -> Result<(), EventError> {
        self.published
            .lock()
            .map_err(|_| EventError("capture poisoned".into()))?
            .push(event.clone());
        Ok(())
    }
}

/// The ports of one installation, shared by every tenant's services.
#[derive(Clone)]
pub struct Ports {
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// Outgoing mail.
    pub mailer: Arc<dyn Mailer>,
    /// Events.
    pub events: Arc<dyn EventSink>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn message() -> MailMessage {
        MailMessage {
            to: "ada@example.com".into(),
            subject: "Welcome".into(),
            text: "Hello Ada".into(),
            html: Some("<p>Hello Ada</p>".into()),
        }
    }

    #[tokio::test]
    async fn the_eml_mailer_writes_one_readable_file_per_message() {
        let dir = std::env::temp_dir().join(format!("tessera-outbox-{}", Uuid::new_v4()));
        let mailer = EmlDirectoryMailer::new(dir.clone(), "Tessera, Inc.", "no-reply@example.com").unwrap();
        mailer.send(&message()).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(
            text.contains("To: ada@example.com") && text.contains("Subject: Welcome"),
            "{text}"
        );
        // A name that needs quoting in a header is encoded, not refused.
        assert!(
            text.contains("From: =?utf-8?b?VGVzc2VyYSwgSW5jLg==?= <no-reply@example.com>"),
            "{text}"
        );
        assert!(text.contains("Hello Ada"), "{text}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_bad_recipient_is_an_error_not_a_panic() {
        let dir = std::env::temp_dir().join(format!("tessera-outbox-{}", Uuid::new_v4()));
        let mailer = EmlDirectoryMailer::new(dir.clone(), "Tessera", "no-reply@example.com").unwrap();
        let bad = MailMessage {
            to: "not an address".into(),
            ..message()
        };
        assert!(mailer.send(&bad).await.is_err());
        assert!(!dir.exists(), "nothing written");
    }

    #[tokio::test]
    async fn captures_keep_what_was_sent_and_published() {
        let mailer = MemoryMailer::default();
        mailer.send(&message()).await.unwrap();
        assert_eq!(mailer.sent(), vec![message()]);
        let events = MemoryEventSink::default();
        let event = Event {
            kind: "user.created".into(),
            tenant_id: Uuid::nil(),
            at: crate::clock::ManualClock::starting_now().now(),
            data: serde_json::json!({"user_id": "u"}),
        };
        events.publish(&event).await.unwrap();
        assert_eq!(events.published(), vec![event]);
    }
}
