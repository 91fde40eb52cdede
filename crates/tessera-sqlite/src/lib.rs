//! SQLite backend of the Tessera store: the embedded default, one file next
//! to one node.
//!
//! Ids are stored as hyphenated uuid text and times as unix milliseconds, so
//! that comparisons in SQL are correct and values round-trip exactly at
//! millisecond precision. Write transactions start with `begin immediate`:
//! they take the write lock up front and wait for it (`busy_timeout`) instead
//! of failing half-way when another connection wrote first.
#![forbid(unsafe_code)]

mod error;
mod row;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Executor, Row, Sqlite};
use tessera_store::{
    Client, RefreshToken, Session, SessionWithUser, SigningKey, Store, StoreError, StoreResult, Tenant, User,
    UserProfileUpdate,
};
use uuid::Uuid;

use crate::error::{conflict_on, map_err, map_migrate_err};
use crate::row::{
    client_columns, id, json_text, list_text, ms, opt_id, opt_ms, refresh_token_columns, session_columns,
    signing_key_columns, user_columns,
};

/// The migrations of this backend, embedded at compile time.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How long a statement waits for another connection's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a caller waits for a free pooled connection before the store
/// reports itself unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Reader connections of a file database; under WAL they proceed beside the
/// writer.
const READ_CONNECTIONS: u32 = 4;

/// Statement that starts every write transaction (see the crate docs).
const BEGIN_WRITE: &str = "begin immediate";

/// [`Store`] on a SQLite database file (or an in-memory database for tests).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Serves queries that only read.
    reader: SqlitePool,
    /// One connection for every write. SQLite admits one writer at a time;
    /// with several writing connections the losers wait in SQLite's busy
    /// handler, which sleeps in growing steps (1, 2, 5 … ms) and wrecks
    /// throughput and latency under load. Queuing writers on this pool
    /// instead hands the connection over in FIFO order without sleeping.
    writer: SqlitePool,
}

impl SqliteStore {
    /// Opens the database at `url` (`sqlite://path/to/tessera.db`, created
    /// if missing, or `sqlite::memory:`), with WAL, foreign keys,
    /// `synchronous=NORMAL` and a 5 s busy timeout. Does not migrate: call
    /// [`Store::migrate`].
    ///
    /// An in-memory database lives as long as its connections, so its pool
    /// holds exactly one connection, forever.
    pub async fn connect(url: &str) -> StoreResult<SqliteStore> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(format!("invalid SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Normal);
        if in_memory {
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await
                .map_err(map_err)?;
            return Ok(SqliteStore {
                reader: pool.clone(),
                writer: pool,
            });
        }
        // The writer connects first, so the file and its WAL exist before
        // readers open it.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(map_err)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(map_err)?;
        Ok(SqliteStore { reader, writer })
    }

    /// Closes every connection (checkpointing the WAL); for a clean shutdown.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
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
        .bind(id(user.tenant_id))
        .bind(&user.email)
        .bind(&user.username)
        .bind(id(user.user_id))
        .fetch_one(&self.reader)
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
    E: Executor<'e, Database = Sqlite>,
{
    let rows = sqlx::query(
        "update session set revoked_at = $5, revoke_reason = $4 \
         where tenant_id = $1 and user_id = $2 and revoked_at is null \
           and ($3 is null or session_id <> $3) \
         returning session_id",
    )
    .bind(id(tenant_id))
    .bind(id(user_id))
    .bind(opt_id(keep))
    .bind(reason)
    .bind(ms(now))
    .fetch_all(executor)
    .await
    .map_err(map_err)?;
    rows.iter()
        .map(|row| {
            let text: String = row.try_get("session_id").map_err(map_err)?;
            Uuid::parse_str(&text).map_err(|e| StoreError::Other(format!("session_id: {e}")))
        })
        .collect()
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.writer).await.map_err(map_migrate_err)
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("select 1")
            .execute(&self.reader)
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
        .bind(id(Uuid::now_v7()))
        .bind(slug)
        .bind(name)
        .bind(ms(now))
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        self.get_tenant_by_slug(slug).await
    }

    async fn get_tenant_by_slug(&self, slug: &str) -> StoreResult<Tenant> {
        let row = sqlx::query("select tenant_id, slug, name, created_at from tenant where slug = $1")
            .bind(slug)
            .fetch_one(&self.reader)
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
        .execute(&self.writer)
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
        .bind(id(tenant_id))
        .bind(id(user_id))
        .fetch_one(&self.reader)
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
        .bind(id(tenant_id))
        .bind(identifier)
        .fetch_one(&self.reader)
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
        let profile = update.profile.as_ref().map(json_text).transpose()?;
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
        .bind(id(tenant_id))
        .bind(id(user_id))
        .bind(update.username.is_some())
        .bind(update.username.clone().flatten())
        .bind(update.display_name.is_some())
        .bind(update.display_name.clone().flatten())
        .bind(profile)
        .bind(ms(now))
        .fetch_one(&self.writer)
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
        let mut tx = self.writer.begin_with(BEGIN_WRITE).await.map_err(map_err)?;
        let updated = sqlx::query(
            "update user_account set password_hash = $3, updated_at = $4 \
             where tenant_id = $1 and user_id = $2",
        )
        .bind(id(tenant_id))
        .bind(id(user_id))
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
        .bind(id(tenant_id))
        .bind(id(user_id))
        .bind(failed_login_count)
        .bind(opt_ms(locked_until))
        .execute(&self.writer)
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
        let mut tx = self.writer.begin_with(BEGIN_WRITE).await.map_err(map_err)?;
        // A successful login clears the failure bookkeeping; this also proves
        // the user exists in the session's tenant.
        let updated = sqlx::query(
            "update user_account set failed_login_count = 0, locked_until = null \
             where tenant_id = $1 and user_id = $2",
        )
        .bind(id(session.tenant_id))
        .bind(id(session.user_id))
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
        .bind(id(session.session_id))
        .bind(id(session.tenant_id))
        .bind(id(session.user_id))
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
        .bind(id(tenant_id))
        .bind(id(session_id))
        .fetch_one(&self.reader)
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
        .bind(id(tenant_id))
        .bind(id(user_id))
        .bind(ms(now))
        .fetch_all(&self.reader)
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
        .bind(id(tenant_id))
        .bind(id(session_id))
        .bind(reason)
        .bind(ms(now))
        .execute(&self.writer)
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
        revoke_sessions_of(&self.writer, tenant_id, user_id, keep_session, reason, now).await
    }

    async fn get_refresh_token(&self, tenant_id: Uuid, token_hash: &str) -> StoreResult<RefreshToken> {
        let row = sqlx::query(concat!(
            "select ",
            refresh_token_columns!(),
            " from refresh_token where tenant_id = $1 and token_hash = $2"
        ))
        .bind(id(tenant_id))
        .bind(token_hash)
        .fetch_one(&self.reader)
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
        // Two round trips to the writer thread instead of five: every hop to
        // that thread costs a wake-up, and the single writer bounds refresh
        // throughput. The first carries `begin immediate` and the three
        // statements; spending is the guard (of concurrent rotations only
        // one finds `used_at is null`) and each later statement runs only
        // if the one before it changed exactly one row (`changes()`), so the
        // last one returns a row exactly when all three happened. The second
        // commits or rolls back. This bypasses sqlx's `Transaction`, so every exit below ends
        // the transaction itself.
        let mut conn = self.writer.acquire().await.map_err(map_err)?;
        let spent = sqlx::query(concat!(
            "begin immediate; \
             update refresh_token set used_at = $3 \
             where token_hash = $1 and tenant_id = $2 and session_id = $4 and used_at is null; \
             insert into refresh_token (",
            refresh_token_columns!(),
            ") select $5, $2, $4, $6, $7, $8, null where changes() = 1; \
             update session set last_used_at = $3 \
             where tenant_id = $2 and session_id = $4 and changes() = 1 returning 1 as rotated;"
        ))
        .bind(old_hash)
        .bind(id(tenant_id))
        .bind(ms(now))
        .bind(id(next.session_id))
        .bind(&next.token_hash)
        .bind(&next.parent_hash)
        .bind(ms(next.created_at))
        .bind(ms(next.expires_at))
        .fetch_all(&mut *conn)
        .await;
        let rotated = match spent {
            Ok(rows) => !rows.is_empty(),
            Err(err) => {
                // Harmless when `begin` itself failed and no transaction is open.
                let _ = sqlx::query("rollback").execute(&mut *conn).await;
                return Err(conflict_on("token_hash")(err));
            }
        };
        if rotated {
            if let Err(err) = sqlx::query("commit").execute(&mut *conn).await {
                let _ = sqlx::query("rollback").execute(&mut *conn).await;
                return Err(map_err(err));
            }
            return Ok(true);
        }
        sqlx::query("rollback")
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
        // Not rotated: say why (rare path, so the extra query is fine).
        let old =
            sqlx::query("select session_id from refresh_token where token_hash = $1 and tenant_id = $2")
                .bind(old_hash)
                .bind(id(tenant_id))
                .fetch_optional(&mut *conn)
                .await
                .map_err(map_err)?;
        match old {
            None => Err(StoreError::NotFound),
            Some(row) => {
                let session_id: String = row.try_get("session_id").map_err(map_err)?;
                if session_id == id(next.session_id) {
                    Ok(false)
                } else {
                    Err(StoreError::Other(
                        "next refresh token must belong to the session of the old one".to_owned(),
                    ))
                }
            }
        }
    }

    async fn list_signing_keys(&self, tenant_id: Uuid) -> StoreResult<Vec<SigningKey>> {
        let rows = sqlx::query(concat!(
            "select ",
            signing_key_columns!(),
            " from signing_key where tenant_id = $1 order by created_at, kid"
        ))
        .bind(id(tenant_id))
        .fetch_all(&self.reader)
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
        .bind(id(key.tenant_id))
        .bind(&key.alg)
        .bind(json_text(&key.public_jwk)?)
        .bind(&key.private_key_encrypted)
        .bind(key.state.as_str())
        .bind(ms(key.created_at))
        .bind(ms(key.activates_at))
        .bind(opt_ms(key.not_after))
        .execute(&self.writer)
        .await
        .map_err(conflict_on("kid"))?;
        Ok(())
    }

    async fn rotate_signing_key(&self, key: &SigningKey, retire_at: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.writer.begin_with(BEGIN_WRITE).await.map_err(map_err)?;
        sqlx::query(
            "update signing_key set state = 'retired', not_after = $3 \
             where tenant_id = $1 and alg = $2 and not_after is null",
        )
        .bind(id(key.tenant_id))
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
        .bind(id(key.tenant_id))
        .bind(&key.alg)
        .bind(json_text(&key.public_jwk)?)
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
        .bind(id(client.client_id))
        .bind(id(client.tenant_id))
        .bind(&client.name)
        .bind(client.client_type.as_str())
        .bind(list_text(&client.redirect_uris)?)
        .bind(list_text(
            &client.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        )?)
        .bind(list_text(&client.scopes)?)
        .bind(client.token_endpoint_auth_method.as_str())
        .bind(client.jwks.as_ref().map(json_text).transpose()?)
        .bind(client.first_party)
        .bind(client.access_token_ttl_secs)
        .bind(client.refresh_idle_ttl_secs)
        .bind(&client.secret_hash)
        .bind(&client.previous_secret_hash)
        .bind(ms(client.created_at))
        .bind(ms(client.updated_at))
        .execute(&self.writer)
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
        .bind(id(tenant_id))
        .bind(id(client_id))
        .fetch_one(&self.reader)
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
        .bind(id(tenant_id))
        .fetch_all(&self.reader)
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
        // the previous one.
        let row = sqlx::query(concat!(
            "update client set previous_secret_hash = secret_hash, secret_hash = $3, \
                updated_at = $4 \
             where tenant_id = $1 and client_id = $2 \
             returning ",
            client_columns!()
        ))
        .bind(id(tenant_id))
        .bind(id(client_id))
        .bind(secret_hash)
        .bind(ms(now))
        .fetch_one(&self.writer)
        .await
        .map_err(map_err)?;
        row::client(&row)
    }

    async fn delete_client(&self, tenant_id: Uuid, client_id: Uuid) -> StoreResult<()> {
        let deleted = sqlx::query("delete from client where tenant_id = $1 and client_id = $2")
            .bind(id(tenant_id))
            .bind(id(client_id))
            .execute(&self.writer)
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
        .bind(id(tenant_id))
        .bind(jti)
        .bind(ms(expires_at))
        .bind(ms(now))
        .execute(&self.writer)
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
        .bind(id(tenant_id))
        .bind(ms(now))
        .fetch_all(&self.reader)
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
    E: Executor<'e, Database = Sqlite>,
{
    sqlx::query(concat!(
        "insert into refresh_token (",
        refresh_token_columns!(),
        ") values ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(&token.token_hash)
    .bind(id(token.tenant_id))
    .bind(id(token.session_id))
    .bind(&token.parent_hash)
    .bind(ms(token.created_at))
    .bind(ms(token.expires_at))
    .bind(opt_ms(token.used_at))
    .execute(executor)
    .await
    .map_err(conflict_on("token_hash"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// The connection settings promised by `connect` are in force on pooled
    /// connections.
    #[tokio::test]
    async fn connections_use_wal_foreign_keys_busy_timeout_and_normal_sync() {
        let path = std::env::temp_dir().join(format!("tessera-unit-{}.db", Uuid::new_v4()));
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("connect");
        let mut conn = store.reader.acquire().await.expect("acquire");
        let mut pragma = async |name: &str| -> String {
            let row = sqlx::query(&format!("pragma {name}"))
                .fetch_one(&mut *conn)
                .await
                .expect("pragma");
            row.try_get::<String, _>(0)
                .or_else(|_| row.try_get::<i64, _>(0).map(|v| v.to_string()))
                .expect("value")
        };
        assert_eq!(pragma("journal_mode").await, "wal");
        assert_eq!(pragma("foreign_keys").await, "1");
        assert_eq!(pragma("busy_timeout").await, "5000");
        assert_eq!(pragma("synchronous").await, "1"); // NORMAL
        drop(conn);
        store.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
