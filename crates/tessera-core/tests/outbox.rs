//! The outbox worker against a real (SQLite) store: retries with backoff,
//! gives up after the last attempt, recovers a mail whose worker died, and
//! never loses or opens a message it cannot trust.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use tessera_core::mail::outbox::{retry_delay, MAX_ATTEMPTS};
use tessera_core::mail::{MailDispatcher, MailKind, MailTemplates, MailTheme, MailVars, Outbox};
use tessera_core::ports::MailError;
use tessera_core::{Clock, MailMessage, Mailer, ManualClock, MemoryMailer};
use tessera_store::prelude::*;
use tessera_store::{MailQuery, MailRecord, MailStatus, Tenant};

/// Fails the first `failures` sends, then delivers into `inner`.
struct FlakyMailer {
    failures: usize,
    calls: AtomicUsize,
    inner: MemoryMailer,
}

#[async_trait]
impl Mailer for FlakyMailer {
    async fn send(&self, message: &MailMessage) -> Result<(), MailError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(MailError("421 service not available".into()));
        }
        self.inner.send(message).await
    }
}

struct Fixture {
    store: Arc<dyn Store>,
    tenant: Tenant,
    clock: Arc<ManualClock>,
    outbox: Arc<Outbox>,
    mailer: Arc<FlakyMailer>,
    dispatcher: MailDispatcher,
}

async fn fixture(failures: usize) -> Fixture {
    let store = tessera_sqlite::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let clock = Arc::new(ManualClock::starting_now());
    let tenant = store
        .ensure_tenant("default", "Default", clock.now())
        .await
        .unwrap();
    let outbox =
        Arc::new(Outbox::new(&[7; 32], MailTemplates::new(None).unwrap(), MailTheme::default()).unwrap());
    let mailer = Arc::new(FlakyMailer {
        failures,
        calls: AtomicUsize::new(0),
        inner: MemoryMailer::default(),
    });
    let dispatcher = MailDispatcher::new(store.clone(), outbox.clone(), mailer.clone(), clock.clone());
    Fixture {
        store,
        tenant,
        clock,
        outbox,
        mailer,
        dispatcher,
    }
}

impl Fixture {
    async fn queue(&self) -> tessera_store::OutgoingMail {
        let vars = MailVars {
            issuer: "https://id.example.com".into(),
            tenant_name: "Example".into(),
            email: "ada@example.com".into(),
            ..MailVars::default()
        };
        let mail = self
            .outbox
            .compose(
                self.tenant.tenant_id,
                "default",
                MailKind::PasswordChanged,
                "ada@example.com",
                &vars,
                self.clock.now(),
            )
            .unwrap();
        self.store.queue_mail(&mail).await.unwrap();
        mail
    }

    async fn record(&self) -> MailRecord {
        let query = MailQuery {
            status: None,
            before: None,
            limit: 10,
        };
        let mut records = self.store.list_mail(self.tenant.tenant_id, &query).await.unwrap();
        assert_eq!(records.len(), 1);
        records.remove(0)
    }

    fn advance(&self, by: Duration) {
        self.clock.advance(by + Duration::seconds(1));
    }
}

#[tokio::test]
async fn a_failed_attempt_is_retried_after_its_delay_and_then_sent() {
    let f = fixture(2).await;
    f.queue().await;
    assert_eq!(f.dispatcher.deliver_due().await.unwrap(), 1);
    let record = f.record().await;
    assert_eq!((record.status, record.attempts), (MailStatus::Pending, 1));
    assert_eq!(record.last_error.as_deref(), Some("421 service not available"));
    assert_eq!(
        f.dispatcher.deliver_due().await.unwrap(),
        0,
        "not due before its delay"
    );

    f.advance(retry_delay(1));
    f.dispatcher.deliver_due().await.unwrap();
    assert_eq!(f.record().await.attempts, 2);
    f.advance(retry_delay(2));
    f.dispatcher.deliver_due().await.unwrap();
    let record = f.record().await;
    assert_eq!((record.status, record.attempts), (MailStatus::Sent, 3));
    let sent = f.mailer.inner.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "ada@example.com");
    assert!(sent[0].text.contains("Example"), "{}", sent[0].text);
}

#[tokio::test]
async fn a_mail_is_given_up_after_the_last_attempt() {
    let f = fixture(usize::MAX).await;
    f.queue().await;
    for attempt in 1..=MAX_ATTEMPTS {
        assert_eq!(f.dispatcher.deliver_due().await.unwrap(), 1, "attempt {attempt}");
        f.advance(retry_delay(attempt));
    }
    let record = f.record().await;
    assert_eq!(
        (record.status, record.attempts),
        (MailStatus::Failed, MAX_ATTEMPTS)
    );
    f.advance(Duration::days(1));
    assert_eq!(
        f.dispatcher.deliver_due().await.unwrap(),
        0,
        "a given-up mail stays given up"
    );
}

#[tokio::test]
async fn a_mail_claimed_by_a_worker_that_died_is_sent_after_the_lease() {
    let f = fixture(0).await;
    f.queue().await;
    let now = f.clock.now();
    let claimed = f
        .store
        .claim_due_mail(now, now + Duration::seconds(120), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "a worker claims the mail, then dies");
    assert_eq!(f.dispatcher.deliver_due().await.unwrap(), 0, "leased");
    f.advance(Duration::seconds(120));
    assert_eq!(f.dispatcher.deliver_due().await.unwrap(), 1);
    assert_eq!(f.record().await.status, MailStatus::Sent);
}

#[tokio::test]
async fn a_message_sealed_with_another_key_is_a_failed_attempt_not_a_crash() {
    let f = fixture(0).await;
    let foreign = Outbox::new(&[9; 32], MailTemplates::new(None).unwrap(), MailTheme::default()).unwrap();
    let vars = MailVars {
        issuer: "https://id.example.com".into(),
        tenant_name: "Example".into(),
        email: "ada@example.com".into(),
        ..MailVars::default()
    };
    let mail = foreign
        .compose(
            f.tenant.tenant_id,
            "default",
            MailKind::PasswordChanged,
            "ada@example.com",
            &vars,
            f.clock.now(),
        )
        .unwrap();
    f.store.queue_mail(&mail).await.unwrap();
    assert!(f.outbox.open(&mail).is_err());
    assert_eq!(f.dispatcher.deliver_due().await.unwrap(), 1);
    let record = f.record().await;
    assert_eq!((record.status, record.attempts), (MailStatus::Pending, 1));
    assert!(record.last_error.unwrap().contains("cannot be opened"));
    assert!(f.mailer.inner.sent().is_empty());
}

#[tokio::test]
async fn a_sealed_message_is_not_readable_in_the_store_and_opens_only_in_its_row() {
    let f = fixture(0).await;
    let mail = f.queue().await;
    let text = String::from_utf8_lossy(&mail.sealed_message);
    assert!(
        !text.contains("Example") && !text.contains("ada@"),
        "sealed: {text}"
    );
    let moved = tessera_store::OutgoingMail {
        mail_id: uuid::Uuid::now_v7(),
        ..mail.clone()
    };
    assert!(f.outbox.open(&moved).is_err(), "bound to its mail id");
    assert_eq!(f.outbox.open(&mail).unwrap().to, "ada@example.com");
}
