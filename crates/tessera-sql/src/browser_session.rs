//! Browser (single sign-on) sessions of the hosted pages.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tessera_store::{BrowserSession, BrowserSessionStore, StoreError, StoreResult};
use uuid::Uuid;

use crate::decode::{self, BROWSER_SESSION_COLUMNS};
use crate::engine::{Engine, Exec, Transaction};
use crate::session::{clear_login_failures, revoke_found_sessions};
use crate::{args, SqlStore};

#[async_trait]
impl<E: Engine> BrowserSessionStore for SqlStore<E> {
    async fn create_browser_session(&self, session: &BrowserSession) -> StoreResult<()> {
        let mut tx = self.engine.begin().await?;
        // Also proves the user exists in the tenant; an error rolls back (drop).
        clear_login_failures(&mut tx, session.tenant_id, session.user_id).await?;
        let sql = format!(
            "insert into browser_session ({BROWSER_SESSION_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        tx.execute(
            &sql,
            &args![
                session.browser_session_id,
                session.tenant_id,
                session.user_id,
                &session.token_hash,
                session.auth_time,
                &session.amr,
                session.created_at,
                session.expires_at,
                session.revoked_at,
                &session.ip,
                &session.user_agent,
                session.last_seen_at
            ],
        )
        .await?;
        tx.commit().await
    }

    async fn get_browser_session(&self, tenant_id: Uuid, token_hash: &str) -> StoreResult<BrowserSession> {
        let sql = format!(
            "select {BROWSER_SESSION_COLUMNS} from browser_session where tenant_id = $1 and token_hash = $2"
        );
        decode::browser_session(
            &self
                .engine
                .reader()
                .fetch_one(&sql, &args![tenant_id, token_hash])
                .await?,
        )
    }

    async fn get_browser_session_by_id(
        &self,
        tenant_id: Uuid,
        browser_session_id: Uuid,
    ) -> StoreResult<BrowserSession> {
        let sql = format!(
            "select {BROWSER_SESSION_COLUMNS} from browser_session \
             where tenant_id = $1 and browser_session_id = $2"
        );
        let row = self
            .engine
            .reader()
            .fetch_one(&sql, &args![tenant_id, browser_session_id])
            .await?;
        decode::browser_session(&row)
    }

    async fn list_active_browser_sessions(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<BrowserSession>> {
        let sql = format!(
            "select {BROWSER_SESSION_COLUMNS} from browser_session \
             where tenant_id = $1 and user_id = $2 and revoked_at is null and expires_at > $3 \
             order by created_at desc, browser_session_id desc"
        );
        let rows = self
            .engine
            .reader()
            .fetch_all(&sql, &args![tenant_id, user_id, now])
            .await?;
        rows.iter().map(decode::browser_session).collect()
    }

    async fn touch_browser_session(
        &self,
        tenant_id: Uuid,
        browser_session_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let updated = self
            .engine
            .writer()
            .execute(
                "update browser_session set last_seen_at = $3 \
                 where tenant_id = $1 and browser_session_id = $2",
                &args![tenant_id, browser_session_id, now],
            )
            .await?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn end_browser_session(
        &self,
        tenant_id: Uuid,
        browser_session_id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>> {
        let mut tx = self.engine.begin().await?;
        // The first end's time stays; zero rows means it is not in this tenant.
        let ended = tx
            .execute(
                "update browser_session set revoked_at = coalesce(revoked_at, $3) \
                 where tenant_id = $1 and browser_session_id = $2",
                &args![tenant_id, browser_session_id, now],
            )
            .await?;
        if ended == 0 {
            return Err(StoreError::NotFound);
        }
        let revoked = revoke_found_sessions(
            &mut tx,
            tenant_id,
            "select session_id from session \
             where tenant_id = $1 and browser_session_id = $2 and revoked_at is null \
             order by session_id",
            &args![tenant_id, browser_session_id],
            reason,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(revoked)
    }
}
