//! Sessions and their refresh tokens.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;
use sqlx::{Executor, Postgres, Row};
use tessera_store::{RefreshToken, Session, SessionWithUser, StoreError, StoreResult};
use uuid::Uuid;

use crate::error::{conflict_on, map_err};
use crate::row::{self, list_json, ms, opt_ms, refresh_token_columns, session_columns};

/// Clears a user's failed-login count and lock (a successful login);
/// `NotFound` if the user is not in the tenant.
pub(crate) async fn clear_login_failures<'e, E>(
    executor: E,
    tenant_id: Uuid,
    user_id: Uuid,
) -> StoreResult<()>
where
    E: Executor<'e, Database = Postgres>,
{
    let updated = sqlx::query(
        "update user_account set failed_login_count = 0, locked_until = null \
         where tenant_id = $1 and user_id = $2",
    )
    .bind(tenant_id)
    .bind(user_id)
    .execute(executor)
    .await
    .map_err(map_err)?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Checks that `first_token` (if any) belongs to `session`.
pub(crate) fn check_first_token(session: &Session, first_token: Option<&RefreshToken>) -> StoreResult<()> {
    match first_token {
        Some(t) if t.session_id != session.session_id || t.tenant_id != session.tenant_id => Err(
            StoreError::Other("first refresh token must belong to the new session".to_owned()),
        ),
        _ => Ok(()),
    }
}

/// Inserts a session and its first refresh token (inside the caller's
/// transaction).
pub(crate) async fn insert_with_token(
    conn: &mut sqlx::PgConnection,
    session: &Session,
    first_token: Option<&RefreshToken>,
) -> StoreResult<()> {
    sqlx::query(concat!(
        "insert into session (",
        session_columns!(),
        ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    ))
    .bind(session.session_id)
    .bind(session.tenant_id)
    .bind(session.user_id)
    .bind(&session.ip)
    .bind(&session.user_agent)
    .bind(ms(session.created_at))
    .bind(ms(session.last_used_at))
    .bind(ms(session.expires_at))
    .bind(opt_ms(session.revoked_at))
    .bind(&session.revoke_reason)
    .bind(session.client_id)
    .bind(&session.scope)
    .bind(session.browser_session_id)
    .bind(ms(session.auth_time))
    .bind(list_json(&session.amr))
    .execute(&mut *conn)
    .await
    .map_err(conflict_on("session_id"))?;
    if let Some(token) = first_token {
        insert_refresh_token(&mut *conn, token).await?;
    }
    Ok(())
}

/// Inserts one refresh token (inside the caller's transaction).
async fn insert_refresh_token<'e, E>(executor: E, token: &RefreshToken) -> StoreResult<()>
where
    E: Executor<'e, Database = Postgres>,
{
    sqlx::query(concat!(
        "insert into refresh_token (",
        refresh_token_columns!(),
        ") values ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(&token.token_hash)
    .bind(token.tenant_id)
    .bind(token.session_id)
    .bind(&token.parent_hash)
    .bind(ms(token.created_at))
    .bind(ms(token.expires_at))
    .bind(opt_ms(token.used_at))
    .execute(executor)
    .await
    .map_err(conflict_on("token_hash"))?;
    Ok(())
}

/// Revokes the unrevoked sessions of a user except `keep`; returns their ids.
pub(crate) async fn revoke_sessions_of<'e, E>(
    executor: E,
    tenant_id: Uuid,
    user_id: Uuid,
    keep: Option<Uuid>,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Uuid>>
where
    E: Executor<'e, Database = Postgres>,
{
    let rows = sqlx::query(
        "update session set revoked_at = $5, revoke_reason = $4 \
         where tenant_id = $1 and user_id = $2 and revoked_at is null \
           and ($3 is null or session_id <> $3) \
         returning session_id",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(keep)
    .bind(reason)
    .bind(ms(now))
    .fetch_all(executor)
    .await
    .map_err(map_err)?;
    rows.iter().map(row::session_id).collect()
}

/// See [`tessera_store::Store::create_session`].
pub(crate) async fn create(
    pool: &PgPool,
    session: &Session,
    first_token: Option<&RefreshToken>,
) -> StoreResult<()> {
    check_first_token(session, first_token)?;
    let mut tx = pool.begin().await.map_err(map_err)?;
    // A successful login clears the failure bookkeeping; this also proves
    // the user exists in the session's tenant. An error rolls back (drop).
    clear_login_failures(&mut *tx, session.tenant_id, session.user_id).await?;
    insert_with_token(&mut tx, session, first_token).await?;
    tx.commit().await.map_err(map_err)
}

/// See [`tessera_store::Store::get_session_with_user`].
pub(crate) async fn get_with_user(
    pool: &PgPool,
    tenant_id: Uuid,
    session_id: Uuid,
) -> StoreResult<SessionWithUser> {
    let row = sqlx::query(
        "select s.session_id as s_session_id, s.tenant_id as s_tenant_id, \
            s.user_id as s_user_id, s.ip as s_ip, s.user_agent as s_user_agent, \
            s.created_at as s_created_at, s.last_used_at as s_last_used_at, \
            s.expires_at as s_expires_at, s.revoked_at as s_revoked_at, \
            s.revoke_reason as s_revoke_reason, s.client_id as s_client_id, \
            s.scope as s_scope, s.browser_session_id as s_browser_session_id, \
            s.auth_time as s_auth_time, s.amr as s_amr, \
            u.user_id, u.tenant_id, u.email, u.email_verified, u.username, \
            u.display_name, u.profile, u.status, u.password_hash, \
            u.failed_login_count, u.locked_until, u.created_at, u.updated_at, u.deleted_at \
         from session s join user_account u on u.user_id = s.user_id \
         where s.tenant_id = $1 and s.session_id = $2",
    )
    .bind(tenant_id)
    .bind(session_id)
    .fetch_one(pool)
    .await
    .map_err(map_err)?;
    Ok(SessionWithUser {
        session: row::session(&row, "s_")?,
        user: row::user(&row)?,
    })
}

/// See [`tessera_store::Store::list_active_sessions`].
pub(crate) async fn list_active(
    pool: &PgPool,
    tenant_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Session>> {
    let rows = sqlx::query(concat!(
        "select ",
        session_columns!(),
        " from session \
         where tenant_id = $1 and user_id = $2 and revoked_at is null and expires_at > $3 \
         order by created_at desc, session_id desc"
    ))
    .bind(tenant_id)
    .bind(user_id)
    .bind(ms(now))
    .fetch_all(pool)
    .await
    .map_err(map_err)?;
    rows.iter().map(|row| row::session(row, "")).collect()
}

/// See [`tessera_store::Store::revoke_session`].
pub(crate) async fn revoke(
    pool: &PgPool,
    tenant_id: Uuid,
    session_id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    // One statement: the first revocation's time and reason stay, and a
    // row count of zero means the session is not in this tenant.
    let updated = sqlx::query(
        "update session set \
            revoke_reason = case when revoked_at is null then $3 else revoke_reason end, \
            revoked_at = coalesce(revoked_at, $4) \
         where tenant_id = $1 and session_id = $2",
    )
    .bind(tenant_id)
    .bind(session_id)
    .bind(reason)
    .bind(ms(now))
    .execute(pool)
    .await
    .map_err(map_err)?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// See [`tessera_store::Store::get_refresh_token`].
pub(crate) async fn get_refresh_token(
    pool: &PgPool,
    tenant_id: Uuid,
    token_hash: &str,
) -> StoreResult<RefreshToken> {
    let row = sqlx::query(concat!(
        "select ",
        refresh_token_columns!(),
        " from refresh_token where tenant_id = $1 and token_hash = $2"
    ))
    .bind(tenant_id)
    .bind(token_hash)
    .fetch_one(pool)
    .await
    .map_err(map_err)?;
    row::refresh_token(&row)
}

/// See [`tessera_store::Store::rotate_refresh_token`].
pub(crate) async fn rotate_refresh_token(
    pool: &PgPool,
    tenant_id: Uuid,
    old_hash: &str,
    next: &RefreshToken,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    if next.tenant_id != tenant_id {
        return Err(StoreError::Other(
            "next refresh token must belong to the same tenant".to_owned(),
        ));
    }
    let mut tx = pool.begin().await.map_err(map_err)?;
    // Spending is the guard: of concurrent rotations only one finds
    // `used_at is null`.
    let spent = sqlx::query(
        "update refresh_token set used_at = $3 \
         where token_hash = $1 and tenant_id = $2 and used_at is null \
         returning session_id",
    )
    .bind(old_hash)
    .bind(tenant_id)
    .bind(ms(now))
    .fetch_optional(&mut *tx)
    .await
    .map_err(map_err)?;
    let Some(spent) = spent else {
        let exists = sqlx::query("select 1 from refresh_token where token_hash = $1 and tenant_id = $2")
            .bind(old_hash)
            .bind(tenant_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.rollback().await.map_err(map_err)?;
        return match exists {
            Some(_) => Ok(false),
            None => Err(StoreError::NotFound),
        };
    };
    let session_id: Uuid = spent.try_get("session_id").map_err(map_err)?;
    if session_id != next.session_id {
        tx.rollback().await.map_err(map_err)?;
        return Err(StoreError::Other(
            "next refresh token must belong to the session of the old one".to_owned(),
        ));
    }
    insert_refresh_token(&mut *tx, next).await?;
    sqlx::query("update session set last_used_at = $3 where tenant_id = $1 and session_id = $2")
        .bind(tenant_id)
        .bind(session_id)
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    tx.commit().await.map_err(map_err)?;
    Ok(true)
}
