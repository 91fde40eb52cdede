//! Outgoing mail: how a message is composed (templates per kind, per
//! tenant), how it leaves (SMTP, or `.eml` files when no SMTP server is
//! configured) and the outbox that makes a message part of the change
//! that causes it.

pub mod compose;
pub mod outbox;
pub mod smtp;
pub mod templates;

pub use outbox::{MailDispatcher, Outbox};
pub use templates::{MailKind, MailTemplateError, MailTemplates, MailTheme, MailVars};
