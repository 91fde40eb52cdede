//! Single-use authorization codes (RFC 6749 §4.1.2).

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;
use sqlx::Row;
use tessera_store::{AuthorizationCode, CodeRedemption, RefreshToken, Session, StoreError, StoreResult};
use uuid::Uuid;

use crate::error::{conflict_on, map_err};
use crate::row::{self, authorization_code_columns, list_json, ms, opt_ms};
use crate::session::{check_first_token, insert_with_token};

/// See [`tessera_store::Store::insert_authorization_code`].
pub(crate) async fn insert(pool: &PgPool, code: &AuthorizationCode) -> StoreResult<()> {
    sqlx::query(concat!(
        "insert into authorization_code (",
        authorization_code_columns!(),
        ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    ))
    .bind(&code.code_hash)
    .bind(code.tenant_id)
    .bind(code.client_id)
    .bind(code.user_id)
    .bind(code.browser_session_id)
    .bind(&code.redirect_uri)
    .bind(&code.scope)
    .bind(&code.nonce)
    .bind(&code.code_challenge)
    .bind(ms(code.auth_time))
    .bind(list_json(&code.amr))
    .bind(ms(code.created_at))
    .bind(ms(code.expires_at))
    .bind(opt_ms(code.used_at))
    .bind(code.session_id)
    .execute(pool)
    .await
    .map_err(conflict_on("code_hash"))?;
    Ok(())
}

/// See [`tessera_store::Store::get_authorization_code`].
pub(crate) async fn get(pool: &PgPool, tenant_id: Uuid, code_hash: &str) -> StoreResult<AuthorizationCode> {
    let row = sqlx::query(concat!(
        "select ",
        authorization_code_columns!(),
        " from authorization_code where tenant_id = $1 and code_hash = $2"
    ))
    .bind(tenant_id)
    .bind(code_hash)
    .fetch_one(pool)
    .await
    .map_err(map_err)?;
    row::authorization_code(&row)
}

/// See [`tessera_store::Store::redeem_authorization_code`].
pub(crate) async fn redeem(
    pool: &PgPool,
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
    // The conditional update is the guard: a concurrent redemption waits
    // for this row's lock, then re-checks `used_at is null` (read committed)
    // and finds it spent. The session is inserted before the code points at
    // it (foreign key).
    let mut tx = pool.begin().await.map_err(map_err)?;
    let spent = sqlx::query(
        "update authorization_code set used_at = $3 \
         where tenant_id = $1 and code_hash = $2 and used_at is null",
    )
    .bind(tenant_id)
    .bind(code_hash)
    .bind(ms(now))
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    if spent.rows_affected() == 0 {
        let used =
            sqlx::query("select session_id from authorization_code where tenant_id = $1 and code_hash = $2")
                .bind(tenant_id)
                .bind(code_hash)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        tx.rollback().await.map_err(map_err)?;
        let Some(used) = used else {
            return Err(StoreError::NotFound);
        };
        let session_id: Option<Uuid> = used.try_get("session_id").map_err(map_err)?;
        return Ok(CodeRedemption::AlreadyUsed { session_id });
    }
    insert_with_token(&mut tx, session, first_token).await?;
    sqlx::query("update authorization_code set session_id = $3 where tenant_id = $1 and code_hash = $2")
        .bind(tenant_id)
        .bind(code_hash)
        .bind(session.session_id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    tx.commit().await.map_err(map_err)?;
    Ok(CodeRedemption::Redeemed)
}
