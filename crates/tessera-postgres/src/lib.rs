//! PostgreSQL backend of the Tessera store: the scale-out choice, shared by
//! any number of stateless nodes.
//!
//! Times are truncated to the millisecond before they are written, so that
//! this backend and the SQLite one return the same values. Transactions run
//! at `read committed`: a refresh-token rotation is guarded by its
//! conditional `update … where used_at is null`, which PostgreSQL re-checks
//! after waiting for a concurrent writer of the same row.
#![forbid(unsafe_code)]

mod error;
mod row;
#[cfg(feature = "test-support")]
pub mod testing;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Executor, Postgres, Row};
use tessera_store::{
    Client, RefreshToken, Session, SessionWithUser, SigningKey, Store, StoreError, StoreResult, Tenant, User,
    UserProfileUpdate,
};
use uuid::Uuid;

use crate::error::{conflict_on, map_err, map_migrate_err};
use crate::row::{
    client_columns, list_json, ms, opt_ms, refresh_token_columns, session_columns, signing_key_columns,
    user_columns,
};

/// The migrations of this backend, embedded at compile time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a caller waits for a pooled connection (including opening a new
/// one) before the store reports itself unavailable: short, so that an
/// outage becomes a quick 503 rather than a hung request.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// [`Store`] on a PostgreSQL database.
///
/// The pool checks a connection before handing it out and replaces broken
/// ones, so the store recovers by itself when the database comes back.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects a pool of at most `max_connections` (at least one) to `url`
    /// (`postgres://user:password@host:5432/database`). Does not migrate:
    /// call [`Store::migrate`]. An unreachable server is `Unavailable`.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<PostgresStore> {
        // The parse error never contains the URL, which may hold a password.
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("invalid PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(true)
            .connect_with(options)
            .await
            .map_err(map_err)?;
        Ok(PostgresStore { pool })
    }

    /// Closes every connection; for a clean shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Names the field a failed `create_user` collided on, looking at what
    /// the tenant holds now.
    async fn user_conflict(&self, user: &User) -> StoreError {
        let field = sqlx::query(
            "select case \
                when exists (select 1 from user_account where tenant_id = $1 and email = $2) \
                    then 'email' \
                when exists (select 1 from user_account where tenant_id = $1 and username = $3) \
                    then 'username' \
                when exists (select 1 from user_account where user_id = $4) then 'user_id' \
                else 'unique' end as field",
        )
        .bind(user.tenant_id)
        .bind(&user.email)
        .bind(&user.username)
        .bind(user.user_id)
        .fetch_one(&self.pool)
        .await
        .and_then(|row| row.try_get::<String, _>("field"));
        match field {
            Ok(field) => StoreError::Conflict(field),
            Err(e) => map_err(e),
        }
    }
}

/// Revokes the unrevoked sessions of a user except `keep`; returns their ids.
async fn revoke_sessions_of<'e, E>(
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
    rows.iter()
        .map(|row| row.try_get("session_id").map_err(map_err))
        .collect()
}

#[async_trait]
impl Store for PostgresStore {
    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await.map_err(map_migrate_err)
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("select 1")
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn ensure_tenant(&self, slug: &str, name: &str, now: DateTime<Utc>) -> StoreResult<Tenant> {
        // Race-safe: a concurrent creator makes this insert a no-op.
        sqlx::query(
            "insert into tenant (tenant_id, slug, name, created_at) values ($1, $2, $3, $4) \
             on conflict (slug) do nothing",
        )
        .bind(Uuid::now_v7())
        .bind(slug)
        .bind(name)
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        self.get_tenant_by_slug(slug).await
    }

    async fn get_tenant_by_slug(&self, slug: &str) -> StoreResult<Tenant> {
        let row = sqlx::query("select tenant_id, slug, name, created_at from tenant where slug = $1")
            .bind(slug)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        row::tenant(&row)
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let result = sqlx::query(concat!(
            "insert into user_account (",
            user_columns!(),
            ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(user.user_id)
        .bind(user.tenant_id)
        .bind(&user.email)
        .bind(user.email_verified)
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(&user.profile)
        .bind(user.status.as_str())
        .bind(&user.password_hash)
        .bind(user.failed_login_count)
        .bind(opt_ms(user.locked_until))
        .bind(ms(user.created_at))
        .bind(ms(user.updated_at))
        .execute(&self.pool)
        .await;
        match result.map_err(map_err) {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(_)) => Err(self.user_conflict(user).await),
            Err(e) => Err(e),
        }
    }

    async fn get_user(&self, tenant_id: Uuid, user_id: Uuid) -> StoreResult<User> {
        let row = sqlx::query(concat!(
            "select ",
            user_columns!(),
            " from user_account where tenant_id = $1 and user_id = $2"
        ))
        .bind(tenant_id)
        .bind(user_id)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        row::user(&row)
    }

    async fn find_user_by_identifier(&self, tenant_id: Uuid, identifier: &str) -> StoreResult<User> {
        // Two index lookups; an email match wins over a username match so the
        // answer is deterministic.
        let row = sqlx::query(concat!(
            "select ",
            user_columns!(),
            ", 0 as preference from user_account where tenant_id = $1 and email = $2 \
             union all select ",
            user_columns!(),
            ", 1 as preference from user_account where tenant_id = $1 and username = $2 \
             order by preference limit 1"
        ))
        .bind(tenant_id)
        .bind(identifier)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        row::user(&row)
    }

    async fn update_user_profile(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        update: &UserProfileUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        let row = sqlx::query(concat!(
            "update user_account set \
                username = case when $3 then $4 else username end, \
                display_name = case when $5 then $6 else display_name end, \
                profile = coalesce($7, profile), \
                updated_at = $8 \
             where tenant_id = $1 and user_id = $2 \
             returning ",
            user_columns!()
        ))
        .bind(tenant_id)
        .bind(user_id)
        .bind(update.username.is_some())
        .bind(update.username.clone().flatten())
        .bind(update.display_name.is_some())
        .bind(update.display_name.clone().flatten())
        .bind(&update.profile)
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await
        .map_err(conflict_on("username"))?;
        row::user(&row)
    }

    async fn set_password_hash(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        password_hash: &str,
        keep_session: Option<Uuid>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let updated = sqlx::query(
            "update user_account set password_hash = $3, updated_at = $4 \
             where tenant_id = $1 and user_id = $2",
        )
        .bind(tenant_id)
        .bind(user_id)
        .bind(password_hash)
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if updated.rows_affected() == 0 {
            tx.rollback().await.map_err(map_err)?;
            return Err(StoreError::NotFound);
        }
        revoke_sessions_of(&mut *tx, tenant_id, user_id, keep_session, reason, now).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn record_login_failure(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        failed_login_count: i32,
        locked_until: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        let updated = sqlx::query(
            "update user_account set failed_login_count = $3, locked_until = $4 \
             where tenant_id = $1 and user_id = $2",
        )
        .bind(tenant_id)
        .bind(user_id)
        .bind(failed_login_count)
        .bind(opt_ms(locked_until))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn create_session(&self, session: &Session, first_token: &RefreshToken) -> StoreResult<()> {
        if first_token.session_id != session.session_id || first_token.tenant_id != session.tenant_id {
            return Err(StoreError::Other(
                "first refresh token must belong to the new session".to_owned(),
            ));
        }
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // A successful login clears the failure bookkeeping; this also proves
        // the user exists in the session's tenant.
        let updated = sqlx::query(
            "update user_account set failed_login_count = 0, locked_until = null \
             where tenant_id = $1 and user_id = $2",
        )
        .bind(session.tenant_id)
        .bind(session.user_id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if updated.rows_affected() == 0 {
            tx.rollback().await.map_err(map_err)?;
            return Err(StoreError::NotFound);
        }
        sqlx::query(concat!(
            "insert into session (",
            session_columns!(),
            ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
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
        .execute(&mut *tx)
        .await
        .map_err(conflict_on("session_id"))?;
        insert_refresh_token(&mut *tx, first_token).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn get_session_with_user(&self, tenant_id: Uuid, session_id: Uuid) -> StoreResult<SessionWithUser> {
        let row = sqlx::query(
            "select s.session_id as s_session_id, s.tenant_id as s_tenant_id, \
                s.user_id as s_user_id, s.ip as s_ip, s.user_agent as s_user_agent, \
                s.created_at as s_created_at, s.last_used_at as s_last_used_at, \
                s.expires_at as s_expires_at, s.revoked_at as s_revoked_at, \
                s.revoke_reason as s_revoke_reason, \
                u.user_id, u.tenant_id, u.email, u.email_verified, u.username, \
                u.display_name, u.profile, u.status, u.password_hash, \
                u.failed_login_count, u.locked_until, u.created_at, u.updated_at \
             from session s join user_account u on u.user_id = s.user_id \
             where s.tenant_id = $1 and s.session_id = $2",
        )
        .bind(tenant_id)
        .bind(session_id)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(SessionWithUser {
            session: row::session(&row, "s_")?,
            user: row::user(&row)?,
        })
    }

    async fn list_active_sessions(
        &self,
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
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(|row| row::session(row, "")).collect()
    }

    async fn revoke_session(
        &self,
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
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if updated.rows_affected() == 0 {
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
        revoke_sessions_of(&self.pool, tenant_id, user_id, keep_session, reason, now).await
    }

    async fn get_refresh_token(&self, tenant_id: Uuid, token_hash: &str) -> StoreResult<RefreshToken> {
        let row = sqlx::query(concat!(
            "select ",
            refresh_token_columns!(),
            " from refresh_token where tenant_id = $1 and token_hash = $2"
        ))
        .bind(tenant_id)
        .bind(token_hash)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        row::refresh_token(&row)
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
        let mut tx = self.pool.begin().await.map_err(map_err)?;
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

    async fn list_signing_keys(&self, tenant_id: Uuid) -> StoreResult<Vec<SigningKey>> {
        let rows = sqlx::query(concat!(
            "select ",
            signing_key_columns!(),
            " from signing_key where tenant_id = $1 order by created_at, kid"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(row::signing_key).collect()
    }

    async fn insert_signing_key(&self, key: &SigningKey) -> StoreResult<()> {
        sqlx::query(concat!(
            "insert into signing_key (",
            signing_key_columns!(),
            ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&key.kid)
        .bind(key.tenant_id)
        .bind(&key.alg)
        .bind(&key.public_jwk)
        .bind(&key.private_key_encrypted)
        .bind(key.state.as_str())
        .bind(ms(key.created_at))
        .bind(ms(key.activates_at))
        .bind(opt_ms(key.not_after))
        .execute(&self.pool)
        .await
        .map_err(conflict_on("kid"))?;
        Ok(())
    }

    async fn rotate_signing_key(&self, key: &SigningKey, retire_at: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // Serialises rotations of one tenant: otherwise a concurrent one
        // would not see (and so not retire) the key this one inserts.
        sqlx::query("select 1 from tenant where tenant_id = $1 for update")
            .bind(key.tenant_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(
            "update signing_key set state = 'retired', not_after = $3 \
             where tenant_id = $1 and alg = $2 and not_after is null",
        )
        .bind(key.tenant_id)
        .bind(&key.alg)
        .bind(ms(retire_at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query(concat!(
            "insert into signing_key (",
            signing_key_columns!(),
            ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&key.kid)
        .bind(key.tenant_id)
        .bind(&key.alg)
        .bind(&key.public_jwk)
        .bind(&key.private_key_encrypted)
        .bind(key.state.as_str())
        .bind(ms(key.created_at))
        .bind(ms(key.activates_at))
        .bind(opt_ms(key.not_after))
        .execute(&mut *tx)
        .await
        .map_err(conflict_on("kid"))?;
        tx.commit().await.map_err(map_err)
    }
    async fn create_client(&self, client: &Client) -> StoreResult<()> {
        sqlx::query(concat!(
            "insert into client (",
            client_columns!(),
            ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        ))
        .bind(client.client_id)
        .bind(client.tenant_id)
        .bind(&client.name)
        .bind(client.client_type.as_str())
        .bind(list_json(&client.redirect_uris))
        .bind(list_json(
            &client.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        ))
        .bind(list_json(&client.scopes))
        .bind(client.token_endpoint_auth_method.as_str())
        .bind(&client.jwks)
        .bind(client.first_party)
        .bind(client.access_token_ttl_secs)
        .bind(client.refresh_idle_ttl_secs)
        .bind(&client.secret_hash)
        .bind(&client.previous_secret_hash)
        .bind(ms(client.created_at))
        .bind(ms(client.updated_at))
        .execute(&self.pool)
        .await
        .map_err(conflict_on("client_id"))?;
        Ok(())
    }

    async fn get_client(&self, tenant_id: Uuid, client_id: Uuid) -> StoreResult<Client> {
        let row = sqlx::query(concat!(
            "select ",
            client_columns!(),
            " from client where tenant_id = $1 and client_id = $2"
        ))
        .bind(tenant_id)
        .bind(client_id)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        row::client(&row)
    }

    async fn list_clients(&self, tenant_id: Uuid) -> StoreResult<Vec<Client>> {
        let rows = sqlx::query(concat!(
            "select ",
            client_columns!(),
            " from client where tenant_id = $1 order by created_at, client_id"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(row::client).collect()
    }

    async fn rotate_client_secret(
        &self,
        tenant_id: Uuid,
        client_id: Uuid,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Client> {
        // Right-hand sides see the row as it was: the current secret becomes
        // the previous one. A concurrent rotation waits for the row lock and
        // then re-reads it, so each rotation shifts exactly once.
        let row = sqlx::query(concat!(
            "update client set previous_secret_hash = secret_hash, secret_hash = $3, \
                updated_at = $4 \
             where tenant_id = $1 and client_id = $2 \
             returning ",
            client_columns!()
        ))
        .bind(tenant_id)
        .bind(client_id)
        .bind(secret_hash)
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        row::client(&row)
    }

    async fn delete_client(&self, tenant_id: Uuid, client_id: Uuid) -> StoreResult<()> {
        let deleted = sqlx::query("delete from client where tenant_id = $1 and client_id = $2")
            .bind(tenant_id)
            .bind(client_id)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn revoke_access_token(
        &self,
        tenant_id: Uuid,
        jti: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "insert into revoked_access_token (tenant_id, jti, expires_at, revoked_at) \
             values ($1, $2, $3, $4) on conflict (tenant_id, jti) do nothing",
        )
        .bind(tenant_id)
        .bind(jti)
        .bind(ms(expires_at))
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn list_revoked_access_tokens(
        &self,
        tenant_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "select jti from revoked_access_token where tenant_id = $1 and expires_at > $2 order by jti",
        )
        .bind(tenant_id)
        .bind(ms(now))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| row.try_get::<String, _>("jti").map_err(map_err))
            .collect()
    }
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
