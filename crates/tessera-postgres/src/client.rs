//! Registered OAuth clients.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;
use tessera_store::{Client, StoreError, StoreResult};
use uuid::Uuid;

use crate::error::{conflict_on, map_err};
use crate::row::{self, client_columns, list_json, ms};

/// See [`tessera_store::Store::create_client`].
pub(crate) async fn create(pool: &PgPool, client: &Client) -> StoreResult<()> {
    sqlx::query(concat!(
        "insert into client (",
        client_columns!(),
        ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
            $17, $18, $19)"
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
    .bind(list_json(&client.post_logout_redirect_uris))
    .bind(&client.id_token_signed_response_alg)
    .bind(client.token_permissions)
    .execute(pool)
    .await
    .map_err(conflict_on("client_id"))?;
    Ok(())
}

/// See [`tessera_store::Store::get_client`].
pub(crate) async fn get(pool: &PgPool, tenant_id: Uuid, client_id: Uuid) -> StoreResult<Client> {
    let row = sqlx::query(concat!(
        "select ",
        client_columns!(),
        " from client where tenant_id = $1 and client_id = $2"
    ))
    .bind(tenant_id)
    .bind(client_id)
    .fetch_one(pool)
    .await
    .map_err(map_err)?;
    row::client(&row)
}

/// See [`tessera_store::Store::list_clients`].
pub(crate) async fn list(pool: &PgPool, tenant_id: Uuid) -> StoreResult<Vec<Client>> {
    let rows = sqlx::query(concat!(
        "select ",
        client_columns!(),
        " from client where tenant_id = $1 order by created_at, client_id"
    ))
    .bind(tenant_id)
    .fetch_all(pool)
    .await
    .map_err(map_err)?;
    rows.iter().map(row::client).collect()
}

/// See [`tessera_store::Store::rotate_client_secret`].
pub(crate) async fn rotate_secret(
    pool: &PgPool,
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
    .fetch_one(pool)
    .await
    .map_err(map_err)?;
    row::client(&row)
}

/// See [`tessera_store::Store::delete_client`].
pub(crate) async fn delete(pool: &PgPool, tenant_id: Uuid, client_id: Uuid) -> StoreResult<()> {
    let deleted = sqlx::query("delete from client where tenant_id = $1 and client_id = $2")
        .bind(tenant_id)
        .bind(client_id)
        .execute(pool)
        .await
        .map_err(map_err)?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// See [`tessera_store::Store::update_client`].
pub(crate) async fn update(pool: &PgPool, client: &Client) -> StoreResult<Client> {
    let row = sqlx::query(concat!(
        "update client set name = $3, client_type = $4, redirect_uris = $5, grant_types = $6, \
            scopes = $7, token_endpoint_auth_method = $8, jwks = $9, first_party = $10, \
            access_token_ttl_secs = $11, refresh_idle_ttl_secs = $12, \
            post_logout_redirect_uris = $13, id_token_signed_response_alg = $14, \
            token_permissions = $15, updated_at = $16 \
         where tenant_id = $1 and client_id = $2 \
         returning ",
        client_columns!()
    ))
    .bind(client.tenant_id)
    .bind(client.client_id)
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
    .bind(list_json(&client.post_logout_redirect_uris))
    .bind(&client.id_token_signed_response_alg)
    .bind(client.token_permissions)
    .bind(ms(client.updated_at))
    .fetch_one(pool)
    .await
    .map_err(map_err)?;
    row::client(&row)
}
