//! Plain data the store persists. Ids are UUIDs (v7 where creation order
//! helps), times are UTC.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The slug of the tenant every installation starts with.
pub const DEFAULT_TENANT_SLUG: &str = "default";

/// An isolated realm: its own users, sessions, keys (and later clients, roles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Primary key.
    pub tenant_id: Uuid,
    /// URL-safe short name, unique (`default` for the first tenant).
    pub slug: String,
    /// Display name.
    pub name: String,
    /// When the tenant was created.
    pub created_at: DateTime<Utc>,
    /// When it was switched off (its users, clients and tokens stop
    /// working); `None` while it is live.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// Lifecycle state of an account; only `Active` may log in or refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Normal account.
    Active,
    /// Temporarily barred by an administrator.
    Suspended,
    /// Switched off (e.g. left the organisation).
    Disabled,
}

impl UserStatus {
    /// The lowercase name stored in the database and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Suspended => "suspended",
            UserStatus::Disabled => "disabled",
        }
    }

    /// Parses the stored name; `None` for anything unknown.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(UserStatus::Active),
            "suspended" => Some(UserStatus::Suspended),
            "disabled" => Some(UserStatus::Disabled),
            _ => None,
        }
    }
}

/// An account. `email` and `username` are stored already normalised
/// (lowercase), which is what makes their uniqueness case-insensitive.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Primary key.
    pub user_id: Uuid,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Normalised (lowercase) email, unique per tenant.
    pub email: String,
    /// Whether the email address has been proven.
    pub email_verified: bool,
    /// Normalised username, unique per tenant when present.
    pub username: Option<String>,
    /// Free display name.
    pub display_name: Option<String>,
    /// Free-form profile object (bounded in size by the service).
    pub profile: serde_json::Value,
    /// Lifecycle state.
    pub status: UserStatus,
    /// PHC-format password hash; `None` for accounts without a password.
    pub password_hash: Option<String>,
    /// Consecutive failed logins since the last success.
    pub failed_login_count: i32,
    /// Logins are refused until this instant.
    pub locked_until: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change of any field.
    pub updated_at: DateTime<Utc>,
    /// When an administrator soft-deleted the account (it can no longer sign
    /// in and is hidden from listings); `None` for live accounts.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Fields the account owner (or, for email, an administrator) may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserProfileUpdate {
    /// New normalised username (`Some(None)` clears it).
    pub username: Option<Option<String>>,
    /// New display name (`Some(None)` clears it).
    pub display_name: Option<Option<String>>,
    /// Replacement profile object.
    pub profile: Option<serde_json::Value>,
    /// New normalised email (administrators only).
    pub email: Option<String>,
    /// New verification state of the email (administrators only).
    pub email_verified: Option<bool>,
}

/// A login session: one refresh-token family on one device.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Primary key; appears as `sid` in tokens.
    pub session_id: Uuid,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// The signed-in user.
    pub user_id: Uuid,
    /// Client IP at creation (as seen by the server).
    pub ip: Option<String>,
    /// User-Agent at creation.
    pub user_agent: Option<String>,
    /// Creation time (also the authentication time).
    pub created_at: DateTime<Utc>,
    /// Last login or refresh.
    pub last_used_at: DateTime<Utc>,
    /// Absolute end of the session, whatever its activity.
    pub expires_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why it was revoked (`logout`, `refresh_token_reuse`, …).
    pub revoke_reason: Option<String>,
    /// The OAuth client the session was granted to by an authorization
    /// code; `None` for a first-party API login.
    pub client_id: Option<Uuid>,
    /// The scopes granted to that client, space-separated.
    pub scope: Option<String>,
    /// The resource (RFC 8707) the grant's access tokens are for (their
    /// `aud`); `None` = Tessera's own API.
    pub resource: Option<String>,
    /// The browser (single sign-on) session the grant came from; ending
    /// that browser session ends this one too.
    pub browser_session_id: Option<Uuid>,
    /// When the user last authenticated (OIDC `auth_time`).
    pub auth_time: DateTime<Utc>,
    /// How the user authenticated (OIDC `amr`, e.g. `["pwd"]`).
    pub amr: Vec<String>,
}

/// One opaque refresh token, known to the store only by its SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshToken {
    /// SHA-256 of the token, lowercase hex; primary key.
    pub token_hash: String,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// The session (family) the token belongs to.
    pub session_id: Uuid,
    /// Hash of the token this one replaced, if any.
    pub parent_hash: Option<String>,
    /// Issue time.
    pub created_at: DateTime<Utc>,
    /// Idle expiry (rolling), never past the session's absolute expiry.
    pub expires_at: DateTime<Utc>,
    /// When it was spent by a rotation; a spent token presented again is reuse.
    pub used_at: Option<DateTime<Utc>>,
}

/// A session together with the state of its user, enough to accept or
/// refuse a bearer token.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionWithUser {
    /// The session.
    pub session: Session,
    /// Its user.
    pub user: User,
}

/// Lifecycle of a signing key (see `ARCHITECTURE.md`, Tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Published in JWKS, not yet signing.
    Next,
    /// Signs new tokens.
    Active,
    /// No longer signs; published until `not_after`.
    Retired,
}

impl KeyState {
    /// The lowercase name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
        }
    }

    /// Parses the stored name; `None` for anything unknown.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "next" => Some(KeyState::Next),
            "active" => Some(KeyState::Active),
            "retired" => Some(KeyState::Retired),
            _ => None,
        }
    }
}

/// An asymmetric signing key; the private part is encrypted at rest with the
/// key-encryption key, so the store never holds it in the clear.
#[derive(Debug, Clone, PartialEq)]
pub struct SigningKey {
    /// Key id, published as `kid`; primary key.
    pub kid: String,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// JWS algorithm (`ES256`, `RS256`, `EdDSA`).
    pub alg: String,
    /// Public key as a JWK (RFC 7517) object.
    pub public_jwk: serde_json::Value,
    /// Encrypted PKCS#8 private key (nonce ‖ AES-256-GCM ciphertext).
    pub private_key_encrypted: Vec<u8>,
    /// Lifecycle state.
    pub state: KeyState,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When a `next` key starts signing.
    pub activates_at: DateTime<Utc>,
    /// For retired keys: unpublish after this instant.
    pub not_after: Option<DateTime<Utc>>,
}

/// Whether an OAuth client can keep a secret (RFC 6749 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientType {
    /// Runs on a server and authenticates at the token endpoint.
    Confidential,
    /// Runs on a user's device (SPA, native app); has no credentials.
    Public,
}

impl ClientType {
    /// The lowercase name stored in the database and shown to operators.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Confidential => "confidential",
            ClientType::Public => "public",
        }
    }

    /// Parses the stored name; `None` for anything unknown.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "confidential" => Some(ClientType::Confidential),
            "public" => Some(ClientType::Public),
            _ => None,
        }
    }
}

/// An OAuth grant type a client may use at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// RFC 6749 §4.1 (with PKCE).
    AuthorizationCode,
    /// RFC 6749 §6.
    RefreshToken,
    /// RFC 6749 §4.4, confidential clients only.
    ClientCredentials,
}

impl GrantType {
    /// Every grant type, in the order they are listed to operators.
    pub const ALL: [GrantType; 3] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    /// The registered OAuth name, as stored and as sent in `grant_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    /// Parses the OAuth name; `None` for anything unknown.
    pub fn parse(s: &str) -> Option<Self> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// How a client authenticates at the token endpoint (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuthMethod {
    /// Secret in HTTP Basic (RFC 6749 §2.3.1); the default for confidential clients.
    ClientSecretBasic,
    /// Secret in the form body (RFC 6749 §2.3.1).
    ClientSecretPost,
    /// A JWT signed with a key of the client's registered JWKS (RFC 7523).
    PrivateKeyJwt,
    /// No authentication: public clients, and only them.
    None,
}

impl TokenEndpointAuthMethod {
    /// Every method, in the order they are listed to operators.
    pub const ALL: [TokenEndpointAuthMethod; 4] = [
        TokenEndpointAuthMethod::ClientSecretBasic,
        TokenEndpointAuthMethod::ClientSecretPost,
        TokenEndpointAuthMethod::PrivateKeyJwt,
        TokenEndpointAuthMethod::None,
    ];

    /// The registered name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenEndpointAuthMethod::ClientSecretBasic => "client_secret_basic",
            TokenEndpointAuthMethod::ClientSecretPost => "client_secret_post",
            TokenEndpointAuthMethod::PrivateKeyJwt => "private_key_jwt",
            TokenEndpointAuthMethod::None => "none",
        }
    }

    /// Parses the registered name; `None` for anything unknown.
    pub fn parse(s: &str) -> Option<Self> {
        TokenEndpointAuthMethod::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Whether the method authenticates with a shared secret.
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            TokenEndpointAuthMethod::ClientSecretBasic | TokenEndpointAuthMethod::ClientSecretPost
        )
    }
}

/// A new client secret, as a rotation stores it.
#[derive(Debug, Clone, Copy)]
pub struct SecretRotation<'a> {
    /// SHA-256 (lowercase hex) of the new secret.
    pub secret_hash: &'a str,
    /// When the new secret stops working; `None` = never.
    pub secret_expires_at: Option<DateTime<Utc>>,
    /// The time of the rotation (`updated_at`).
    pub now: DateTime<Utc>,
}

/// A registered OAuth client of a tenant. Its secrets are known to the store
/// only by their SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    /// Primary key; the OAuth `client_id`.
    pub client_id: Uuid,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// Display name (shown on consent screens).
    pub name: String,
    /// Confidential or public.
    pub client_type: ClientType,
    /// Redirect URIs, compared by exact string match.
    pub redirect_uris: Vec<String>,
    /// Grant types the client may use.
    pub grant_types: Vec<GrantType>,
    /// Scopes the client may request.
    pub scopes: Vec<String>,
    /// Token endpoint authentication; `None` exactly for public clients.
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// Public keys (a JWK Set) for `private_key_jwt`.
    pub jwks: Option<serde_json::Value>,
    /// Trusted first-party application (skips consent).
    pub first_party: bool,
    /// Override of the access-token lifetime, seconds.
    pub access_token_ttl_secs: Option<i64>,
    /// Override of the refresh-token idle lifetime, seconds.
    pub refresh_idle_ttl_secs: Option<i64>,
    /// Where RP-initiated logout may send the browser back to (exact match).
    pub post_logout_redirect_uris: Vec<String>,
    /// Algorithm of the client's ID tokens (`RS256`, `ES256` or `EdDSA`;
    /// `None` = `RS256`, the OIDC default).
    pub id_token_signed_response_alg: Option<String>,
    /// Whether its access tokens carry the `permissions` claim (switch off
    /// to keep tokens small; `roles` and `tid` are always there).
    pub token_permissions: bool,
    /// A legacy confidential client let off PKCE when its authorization
    /// request sends an OIDC `nonce` (PKCE is otherwise required of every
    /// client, OAuth 2.1).
    pub pkce_optional: bool,
    /// The resource (RFC 8707) this client stands for as a resource server:
    /// an absolute URI, unique in the tenant, that other clients name in
    /// `resource` and that becomes the `aud` of their tokens for it. This
    /// client may introspect those tokens (RFC 7662 §4).
    pub resource: Option<String>,
    /// The scopes of that resource: what a token for it may be granted.
    pub resource_scopes: Vec<String>,
    /// SHA-256 (lowercase hex) of the current secret.
    pub secret_hash: Option<String>,
    /// SHA-256 of the secret before the last rotation, still accepted.
    pub previous_secret_hash: Option<String>,
    /// Lifetime of each secret issued to the client, seconds (`None` =
    /// secrets do not expire); applies to secrets issued after it is set.
    pub secret_ttl_secs: Option<i64>,
    /// When the current secret stops working (RFC 7591
    /// `client_secret_expires_at`); `None` = never.
    pub secret_expires_at: Option<DateTime<Utc>>,
    /// When the previous secret stops working: its own expiry, kept through
    /// the rotation.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// When the client was disabled; a disabled client cannot authenticate,
    /// start an authorization request or obtain tokens. `None` = enabled.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change (registration or secret rotation).
    pub updated_at: DateTime<Utc>,
}

/// A signed-in browser: the single sign-on session behind the hosted pages
/// (`/login`, `/consent`, `/oauth2/authorize`). Its cookie holds an opaque
/// token the store knows only by its SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct BrowserSession {
    /// Primary key; the OIDC `sid` of ID tokens.
    pub browser_session_id: Uuid,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// The signed-in user.
    pub user_id: Uuid,
    /// SHA-256 (lowercase hex) of the cookie value; unique.
    pub token_hash: String,
    /// When the user authenticated.
    pub auth_time: DateTime<Utc>,
    /// How the user authenticated (`["pwd"]`).
    pub amr: Vec<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Absolute end.
    pub expires_at: DateTime<Utc>,
    /// When it was ended (logout), if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The client's IP at sign-in.
    pub ip: Option<String>,
    /// The browser's `User-Agent` at sign-in (at most 512 characters).
    pub user_agent: Option<String>,
    /// When its cookie was last used to authorize a client; `None` if not
    /// since sign-in.
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// An authorization code (RFC 6749 §4.1.2), known to the store only by its
/// SHA-256. Single use: redeeming it records the session it produced, so a
/// second use can revoke that session.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizationCode {
    /// SHA-256 (lowercase hex) of the code; primary key.
    pub code_hash: String,
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// The client it was issued to.
    pub client_id: Uuid,
    /// The user who authorized it.
    pub user_id: Uuid,
    /// The browser session it was issued in.
    pub browser_session_id: Uuid,
    /// The redirect URI of the authorization request (must match at the
    /// token endpoint).
    pub redirect_uri: String,
    /// Whether the authorization request carried `redirect_uri` (rather
    /// than relying on the one registered URI): the token request must then
    /// repeat it (RFC 6749 §4.1.3).
    pub redirect_uri_sent: bool,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The resource (RFC 8707) the request named; `None` = Tessera's own
    /// API.
    pub resource: Option<String>,
    /// The request's OIDC `nonce`.
    pub nonce: Option<String>,
    /// PKCE `code_challenge` (S256 only).
    pub code_challenge: Option<String>,
    /// When the user authenticated.
    pub auth_time: DateTime<Utc>,
    /// How the user authenticated.
    pub amr: Vec<String>,
    /// Issue time.
    pub created_at: DateTime<Utc>,
    /// Expiry (at most 60 s after issue).
    pub expires_at: DateTime<Utc>,
    /// When it was redeemed, if it was.
    pub used_at: Option<DateTime<Utc>>,
    /// The session its redemption created.
    pub session_id: Option<Uuid>,
}

/// Outcome of redeeming an authorization code.
#[derive(Debug, Clone, PartialEq)]
pub enum CodeRedemption {
    /// First use: the session (and refresh token) were stored.
    Redeemed,
    /// The code was used before; nothing was written. Carries the session
    /// the first use created, which the caller revokes (RFC 6749 §4.1.2).
    AlreadyUsed {
        /// The session of the first redemption, if it made one.
        session_id: Option<Uuid>,
    },
}

/// A user's remembered approval of a client's scopes.
#[derive(Debug, Clone, PartialEq)]
pub struct Consent {
    /// Owning tenant.
    pub tenant_id: Uuid,
    /// The user who approved.
    pub user_id: Uuid,
    /// The client approved.
    pub client_id: Uuid,
    /// The approved scopes, sorted, without duplicates.
    pub scopes: Vec<String>,
    /// First approval.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// How many expired rows a purge removed, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeCounts {
    /// Authorization codes past their expiry.
    pub authorization_codes: u64,
    /// Revoked access-token `jti`s past the token's expiry.
    pub revoked_access_tokens: u64,
    /// Browser sessions past their expiry.
    pub browser_sessions: u64,
    /// Used client-assertion `jti`s past the assertion's expiry.
    pub client_assertions: u64,
    /// Mailed one-time tokens expired and older than a day (kept that long
    /// for their count of wrong codes).
    pub one_time_tokens: u64,
    /// Delivery records of mail sent or given up more than 30 days ago.
    pub mail: u64,
}
