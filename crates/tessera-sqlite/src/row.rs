//! How models are laid out in SQLite: ids as hyphenated uuid text, times as
//! unix milliseconds, JSON as text, enums as their lowercase names.

use chrono::{DateTime, TimeZone, Utc};
use sqlx::sqlite::SqliteRow;
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

/// A uuid as stored: hyphenated lowercase text.
pub(crate) fn id(id: Uuid) -> String {
    id.hyphenated().to_string()
}

/// An optional uuid as stored.
pub(crate) fn opt_id(v: Option<Uuid>) -> Option<String> {
    v.map(id)
}

/// A time as stored: unix milliseconds (sub-millisecond digits dropped).
pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// An optional time as stored.
pub(crate) fn opt_ms(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(ms)
}

/// JSON as stored.
pub(crate) fn json_text(v: &serde_json::Value) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Other(format!("encode json: {e}")))
}

/// A list of strings as stored: a JSON array.
pub(crate) fn list_text<S: AsRef<str>>(items: &[S]) -> StoreResult<String> {
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    serde_json::to_string(&items).map_err(|e| StoreError::Other(format!("encode json: {e}")))
}

fn column<'r, T>(row: &'r SqliteRow, name: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Other(format!("column {name}: {e}")))
}

fn uuid_column(row: &SqliteRow, name: &str) -> StoreResult<Uuid> {
    let text: String = column(row, name)?;
    Uuid::parse_str(&text).map_err(|e| StoreError::Other(format!("column {name}: {e}")))
}

fn opt_uuid_column(row: &SqliteRow, name: &str) -> StoreResult<Option<Uuid>> {
    column::<Option<String>>(row, name)?
        .map(|text| Uuid::parse_str(&text).map_err(|e| StoreError::Other(format!("column {name}: {e}"))))
        .transpose()
}

fn time_value(name: &str, millis: i64) -> StoreResult<DateTime<Utc>> {
    Utc.timestamp_millis_opt(millis)
        .single()
        .ok_or_else(|| StoreError::Other(format!("column {name}: time {millis} out of range")))
}

fn time_column(row: &SqliteRow, name: &str) -> StoreResult<DateTime<Utc>> {
    time_value(name, column(row, name)?)
}

fn opt_time_column(row: &SqliteRow, name: &str) -> StoreResult<Option<DateTime<Utc>>> {
    column::<Option<i64>>(row, name)?
        .map(|m| time_value(name, m))
        .transpose()
}

fn json_column(row: &SqliteRow, name: &str) -> StoreResult<serde_json::Value> {
    let text: String = column(row, name)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Other(format!("column {name}: {e}")))
}

fn list_column(row: &SqliteRow, name: &str) -> StoreResult<Vec<String>> {
    let text: String = column(row, name)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Other(format!("column {name}: {e}")))
}

/// Reads a `tenant` row.
pub(crate) fn tenant(row: &SqliteRow) -> StoreResult<Tenant> {
    Ok(Tenant {
        tenant_id: uuid_column(row, "tenant_id")?,
        slug: column(row, "slug")?,
        name: column(row, "name")?,
        created_at: time_column(row, "created_at")?,
        disabled_at: opt_time_column(row, "disabled_at")?,
    })
}

/// Reads a `user_account` row selected with `user_columns!()`.
pub(crate) fn user(row: &SqliteRow) -> StoreResult<User> {
    let status: String = column(row, "status")?;
    Ok(User {
        user_id: uuid_column(row, "user_id")?,
        tenant_id: uuid_column(row, "tenant_id")?,
        email: column(row, "email")?,
        email_verified: column(row, "email_verified")?,
        username: column(row, "username")?,
        display_name: column(row, "display_name")?,
        profile: json_column(row, "profile")?,
        status: UserStatus::parse(&status)
            .ok_or_else(|| StoreError::Other(format!("unknown user status {status:?}")))?,
        password_hash: column(row, "password_hash")?,
        failed_login_count: column(row, "failed_login_count")?,
        locked_until: opt_time_column(row, "locked_until")?,
        created_at: time_column(row, "created_at")?,
        updated_at: time_column(row, "updated_at")?,
        deleted_at: opt_time_column(row, "deleted_at")?,
    })
}

/// Reads a `session` row whose columns carry `prefix` (empty for a plain
/// select, `s_` in the join with its user).
pub(crate) fn session(row: &SqliteRow, prefix: &str) -> StoreResult<Session> {
    let c = |name: &str| format!("{prefix}{name}");
    Ok(Session {
        session_id: uuid_column(row, &c("session_id"))?,
        tenant_id: uuid_column(row, &c("tenant_id"))?,
        user_id: uuid_column(row, &c("user_id"))?,
        ip: column(row, &c("ip"))?,
        user_agent: column(row, &c("user_agent"))?,
        created_at: time_column(row, &c("created_at"))?,
        last_used_at: time_column(row, &c("last_used_at"))?,
        expires_at: time_column(row, &c("expires_at"))?,
        revoked_at: opt_time_column(row, &c("revoked_at"))?,
        revoke_reason: column(row, &c("revoke_reason"))?,
        client_id: opt_uuid_column(row, &c("client_id"))?,
        scope: column(row, &c("scope"))?,
        browser_session_id: opt_uuid_column(row, &c("browser_session_id"))?,
        auth_time: time_column(row, &c("auth_time"))?,
        amr: list_column(row, &c("amr"))?,
    })
}

/// Reads a `refresh_token` row.
pub(crate) fn refresh_token(row: &SqliteRow) -> StoreResult<RefreshToken> {
    Ok(RefreshToken {
        token_hash: column(row, "token_hash")?,
        tenant_id: uuid_column(row, "tenant_id")?,
        session_id: uuid_column(row, "session_id")?,
        parent_hash: column(row, "parent_hash")?,
        created_at: time_column(row, "created_at")?,
        expires_at: time_column(row, "expires_at")?,
        used_at: opt_time_column(row, "used_at")?,
    })
}

/// Reads a `signing_key` row.
pub(crate) fn signing_key(row: &SqliteRow) -> StoreResult<SigningKey> {
    let state: String = column(row, "state")?;
    Ok(SigningKey {
        kid: column(row, "kid")?,
        tenant_id: uuid_column(row, "tenant_id")?,
        alg: column(row, "alg")?,
        public_jwk: json_column(row, "public_jwk")?,
        private_key_encrypted: column(row, "private_key_encrypted")?,
        state: KeyState::parse(&state)
            .ok_or_else(|| StoreError::Other(format!("unknown key state {state:?}")))?,
        created_at: time_column(row, "created_at")?,
        activates_at: time_column(row, "activates_at")?,
        not_after: opt_time_column(row, "not_after")?,
    })
}

/// Reads a `client` row selected with `client_columns!()`.
pub(crate) fn client(row: &SqliteRow) -> StoreResult<Client> {
    let client_type: String = column(row, "client_type")?;
    let method: String = column(row, "token_endpoint_auth_method")?;
    let jwks: Option<String> = column(row, "jwks")?;
    Ok(Client {
        client_id: uuid_column(row, "client_id")?,
        tenant_id: uuid_column(row, "tenant_id")?,
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
        jwks: jwks
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|e| StoreError::Other(format!("column jwks: {e}")))?,
        first_party: column(row, "first_party")?,
        access_token_ttl_secs: column(row, "access_token_ttl_secs")?,
        refresh_idle_ttl_secs: column(row, "refresh_idle_ttl_secs")?,
        secret_hash: column(row, "secret_hash")?,
        previous_secret_hash: column(row, "previous_secret_hash")?,
        post_logout_redirect_uris: list_column(row, "post_logout_redirect_uris")?,
        id_token_signed_response_alg: column(row, "id_token_signed_response_alg")?,
        token_permissions: column(row, "token_permissions")?,
        created_at: time_column(row, "created_at")?,
        updated_at: time_column(row, "updated_at")?,
    })
}

/// Reads a `browser_session` row selected with `browser_session_columns!()`.
pub(crate) fn browser_session(row: &SqliteRow) -> StoreResult<BrowserSession> {
    Ok(BrowserSession {
        browser_session_id: uuid_column(row, "browser_session_id")?,
        tenant_id: uuid_column(row, "tenant_id")?,
        user_id: uuid_column(row, "user_id")?,
        token_hash: column(row, "token_hash")?,
        auth_time: time_column(row, "auth_time")?,
        amr: list_column(row, "amr")?,
        created_at: time_column(row, "created_at")?,
        expires_at: time_column(row, "expires_at")?,
        revoked_at: opt_time_column(row, "revoked_at")?,
    })
}

/// Reads an `authorization_code` row selected with
/// `authorization_code_columns!()`.
pub(crate) fn authorization_code(row: &SqliteRow) -> StoreResult<AuthorizationCode> {
    Ok(AuthorizationCode {
        code_hash: column(row, "code_hash")?,
        tenant_id: uuid_column(row, "tenant_id")?,
        client_id: uuid_column(row, "client_id")?,
        user_id: uuid_column(row, "user_id")?,
        browser_session_id: uuid_column(row, "browser_session_id")?,
        redirect_uri: column(row, "redirect_uri")?,
        scope: column(row, "scope")?,
        nonce: column(row, "nonce")?,
        code_challenge: column(row, "code_challenge")?,
        auth_time: time_column(row, "auth_time")?,
        amr: list_column(row, "amr")?,
        created_at: time_column(row, "created_at")?,
        expires_at: time_column(row, "expires_at")?,
        used_at: opt_time_column(row, "used_at")?,
        session_id: opt_uuid_column(row, "session_id")?,
    })
}

/// Reads a `consent` row selected with `consent_columns!()`.
pub(crate) fn consent(row: &SqliteRow) -> StoreResult<Consent> {
    Ok(Consent {
        tenant_id: uuid_column(row, "tenant_id")?,
        user_id: uuid_column(row, "user_id")?,
        client_id: uuid_column(row, "client_id")?,
        scopes: list_column(row, "scopes")?,
        created_at: time_column(row, "created_at")?,
        updated_at: time_column(row, "updated_at")?,
    })
}

/// Reads the `session_id` column of a `returning session_id` row.
pub(crate) fn session_id(row: &SqliteRow) -> StoreResult<Uuid> {
    uuid_column(row, "session_id")
}

/// Reads a `permission` row.
pub(crate) fn permission(row: &SqliteRow) -> StoreResult<Permission> {
    Ok(Permission {
        tenant_id: uuid_column(row, "tenant_id")?,
        name: column(row, "name")?,
        description: column(row, "description")?,
        builtin: column(row, "builtin")?,
        created_at: time_column(row, "created_at")?,
    })
}

/// Reads a `role` row; its permissions are filled in by the caller.
pub(crate) fn role(row: &SqliteRow) -> StoreResult<Role> {
    Ok(Role {
        tenant_id: uuid_column(row, "tenant_id")?,
        name: column(row, "name")?,
        description: column(row, "description")?,
        parent: column(row, "parent_name")?,
        permissions: Vec::new(),
        builtin: column(row, "builtin")?,
        created_at: time_column(row, "created_at")?,
        updated_at: time_column(row, "updated_at")?,
    })
}
