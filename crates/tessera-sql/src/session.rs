//! Sessions and their refresh tokens.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tessera_store::{
    Conflict, RefreshToken, Session, SessionStore, SessionWithUser, StoreError, StoreResult,
};
use uuid::Uuid;

use crate::builder::SqlBuilder;
use crate::decode::{self, REFRESH_TOKEN_COLUMNS, SESSION_COLUMNS};
use crate::engine::{Engine, Exec, SqlRow, Transaction};
use crate::{args, SqlStore};

/// Clears a user's failed-login count and lock (a successful login);
/// `NotFound` if the user is not in the tenant.
pub(crate) async fn clear_login_failures(
    exec: &mut impl Exec,
    tenant_id: Uuid,
    user_id: Uuid,
) -> StoreResult<()> {
    let updated = exec
        .execute(
            "update user_account set failed_login_count = 0, locked_until = null \
             where tenant_id = $1 and user_id = $2",
            &args![tenant_id, user_id],
        )
        .await?;
    if updated == 0 {
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
    tx: &mut impl Exec,
    session: &Session,
    first_token: Option<&RefreshToken>,
) -> StoreResult<()> {
    let sql = format!(
        "insert into session ({SESSION_COLUMNS}) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    );
    tx.execute(
        &sql,
        &args![
            session.session_id,
            session.tenant_id,
            session.user_id,
            &session.ip,
            &session.user_agent,
            session.created_at,
            session.last_used_at,
            session.expires_at,
            session.revoked_at,
            &session.revoke_reason,
            session.client_id,
            &session.scope,
            session.browser_session_id,
            session.auth_time,
            &session.amr,
            &session.resource
        ],
    )
    .await
    .map_err(|e| e.on(Conflict::SessionId))?;
    if let Some(token) = first_token {
        insert_refresh_token(tx, token).await?;
    }
    Ok(())
}

/// Inserts one refresh token (inside the caller's transaction).
async fn insert_refresh_token(tx: &mut impl Exec, token: &RefreshToken) -> StoreResult<()> {
    let sql =
        format!("insert into refresh_token ({REFRESH_TOKEN_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7)");
    tx.execute(
        &sql,
        &args![
            &token.token_hash,
            token.tenant_id,
            token.session_id,
            &token.parent_hash,
            token.created_at,
            token.expires_at,
            token.used_at
        ],
    )
    .await
    .map_err(|e| e.on(Conflict::TokenHash))?;
    Ok(())
}

/// Revokes, inside the caller's transaction, the unrevoked sessions that
/// `select` (a `select session_id …` with `args`) finds; returns their ids.
/// The rows are locked first and then revoked by id, so exactly the sessions
/// returned are the ones revoked, on every engine (MariaDB has no
/// `update … returning`).
pub(crate) async fn revoke_found_sessions(
    tx: &mut impl Exec,
    tenant_id: Uuid,
    select: &str,
    args: &[crate::Arg<'_>],
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Uuid>> {
    tx.lock(select, args).await?;
    let ids = tx
        .fetch_all(select, args)
        .await?
        .iter()
        .map(|row| row.id("session_id"))
        .collect::<StoreResult<Vec<Uuid>>>()?;
    // Bounded statements, well below every engine's parameter limit.
    for chunk in ids.chunks(500) {
        let mut update = SqlBuilder::new("update session set revoked_at = ");
        update.bind(now).push(", revoke_reason = ").bind(reason);
        update.push(" where tenant_id = ").bind(tenant_id);
        update
            .push(" and revoked_at is null and session_id in ")
            .bind_list(chunk);
        tx.execute(update.sql(), update.args()).await?;
    }
    Ok(ids)
}

/// Revokes the unrevoked sessions of a user except `keep`, and ends their
/// browser (single sign-on) sessions except the one `keep` was granted
/// from: a password change, logout-all or force-logout must also stop an
/// old SSO cookie from minting new codes. Returns the revoked session ids.
pub(crate) async fn revoke_sessions_of(
    tx: &mut impl Exec,
    tenant_id: Uuid,
    user_id: Uuid,
    keep: Option<Uuid>,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Uuid>> {
    tx.execute(
        "update browser_session set revoked_at = $3 \
         where tenant_id = $1 and user_id = $2 and revoked_at is null \
           and browser_session_id not in ( \
               select s.browser_session_id from session s \
               where s.tenant_id = $1 and s.session_id = $4 and s.browser_session_id is not null)",
        &args![tenant_id, user_id, now, keep],
    )
    .await?;
    revoke_found_sessions(
        tx,
        tenant_id,
        "select session_id from session \
         where tenant_id = $1 and user_id = $2 and revoked_at is null \
           and ($3 is null or session_id <> $3) \
         order by session_id",
        &args![tenant_id, user_id, keep],
        reason,
        now,
    )
    .await
}

/// The portable refresh rotation, in one transaction: see
/// [`Engine::rotate_refresh_token`].
pub(crate) async fn rotate_in_transaction<E: Engine + ?Sized>(
    engine: &E,
    tenant_id: Uuid,
    old_hash: &str,
    next: &RefreshToken,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let mut tx = engine.begin().await?;
    // Spending is the guard: of concurrent rotations only one finds
    // `used_at is null` (every engine re-checks the row after waiting for
    // a concurrent writer of it).
    let spent = tx
        .execute(
            "update refresh_token set used_at = $3 \
             where token_hash = $1 and tenant_id = $2 and session_id = $4 and used_at is null",
            &args![old_hash, tenant_id, now, next.session_id],
        )
        .await?;
    if spent != 1 {
        return Ok(false);
    }
    insert_refresh_token(&mut tx, next).await?;
    tx.execute(
        "update session set last_used_at = $3 where tenant_id = $1 and session_id = $2",
        &args![tenant_id, next.session_id, now],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Why a rotation changed nothing (rare path): the token is unknown
/// (`NotFound`), spent (`false`), or of another session than `next`.
async fn why_not_rotated(
    exec: &mut impl Exec,
    tenant_id: Uuid,
    old_hash: &str,
    next: &RefreshToken,
) -> StoreResult<bool> {
    let old = exec
        .fetch_optional(
            "select session_id from refresh_token where token_hash = $1 and tenant_id = $2",
            &args![old_hash, tenant_id],
        )
        .await?;
    match old {
        None => Err(StoreError::NotFound),
        Some(row) if row.id("session_id")? == next.session_id => Ok(false),
        Some(_) => Err(StoreError::Other(
            "next refresh token must belong to the session of the old one".to_owned(),
        )),
    }
}

#[async_trait]
impl<E: Engine> SessionStore for SqlStore<E> {
    async fn create_session(&self, session: &Session, first_token: Option<&RefreshToken>) -> StoreResult<()> {
        check_first_token(session, first_token)?;
        let mut tx = self.engine.begin().await?;
        // A successful login clears the failure bookkeeping; this also proves
        // the user exists in the session's tenant. An error rolls back (drop).
        clear_login_failures(&mut tx, session.tenant_id, session.user_id).await?;
        insert_with_token(&mut tx, session, first_token).await?;
        tx.commit().await
    }

    async fn get_session_with_user(&self, tenant_id: Uuid, session_id: Uuid) -> StoreResult<SessionWithUser> {
        let row = self
            .engine
            .reader()
            .fetch_one(
                "select s.session_id as s_session_id, s.tenant_id as s_tenant_id, \
                    s.user_id as s_user_id, s.ip as s_ip, s.user_agent as s_user_agent, \
                    s.created_at as s_created_at, s.last_used_at as s_last_used_at, \
                    s.expires_at as s_expires_at, s.revoked_at as s_revoked_at, \
                    s.revoke_reason as s_revoke_reason, s.client_id as s_client_id, \
                    s.scope as s_scope, s.browser_session_id as s_browser_session_id, \
                    s.auth_time as s_auth_time, s.amr as s_amr, s.resource as s_resource, \
                    u.user_id, u.tenant_id, u.email, u.email_verified, u.username, \
                    u.display_name, u.profile, u.status, u.password_hash, \
                    u.failed_login_count, u.locked_until, u.created_at, u.updated_at, u.deleted_at \
                 from session s join user_account u on u.user_id = s.user_id \
                 where s.tenant_id = $1 and s.session_id = $2",
                &args![tenant_id, session_id],
            )
            .await?;
        Ok(SessionWithUser {
            session: decode::session(&row, "s_")?,
            user: decode::user(&row)?,
        })
    }

    async fn list_active_sessions(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Session>> {
        let sql = format!(
            "select {SESSION_COLUMNS} from session \
             where tenant_id = $1 and user_id = $2 and revoked_at is null and expires_at > $3 \
             order by created_at desc, session_id desc"
        );
        let rows = self
            .engine
            .reader()
            .fetch_all(&sql, &args![tenant_id, user_id, now])
            .await?;
        rows.iter().map(|row| decode::session(row, "")).collect()
    }

    async fn revoke_session(
        &self,
        tenant_id: Uuid,
        session_id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        // One statement: the first revocation's time and reason stay, and a
        // row count of zero means the session is not in this tenant. (The
        // reason is assigned first: MariaDB evaluates assignments in order.)
        let updated = self
            .engine
            .writer()
            .execute(
                "update session set \
                    revoke_reason = case when revoked_at is null then $3 else revoke_reason end, \
                    revoked_at = coalesce(revoked_at, $4) \
                 where tenant_id = $1 and session_id = $2",
                &args![tenant_id, session_id, reason, now],
            )
            .await?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn revoke_user_sessions(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        keep_session: Option<Uuid>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>> {
        let mut tx = self.engine.begin().await?;
        let revoked = revoke_sessions_of(&mut tx, tenant_id, user_id, keep_session, reason, now).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    async fn get_refresh_token(&self, tenant_id: Uuid, token_hash: &str) -> StoreResult<RefreshToken> {
        let sql = format!(
            "select {REFRESH_TOKEN_COLUMNS} from refresh_token where tenant_id = $1 and token_hash = $2"
        );
        decode::refresh_token(
            &self
                .engine
                .reader()
                .fetch_one(&sql, &args![tenant_id, token_hash])
                .await?,
        )
    }

    async fn rotate_refresh_token(
        &self,
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
        if self
            .engine
            .rotate_refresh_token(tenant_id, old_hash, next, now)
            .await?
        {
            return Ok(true);
        }
        why_not_rotated(&mut self.engine.reader(), tenant_id, old_hash, next).await
    }
}
