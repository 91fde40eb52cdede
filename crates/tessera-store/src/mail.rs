//! Models of outgoing mail (the outbox) and of the one-time tokens that
//! mail carries (email verification, password reset, sign-in by email).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A mail to queue in the outbox, in the same transaction as the change
/// that causes it. Its message (subject and bodies, which may hold a link
/// with a token) is sealed by the service before it reaches the store and
/// erased once the mail is sent or given up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// Primary key.
    pub mail_id: Uuid,
    /// Tenant the mail is sent for.
    pub tenant_id: Uuid,
    /// What kind of message it is (`verify_email`, `password_reset`, …).
    pub kind: String,
    /// Recipient address.
    pub recipient: String,
    /// The message, sealed (opaque to the store).
    pub sealed_message: Vec<u8>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// Where a mail is on its way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailStatus {
    /// Queued, or waiting for its next attempt.
    Pending,
    /// Handed to the mail server (or written as a file).
    Sent,
    /// Given up after the last attempt.
    Failed,
}

impl MailStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MailStatus::Pending => "pending",
            MailStatus::Sent => "sent",
            MailStatus::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<MailStatus> {
        match name {
            "pending" => Some(MailStatus::Pending),
            "sent" => Some(MailStatus::Sent),
            "failed" => Some(MailStatus::Failed),
            _ => None,
        }
    }
}

/// A mail's delivery record, as administrators see it (never its message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailRecord {
    /// Primary key.
    pub mail_id: Uuid,
    /// Tenant the mail is sent for.
    pub tenant_id: Uuid,
    /// Kind of message.
    pub kind: String,
    /// Recipient address.
    pub recipient: String,
    /// Delivery state.
    pub status: MailStatus,
    /// Attempts made so far.
    pub attempts: i32,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When the next attempt may start (while pending).
    pub next_attempt_at: DateTime<Utc>,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
}

/// A mail claimed by a worker for one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedMail {
    /// The mail as queued.
    pub mail: OutgoingMail,
    /// Attempts made before this one.
    pub attempts: i32,
}

/// Which delivery records to list: newest first, optionally of one status,
/// after a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailQuery {
    /// Only records in this state.
    pub status: Option<MailStatus>,
    /// Only records older than this one (`created_at`, `mail_id`).
    pub before: Option<(DateTime<Utc>, Uuid)>,
    /// At most this many.
    pub limit: u32,
}

/// What a one-time token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OneTimePurpose {
    /// Prove an email address (on registration, or a new address).
    VerifyEmail,
    /// Set a new password.
    ResetPassword,
    /// Sign in by a link or code sent by mail.
    SignIn,
}

impl OneTimePurpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OneTimePurpose::VerifyEmail => "verify_email",
            OneTimePurpose::ResetPassword => "reset_password",
            OneTimePurpose::SignIn => "sign_in",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<OneTimePurpose> {
        match name {
            "verify_email" => Some(OneTimePurpose::VerifyEmail),
            "reset_password" => Some(OneTimePurpose::ResetPassword),
            "sign_in" => Some(OneTimePurpose::SignIn),
            _ => None,
        }
    }
}

/// A mailed token: a link secret and a short code, both stored only as
/// hashes, usable once, before `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeToken {
    /// Primary key.
    pub token_id: Uuid,
    /// Tenant.
    pub tenant_id: Uuid,
    /// Whose token it is.
    pub user_id: Uuid,
    /// What it is for.
    pub purpose: OneTimePurpose,
    /// SHA-256 (hex) of the link secret; unique.
    pub token_hash: String,
    /// Keyed hash (hex) of the 6-digit code.
    pub code_hash: String,
    /// The address it was sent to (for a new address: the one it proves).
    pub email: String,
    /// Wrong codes entered so far (carried over from the tokens it
    /// replaced, so sending a new code does not reset the count).
    pub failed_attempts: i32,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was used, or replaced by a newer one.
    pub used_at: Option<DateTime<Utc>>,
}

/// What spending a one-time token changes, in the same transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenEffect<'a> {
    /// Nothing besides spending it (the caller opens a session).
    Nothing,
    /// The token's address becomes the user's verified email (`Conflict(Email)`
    /// when another account took it meanwhile).
    VerifyEmail,
    /// A new password hash; every session of the user is revoked with
    /// `reason`.
    SetPassword {
        /// The new hash.
        password_hash: &'a str,
        /// Why the sessions end.
        reason: &'a str,
    },
}
