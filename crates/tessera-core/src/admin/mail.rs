//! The outbox's delivery records, for administrators: what was sent, what
//! waits for a retry and what was given up — never a message's content.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use tessera_store::{MailQuery, MailRecord, MailStatus};
use uuid::Uuid;

use super::users::violation;
use super::AdminService;
use super::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::capability::{AuditRead, Permit};
use crate::error::{AuthError, AuthResult};

/// One page of delivery records, newest first.
#[derive(Debug, Clone)]
pub struct MailPage {
    /// The records of this page.
    pub items: Vec<MailRecord>,
    /// Pass as `cursor` for the next (older) page; `None` on the last one.
    pub next_cursor: Option<String>,
}

impl AdminService {
    /// The tenant's delivery records (`audit:read`: they are part of the
    /// tenant's trail), optionally of one `status` (`pending`, `sent`,
    /// `failed`), `limit` per page (1–200, default 50), after `cursor`.
    pub async fn list_mail(
        &self,
        _permit: &Permit<AuditRead>,
        status: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> AuthResult<MailPage> {
        let mut violations = Vec::new();
        let status = status.and_then(|raw| {
            let parsed = MailStatus::parse(raw);
            if parsed.is_none() {
                violations.push(violation(
                    "status",
                    "unknown_value",
                    "one of pending, sent, failed",
                ));
            }
            parsed
        });
        let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&limit) {
            violations.push(violation(
                "limit",
                "out_of_range",
                format!("between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        let before = cursor.and_then(|raw| {
            let decoded = decode_cursor(raw);
            if decoded.is_none() {
                violations.push(violation("cursor", "invalid", "not a cursor of this listing"));
            }
            decoded
        });
        if !violations.is_empty() {
            return Err(AuthError::Validation(violations));
        }
        let query = MailQuery {
            status,
            before,
            limit: limit + 1,
        };
        let mut items = self.ctx.accounts().list_mail(&query).await?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items
                .last()
                .map(|last| encode_cursor(last.created_at, last.mail_id))
        } else {
            None
        };
        Ok(MailPage { items, next_cursor })
    }
}

fn encode_cursor(created_at: DateTime<Utc>, mail_id: Uuid) -> String {
    B64.encode(format!("{}|{mail_id}", created_at.timestamp_millis()))
}

fn decode_cursor(raw: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let text = String::from_utf8(B64.decode(raw).ok()?).ok()?;
    let (millis, id) = text.split_once('|')?;
    let created_at = DateTime::from_timestamp_millis(millis.parse().ok()?)?;
    Some((created_at, id.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let at = DateTime::from_timestamp_millis(1_767_225_600_123).unwrap_or_default();
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(at, id)), Some((at, id)));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(decode_cursor(&B64.encode("12|x")), None);
    }
}
