//! `/api/v1/admin/mail`: the outbox's delivery records.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_core::{AuthError, FieldViolation};
use tessera_store::{MailRecord, MailStatus};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::error::{ApiError, Problem};
use crate::extract::{AdminCaller, ApiQuery};
use crate::state::AppState;

/// Routes of the delivery records.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(crate::documented!(list_mail))
}

/// `?status=&limit=&cursor=` of the listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MailListQuery {
    /// `pending`, `sent` or `failed`.
    pub status: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A mail's delivery record (never its content: a mail may carry a link
/// that signs someone in).
#[derive(Debug, Serialize, ToSchema)]
pub struct MailRecordView {
    /// Id.
    pub id: Uuid,
    /// Kind of message (`verify_email`, `password_reset`, …).
    pub kind: String,
    /// Recipient.
    pub recipient: String,
    /// `pending` (queued or waiting to be retried), `sent` or `failed`
    /// (given up).
    #[schema(example = "failed")]
    pub status: &'static str,
    /// Attempts made.
    pub attempts: i32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When the next attempt may start (pending mail).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<MailRecord> for MailRecordView {
    fn from(record: MailRecord) -> Self {
        MailRecordView {
            id: record.mail_id,
            kind: record.kind,
            recipient: record.recipient,
            next_attempt_at: (record.status == MailStatus::Pending).then_some(record.next_attempt_at),
            status: record.status.as_str(),
            attempts: record.attempts,
            last_error: record.last_error,
            created_at: record.created_at,
            sent_at: record.sent_at,
        }
    }
}

/// One page of delivery records.
#[derive(Debug, Serialize, ToSchema)]
pub struct MailPageView {
    /// Newest first.
    pub items: Vec<MailRecordView>,
    /// Pass as `cursor` for the next (older) page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The tenant's outgoing mail and how its delivery went (`audit:read`).
#[utoipa::path(get, path = "/api/v1/admin/mail", tag = "admin", security(("bearer" = [])), params(MailListQuery),
    responses(
        (status = 200, body = MailPageView),
        (status = 422, description = "A status, limit or cursor value is invalid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_mail(
    State(state): State<AppState>,
    AdminCaller(caller): AdminCaller,
    ApiQuery(query): ApiQuery<MailListQuery>,
) -> Result<Json<MailPageView>, ApiError> {
    let limit = match query.limit.as_deref().map(str::parse::<u32>) {
        None => None,
        Some(Ok(limit)) => Some(limit),
        Some(Err(_)) => {
            return Err(AuthError::Validation(vec![FieldViolation {
                field: "limit",
                rule: "out_of_range",
                message: "a whole number between 1 and 200".into(),
            }])
            .into())
        }
    };
    let page = state
        .admin
        .list_mail(
            &caller.permit()?,
            query.status.as_deref(),
            limit,
            query.cursor.as_deref(),
        )
        .await?;
    Ok(Json(MailPageView {
        items: page.items.into_iter().map(MailRecordView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
