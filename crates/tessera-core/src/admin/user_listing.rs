//! Listing users for administrators: filters, order and keyset
//! pagination with opaque cursors.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_store::{User, UserCursor, UserQuery, UserSort, UserStatus};
use uuid::Uuid;

use super::users::violation;
use super::AdminService;
use crate::capability::{Permit, UserRead};
use crate::error::{AuthError, AuthResult};
use crate::identity::search_prefix;

/// Default page size of a user listing.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page size.
pub const MAX_PAGE_SIZE: u32 = 200;

/// A listing request as the query string gives it (validated here).
#[derive(Debug, Clone, Default)]
pub struct UserListRequest {
    /// Email or username prefix.
    pub q: Option<String>,
    /// `active`, `suspended`, `disabled` or `deleted`.
    pub status: Option<String>,
    /// Only holders of this role.
    pub role: Option<String>,
    /// Created at or after.
    pub created_after: Option<DateTime<Utc>>,
    /// Created before.
    pub created_before: Option<DateTime<Utc>>,
    /// `created_at` (default), `-created_at`, `email`, `-email`.
    pub sort: Option<String>,
    /// Page size, 1..=200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of users.
#[derive(Debug, Clone)]
pub struct UserPage {
    /// The users of this page.
    pub items: Vec<User>,
    /// Pass as `cursor` for the next page; `None` on the last one.
    pub next_cursor: Option<String>,
}

/// The keyset cursor, serialised into an opaque string.
#[derive(Serialize, Deserialize)]
struct CursorToken {
    /// `c` (created_at) or `e` (email).
    k: char,
    /// Created-at of the last row (for `c`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<DateTime<Utc>>,
    /// Email of the last row (for `e`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<String>,
    /// Id of the last row.
    id: Uuid,
}

impl AdminService {
    /// Lists users with filters, order and cursor pagination.
    pub async fn list_users(
        &self,
        _permit: &Permit<UserRead>,
        request: UserListRequest,
    ) -> AuthResult<UserPage> {
        let (query, sort, limit) = user_query(request)?;
        let mut items = self.ctx.accounts().list_users(&query).await?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|last| encode_cursor(last, sort))
        } else {
            None
        };
        Ok(UserPage { items, next_cursor })
    }
}

/// The store query of a listing request (one row more than a page, to
/// learn whether another follows), its order and its page size; every
/// invalid parameter is reported at once.
fn user_query(request: UserListRequest) -> AuthResult<(UserQuery, UserSort, u32)> {
    let mut violations = Vec::new();
    let (status, deleted) = status_filter(request.status.as_deref(), &mut violations);
    let sort = match request.sort.as_deref() {
        None | Some("created_at") => UserSort::CreatedAsc,
        Some("-created_at") => UserSort::CreatedDesc,
        Some("email") => UserSort::EmailAsc,
        Some("-email") => UserSort::EmailDesc,
        Some(_) => {
            violations.push(violation(
                "sort",
                "unknown_value",
                "one of created_at, -created_at, email, -email",
            ));
            UserSort::CreatedAsc
        }
    };
    let limit = request.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        violations.push(violation(
            "limit",
            "out_of_range",
            format!("between 1 and {MAX_PAGE_SIZE}"),
        ));
    }
    let after = match request.cursor.as_deref() {
        None => None,
        Some(raw) => match decode_cursor(raw, sort) {
            Some(cursor) => Some(cursor),
            None => {
                violations.push(violation(
                    "cursor",
                    "invalid",
                    "not a cursor of this listing's sort order",
                ));
                None
            }
        },
    };
    if !violations.is_empty() {
        return Err(AuthError::Validation(violations));
    }
    let query = UserQuery {
        prefix: request.q.as_deref().and_then(search_prefix),
        status,
        deleted,
        role: request.role,
        created_after: request.created_after,
        created_before: request.created_before,
        sort,
        after,
        limit: limit + 1,
    };
    Ok((query, sort, limit))
}

/// Status filter: a user status, or `deleted` for the soft-deleted users.
fn status_filter(
    raw: Option<&str>,
    violations: &mut Vec<crate::error::FieldViolation>,
) -> (Option<UserStatus>, bool) {
    match raw {
        None => (None, false),
        Some("deleted") => (None, true),
        Some(other) => match UserStatus::parse(other) {
            Some(status) => (Some(status), false),
            None => {
                violations.push(violation(
                    "status",
                    "unknown_value",
                    "one of active, suspended, disabled, deleted",
                ));
                (None, false)
            }
        },
    }
}

fn encode_cursor(user: &User, sort: UserSort) -> String {
    let token = match sort {
        UserSort::CreatedAsc | UserSort::CreatedDesc => CursorToken {
            k: 'c',
            t: Some(user.created_at),
            e: None,
            id: user.user_id,
        },
        UserSort::EmailAsc | UserSort::EmailDesc => CursorToken {
            k: 'e',
            t: None,
            e: Some(user.email.clone()),
            id: user.user_id,
        },
    };
    B64.encode(serde_json::to_vec(&token).unwrap_or_default())
}

fn decode_cursor(raw: &str, sort: UserSort) -> Option<UserCursor> {
    let bytes = B64.decode(raw).ok()?;
    let token: CursorToken = serde_json::from_slice(&bytes).ok()?;
    match (sort, token.k) {
        (UserSort::CreatedAsc | UserSort::CreatedDesc, 'c') => Some(UserCursor::Created(token.t?, token.id)),
        (UserSort::EmailAsc | UserSort::EmailDesc, 'e') => Some(UserCursor::Email(token.e?, token.id)),
        _ => None,
    }
}
