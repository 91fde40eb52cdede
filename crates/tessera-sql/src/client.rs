//! Registered OAuth clients and the `jti`s of their used assertions
//! (`private_key_jwt`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tessera_store::{Client, ClientStore, Conflict, SecretRotation, StoreError, StoreResult};
use uuid::Uuid;

use crate::decode::{self, CLIENT_COLUMNS};
use crate::engine::{Engine, Exec, Transaction};
use crate::{args, SqlStore};

/// The client with this id, inside `exec`.
async fn select_client(exec: &mut impl Exec, tenant_id: Uuid, client_id: Uuid) -> StoreResult<Client> {
    let sql = format!("select {CLIENT_COLUMNS} from client where tenant_id = $1 and client_id = $2");
    decode::client(&exec.fetch_one(&sql, &args![tenant_id, client_id]).await?)
}

/// The grant types of `client` as stored (their OAuth names).
fn grant_type_names(client: &Client) -> Vec<String> {
    client.grant_types.iter().map(|g| g.as_str().to_owned()).collect()
}

#[async_trait]
impl<E: Engine> ClientStore for SqlStore<E> {
    async fn create_client(&self, client: &Client) -> StoreResult<()> {
        let grant_types = grant_type_names(client);
        let sql = format!(
            "insert into client ({CLIENT_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)"
        );
        let inserted = self
            .engine
            .writer()
            .execute(
                &sql,
                &args![
                    client.client_id,
                    client.tenant_id,
                    &client.name,
                    client.client_type.as_str(),
                    &client.redirect_uris,
                    &grant_types,
                    &client.scopes,
                    client.token_endpoint_auth_method.as_str(),
                    client.jwks.as_ref(),
                    client.first_party,
                    client.access_token_ttl_secs,
                    client.refresh_idle_ttl_secs,
                    &client.secret_hash,
                    &client.previous_secret_hash,
                    client.created_at,
                    client.updated_at,
                    &client.post_logout_redirect_uris,
                    &client.id_token_signed_response_alg,
                    client.token_permissions,
                    client.pkce_optional,
                    &client.resource,
                    &client.resource_scopes,
                    client.disabled_at,
                    client.secret_ttl_secs,
                    client.secret_expires_at,
                    client.previous_secret_expires_at
                ],
            )
            .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(_)) => Err(self.client_conflict(client).await),
            Err(other) => Err(other),
        }
    }

    async fn get_client(&self, tenant_id: Uuid, client_id: Uuid) -> StoreResult<Client> {
        select_client(&mut self.engine.reader(), tenant_id, client_id).await
    }

    async fn get_client_by_resource(&self, tenant_id: Uuid, identifier: &str) -> StoreResult<Client> {
        let sql = format!("select {CLIENT_COLUMNS} from client where tenant_id = $1 and resource = $2");
        decode::client(
            &self
                .engine
                .reader()
                .fetch_one(&sql, &args![tenant_id, identifier])
                .await?,
        )
    }

    async fn list_clients(&self, tenant_id: Uuid) -> StoreResult<Vec<Client>> {
        let sql = format!(
            "select {CLIENT_COLUMNS} from client where tenant_id = $1 order by created_at, client_id"
        );
        let rows = self.engine.reader().fetch_all(&sql, &args![tenant_id]).await?;
        rows.iter().map(decode::client).collect()
    }

    async fn rotate_client_secret(
        &self,
        tenant_id: Uuid,
        client_id: Uuid,
        rotation: &SecretRotation<'_>,
    ) -> StoreResult<Client> {
        let mut tx = self.engine.begin().await?;
        // The current secret (with its expiry) becomes the previous one: on
        // PostgreSQL and SQLite right-hand sides see the row as it was, on
        // MariaDB the assignments run left to right — the `previous_*`
        // columns first give the same result on all three.
        let updated = tx
            .execute(
                "update client set previous_secret_hash = secret_hash, \
                    previous_secret_expires_at = secret_expires_at, secret_hash = $3, \
                    secret_expires_at = $4, updated_at = $5 \
                 where tenant_id = $1 and client_id = $2",
                &args![
                    tenant_id,
                    client_id,
                    rotation.secret_hash,
                    rotation.secret_expires_at,
                    rotation.now
                ],
            )
            .await?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        let client = select_client(&mut tx, tenant_id, client_id).await?;
        tx.commit().await?;
        Ok(client)
    }

    async fn update_client(&self, client: &Client) -> StoreResult<Client> {
        let grant_types = grant_type_names(client);
        let mut tx = self.engine.begin().await?;
        let updated = tx
            .execute(
                "update client set name = $3, client_type = $4, redirect_uris = $5, grant_types = $6, \
                    scopes = $7, token_endpoint_auth_method = $8, jwks = $9, first_party = $10, \
                    access_token_ttl_secs = $11, refresh_idle_ttl_secs = $12, \
                    post_logout_redirect_uris = $13, id_token_signed_response_alg = $14, \
                    token_permissions = $15, updated_at = $16, pkce_optional = $17, \
                    resource = $18, resource_scopes = $19, disabled_at = $20, secret_ttl_secs = $21 \
                 where tenant_id = $1 and client_id = $2",
                &args![
                    client.tenant_id,
                    client.client_id,
                    &client.name,
                    client.client_type.as_str(),
                    &client.redirect_uris,
                    &grant_types,
                    &client.scopes,
                    client.token_endpoint_auth_method.as_str(),
                    client.jwks.as_ref(),
                    client.first_party,
                    client.access_token_ttl_secs,
                    client.refresh_idle_ttl_secs,
                    &client.post_logout_redirect_uris,
                    &client.id_token_signed_response_alg,
                    client.token_permissions,
                    client.updated_at,
                    client.pkce_optional,
                    &client.resource,
                    &client.resource_scopes,
                    client.disabled_at,
                    client.secret_ttl_secs
                ],
            )
            .await
            .map_err(|e| e.on(Conflict::Resource))?;
        if updated == 0 {
            return Err(StoreError::NotFound);
        }
        let stored = select_client(&mut tx, client.tenant_id, client.client_id).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn delete_client(&self, tenant_id: Uuid, client_id: Uuid) -> StoreResult<()> {
        let deleted = self
            .engine
            .writer()
            .execute(
                "delete from client where tenant_id = $1 and client_id = $2",
                &args![tenant_id, client_id],
            )
            .await?;
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn record_client_assertion(
        &self,
        tenant_id: Uuid,
        client_id: Uuid,
        jti: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        // The primary key decides: of two nodes racing with one assertion,
        // only one inserts the row.
        self.engine
            .writer()
            .insert_unless_duplicate(
                "insert into client_assertion (tenant_id, client_id, jti, expires_at) values ($1, $2, $3, $4)",
                &args![tenant_id, client_id, jti, expires_at],
            )
            .await
    }
}

impl<E: Engine> SqlStore<E> {
    /// Names what a failed `create_client` collided on: the resource if
    /// another client of the tenant stands for it, else the client id.
    async fn client_conflict(&self, client: &Client) -> StoreError {
        let Some(resource) = &client.resource else {
            return StoreError::Conflict(Conflict::ClientId);
        };
        match self.get_client_by_resource(client.tenant_id, resource).await {
            Ok(_) => StoreError::Conflict(Conflict::Resource),
            Err(StoreError::NotFound) => StoreError::Conflict(Conflict::ClientId),
            Err(other) => other,
        }
    }
}
