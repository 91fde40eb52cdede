//! Accounts as administrators see them: listing, status changes, soft
//! deletion and erasure.

use chrono::{DateTime, Utc};
use tessera_store::{
    KeepLastHolder, StoreError, StoreResult, User, UserCursor, UserQuery, UserSort, UserStatus,
};
use uuid::Uuid;

use crate::builder::SqlBuilder;
use crate::decode::{self, USER_COLUMNS};
use crate::engine::Exec;
use crate::role_assignment::guard_last_holder;
use crate::user::select_user;
use crate::{args, session};

/// See [`tessera_store::UserStore::list_users`].
pub(crate) async fn list(exec: &mut impl Exec, tenant_id: Uuid, query: &UserQuery) -> StoreResult<Vec<User>> {
    let pattern = |prefix: &str| format!("{}%", escape_like(prefix));
    let email_pattern = query.prefix.as_ref().map(|p| pattern(&p.email));
    let username_pattern = query
        .prefix
        .as_ref()
        .and_then(|p| p.username.as_deref().map(pattern));
    let mut sql = SqlBuilder::new(&format!("select {USER_COLUMNS} from user_account u"));
    sql.push(" where u.tenant_id = ").bind(tenant_id);
    if let Some(email_pattern) = &email_pattern {
        // `!` as the escape character: a backslash is itself an escape in
        // MySQL's string literals.
        sql.push(" and (u.email like ")
            .bind(email_pattern)
            .push(" escape '!'");
        if let Some(username_pattern) = &username_pattern {
            sql.push(" or u.username like ")
                .bind(username_pattern)
                .push(" escape '!'");
        }
        sql.push(")");
    }
    if let Some(status) = query.status {
        sql.push(" and u.status = ").bind(status.as_str());
    }
    sql.push(if query.deleted {
        " and u.deleted_at is not null"
    } else {
        " and u.deleted_at is null"
    });
    if let Some(role) = &query.role {
        sql.push(
            " and exists (select 1 from user_role r \
             where r.tenant_id = u.tenant_id and r.user_id = u.user_id and r.role_name = ",
        )
        .bind(role)
        .push(")");
    }
    if let Some(after) = query.created_after {
        sql.push(" and u.created_at >= ").bind(after);
    }
    if let Some(before) = query.created_before {
        sql.push(" and u.created_at < ").bind(before);
    }
    let (key, descending) = match query.sort {
        UserSort::CreatedAsc => ("u.created_at", false),
        UserSort::CreatedDesc => ("u.created_at", true),
        UserSort::EmailAsc => ("u.email", false),
        UserSort::EmailDesc => ("u.email", true),
    };
    let op = if descending { " < " } else { " > " };
    match &query.after {
        None => {}
        Some(UserCursor::Created(at, user_id)) => {
            sql.push(" and (u.created_at, u.user_id)").push(op).push("(");
            sql.bind(*at).push(", ").bind(*user_id).push(")");
        }
        Some(UserCursor::Email(email, user_id)) => {
            sql.push(" and (u.email, u.user_id)").push(op).push("(");
            sql.bind(email).push(", ").bind(*user_id).push(")");
        }
    }
    let direction = if descending { " desc" } else { "" };
    sql.push(" order by ").push(key).push(direction);
    sql.push(", u.user_id").push(direction).push(" limit ");
    sql.bind(i64::from(query.limit));
    let rows = exec.fetch_all(sql.sql(), sql.args()).await?;
    rows.iter().map(decode::user).collect()
}

/// Escapes the `like` wildcards (and the escape character `!` itself) so
/// that a prefix matches literally.
fn escape_like(prefix: &str) -> String {
    let mut escaped = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '!') {
            escaped.push('!');
        }
        escaped.push(c);
    }
    escaped
}

/// See [`tessera_store::UserStore::set_user_status`]; inside the caller's
/// transaction.
pub(crate) async fn set_status(
    tx: &mut impl Exec,
    tenant_id: Uuid,
    user_id: Uuid,
    status: UserStatus,
    revoke_sessions: Option<&str>,
    keep: Option<KeepLastHolder<'_>>,
    now: DateTime<Utc>,
) -> StoreResult<User> {
    // Reactivating never takes a holder away.
    if status != UserStatus::Active {
        guard_last_holder(tx, tenant_id, user_id, keep).await?;
    }
    let updated = tx
        .execute(
            "update user_account set status = $3, updated_at = $4, \
                deleted_at = case when $3 = 'active' then null else deleted_at end \
             where tenant_id = $1 and user_id = $2",
            &args![tenant_id, user_id, status.as_str(), now],
        )
        .await?;
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    if let Some(reason) = revoke_sessions {
        session::revoke_sessions_of(tx, tenant_id, user_id, None, reason, now).await?;
    }
    select_user(tx, tenant_id, user_id).await
}

/// See [`tessera_store::UserStore::soft_delete_user`]; inside the caller's
/// transaction.
pub(crate) async fn soft_delete(
    tx: &mut impl Exec,
    tenant_id: Uuid,
    user_id: Uuid,
    keep: Option<KeepLastHolder<'_>>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    guard_last_holder(tx, tenant_id, user_id, keep).await?;
    let updated = tx
        .execute(
            "update user_account set deleted_at = $3, updated_at = $3 \
             where tenant_id = $1 and user_id = $2",
            &args![tenant_id, user_id, now],
        )
        .await?;
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    session::revoke_sessions_of(tx, tenant_id, user_id, None, "deleted", now)
        .await
        .map(drop)
}

/// See [`tessera_store::UserStore::erase_user`]; inside the caller's
/// transaction.
pub(crate) async fn erase(
    tx: &mut impl Exec,
    tenant_id: Uuid,
    user_id: Uuid,
    keep: Option<KeepLastHolder<'_>>,
) -> StoreResult<()> {
    guard_last_holder(tx, tenant_id, user_id, keep).await?;
    // Sessions (and through them refresh tokens), browser sessions, consents
    // and role assignments go by `on delete cascade`. Codes are deleted
    // first: they also name a browser session without a cascade.
    tx.execute(
        "delete from authorization_code where tenant_id = $1 and user_id = $2",
        &args![tenant_id, user_id],
    )
    .await?;
    // Mail to the erased person goes too: its recipient is their address.
    tx.execute(
        "delete from mail_outbox where tenant_id = $1 and recipient = \
         (select email from user_account where tenant_id = $1 and user_id = $2)",
        &args![tenant_id, user_id],
    )
    .await?;
    let deleted = tx
        .execute(
            "delete from user_account where tenant_id = $1 and user_id = $2",
            &args![tenant_id, user_id],
        )
        .await?;
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
