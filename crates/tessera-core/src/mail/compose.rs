//! How a [`MailMessage`] becomes an RFC 5322 message: one function for
//! every transport (SMTP, the `.eml` directory), so that what an operator
//! reads in the outbox is byte for byte what a relay would have received.

use lettre::message::{Mailbox, MultiPart, SinglePart};

use crate::ports::{MailError, MailMessage};

/// The `From` of every message of an installation: a display name and an
/// address, checked once when the mailer is built rather than at each send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    mailbox: Mailbox,
}

impl Sender {
    /// `name <address>`; an empty `name` gives a bare address. Fails when
    /// `address` is not an email address (the message names it: it is
    /// configuration, not a secret).
    pub fn new(name: &str, address: &str) -> Result<Sender, MailError> {
        let parsed = address
            .parse()
            .map_err(|e| MailError(format!("sender address {address:?}: {e}")))?;
        let name = (!name.trim().is_empty()).then(|| name.to_string());
        Ok(Sender {
            mailbox: Mailbox::new(name, parsed),
        })
    }

    /// The address alone (`no-reply@example.com`).
    pub fn address(&self) -> String {
        self.mailbox.email.to_string()
    }
}

impl std::fmt::Display for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.mailbox.fmt(f)
    }
}

/// The message `sender` sends for `message`: `From`, `To`, `Subject`, a
/// `Date` (added by lettre, the time of composing), a `Message-ID` in the
/// sender's domain (RFC 5322 §3.6.4: relays and spam filters expect one,
/// and lettre does not add it), and the text body alone or, with HTML,
/// both as `multipart/alternative` (text first: RFC 2046 §5.1.4 puts the
/// preferred, richest part last).
pub(crate) fn compose(sender: &Sender, message: &MailMessage) -> Result<lettre::Message, MailError> {
    let to: Mailbox = message
        .to
        .parse()
        .map_err(|e| MailError(format!("recipient: {e}")))?;
    let message_id = format!(
        "<{}@{}>",
        uuid::Uuid::new_v4().simple(),
        sender.mailbox.email.domain()
    );
    let builder = lettre::Message::builder()
        .from(sender.mailbox.clone())
        .to(to)
        .subject(message.subject.clone())
        .message_id(Some(message_id));
    match &message.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            message.text.clone(),
            html.clone(),
        )),
        None => builder.singlepart(SinglePart::plain(message.text.clone())),
    }
    .map_err(|e| MailError(format!("cannot compose the message: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn message(html: Option<&str>) -> MailMessage {
        MailMessage {
            to: "Ada <ada@example.com>".into(),
            subject: "Welcome, Ada".into(),
            text: "Hello Ada".into(),
            html: html.map(String::from),
        }
    }

    fn formatted(sender: &Sender, message: &MailMessage) -> String {
        String::from_utf8(compose(sender, message).unwrap().formatted()).unwrap()
    }

    #[test]
    fn a_message_has_the_headers_relays_expect() {
        let sender = Sender::new("Tessera", "no-reply@id.example.com").unwrap();
        let text = formatted(&sender, &message(None));
        for header in [
            "From: Tessera <no-reply@id.example.com>\r\n",
            "To: Ada <ada@example.com>\r\n",
            "Subject: Welcome, Ada\r\n",
            "Date: ",
            "Content-Type: text/plain; charset=utf-8\r\n",
        ] {
            assert!(text.contains(header), "{header:?} missing:\n{text}");
        }
        let id = text
            .lines()
            .find_map(|line| line.strip_prefix("Message-ID: "))
            .unwrap();
        assert!(id.starts_with('<') && id.ends_with("@id.example.com>"), "{id}");
        let again = formatted(&sender, &message(None));
        assert!(!again.contains(id), "every message gets its own Message-ID");
        assert!(text.trim_end().ends_with("Hello Ada"), "{text}");
    }

    #[test]
    fn text_and_html_travel_as_alternatives_text_first() {
        let sender = Sender::new("", "no-reply@example.com").unwrap();
        let text = formatted(&sender, &message(Some("<p>Hello Ada</p>")));
        assert!(text.contains("From: no-reply@example.com\r\n"), "{text}");
        assert!(text.contains("Content-Type: multipart/alternative;"), "{text}");
        let plain = text.find("Content-Type: text/plain").unwrap();
        let html = text.find("Content-Type: text/html").unwrap();
        assert!(plain < html, "{text}");
        assert!(text.contains("<p>Hello Ada</p>"), "{text}");
    }

    #[test]
    fn a_line_break_in_the_subject_cannot_add_a_header() {
        let sender = Sender::new("Tessera", "no-reply@example.com").unwrap();
        let hostile = MailMessage {
            subject: "Hi\r\nBcc: mallory@example.net".into(),
            ..message(None)
        };
        let text = formatted(&sender, &hostile);
        assert!(!text.lines().any(|line| line.starts_with("Bcc:")), "{text}");
        let envelope = compose(&sender, &hostile).unwrap();
        let recipients = envelope.envelope().to();
        assert_eq!(recipients.len(), 1, "{recipients:?}");
    }

    #[test]
    fn bad_addresses_are_errors_naming_the_address() {
        let err = Sender::new("Tessera", "not an address").unwrap_err();
        assert!(err.to_string().contains("not an address"), "{err}");
        let sender = Sender::new("Tessera", "no-reply@example.com").unwrap();
        let bad = MailMessage {
            to: "nobody".into(),
            ..message(None)
        };
        assert!(compose(&sender, &bad).is_err());
    }
}
