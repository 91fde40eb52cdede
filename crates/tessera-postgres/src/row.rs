//! How models are laid out in PostgreSQL: native uuid, timestamptz (at
//! millisecond precision), jsonb and bytea; enums as their lowercase names.

use chrono::{DateTime, Timelike, Utc};
use sqlx::postgres::PgRow;
use sqlx::Row;
use tessera_store::{
    AuthorizationCode, BrowserSession, Client, ClientType, Consent, GrantType, KeyState, Permission,
    RefreshToken, Role, Session, SigningKey, StoreError, StoreResult, Tenant, TokenEndpointAuthMethod, User,
    UserStatus,
};
use uuid::Uuid;

/// Column list of `user_account`, as [`user`] reads it.
macro_rules! user_columns {
    () => {
        "user_id, tenant_id, email, email_verified, username, display_name, profile, status, \
         password_hash, failed_login_count, locked_until, created_at, updated_at, deleted_at"
    };
}
pub(crate) use user_columns;

/// Column list of `session`, as [`session`] reads it (without prefix).
macro_rules! session_columns {
    () => {
        "session_id, tenant_id, user_id, ip, user_agent, created_at, last_used_at, expires_at, \
         revoked_at, revoke_reason, client_id, scope, browser_session_id, auth_time, amr"
    };
}
pub(crate) use session_columns;

/// Column list of `refresh_token`, as [`refresh_token`] reads it.
macro_rules! refresh_token_columns {
    () => {
        "token_hash, tenant_id, session_id, parent_hash, created_at, expires_at, used_at"
    };
}
pub(crate) use refresh_token_columns;

/// Column list of `signing_key`, as [`signing_key`] reads it.
macro_rules! signing_key_columns {
    () => {
        "kid, tenant_id, alg, public_jwk, private_key_encrypted, state, created_at, \
         activates_at, not_after"
    };
}
pub(crate) use signing_key_columns;

/// Column list of `client`, as [`client`] reads it.
macro_rules! client_columns {
    () => {
        "client_id, tenant_id, name, client_type, redirect_uris, grant_types, scopes, \
         token_endpoint_auth_method, jwks, first_party, access_token_ttl_secs, \
         refresh_idle_ttl_secs, secret_hash, previous_secret_hash, created_at, updated_at, \
         post_logout_redirect_uris, id_token_signed_response_alg, token_permissions"
    };
}
pub(crate) use client_columns;

/// Column list of `browser_session`, as [`browser_session`] reads it.
macro_rules! browser_session_columns {
    () => {
        "browser_session_id, tenant_id, user_id, token_hash, auth_time, amr, created_at, \
         expires_at, revoked_at"
    };
}
pub(crate) use browser_session_columns;

/// Column list of `authorization_code`, as [`authorization_code`] reads it.
macro_rules! authorization_code_columns {
    () => {
        "code_hash, tenant_id, client_id, user_id, browser_session_id, redirect_uri, scope, \
         nonce, code_challenge, auth_time, amr, created_at, expires_at, used_at, session_id"
    };
}
pub(crate) use authorization_code_columns;

/// Column list of `consent`, as [`consent`] reads it.
macro_rules! consent_columns {
    () => {
        "tenant_id, user_id, client_id, scopes, created_at, updated_at"
    };
}
pub(crate) use consent_columns;

/// A list of strings as stored: a jsonb array.
pub(crate) fn list_json<S: AsRef<str>>(items: &[S]) -> serde_json::Value {
    serde_json::Value::Array(
        items
            .iter()
            .map(|s| serde_json::Value::String(s.as_ref().to_owned()))
            .collect(),
    )
}

fn list_column(row: &PgRow, name: &str) -> StoreResult<Vec<String>> {
    let value: serde_json::Value = column(row, name)?;
    serde_json::from_value(value).map_err(|e| StoreError::Other(format!("column {name}: {e}")))
}

/// A time as stored: truncated to the millisecond, the precision the SQLite
/// backend keeps, so that both engines return the same values.
pub(crate) fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    // Keeps the leap-second marker (nanosecond >= 1e9) intact.
    t.with_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t)
}

/// An optional time as stored.
pub(crate) fn opt_ms(t: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    t.map(ms)
}

fn column<'r, T>(row: &'r PgRow, name: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Other(format!("column {name}: {e}")))
}

/// Reads a `tenant` row.
pub(crate) fn tenant(row: &PgRow) -> StoreResult<Tenant> {
    Ok(Tenant {
        tenant_id: column(row, "tenant_id")?,
        slug: column(row, "slug")?,
        name: column(row, "name")?,
        created_at: column(row, "created_at")?,
        disabled_at: column(row, "disabled_at")?,
    })
}

/// Reads a `user_account` row selected with `user_columns!()`.
pub(crate) fn user(row: &PgRow) -> StoreResult<User> {
    let status: String = column(row, "status")?;
    Ok(User {
        user_id: column(row, "user_id")?,
        tenant_id: column(row, "tenant_id")?,
        email: column(row, "email")?,
        email_verified: column(row, "email_verified")?,
        username: column(row, "username")?,
        display_name: column(row, "display_name")?,
        profile: column(row, "profile")?,
        status: UserStatus::parse(&status)
            .ok_or_else(|| StoreError::Other(format!("unknown user status {status:?}")))?,
        password_hash: column(row, "password_hash")?,
        failed_login_count: column(row, "failed_login_count")?,
        locked_until: column(row, "locked_until")?,
        created_at: column(row, "created_at")?,
        updated_at: column(row, "updated_at")?,
        deleted_at: column(row, "deleted_at")?,
    })
}

/// Reads a `session` row whose columns carry `prefix` (empty for a plain
/// select, `s_` in the join with its user).
pub(crate) fn session(row: &PgRow, prefix: &str) -> StoreResult<Session> {
    let c = |name: &str| format!("{prefix}{name}");
    Ok(Session {
        session_id: column(row, &c("session_id"))?,
        tenant_id: column(row, &c("tenant_id"))?,
        user_id: column(row, &c("user_id"))?,
        ip: column(row, &c("ip"))?,
        user_agent: column(row, &c("user_agent"))?,
        created_at: column(row, &c("created_at"))?,
        last_used_at: column(row, &c("last_used_at"))?,
        expires_at: column(row, &c("expires_at"))?,
        revoked_at: column(row, &c("revoked_at"))?,
        revoke_reason: column(row, &c("revoke_reason"))?,
        client_id: column(row, &c("client_id"))?,
        scope: column(row, &c("scope"))?,
        browser_session_id: column(row, &c("browser_session_id"))?,
        auth_time: column(row, &c("auth_time"))?,
        amr: list_column(row, &c("amr"))?,
    })
}

/// Reads a `refresh_token` row.
pub(crate) fn refresh_token(row: &PgRow) -> StoreResult<RefreshToken> {
    Ok(RefreshToken {
        token_hash: column(row, "token_hash")?,
        tenant_id: column(row, "tenant_id")?,
        session_id: column(row, "session_id")?,
        parent_hash: column(row, "parent_hash")?,
        created_at: column(row, "created_at")?,
        expires_at: column(row, "expires_at")?,
        used_at: column(row, "used_at")?,
    })
}

/// Reads a `signing_key` row.
pub(crate) fn signing_key(row: &PgRow) -> StoreResult<SigningKey> {
    let state: String = column(row, "state")?;
    Ok(SigningKey {
        kid: column(row, "kid")?,
        tenant_id: column(row, "tenant_id")?,
        alg: column(row, "alg")?,
        public_jwk: column(row, "public_jwk")?,
        private_key_encrypted: column(row, "private_key_encrypted")?,
        state: KeyState::parse(&state)
            .ok_or_else(|| StoreError::Other(format!("unknown key state {state:?}")))?,
        created_at: column(row, "created_at")?,
        activates_at: column(row, "activates_at")?,
        not_after: column(row, "not_after")?,
    })
}

/// Reads a `client` row selected with `client_columns!()`.
pub(crate) fn client(row: &PgRow) -> StoreResult<Client> {
    let client_type: String = column(row, "client_type")?;
    let method: String = column(row, "token_endpoint_auth_method")?;
    Ok(Client {
        client_id: column(row, "client_id")?,
        tenant_id: column(row, "tenant_id")?,
        name: column(row, "name")?,
        client_type: ClientType::parse(&client_type)
            .ok_or_else(|| StoreError::Other(format!("unknown client type {client_type:?}")))?,
        redirect_uris: list_column(row, "redirect_uris")?,
        grant_types: list_column(row, "grant_types")?
            .iter()
            .map(|g| {
                GrantType::parse(g).ok_or_else(|| StoreError::Other(format!("unknown grant type {g:?}")))
            })
            .collect::<StoreResult<_>>()?,
        scopes: list_column(row, "scopes")?,
        token_endpoint_auth_method: TokenEndpointAuthMethod::parse(&method)
            .ok_or_else(|| StoreError::Other(format!("unknown auth method {method:?}")))?,
        jwks: column(row, "jwks")?,
        first_party: column(row, "first_party")?,
        access_token_ttl_secs: column(row, "access_token_ttl_secs")?,
        refresh_idle_ttl_secs: column(row, "refresh_idle_ttl_secs")?,
        secret_hash: column(row, "secret_hash")?,
        previous_secret_hash: column(row, "previous_secret_hash")?,
        post_logout_redirect_uris: list_column(row, "post_logout_redirect_uris")?,
        id_token_signed_response_alg: column(row, "id_token_signed_response_alg")?,
        token_permissions: column(row, "token_permissions")?,
        created_at: column(row, "created_at")?,
        updated_at: column(row, "updated_at")?,
    })
}

/// Reads a `browser_session` row selected with `browser_session_columns!()`.
pub(crate) fn browser_session(row: &PgRow) -> StoreResult<BrowserSession> {
    Ok(BrowserSession {
        browser_session_id: column(row, "browser_session_id")?,
        tenant_id: column(row, "tenant_id")?,
        user_id: column(row, "user_id")?,
        token_hash: column(row, "token_hash")?,
        auth_time: column(row, "auth_time")?,
        amr: list_column(row, "amr")?,
        created_at: column(row, "created_at")?,
        expires_at: column(row, "expires_at")?,
        revoked_at: column(row, "revoked_at")?,
    })
}

/// Reads an `authorization_code` row selected with
/// `authorization_code_columns!()`.
pub(crate) fn authorization_code(row: &PgRow) -> StoreResult<AuthorizationCode> {
    Ok(AuthorizationCode {
        code_hash: column(row, "code_hash")?,
        tenant_id: column(row, "tenant_id")?,
        client_id: column(row, "client_id")?,
        user_id: column(row, "user_id")?,
        browser_session_id: column(row, "browser_session_id")?,
        redirect_uri: column(row, "redirect_uri")?,
        scope: column(row, "scope")?,
        nonce: column(row, "nonce")?,
        code_challenge: column(row, "code_challenge")?,
        auth_time: column(row, "auth_time")?,
        amr: list_column(row, "amr")?,
        created_at: column(row, "created_at")?,
        expires_at: column(row, "expires_at")?,
        used_at: column(row, "used_at")?,
        session_id: column(row, "session_id")?,
    })
}

/// Reads a `consent` row selected with `consent_columns!()`.
pub(crate) fn consent(row: &PgRow) -> StoreResult<Consent> {
    Ok(Consent {
        tenant_id: column(row, "tenant_id")?,
        user_id: column(row, "user_id")?,
        client_id: column(row, "client_id")?,
        scopes: list_column(row, "scopes")?,
        created_at: column(row, "created_at")?,
        updated_at: column(row, "updated_at")?,
    })
}

/// Reads the `session_id` column of a `returning session_id` row.
pub(crate) fn session_id(row: &PgRow) -> StoreResult<Uuid> {
    column(row, "session_id")
}

/// Reads a `permission` row.
pub(crate) fn permission(row: &PgRow) -> StoreResult<Permission> {
    Ok(Permission {
        tenant_id: column(row, "tenant_id")?,
        name: column(row, "name")?,
        description: column(row, "description")?,
        builtin: column(row, "builtin")?,
        created_at: column(row, "created_at")?,
    })
}

/// Reads a `role` row; its permissions are filled in by the caller.
pub(crate) fn role(row: &PgRow) -> StoreResult<Role> {
    Ok(Role {
        tenant_id: column(row, "tenant_id")?,
        name: column(row, "name")?,
        description: column(row, "description")?,
        parent: column(row, "parent_name")?,
        permissions: Vec::new(),
        builtin: column(row, "builtin")?,
        created_at: column(row, "created_at")?,
        updated_at: column(row, "updated_at")?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::ms;
    use chrono::{Duration, TimeZone, Utc};

    #[test]
    fn times_are_truncated_not_rounded_to_the_millisecond() {
        let base = Utc.timestamp_millis_opt(1_700_000_000_123).unwrap();
        assert_eq!(ms(base + Duration::nanoseconds(999_999)), base);
        assert_eq!(ms(base), base);
    }
}
