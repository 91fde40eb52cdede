//! SQLite backend of the Tessera store: the embedded default, one file next
//! to one node.
//!
//! Ids are stored as hyphenated uuid text and times as unix milliseconds, so
//! that comparisons in SQL are correct and values round-trip exactly at
//! millisecond precision. Write transactions start with `begin immediate`:
//! they take the write lock up front and wait for it (`busy_timeout`) instead
//! of failing half-way when another connection wrote first.
#![forbid(unsafe_code)]

mod authorization_code;
mod browser_session;
mod client;
mod client_assertion;
mod consent;
mod error;
mod housekeeping;
mod rbac;
mod row;
mod session;
mod signing_key;
mod tenant;
mod user_admin;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Row;
use tessera_store::{
    AuthorizationCode, BrowserSession, Client, CodeRedemption, Consent, KeepLastHolder, Permission,
    PurgeCounts, RefreshToken, Role, RoleUpdate, Session, SessionWithUser, SigningKey, Store, StoreError,
    StoreResult, Tenant, User, UserProfileUpdate, UserQuery, UserStatus,
};
use uuid::Uuid;

use crate::error::{map_err, map_migrate_err};
use crate::row::{id, json_text, ms, opt_ms, user_columns};

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
pub(crate) const BEGIN_WRITE: &str = "begin immediate";

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
        tenant::ensure(&self.writer, &self.reader, slug, name, now).await
    }

    async fn get_tenant_by_slug(&self, slug: &str) -> StoreResult<Tenant> {
        tenant::get_by_slug(&self.reader, slug).await
    }

    async fn create_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        tenant::create(&self.writer, tenant).await
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        tenant::list(&self.reader).await
    }

    async fn update_tenant(
        &self,
        slug: &str,
        name: Option<&str>,
        disabled_at: Option<Option<DateTime<Utc>>>,
    ) -> StoreResult<Tenant> {
        tenant::update(&self.writer, slug, name, disabled_at).await
    }

    async fn create_user(&self, user: &User, roles: &[String]) -> StoreResult<()> {
        user_admin::create(&self.writer, &self.reader, user, roles).await
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
                updated_at = $8, \
                email = coalesce($9, email), \
                email_verified = coalesce($10, email_verified) \
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
        .bind(&update.email)
        .bind(update.email_verified)
        .fetch_one(&self.writer)
        .await;
        match row.map_err(map_err) {
            Ok(row) => row::user(&row),
            Err(StoreError::Conflict(_)) => {
                Err(user_admin::profile_conflict(&self.reader, tenant_id, user_id, update).await)
            }
            Err(e) => Err(e),
        }
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
        session::revoke_sessions_of(&mut *tx, tenant_id, user_id, keep_session, reason, now).await?;
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

    async fn create_session(&self, session: &Session, first_token: Option<&RefreshToken>) -> StoreResult<()> {
        session::create(&self.writer, session, first_token).await
    }

    async fn get_session_with_user(&self, tenant_id: Uuid, session_id: Uuid) -> StoreResult<SessionWithUser> {
        session::get_with_user(&self.reader, tenant_id, session_id).await
    }

    async fn list_active_sessions(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Session>> {
        session::list_active(&self.reader, tenant_id, user_id, now).await
    }

    async fn revoke_session(
        &self,
        tenant_id: Uuid,
        session_id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        session::revoke(&self.writer, tenant_id, session_id, reason, now).await
    }

    async fn revoke_user_sessions(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        keep_session: Option<Uuid>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>> {
        session::revoke_sessions_of(&self.writer, tenant_id, user_id, keep_session, reason, now).await
    }

    async fn get_refresh_token(&self, tenant_id: Uuid, token_hash: &str) -> StoreResult<RefreshToken> {
        session::get_refresh_token(&self.reader, tenant_id, token_hash).await
    }

    async fn rotate_refresh_token(
        &self,
        tenant_id: Uuid,
        old_hash: &str,
        next: &RefreshToken,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        session::rotate_refresh_token(&self.writer, tenant_id, old_hash, next, now).await
    }

    async fn list_signing_keys(&self, tenant_id: Uuid) -> StoreResult<Vec<SigningKey>> {
        signing_key::list(&self.reader, tenant_id).await
    }

    async fn insert_signing_key(&self, key: &SigningKey) -> StoreResult<()> {
        signing_key::insert(&self.writer, key).await
    }

    async fn rotate_signing_key(&self, key: &SigningKey, retire_at: DateTime<Utc>) -> StoreResult<()> {
        signing_key::rotate(&self.writer, key, retire_at).await
    }

    async fn create_client(&self, client: &Client) -> StoreResult<()> {
        client::create(&self.writer, client).await
    }

    async fn get_client(&self, tenant_id: Uuid, client_id: Uuid) -> StoreResult<Client> {
        client::get(&self.reader, tenant_id, client_id).await
    }

    async fn list_clients(&self, tenant_id: Uuid) -> StoreResult<Vec<Client>> {
        client::list(&self.reader, tenant_id).await
    }

    async fn rotate_client_secret(
        &self,
        tenant_id: Uuid,
        client_id: Uuid,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Client> {
        client::rotate_secret(&self.writer, tenant_id, client_id, secret_hash, now).await
    }

    async fn delete_client(&self, tenant_id: Uuid, client_id: Uuid) -> StoreResult<()> {
        client::delete(&self.writer, tenant_id, client_id).await
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

    async fn record_client_assertion(
        &self,
        tenant_id: Uuid,
        client_id: Uuid,
        jti: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        client_assertion::record(&self.writer, tenant_id, client_id, jti, expires_at).await
    }

    async fn create_browser_session(&self, session: &BrowserSession) -> StoreResult<()> {
        browser_session::create(&self.writer, session).await
    }

    async fn get_browser_session(&self, tenant_id: Uuid, token_hash: &str) -> StoreResult<BrowserSession> {
        browser_session::get_by_token_hash(&self.reader, tenant_id, token_hash).await
    }

    async fn get_browser_session_by_id(
        &self,
        tenant_id: Uuid,
        browser_session_id: Uuid,
    ) -> StoreResult<BrowserSession> {
        browser_session::get_by_id(&self.reader, tenant_id, browser_session_id).await
    }

    async fn end_browser_session(
        &self,
        tenant_id: Uuid,
        browser_session_id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>> {
        browser_session::end(&self.writer, tenant_id, browser_session_id, reason, now).await
    }

    async fn insert_authorization_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        authorization_code::insert(&self.writer, code).await
    }

    async fn get_authorization_code(
        &self,
        tenant_id: Uuid,
        code_hash: &str,
    ) -> StoreResult<AuthorizationCode> {
        authorization_code::get(&self.reader, tenant_id, code_hash).await
    }

    async fn redeem_authorization_code(
        &self,
        tenant_id: Uuid,
        code_hash: &str,
        session: &Session,
        first_token: Option<&RefreshToken>,
        now: DateTime<Utc>,
    ) -> StoreResult<CodeRedemption> {
        authorization_code::redeem(&self.writer, tenant_id, code_hash, session, first_token, now).await
    }

    async fn get_consent(&self, tenant_id: Uuid, user_id: Uuid, client_id: Uuid) -> StoreResult<Consent> {
        consent::get(&self.reader, tenant_id, user_id, client_id).await
    }

    async fn upsert_consent(&self, consent: &Consent) -> StoreResult<()> {
        consent::upsert(&self.writer, consent).await
    }

    async fn list_consents(&self, tenant_id: Uuid, user_id: Uuid) -> StoreResult<Vec<Consent>> {
        consent::list(&self.reader, tenant_id, user_id).await
    }

    async fn delete_consent(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        client_id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>> {
        consent::delete(&self.writer, tenant_id, user_id, client_id, reason, now).await
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> StoreResult<PurgeCounts> {
        housekeeping::purge_expired(&self.writer, now).await
    }

    async fn list_users(&self, tenant_id: Uuid, query: &UserQuery) -> StoreResult<Vec<User>> {
        user_admin::list(&self.reader, tenant_id, query).await
    }

    async fn set_user_status(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        status: UserStatus,
        revoke_sessions: Option<&str>,
        keep: Option<KeepLastHolder<'_>>,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        user_admin::set_status(
            &self.writer,
            tenant_id,
            user_id,
            status,
            revoke_sessions,
            keep,
            now,
        )
        .await
    }

    async fn soft_delete_user(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        keep: Option<KeepLastHolder<'_>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        user_admin::soft_delete(&self.writer, tenant_id, user_id, keep, now).await
    }

    async fn erase_user(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        keep: Option<KeepLastHolder<'_>>,
    ) -> StoreResult<()> {
        user_admin::erase(&self.writer, tenant_id, user_id, keep).await
    }

    async fn seed_rbac(
        &self,
        tenant_id: Uuid,
        permissions: &[Permission],
        roles: &[Role],
    ) -> StoreResult<bool> {
        rbac::seed(&self.writer, tenant_id, permissions, roles).await
    }

    async fn list_permissions(&self, tenant_id: Uuid) -> StoreResult<Vec<Permission>> {
        rbac::list_permissions(&self.reader, tenant_id).await
    }

    async fn create_permission(&self, permission: &Permission) -> StoreResult<()> {
        rbac::create_permission(&self.writer, permission).await
    }

    async fn delete_permission(&self, tenant_id: Uuid, name: &str) -> StoreResult<()> {
        rbac::delete_permission(&self.writer, tenant_id, name).await
    }

    async fn list_roles(&self, tenant_id: Uuid) -> StoreResult<Vec<Role>> {
        rbac::list_roles(&self.reader, tenant_id).await
    }

    async fn get_role(&self, tenant_id: Uuid, name: &str) -> StoreResult<Role> {
        rbac::get_role(&self.reader, tenant_id, name).await
    }

    async fn create_role(&self, role: &Role) -> StoreResult<()> {
        rbac::create_role(&self.writer, role).await
    }

    async fn update_role(
        &self,
        tenant_id: Uuid,
        name: &str,
        update: &RoleUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<Role> {
        rbac::update_role(&self.writer, &self.reader, tenant_id, name, update, now).await
    }

    async fn delete_role(&self, tenant_id: Uuid, name: &str) -> StoreResult<()> {
        rbac::delete_role(&self.writer, tenant_id, name).await
    }

    async fn grant_role_permission(
        &self,
        tenant_id: Uuid,
        role: &str,
        permission: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        rbac::grant_permission(&self.writer, tenant_id, role, permission, now).await
    }

    async fn revoke_role_permission(
        &self,
        tenant_id: Uuid,
        role: &str,
        permission: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        rbac::revoke_permission(&self.writer, tenant_id, role, permission, now).await
    }

    async fn list_user_roles(&self, tenant_id: Uuid, user_id: Uuid) -> StoreResult<Vec<String>> {
        rbac::list_user_roles(&self.reader, tenant_id, user_id).await
    }

    async fn assign_user_role(&self, tenant_id: Uuid, user_id: Uuid, role: &str) -> StoreResult<()> {
        rbac::assign_user_role(&self.writer, tenant_id, user_id, role).await
    }

    async fn remove_user_role(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        role: &str,
        keep: Option<KeepLastHolder<'_>>,
    ) -> StoreResult<()> {
        rbac::remove_user_role(&self.writer, tenant_id, user_id, role, keep).await
    }

    async fn list_client_roles(&self, tenant_id: Uuid, client_id: Uuid) -> StoreResult<Vec<String>> {
        rbac::list_client_roles(&self.reader, tenant_id, client_id).await
    }

    async fn assign_client_role(&self, tenant_id: Uuid, client_id: Uuid, role: &str) -> StoreResult<()> {
        rbac::assign_client_role(&self.writer, tenant_id, client_id, role).await
    }

    async fn remove_client_role(&self, tenant_id: Uuid, client_id: Uuid, role: &str) -> StoreResult<()> {
        rbac::remove_client_role(&self.writer, tenant_id, client_id, role).await
    }

    async fn update_client(&self, client: &Client) -> StoreResult<Client> {
        client::update(&self.writer, client).await
    }
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
