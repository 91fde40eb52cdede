//! Accounts: creation, lookup, the owner's profile and password, and the
//! bookkeeping of failed logins. Administration (listing, status, deletion)
//! is in `user_admin`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tessera_store::{
    Conflict, IdentifierKind, IdentifierReport, KeepLastHolder, OneTimeToken, OutgoingMail, StoreError,
    StoreResult, User, UserProfileUpdate, UserQuery, UserStatus, UserStore,
};
use uuid::Uuid;

use crate::decode::{self, USER_COLUMNS};
use crate::engine::{Engine, Exec, SqlRow, Transaction};
use crate::mail_outbox::insert_mail;
use crate::one_time_token::{insert_token, retire_tokens_of};
use crate::role_assignment::assign_user_role;
use crate::{args, identifier, session, user_admin, SqlStore};

/// The user with this id, inside `exec` (a transaction sees its own writes).
pub(crate) async fn select_user(exec: &mut impl Exec, tenant_id: Uuid, user_id: Uuid) -> StoreResult<User> {
    let sql = format!("select {USER_COLUMNS} from user_account where tenant_id = $1 and user_id = $2");
    decode::user(&exec.fetch_one(&sql, &args![tenant_id, user_id]).await?)
}

#[async_trait]
impl<E: Engine> UserStore for SqlStore<E> {
    async fn create_user_with_mail(
        &self,
        user: &User,
        roles: &[String],
        token: Option<&OneTimeToken>,
        mail: &[OutgoingMail],
    ) -> StoreResult<()> {
        let mut tx = self.engine.begin().await?;
        let sql = format!(
            "insert into user_account ({USER_COLUMNS}) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        );
        let inserted = tx
            .execute(
                &sql,
                &args![
                    user.user_id,
                    user.tenant_id,
                    &user.email,
                    user.email_verified,
                    &user.username,
                    &user.display_name,
                    &user.profile,
                    user.status.as_str(),
                    &user.password_hash,
                    user.failed_login_count,
                    user.locked_until,
                    user.created_at,
                    user.updated_at,
                    user.deleted_at
                ],
            )
            .await;
        match inserted {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                drop(tx);
                return Err(self.user_conflict(user).await);
            }
            Err(e) => return Err(e),
        }
        for role in roles {
            // An error drops (rolls back) the transaction: no user row stays.
            assign_user_role(&mut tx, user.tenant_id, user.user_id, role).await?;
        }
        if let Some(token) = token {
            insert_token(&mut tx, token, token.created_at, None).await?;
        }
        insert_mail(&mut tx, mail).await?;
        tx.commit().await
    }

    async fn get_user(&self, tenant_id: Uuid, user_id: Uuid) -> StoreResult<User> {
        select_user(&mut self.engine.reader(), tenant_id, user_id).await
    }

    async fn find_user_by_identifier(&self, tenant_id: Uuid, identifier: &str) -> StoreResult<User> {
        // Two index lookups; an email match wins over a username match so the
        // answer is deterministic.
        let sql = format!(
            "select {USER_COLUMNS}, 0 as preference from user_account where tenant_id = $1 and email = $2 \
             union all \
             select {USER_COLUMNS}, 1 as preference from user_account where tenant_id = $1 and username = $2 \
             order by preference limit 1"
        );
        decode::user(
            &self
                .engine
                .reader()
                .fetch_one(&sql, &args![tenant_id, identifier])
                .await?,
        )
    }

    async fn canonicalise_identifiers(
        &self,
        // Higher-ranked spelled out: `async_trait` would name an elided lifetime.
        canonical: &(dyn for<'s> Fn(IdentifierKind, &'s str) -> Option<String> + Send + Sync),
    ) -> StoreResult<IdentifierReport> {
        identifier::canonicalise(&self.engine, canonical).await
    }

    async fn update_user_profile(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        update: &UserProfileUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<User> {
        let mut tx = self.engine.begin().await?;
        let updated = tx
            .execute(
                "update user_account set \
                    username = case when $3 then $4 else username end, \
                    display_name = case when $5 then $6 else display_name end, \
                    profile = coalesce($7, profile), \
                    updated_at = $8, \
                    email = coalesce($9, email), \
                    email_verified = coalesce($10, email_verified) \
                 where tenant_id = $1 and user_id = $2",
                &args![
                    tenant_id,
                    user_id,
                    update.username.is_some(),
                    update.username.as_ref().and_then(Option::as_deref),
                    update.display_name.is_some(),
                    update.display_name.as_ref().and_then(Option::as_deref),
                    update.profile.as_ref(),
                    now,
                    update.email.as_deref(),
                    update.email_verified
                ],
            )
            .await;
        match updated {
            Ok(0) => return Err(StoreError::NotFound),
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => {
                drop(tx);
                return Err(self.profile_conflict(tenant_id, user_id, update).await);
            }
            Err(e) => return Err(e),
        }
        if update.email.is_some() {
            // What was mailed to the old address (a verification, a reset
            // link) must not outlive it.
            retire_tokens_of(&mut tx, tenant_id, user_id, now).await?;
        }
        let user = select_user(&mut tx, tenant_id, user_id).await?;
        tx.commit().await?;
        Ok(user)
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
        let mut tx = self.engine.begin().await?;
        let updated = tx
            .execute(
                "update user_account set password_hash = $3, updated_at = $4 \
                 where tenant_id = $1 and user_id = $2",
                &args![tenant_id, user_id, password_hash, now],
            )
            .await?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        session::revoke_sessions_of(&mut tx, tenant_id, user_id, keep_session, reason, now).await?;
        retire_tokens_of(&mut tx, tenant_id, user_id, now).await?;
        tx.commit().await
    }

    async fn record_login_failure(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        lock_for: &(dyn Fn(i32) -> Option<DateTime<Utc>> + Send + Sync),
    ) -> StoreResult<i32> {
        let mut tx = self.engine.begin().await?;
        // The increment is the row lock: a concurrent failure waits for this
        // transaction and then adds to what it committed.
        let updated = tx
            .execute(
                "update user_account set failed_login_count = failed_login_count + 1 \
                 where tenant_id = $1 and user_id = $2",
                &args![tenant_id, user_id],
            )
            .await?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        let count = tx
            .fetch_one(
                "select failed_login_count from user_account where tenant_id = $1 and user_id = $2",
                &args![tenant_id, user_id],
            )
            .await?
            .i64("failed_login_count")?;
        let count = i32::try_from(count).unwrap_or(i32::MAX);
        if let Some(until) = lock_for(count) {
            tx.execute(
                "update user_account set locked_until = \
                    case when locked_until is null or locked_until < $3 then $3 else locked_until end \
                 where tenant_id = $1 and user_id = $2",
                &args![tenant_id, user_id, until],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(count)
    }

    async fn list_users(&self, tenant_id: Uuid, query: &UserQuery) -> StoreResult<Vec<User>> {
        user_admin::list(&mut self.engine.reader(), tenant_id, query).await
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
        let mut tx = self.engine.begin().await?;
        let user =
            user_admin::set_status(&mut tx, tenant_id, user_id, status, revoke_sessions, keep, now).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn soft_delete_user(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        keep: Option<KeepLastHolder<'_>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.engine.begin().await?;
        user_admin::soft_delete(&mut tx, tenant_id, user_id, keep, now).await?;
        tx.commit().await
    }

    async fn erase_user(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        keep: Option<KeepLastHolder<'_>>,
    ) -> StoreResult<()> {
        let mut tx = self.engine.begin().await?;
        user_admin::erase(&mut tx, tenant_id, user_id, keep).await?;
        tx.commit().await
    }
}

impl<E: Engine> SqlStore<E> {
    /// Names the field a failed `create_user` collided on, looking at what
    /// the tenant holds now.
    async fn user_conflict(&self, user: &User) -> StoreError {
        let field = self
            .engine
            .reader()
            .fetch_one(
                "select \
                    exists (select 1 from user_account where tenant_id = $1 and email = $2) as email, \
                    exists (select 1 from user_account where tenant_id = $1 and username = $3) as username, \
                    exists (select 1 from user_account where user_id = $4) as user_id",
                &args![user.tenant_id, &user.email, &user.username, user.user_id],
            )
            .await;
        let named = field.and_then(|row| {
            use crate::engine::SqlRow;
            Ok(if row.bool("email")? {
                Conflict::Email
            } else if row.bool("username")? {
                Conflict::Username
            } else if row.bool("user_id")? {
                Conflict::UserId
            } else {
                Conflict::Unique
            })
        });
        match named {
            Ok(field) => StoreError::Conflict(field),
            Err(e) => e,
        }
    }

    /// Names the field a failed profile update collided on: the new email
    /// if another account of the tenant has it, else the username.
    async fn profile_conflict(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        update: &UserProfileUpdate,
    ) -> StoreError {
        let Some(email) = &update.email else {
            return StoreError::Conflict(Conflict::Username);
        };
        let taken = self
            .engine
            .reader()
            .fetch_optional(
                "select 1 as taken from user_account where tenant_id = $1 and email = $2 and user_id <> $3",
                &args![tenant_id, email, user_id],
            )
            .await;
        match taken {
            Ok(Some(_)) => StoreError::Conflict(Conflict::Email),
            Ok(None) => StoreError::Conflict(Conflict::Username),
            Err(e) => e,
        }
    }
}
