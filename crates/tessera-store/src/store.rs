use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    AuthorizationCode, BrowserSession, Client, CodeRedemption, Consent, KeepLastHolder, Permission,
    PurgeCounts, RefreshToken, Role, RoleUpdate, Session, SessionWithUser, SigningKey, StoreResult, Tenant,
    User, UserProfileUpdate, UserQuery, UserStatus,
};

/// Everything Tessera persists. One implementation per database engine.
///
/// All lookups are scoped by `tenant_id`: a row of another tenant is
/// [`crate::StoreError::NotFound`], exactly like a missing one.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies the backend's embedded migrations (idempotent).
    async fn migrate(&self) -> StoreResult<()>;

    /// Cheap round trip to the database, for readiness checks.
    async fn ping(&self) -> StoreResult<()>;

    // --- tenants -----------------------------------------------------------

    /// Returns the tenant with `slug`, creating it with `name` if missing.
    async fn ensure_tenant(&self, slug: &str, name: &str, now: DateTime<Utc>) -> StoreResult<Tenant>;

    /// The tenant with this slug (disabled or not).
    async fn get_tenant_by_slug(&self, slug: &str) -> StoreResult<Tenant>;

    /// Creates a tenant. `Conflict("slug")` if the slug is taken.
    async fn create_tenant(&self, tenant: &Tenant) -> StoreResult<()>;

    /// Every tenant, oldest first.
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>>;

    /// Renames a tenant and/or sets its `disabled_at` (`None` keeps a
    /// field); returns the updated tenant.
    async fn update_tenant(
        &self,
        slug: &str,
        name: Option<&str>,
        disabled_at: Option<Option<DateTime<Utc>>>,
    ) -> StoreResult<Tenant>;

    // --- users -------------------------------------------------------------

    /// Inserts a new user holding `roles` (names of existing roles of the
    /// tenant), in one transaction. `Conflict("email")` /
    /// `Conflict("username")` when the normalised value is taken in the
    /// tenant; `NotFound` (nothing written) when a role does not exist.
    async fn create_user(&self, user: &User, roles: &[String]) -> StoreResult<()>;

    /// The user with this id in this tenant.
    async fn get_user(&self, tenant_id: Uuid, user_id: Uuid) -> StoreResult<User>;

    /// The user whose normalised email or username equals `identifier`.
    async fn find_user_by_identifier(&self, tenant_id: Uuid, identifier: &str) -> StoreResult<User>;

    /// Applies profile changes and returns the updated user.
    /// `Conflict("username")` / `Conflict("email")` when the new value is
    /// taken.
    async fn update_user_profile(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        update: &UserProfileUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<User>;

    /// Stores a new password hash and, in the same transaction, revokes every
    /// session of the user except `keep_session` with `reason`.
    async fn set_password_hash(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        password_hash: &str,
        keep_session: Option<Uuid>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Records a failed login: sets the consecutive-failure count and lock.
    async fn record_login_failure(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        failed_login_count: i32,
        locked_until: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;

    // --- sessions and refresh tokens ----------------------------------------

    /// Creates a session and its first refresh token (if it gets one) in one
    /// transaction, and clears the user's failed-login count and lock (a
    /// successful login).
    async fn create_session(&self, session: &Session, first_token: Option<&RefreshToken>) -> StoreResult<()>;

    /// The session with this id (revoked or not) and its user.
    async fn get_session_with_user(&self, tenant_id: Uuid, session_id: Uuid) -> StoreResult<SessionWithUser>;

    /// The sessions of a user that are neither revoked nor past `now`'s
    /// absolute expiry, newest first.
    async fn list_active_sessions(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Session>>;

    /// Revokes one session (no-op if already revoked). `NotFound` if it does
    /// not exist in the tenant.
    async fn revoke_session(
        &self,
        tenant_id: Uuid,
        session_id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Revokes every unrevoked session of a user except `keep_session`;
    /// returns the ids it revoked.
    async fn revoke_user_sessions(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        keep_session: Option<Uuid>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>>;

    /// The refresh token with this hash.
    async fn get_refresh_token(&self, tenant_id: Uuid, token_hash: &str) -> StoreResult<RefreshToken>;

    /// Spends `old_hash` and stores `next` in one transaction, and marks the
    /// session used at `now`. Returns `false`, writing nothing, when
    /// `old_hash` was already spent (a concurrent or replayed use): the
    /// caller treats that as reuse.
    async fn rotate_refresh_token(
        &self,
        tenant_id: Uuid,
        old_hash: &str,
        next: &RefreshToken,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    // --- signing keys --------------------------------------------------------

    /// Every signing key of the tenant, any state, oldest first.
    async fn list_signing_keys(&self, tenant_id: Uuid) -> StoreResult<Vec<SigningKey>>;

    /// Inserts a key. `Conflict("kid")` if the kid exists.
    async fn insert_signing_key(&self, key: &SigningKey) -> StoreResult<()>;

    /// A rotation, in one transaction: every key of `key`'s tenant and
    /// algorithm that has no `not_after` yet (the keys `key` replaces)
    /// becomes `retired` with `not_after = retire_at`, then `key` is
    /// inserted. Keys that already have a `not_after` keep it.
    /// `Conflict("kid")` (and nothing changed) if the kid exists.
    async fn rotate_signing_key(&self, key: &SigningKey, retire_at: DateTime<Utc>) -> StoreResult<()>;

    // --- clients ---------------------------------------------------------------

    /// Registers a client. `Conflict("client_id")` if the id exists.
    async fn create_client(&self, client: &Client) -> StoreResult<()>;

    /// The client with this id in this tenant.
    async fn get_client(&self, tenant_id: Uuid, client_id: Uuid) -> StoreResult<Client>;

    /// Every client of the tenant, oldest first.
    async fn list_clients(&self, tenant_id: Uuid) -> StoreResult<Vec<Client>>;

    /// Makes `secret_hash` the client's current secret and its current one
    /// the previous (dropping any older one), in one statement so that two
    /// concurrent rotations cannot lose a secret half-way. Returns the
    /// updated client.
    async fn rotate_client_secret(
        &self,
        tenant_id: Uuid,
        client_id: Uuid,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Client>;

    /// Deletes a client. `NotFound` if it does not exist in the tenant.
    async fn delete_client(&self, tenant_id: Uuid, client_id: Uuid) -> StoreResult<()>;

    // --- revoked access tokens ---------------------------------------------------

    /// Denies the access token with this `jti` until `expires_at` (its own
    /// expiry; RFC 7009 revocation of a self-contained token). Revoking an
    /// already revoked `jti` again is not an error and keeps the first row.
    async fn revoke_access_token(
        &self,
        tenant_id: Uuid,
        jti: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// The `jti`s of the tenant's revoked access tokens that have not yet
    /// expired at `now`: the revocation set verifiers cache.
    async fn list_revoked_access_tokens(
        &self,
        tenant_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>>;

    // --- client assertions (private_key_jwt) ---------------------------------------

    /// Records that the client used the assertion with this `jti` (RFC 7523
    /// §3: a `jti` is used once), to be remembered until `expires_at` (the
    /// assertion's expiry plus leeway). `true` on first use, `false` when
    /// the `jti` is already recorded for the client: a replay, on this node
    /// or any other. A row stays until a purge removes it, so a `jti` is
    /// refused again even shortly after its assertion expired.
    async fn record_client_assertion(
        &self,
        tenant_id: Uuid,
        client_id: Uuid,
        jti: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool>;

    // --- browser sessions (hosted pages) -------------------------------------------

    /// Stores a new browser session and clears the user's failed-login count
    /// and lock (a successful login), in one transaction.
    async fn create_browser_session(&self, session: &BrowserSession) -> StoreResult<()>;

    /// The browser session whose cookie hashes to `token_hash` (any state).
    async fn get_browser_session(&self, tenant_id: Uuid, token_hash: &str) -> StoreResult<BrowserSession>;

    /// The browser session with this id (any state).
    async fn get_browser_session_by_id(
        &self,
        tenant_id: Uuid,
        browser_session_id: Uuid,
    ) -> StoreResult<BrowserSession>;

    /// Ends a browser session and, in the same transaction, revokes every
    /// unrevoked session granted from it (with `reason`). Returns the ids of
    /// the sessions it revoked. Ending an ended one again is not an error;
    /// `NotFound` if it does not exist in the tenant.
    async fn end_browser_session(
        &self,
        tenant_id: Uuid,
        browser_session_id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>>;

    // --- authorization codes ------------------------------------------------------

    /// Stores a new authorization code.
    async fn insert_authorization_code(&self, code: &AuthorizationCode) -> StoreResult<()>;

    /// The code with this hash (used or not).
    async fn get_authorization_code(
        &self,
        tenant_id: Uuid,
        code_hash: &str,
    ) -> StoreResult<AuthorizationCode>;

    /// Redeems a code in one transaction: if it is unused, marks it used at
    /// `now` with `session`'s id and stores `session` and its first refresh
    /// token (if any); if it was used already, writes nothing and answers
    /// `AlreadyUsed` with the first redemption's session. Two concurrent
    /// redemptions: exactly one wins. `NotFound` if there is no such code.
    async fn redeem_authorization_code(
        &self,
        tenant_id: Uuid,
        code_hash: &str,
        session: &Session,
        first_token: Option<&RefreshToken>,
        now: DateTime<Utc>,
    ) -> StoreResult<CodeRedemption>;

    // --- consents -------------------------------------------------------------------

    /// The user's remembered approval of a client.
    async fn get_consent(&self, tenant_id: Uuid, user_id: Uuid, client_id: Uuid) -> StoreResult<Consent>;

    /// Stores an approval, replacing the scopes and `updated_at` of an
    /// existing one for the same user and client (keeping its `created_at`).
    async fn upsert_consent(&self, consent: &Consent) -> StoreResult<()>;

    /// The user's approvals, oldest first.
    async fn list_consents(&self, tenant_id: Uuid, user_id: Uuid) -> StoreResult<Vec<Consent>>;

    /// Withdraws an approval and, in the same transaction, revokes every
    /// unrevoked session of the user granted to that client (with
    /// `reason`). Returns the revoked session ids. `NotFound` if there was
    /// no approval.
    async fn delete_consent(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        client_id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Uuid>>;

    // --- housekeeping -------------------------------------------------------------------

    /// Deletes, across all tenants, authorization codes and browser
    /// sessions whose expiry is before `now`, and revoked access-token and
    /// used client-assertion rows whose token or assertion expired before
    /// `now`.
    async fn purge_expired(&self, now: DateTime<Utc>) -> StoreResult<PurgeCounts>;

    // --- administration of users ---------------------------------------------------

    /// The users matching `query`, in its order, at most `query.limit`.
    async fn list_users(&self, tenant_id: Uuid, query: &UserQuery) -> StoreResult<Vec<User>>;

    /// Sets the user's status (and clears `deleted_at` when `status` is
    /// `Active`: reactivation also undoes a soft delete). With
    /// `revoke_sessions`, every open session of the user is revoked with that
    /// reason in the same transaction. With `keep`, refuses with
    /// `Conflict("last_holder")` when the change would leave no active,
    /// undeleted holder of that role. Returns the updated user.
    async fn set_user_status(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        status: UserStatus,
        revoke_sessions: Option<&str>,
        keep: Option<KeepLastHolder<'_>>,
        now: DateTime<Utc>,
    ) -> StoreResult<User>;

    /// Soft-deletes a user (`deleted_at` = `now`) and revokes its sessions
    /// with reason `deleted`, in one transaction; `keep` as above.
    async fn soft_delete_user(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        keep: Option<KeepLastHolder<'_>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Erases a user and everything that is theirs (sessions, refresh
    /// tokens, browser sessions, codes, consents, role assignments), in one
    /// transaction; `keep` as above.
    async fn erase_user(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        keep: Option<KeepLastHolder<'_>>,
    ) -> StoreResult<()>;

    // --- permissions and roles ------------------------------------------------------

    /// If the tenant has no role yet, inserts `permissions` and `roles` (with
    /// their permissions and parents; parents come before children in the
    /// slice) in one transaction and returns true; otherwise changes nothing
    /// and returns false. Safe when several nodes start at once.
    async fn seed_rbac(
        &self,
        tenant_id: Uuid,
        permissions: &[Permission],
        roles: &[Role],
    ) -> StoreResult<bool>;

    /// The tenant's permission catalogue, by name.
    async fn list_permissions(&self, tenant_id: Uuid) -> StoreResult<Vec<Permission>>;

    /// Adds a permission. `Conflict("permission")` if the name exists.
    async fn create_permission(&self, permission: &Permission) -> StoreResult<()>;

    /// Deletes a permission and detaches it from every role, in one
    /// transaction. `NotFound` if it does not exist.
    async fn delete_permission(&self, tenant_id: Uuid, name: &str) -> StoreResult<()>;

    /// Every role of the tenant with its direct permissions, by name.
    async fn list_roles(&self, tenant_id: Uuid) -> StoreResult<Vec<Role>>;

    /// One role with its direct permissions.
    async fn get_role(&self, tenant_id: Uuid, name: &str) -> StoreResult<Role>;

    /// Adds a role (its `permissions` too; the service has validated their
    /// names). `Conflict("role")` if the name exists; `NotFound` if its
    /// parent does not.
    async fn create_role(&self, role: &Role) -> StoreResult<()>;

    /// Changes description and/or parent; returns the updated role.
    /// `NotFound` if the role (or the new parent) does not exist.
    async fn update_role(
        &self,
        tenant_id: Uuid,
        name: &str,
        update: &RoleUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<Role>;

    /// Deletes a role, its permission grants and its assignments to users
    /// and clients, in one transaction. `NotFound` if it does not exist;
    /// `Conflict("parent")` (nothing changed) while another role names it
    /// as parent.
    async fn delete_role(&self, tenant_id: Uuid, name: &str) -> StoreResult<()>;

    /// Grants a permission (a catalogue name or a wildcard the caller has
    /// validated) to a role; granting it again is not an error. `NotFound`
    /// if the role does not exist.
    async fn grant_role_permission(
        &self,
        tenant_id: Uuid,
        role: &str,
        permission: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Takes a directly granted permission from a role. `NotFound` if the
    /// role does not exist or does not hold it directly.
    async fn revoke_role_permission(
        &self,
        tenant_id: Uuid,
        role: &str,
        permission: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Names of the roles assigned directly to a user, sorted.
    async fn list_user_roles(&self, tenant_id: Uuid, user_id: Uuid) -> StoreResult<Vec<String>>;

    /// Assigns a role to a user; assigning it again is not an error.
    /// `NotFound` if the user or the role does not exist in the tenant.
    async fn assign_user_role(&self, tenant_id: Uuid, user_id: Uuid, role: &str) -> StoreResult<()>;

    /// Removes a role from a user. `NotFound` if it was not assigned; `keep`
    /// as for `set_user_status`.
    async fn remove_user_role(
        &self,
        tenant_id: Uuid,
        user_id: Uuid,
        role: &str,
        keep: Option<KeepLastHolder<'_>>,
    ) -> StoreResult<()>;

    /// Names of the roles assigned to a machine client, sorted.
    async fn list_client_roles(&self, tenant_id: Uuid, client_id: Uuid) -> StoreResult<Vec<String>>;

    /// Assigns a role to a client; again is not an error. `NotFound` if the
    /// client or the role does not exist in the tenant.
    async fn assign_client_role(&self, tenant_id: Uuid, client_id: Uuid, role: &str) -> StoreResult<()>;

    /// Removes a role from a client. `NotFound` if it was not assigned.
    async fn remove_client_role(&self, tenant_id: Uuid, client_id: Uuid, role: &str) -> StoreResult<()>;

    // --- clients (administration) ------------------------------------------------------

    /// Replaces a client's registration (everything but its id, tenant,
    /// secrets and `created_at`) and returns it. `NotFound` if missing.
    async fn update_client(&self, client: &Client) -> StoreResult<Client>;
}
