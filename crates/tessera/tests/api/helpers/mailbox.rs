//! Reading what the server mailed: the outbox's worker hands each message
//! to the test's `MemoryMailer` moments after the change that queued it.

use std::time::Duration;

use tessera_core::MailMessage;

use super::TestApp;

/// How long a test waits for the outbox's worker to deliver.
const DELIVERY_WAIT: Duration = Duration::from_secs(10);

impl TestApp {
    /// Waits until `n` messages to `to` have been sent; returns them, oldest
    /// first.
    pub async fn mail_to(&self, to: &str, n: usize) -> Vec<MailMessage> {
        let deadline = tokio::time::Instant::now() + DELIVERY_WAIT;
        loop {
            let sent: Vec<MailMessage> = self.mail.sent().into_iter().filter(|m| m.to == to).collect();
            if sent.len() >= n {
                return sent;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {n} mail(s) to {to}, got {}: {:?}",
                sent.len(),
                sent.iter().map(|m| &m.subject).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The newest of `n` messages to `to` (waiting for it).
    pub async fn nth_mail_to(&self, to: &str, n: usize) -> MailMessage {
        self.mail_to(to, n).await.swap_remove(n - 1)
    }

    /// How many messages went to `to` so far (no waiting).
    pub fn mail_count(&self, to: &str) -> usize {
        self.mail.sent().iter().filter(|m| m.to == to).count()
    }
}

/// The `token` of the mailed link to `path` (`verify-email`, …).
pub fn link_token(mail: &MailMessage, path: &str) -> String {
    let marker = format!("/{path}?token=");
    let start = mail
        .text
        .find(&marker)
        .unwrap_or_else(|| panic!("no /{path} link in {:?}", mail.text))
        + marker.len();
    mail.text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// The mailed link itself.
pub fn link(mail: &MailMessage, path: &str) -> String {
    let token = link_token(mail, path);
    let end = mail.text.find(&token).expect("token in text") + token.len();
    let start = mail.text[..end].rfind("http").expect("link starts with http");
    mail.text[start..end].to_string()
}

/// The 6-digit code in a mail.
pub fn mailed_code(mail: &MailMessage) -> String {
    mail.text
        .split_whitespace()
        .find(|word| word.len() == 6 && word.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in {:?}", mail.text))
        .to_string()
}
