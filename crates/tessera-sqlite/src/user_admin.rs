//! Accounts as administrators see them: creation with roles, listing,
//! status changes, soft deletion and erasure, and the guard that keeps a
//! tenant from losing its last active holder of a protected role.

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use sqlx::{QueryBuilder, Row, Sqlite};
use tessera_store::{
    KeepLastHolder, StoreError, StoreResult, User, UserCursor, UserProfileUpdate, UserQuery, UserSort,
    UserStatus,
};
use uuid::Uuid;

use crate::error::map_err;
use crate::row::{self, id, json_text, ms, opt_ms, user_columns};
use crate::{session, BEGIN_WRITE};

/// See [`tessera_store::Store::create_user`].
pub(crate) async fn create(
    writer: &SqlitePool,
    reader: &SqlitePool,
    user: &User,
    roles: &[String],
) -> StoreResult<()> {
    let mut tx = writer.begin_with(BEGIN_WRITE).await.map_err(map_err)?;
    let inserted = sqlx::query(concat!(
        "insert into user_account (",
        user_columns!(),
        ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(id(user.user_id))
    .bind(id(user.tenant_id))
    .bind(&user.email)
    .bind(user.email_verified)
    .bind(&user.username)
    .bind(&user.display_name)
    .bind(json_text(&user.profile)?)
    .bind(user.status.as_str())
    .bind(&user.password_hash)
    .bind(user.failed_login_count)
    .bind(opt_ms(user.locked_until))
    .bind(ms(user.created_at))
    .bind(ms(user.updated_at))
    .bind(opt_ms(user.deleted_at))
    .execute(&mut *tx)
    .await;
    match inserted.map_err(map_err) {
        Ok(_) => {}
        Err(StoreError::Conflict(_)) => {
            tx.rollback().await.map_err(map_err)?;
            return Err(user_conflict(reader, user).await);
        }
        Err(e) => return Err(e),
    }
    for role in roles {
        // An error drops (rolls back) the transaction: no user row stays.
        assign_role(&mut tx, user.tenant_id, user.user_id, role).await?;
    }
    tx.commit().await.map_err(map_err)
}

/// Names the field a failed `create_user` collided on, looking at what the
/// tenant holds now.
async fn user_conflict(reader: &SqlitePool, user: &User) -> StoreError {
    let field = sqlx::query(
        "select case \
            when exists (select 1 from user_account where tenant_id = $1 and email = $2) \
                then 'email' \
            when exists (select 1 from user_account where tenant_id = $1 and username = $3) \
                then 'username' \
            when exists (select 1 from user_account where user_id = $4) then 'user_id' \
            else 'unique' end as field",
    )
    .bind(id(user.tenant_id))
    .bind(&user.email)
    .bind(&user.username)
    .bind(id(user.user_id))
    .fetch_one(reader)
    .await
    .and_then(|row| row.try_get::<String, _>("field"));
    match field {
        Ok(field) => StoreError::Conflict(field),
        Err(e) => map_err(e),
    }
}

/// Names the field a failed profile update collided on: the new email if
/// another account of the tenant has it, else the username.
pub(crate) async fn profile_conflict(
    reader: &SqlitePool,
    tenant_id: Uuid,
    user_id: Uuid,
    update: &UserProfileUpdate,
) -> StoreError {
    let Some(email) = &update.email else {
        return StoreError::Conflict("username".to_owned());
    };
    let taken =
        sqlx::query("select 1 from user_account where tenant_id = $1 and email = $2 and user_id <> $3")
            .bind(id(tenant_id))
            .bind(email)
            .bind(id(user_id))
            .fetch_optional(reader)
            .await;
    match taken {
        Ok(Some(_)) => StoreError::Conflict("email".to_owned()),
        Ok(None) => StoreError::Conflict("username".to_owned()),
        Err(e) => map_err(e),
    }
}

/// Gives a user (of the tenant) a role (of the tenant), inside the caller's
/// transaction; already holding it is fine. `NotFound` if either is missing.
pub(crate) async fn assign_role(
    conn: &mut SqliteConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    role: &str,
) -> StoreResult<()> {
    let found = sqlx::query(
        "select exists (select 1 from user_account where tenant_id = $1 and user_id = $2) \
            and exists (select 1 from role where tenant_id = $1 and name = $3) as found",
    )
    .bind(id(tenant_id))
    .bind(id(user_id))
    .bind(role)
    .fetch_one(&mut *conn)
    .await
    .and_then(|row| row.try_get::<bool, _>("found"))
    .map_err(map_err)?;
    if !found {
        return Err(StoreError::NotFound);
    }
    sqlx::query(
        "insert into user_role (tenant_id, user_id, role_name) values ($1, $2, $3) \
         on conflict do nothing",
    )
    .bind(id(tenant_id))
    .bind(id(user_id))
    .bind(role)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Refuses with `Conflict("last_holder")` when `user_id` is the only active,
/// undeleted user of the tenant holding `keep.role` directly. Runs inside
/// the caller's write transaction, which `begin immediate` has made the
/// only writer, so two guarded writes cannot both pass on the same holders.
pub(crate) async fn guard_last_holder(
    conn: &mut SqliteConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    keep: Option<KeepLastHolder<'_>>,
) -> StoreResult<()> {
    let Some(keep) = keep else {
        return Ok(());
    };
    let row = sqlx::query(
        "select \
            exists (select 1 from user_role r join user_account u on u.user_id = r.user_id \
                    where r.tenant_id = $1 and r.role_name = $2 and r.user_id = $3 \
                      and u.status = 'active' and u.deleted_at is null) as holds, \
            (select count(*) from user_role r join user_account u on u.user_id = r.user_id \
             where r.tenant_id = $1 and r.role_name = $2 and r.user_id <> $3 \
               and u.status = 'active' and u.deleted_at is null) as others",
    )
    .bind(id(tenant_id))
    .bind(keep.role)
    .bind(id(user_id))
    .fetch_one(&mut *conn)
    .await
    .map_err(map_err)?;
    let holds: bool = row.try_get("holds").map_err(map_err)?;
    let others: i64 = row.try_get("others").map_err(map_err)?;
    if holds && others == 0 {
        return Err(StoreError::Conflict("last_holder".to_owned()));
    }
    Ok(())
}

/// Revokes every open login session and browser session of a user, inside
/// the caller's transaction.
async fn revoke_everything_of(
    conn: &mut SqliteConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    session::revoke_sessions_of(&mut *conn, tenant_id, user_id, None, reason, now).await?;
    sqlx::query(
        "update browser_session set revoked_at = $3 \
         where tenant_id = $1 and user_id = $2 and revoked_at is null",
    )
    .bind(id(tenant_id))
    .bind(id(user_id))
    .bind(ms(now))
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// See [`tessera_store::Store::list_users`].
pub(crate) async fn list(reader: &SqlitePool, tenant_id: Uuid, query: &UserQuery) -> StoreResult<Vec<User>> {
    let mut sql = QueryBuilder::<Sqlite>::new(concat!("select ", user_columns!(), " from user_account u"));
    sql.push(" where u.tenant_id = ").push_bind(id(tenant_id));
    if let Some(prefix) = &query.prefix {
        let pattern = format!("{}%", escape_like(prefix));
        sql.push(" and (u.email like ")
            .push_bind(pattern.clone())
            .push(" escape '\\' or u.username like ")
            .push_bind(pattern)
            .push(" escape '\\')");
    }
    if let Some(status) = query.status {
        sql.push(" and u.status = ").push_bind(status.as_str());
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
        .push_bind(role.clone())
        .push(")");
    }
    if let Some(after) = query.created_after {
        sql.push(" and u.created_at >= ").push_bind(ms(after));
    }
    if let Some(before) = query.created_before {
        sql.push(" and u.created_at < ").push_bind(ms(before));
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
            sql.push(" and (u.created_at, u.user_id)")
                .push(op)
                .push("(")
                .push_bind(ms(*at))
                .push(", ")
                .push_bind(id(*user_id))
                .push(")");
        }
        Some(UserCursor::Email(email, user_id)) => {
            sql.push(" and (u.email, u.user_id)")
                .push(op)
                .push("(")
                .push_bind(email.clone())
                .push(", ")
                .push_bind(id(*user_id))
                .push(")");
        }
    }
    let direction = if descending { " desc" } else { "" };
    sql.push(" order by ")
        .push(key)
        .push(direction)
        .push(", u.user_id")
        .push(direction)
        .push(" limit ")
        .push_bind(i64::from(query.limit));
    let rows = sql.build().fetch_all(reader).await.map_err(map_err)?;
    rows.iter().map(row::user).collect()
}

/// Escapes the `like` wildcards (and the escape character itself) so that
/// a prefix matches literally.
fn escape_like(prefix: &str) -> String {
    let mut escaped = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// See [`tessera_store::Store::set_user_status`].
pub(crate) async fn set_status(
    writer: &SqlitePool,
    tenant_id: Uuid,
    user_id: Uuid,
    status: UserStatus,
    revoke_sessions: Option<&str>,
    keep: Option<KeepLastHolder<'_>>,
    now: DateTime<Utc>,
) -> StoreResult<User> {
    let mut tx = writer.begin_with(BEGIN_WRITE).await.map_err(map_err)?;
    // Reactivating never takes a holder away.
    if status != UserStatus::Active {
        guard_last_holder(&mut tx, tenant_id, user_id, keep).await?;
    }
    let row = sqlx::query(concat!(
        "update user_account set status = $3, updated_at = $4, \
            deleted_at = case when $3 = 'active' then null else deleted_at end \
         where tenant_id = $1 and user_id = $2 \
         returning ",
        user_columns!()
    ))
    .bind(id(tenant_id))
    .bind(id(user_id))
    .bind(status.as_str())
    .bind(ms(now))
    .fetch_one(&mut *tx)
    .await
    .map_err(map_err)?;
    let user = row::user(&row)?;
    if let Some(reason) = revoke_sessions {
        revoke_everything_of(&mut tx, tenant_id, user_id, reason, now).await?;
    }
    tx.commit().await.map_err(map_err)?;
    Ok(user)
}

/// See [`tessera_store::Store::soft_delete_user`].
pub(crate) async fn soft_delete(
    writer: &SqlitePool,
    tenant_id: Uuid,
    user_id: Uuid,
    keep: Option<KeepLastHolder<'_>>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let mut tx = writer.begin_with(BEGIN_WRITE).await.map_err(map_err)?;
    guard_last_holder(&mut tx, tenant_id, user_id, keep).await?;
    let updated = sqlx::query(
        "update user_account set deleted_at = $3, updated_at = $3 \
         where tenant_id = $1 and user_id = $2",
    )
    .bind(id(tenant_id))
    .bind(id(user_id))
    .bind(ms(now))
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    revoke_everything_of(&mut tx, tenant_id, user_id, "deleted", now).await?;
    tx.commit().await.map_err(map_err)
}

/// See [`tessera_store::Store::erase_user`].
pub(crate) async fn erase(
    writer: &SqlitePool,
    tenant_id: Uuid,
    user_id: Uuid,
    keep: Option<KeepLastHolder<'_>>,
) -> StoreResult<()> {
    let mut tx = writer.begin_with(BEGIN_WRITE).await.map_err(map_err)?;
    guard_last_holder(&mut tx, tenant_id, user_id, keep).await?;
    // Sessions (and through them refresh tokens), browser sessions, consents
    // and role assignments go by `on delete cascade`. Codes are deleted
    // first: they also name a browser session without a cascade.
    sqlx::query("delete from authorization_code where tenant_id = $1 and user_id = $2")
        .bind(id(tenant_id))
        .bind(id(user_id))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    let deleted = sqlx::query("delete from user_account where tenant_id = $1 and user_id = $2")
        .bind(id(tenant_id))
        .bind(id(user_id))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    tx.commit().await.map_err(map_err)
}
