//! Models read from rows: the column lists each `select` names and the one
//! decoder per model, shared by every engine.

use tessera_store::{
    AuthorizationCode, BrowserSession, Client, ClientType, Consent, GrantType, KeyState, Permission,
    RefreshToken, Role, Session, SigningKey, StoreResult, Tenant, TokenEndpointAuthMethod, User, UserStatus,
};

use crate::engine::{column_error, SqlRow};

/// Columns of `tenant`, as [`tenant`] reads them.
pub(crate) const TENANT_COLUMNS: &str = "tenant_id, slug, name, created_at, disabled_at";

/// Columns of `user_account`, as [`user`] reads them.
pub(crate) const USER_COLUMNS: &str = "user_id, tenant_id, email, email_verified, username, display_name, \
     profile, status, password_hash, failed_login_count, locked_until, created_at, updated_at, deleted_at";

/// Columns of `session`, as [`session`] reads them (without prefix).
pub(crate) const SESSION_COLUMNS: &str = "session_id, tenant_id, user_id, ip, user_agent, created_at, \
     last_used_at, expires_at, revoked_at, revoke_reason, client_id, scope, browser_session_id, auth_time, amr, \
     resource";

/// Columns of `refresh_token`, as [`refresh_token`] reads them.
pub(crate) const REFRESH_TOKEN_COLUMNS: &str =
    "token_hash, tenant_id, session_id, parent_hash, created_at, expires_at, used_at";

/// Columns of `signing_key`, as [`signing_key`] reads them.
pub(crate) const SIGNING_KEY_COLUMNS: &str =
    "kid, tenant_id, alg, public_jwk, private_key_encrypted, state, \
     created_at, activates_at, not_after";

/// Columns of `client`, as [`client`] reads them.
pub(crate) const CLIENT_COLUMNS: &str =
    "client_id, tenant_id, name, client_type, redirect_uris, grant_types, \
     scopes, token_endpoint_auth_method, jwks, first_party, access_token_ttl_secs, refresh_idle_ttl_secs, \
     secret_hash, previous_secret_hash, created_at, updated_at, post_logout_redirect_uris, \
     id_token_signed_response_alg, token_permissions, pkce_optional, resource, resource_scopes, \
     disabled_at, secret_ttl_secs, secret_expires_at, previous_secret_expires_at";

/// Columns of `browser_session`, as [`browser_session`] reads them.
pub(crate) const BROWSER_SESSION_COLUMNS: &str = "browser_session_id, tenant_id, user_id, token_hash, \
     auth_time, amr, created_at, expires_at, revoked_at, ip, user_agent, last_seen_at";

/// Columns of `authorization_code`, as [`authorization_code`] reads them.
pub(crate) const AUTHORIZATION_CODE_COLUMNS: &str = "code_hash, tenant_id, client_id, user_id, \
     browser_session_id, redirect_uri, scope, nonce, code_challenge, auth_time, amr, created_at, expires_at, \
     used_at, session_id, redirect_uri_sent, resource";

/// Columns of `consent`, as [`consent`] reads them.
pub(crate) const CONSENT_COLUMNS: &str = "tenant_id, user_id, client_id, scopes, created_at, updated_at";

/// Columns of `permission`, as [`permission`] reads them.
pub(crate) const PERMISSION_COLUMNS: &str = "tenant_id, name, description, builtin, created_at";

/// Columns of `role`, as [`role`] reads them.
pub(crate) const ROLE_COLUMNS: &str =
    "tenant_id, name, description, parent_name, builtin, created_at, updated_at";

/// A stored enum name, parsed; an unknown one is a corrupt row.
pub(crate) fn parsed<T>(column: &str, text: String, parse: impl Fn(&str) -> Option<T>) -> StoreResult<T> {
    parse(&text).ok_or_else(|| column_error(column, format!("unknown value {text:?}")))
}

/// Reads a `tenant` row.
pub(crate) fn tenant(row: &impl SqlRow) -> StoreResult<Tenant> {
    Ok(Tenant {
        tenant_id: row.id("tenant_id")?,
        slug: row.text("slug")?,
        name: row.text("name")?,
        created_at: row.time("created_at")?,
        disabled_at: row.opt_time("disabled_at")?,
    })
}

/// Reads a `user_account` row selected with [`USER_COLUMNS`].
pub(crate) fn user(row: &impl SqlRow) -> StoreResult<User> {
    Ok(User {
        user_id: row.id("user_id")?,
        tenant_id: row.id("tenant_id")?,
        email: row.text("email")?,
        email_verified: row.bool("email_verified")?,
        username: row.opt_text("username")?,
        display_name: row.opt_text("display_name")?,
        profile: row.json("profile")?,
        status: parsed("status", row.text("status")?, UserStatus::parse)?,
        password_hash: row.opt_text("password_hash")?,
        failed_login_count: row.i32("failed_login_count")?,
        locked_until: row.opt_time("locked_until")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
        deleted_at: row.opt_time("deleted_at")?,
    })
}

/// Reads a `session` row whose columns carry `prefix` (empty for a plain
/// select, `s_` in the join with its user).
pub(crate) fn session(row: &impl SqlRow, prefix: &str) -> StoreResult<Session> {
    let c = |name: &str| format!("{prefix}{name}");
    Ok(Session {
        session_id: row.id(&c("session_id"))?,
        tenant_id: row.id(&c("tenant_id"))?,
        user_id: row.id(&c("user_id"))?,
        ip: row.opt_text(&c("ip"))?,
        user_agent: row.opt_text(&c("user_agent"))?,
        created_at: row.time(&c("created_at"))?,
        last_used_at: row.time(&c("last_used_at"))?,
        expires_at: row.time(&c("expires_at"))?,
        revoked_at: row.opt_time(&c("revoked_at"))?,
        revoke_reason: row.opt_text(&c("revoke_reason"))?,
        client_id: row.opt_id(&c("client_id"))?,
        scope: row.opt_text(&c("scope"))?,
        browser_session_id: row.opt_id(&c("browser_session_id"))?,
        auth_time: row.time(&c("auth_time"))?,
        amr: row.list(&c("amr"))?,
        resource: row.opt_text(&c("resource"))?,
    })
}

/// Reads a `refresh_token` row.
pub(crate) fn refresh_token(row: &impl SqlRow) -> StoreResult<RefreshToken> {
    Ok(RefreshToken {
        token_hash: row.text("token_hash")?,
        tenant_id: row.id("tenant_id")?,
        session_id: row.id("session_id")?,
        parent_hash: row.opt_text("parent_hash")?,
        created_at: row.time("created_at")?,
        expires_at: row.time("expires_at")?,
        used_at: row.opt_time("used_at")?,
    })
}

/// Reads a `signing_key` row.
pub(crate) fn signing_key(row: &impl SqlRow) -> StoreResult<SigningKey> {
    Ok(SigningKey {
        kid: row.text("kid")?,
        tenant_id: row.id("tenant_id")?,
        alg: row.text("alg")?,
        public_jwk: row.json("public_jwk")?,
        private_key_encrypted: row.bytes("private_key_encrypted")?,
        state: parsed("state", row.text("state")?, KeyState::parse)?,
        created_at: row.time("created_at")?,
        activates_at: row.time("activates_at")?,
        not_after: row.opt_time("not_after")?,
    })
}

/// Reads a `client` row selected with [`CLIENT_COLUMNS`].
pub(crate) fn client(row: &impl SqlRow) -> StoreResult<Client> {
    Ok(Client {
        client_id: row.id("client_id")?,
        tenant_id: row.id("tenant_id")?,
        name: row.text("name")?,
        client_type: parsed("client_type", row.text("client_type")?, ClientType::parse)?,
        redirect_uris: row.list("redirect_uris")?,
        grant_types: row
            .list("grant_types")?
            .into_iter()
            .map(|g| parsed("grant_types", g, GrantType::parse))
            .collect::<StoreResult<_>>()?,
        scopes: row.list("scopes")?,
        token_endpoint_auth_method: parsed(
            "token_endpoint_auth_method",
            row.text("token_endpoint_auth_method")?,
            TokenEndpointAuthMethod::parse,
        )?,
        jwks: row.opt_json("jwks")?,
        first_party: row.bool("first_party")?,
        access_token_ttl_secs: row.opt_i64("access_token_ttl_secs")?,
        refresh_idle_ttl_secs: row.opt_i64("refresh_idle_ttl_secs")?,
        secret_hash: row.opt_text("secret_hash")?,
        previous_secret_hash: row.opt_text("previous_secret_hash")?,
        secret_ttl_secs: row.opt_i64("secret_ttl_secs")?,
        secret_expires_at: row.opt_time("secret_expires_at")?,
        previous_secret_expires_at: row.opt_time("previous_secret_expires_at")?,
        disabled_at: row.opt_time("disabled_at")?,
        post_logout_redirect_uris: row.list("post_logout_redirect_uris")?,
        id_token_signed_response_alg: row.opt_text("id_token_signed_response_alg")?,
        token_permissions: row.bool("token_permissions")?,
        pkce_optional: row.bool("pkce_optional")?,
        resource: row.opt_text("resource")?,
        resource_scopes: row.list("resource_scopes")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// Reads a `browser_session` row selected with [`BROWSER_SESSION_COLUMNS`].
pub(crate) fn browser_session(row: &impl SqlRow) -> StoreResult<BrowserSession> {
    Ok(BrowserSession {
        browser_session_id: row.id("browser_session_id")?,
        tenant_id: row.id("tenant_id")?,
        user_id: row.id("user_id")?,
        token_hash: row.text("token_hash")?,
        auth_time: row.time("auth_time")?,
        amr: row.list("amr")?,
        created_at: row.time("created_at")?,
        expires_at: row.time("expires_at")?,
        revoked_at: row.opt_time("revoked_at")?,
        ip: row.opt_text("ip")?,
        user_agent: row.opt_text("user_agent")?,
        last_seen_at: row.opt_time("last_seen_at")?,
    })
}

/// Reads an `authorization_code` row selected with
/// [`AUTHORIZATION_CODE_COLUMNS`].
pub(crate) fn authorization_code(row: &impl SqlRow) -> StoreResult<AuthorizationCode> {
    Ok(AuthorizationCode {
        code_hash: row.text("code_hash")?,
        tenant_id: row.id("tenant_id")?,
        client_id: row.id("client_id")?,
        user_id: row.id("user_id")?,
        browser_session_id: row.id("browser_session_id")?,
        redirect_uri: row.text("redirect_uri")?,
        scope: row.text("scope")?,
        nonce: row.opt_text("nonce")?,
        code_challenge: row.opt_text("code_challenge")?,
        auth_time: row.time("auth_time")?,
        amr: row.list("amr")?,
        created_at: row.time("created_at")?,
        expires_at: row.time("expires_at")?,
        used_at: row.opt_time("used_at")?,
        session_id: row.opt_id("session_id")?,
        redirect_uri_sent: row.bool("redirect_uri_sent")?,
        resource: row.opt_text("resource")?,
    })
}

/// Reads a `consent` row selected with [`CONSENT_COLUMNS`].
pub(crate) fn consent(row: &impl SqlRow) -> StoreResult<Consent> {
    Ok(Consent {
        tenant_id: row.id("tenant_id")?,
        user_id: row.id("user_id")?,
        client_id: row.id("client_id")?,
        scopes: row.list("scopes")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// Reads a `permission` row.
pub(crate) fn permission(row: &impl SqlRow) -> StoreResult<Permission> {
    Ok(Permission {
        tenant_id: row.id("tenant_id")?,
        name: row.text("name")?,
        description: row.opt_text("description")?,
        builtin: row.bool("builtin")?,
        created_at: row.time("created_at")?,
    })
}

/// Reads a `role` row; its permissions are filled in by the caller.
pub(crate) fn role(row: &impl SqlRow) -> StoreResult<Role> {
    Ok(Role {
        tenant_id: row.id("tenant_id")?,
        name: row.text("name")?,
        description: row.opt_text("description")?,
        parent: row.opt_text("parent_name")?,
        permissions: Vec::new(),
        builtin: row.bool("builtin")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}
