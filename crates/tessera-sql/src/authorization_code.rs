//! Single-use authorization codes (RFC 6749 §4.1.2).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tessera_store::{
    AuthorizationCode, AuthorizationCodeStore, CodeRedemption, Conflict, RefreshToken, Session, StoreError,
    StoreResult,
};
use uuid::Uuid;

use crate::decode::{self, AUTHORIZATION_CODE_COLUMNS};
use crate::engine::{Engine, Exec, SqlRow, Transaction};
use crate::session::{check_first_token, insert_with_token};
use crate::{args, SqlStore};

#[async_trait]
impl<E: Engine> AuthorizationCodeStore for SqlStore<E> {
    async fn insert_authorization_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        let sql = format!(
            "insert into authorization_code ({AUTHORIZATION_CODE_COLUMNS}) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        );
        self.engine
            .writer()
            .execute(
                &sql,
                &args![
                    &code.code_hash,
                    code.tenant_id,
                    code.client_id,
                    code.user_id,
                    code.browser_session_id,
                    &code.redirect_uri,
                    &code.scope,
                    &code.nonce,
                    &code.code_challenge,
                    code.auth_time,
                    &code.amr,
                    code.created_at,
                    code.expires_at,
                    code.used_at,
                    code.session_id,
                    code.redirect_uri_sent,
                    &code.resource
                ],
            )
            .await
            .map_err(|e| e.on(Conflict::CodeHash))?;
        Ok(())
    }

    async fn get_authorization_code(
        &self,
        tenant_id: Uuid,
        code_hash: &str,
    ) -> StoreResult<AuthorizationCode> {
        let sql = format!(
            "select {AUTHORIZATION_CODE_COLUMNS} from authorization_code where tenant_id = $1 and code_hash = $2"
        );
        decode::authorization_code(
            &self
                .engine
                .reader()
                .fetch_one(&sql, &args![tenant_id, code_hash])
                .await?,
        )
    }

    async fn redeem_authorization_code(
        &self,
        tenant_id: Uuid,
        code_hash: &str,
        session: &Session,
        first_token: Option<&RefreshToken>,
        now: DateTime<Utc>,
    ) -> StoreResult<CodeRedemption> {
        if session.tenant_id != tenant_id {
            return Err(StoreError::Other(
                "the session must belong to the tenant of the code".to_owned(),
            ));
        }
        check_first_token(session, first_token)?;
        let mut tx = self.engine.begin().await?;
        // The conditional update is the guard: of concurrent redemptions
        // only one finds `used_at is null`. The session is inserted before
        // the code points at it (foreign key).
        let spent = tx
            .execute(
                "update authorization_code set used_at = $3 \
                 where tenant_id = $1 and code_hash = $2 and used_at is null",
                &args![tenant_id, code_hash, now],
            )
            .await?;
        if spent == 0 {
            let used = tx
                .fetch_optional(
                    "select session_id from authorization_code where tenant_id = $1 and code_hash = $2",
                    &args![tenant_id, code_hash],
                )
                .await?;
            return match used {
                None => Err(StoreError::NotFound),
                Some(row) => Ok(CodeRedemption::AlreadyUsed {
                    session_id: row.opt_id("session_id")?,
                }),
            };
        }
        insert_with_token(&mut tx, session, first_token).await?;
        tx.execute(
            "update authorization_code set session_id = $3 where tenant_id = $1 and code_hash = $2",
            &args![tenant_id, code_hash, session.session_id],
        )
        .await?;
        tx.commit().await?;
        Ok(CodeRedemption::Redeemed)
    }
}
