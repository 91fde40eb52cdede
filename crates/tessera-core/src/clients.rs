//! The OAuth client registry: registering, listing, rotating secrets of and
//! deleting a tenant's clients, and checking a client secret.
//!
//! # Client cache
//! Client authentication at the OAuth endpoints
//! ([`ClientService::authenticate`]) must not cost a database read per
//! request, so clients are cached in-process for
//! [`CLIENT_CACHE_TTL_SECS`]. Only clients that exist are cached, and a
//! cached client whose secret does not match is read again: a client
//! registered by another process (the CLI beside a running server) is usable
//! at once, and so is a freshly rotated secret. The price, documented in
//! `docs/clients.md`: a client deleted, or a secret dropped by a rotation,
//! through *another* process keeps working on this node for up to
//! [`CLIENT_CACHE_TTL_SECS`]. Changes made through this service are
//! forgotten locally at once.
//!
//! # Client secrets
//! A secret is 256 bits from the OS CSPRNG (base64url, 43 characters), shown
//! once, and stored only as its SHA-256. A fast hash is safe here, unlike for
//! passwords: a secret that was never chosen by a human has so much entropy
//! that guessing it from its hash is infeasible at any hashing speed, and a
//! microsecond check keeps the token endpoint fast (a password hash would
//! cost tens of milliseconds per token request). Two secrets are accepted
//! during a rotation: the current one and the one it replaced. A client
//! with `secret_ttl_secs` gets secrets that expire (RFC 7591
//! `client_secret_expires_at`); the previous secret keeps its own expiry.
//!
//! # Refusals
//! Every failed client authentication is `invalid_client` with a
//! [`ClientRefusal`] that says why (unknown client, disabled, wrong method,
//! wrong or expired secret, refused assertion), so that a developer can fix
//! the client from the error alone. Client ids are not secrets; nothing in a
//! refusal reveals a secret.
//!
//! # Client assertions
//! A `private_key_jwt` client (RFC 7523 §2.2, OIDC Core §9) proves itself
//! with a short-lived JWT signed by one of the public keys it registered
//! ([`ClientService::authenticate_assertion`]). Each assertion's `jti` is
//! recorded in the store until the assertion expires, so an assertion
//! works once across every node.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use tessera_store::{Client, ResourceStore, SecretRotation, TokenEndpointAuthMethod, DEFAULT_TENANT_SLUG};
use uuid::Uuid;

use crate::cache::TtlCache;
use crate::clock::Clock;
use crate::error::{AuthError, AuthResult, FieldViolation};
use crate::keys::SigningAlg;

mod assertion;
mod refusal;
mod resources;
mod secrets;
mod validate;
use crate::tokens::{new_opaque_token, token_hash};
use assertion::{unverified_issuer, verify_with_jwks, AssertionClaims, AssertionError};
pub use refusal::ClientRefusal;
pub use resources::{check_scope_for_resource, consent_entry, is_oidc_scope, RESOURCE_IDENTIFIER_MAX_CHARS};
use secrets::{check_presented, check_secret_of, is_public_and_usable, refused, secret_expiry, usable};
use validate::validate;
pub use validate::NewClient;

/// How long a client read from the store is trusted, seconds.
pub const CLIENT_CACHE_TTL_SECS: u64 = 5;

/// Longest lifetime of a client assertion, seconds: its `exp` may be at
/// most this far after its `iat` and after now (plus leeway). Assertions are
/// made for one request; a long-lived one would be a bearer credential.
pub const MAX_ASSERTION_LIFETIME_SECS: i64 = 5 * 60;

/// Longest client assertion accepted, bytes (checked before any parsing).
const MAX_ASSERTION_BYTES: usize = 16 * 1024;

/// Longest `jti` accepted, characters.
const MAX_JTI_CHARS: usize = 256;

/// What the client registry needs to know of the server: who it is (the
/// audience of client assertions) and how much clock skew it forgives.
#[derive(Debug, Clone)]
pub struct ClientAuthSettings {
    /// The issuer URL, without a trailing slash.
    pub issuer: String,
    /// Clock-skew allowance for assertion times, seconds (`tokens.leeway_secs`).
    pub leeway_secs: u64,
    /// The audience of Tessera's own API (`tokens.audience`, default the
    /// issuer): no client may register it as its resource.
    pub api_audience: String,
}

/// The OAuth endpoint a client authenticates at; with `private_key_jwt`
/// its URL is an acceptable assertion audience, besides the token endpoint
/// and the issuer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthEndpoint {
    /// `/oauth2/token`.
    Token,
    /// `/oauth2/introspect` (RFC 7662).
    Introspection,
    /// `/oauth2/revoke` (RFC 7009).
    Revocation,
}

impl ClientAuthEndpoint {
    /// The endpoint's path below the issuer.
    pub fn path(self) -> &'static str {
        match self {
            ClientAuthEndpoint::Token => "/oauth2/token",
            ClientAuthEndpoint::Introspection => "/oauth2/introspect",
            ClientAuthEndpoint::Revocation => "/oauth2/revoke",
        }
    }
}

/// Longest client name, characters.
pub const MAX_CLIENT_NAME_CHARS: usize = 128;
/// Largest access-token lifetime override, seconds (one day).
pub const MAX_ACCESS_TOKEN_TTL_SECS: i64 = 24 * 60 * 60;
/// Largest refresh-token idle lifetime override, seconds (one year).
pub const MAX_REFRESH_IDLE_TTL_SECS: i64 = 365 * 24 * 60 * 60;
/// Shortest client-secret lifetime, seconds.
pub const MIN_SECRET_TTL_SECS: i64 = 60;
/// Longest client-secret lifetime, seconds (five years).
pub const MAX_SECRET_TTL_SECS: i64 = 5 * 365 * 24 * 60 * 60;

/// A client secret in the clear, as handed out once, and when it expires.
/// Its `Debug` output is redacted so that it cannot end up in a log by
/// accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret {
    value: String,
    expires_at: Option<DateTime<Utc>>,
}

impl ClientSecret {
    /// A fresh secret (256 random bits) expiring at `expires_at`.
    fn generate(expires_at: Option<DateTime<Utc>>) -> ClientSecret {
        ClientSecret {
            value: new_opaque_token(),
            expires_at,
        }
    }

    /// The secret itself, to show to the operator exactly once.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// When it stops working (`None` = never).
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(**redacted**)")
    }
}

/// A newly registered client and, if it authenticates with a secret, that
/// secret (never retrievable again).
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    /// The stored client.
    pub client: Client,
    /// The secret, for `client_secret_basic` / `client_secret_post` clients.
    pub secret: Option<ClientSecret>,
}

/// How a client presented its credentials at an OAuth endpoint: the
/// method it used (RFC 6749 §2.3) and what it sent.
#[derive(Clone)]
pub struct PresentedClient {
    /// The `client_id` as sent.
    pub client_id: String,
    /// The secret, for the `client_secret_*` methods.
    pub secret: Option<String>,
    /// The authentication method the request used.
    pub method: TokenEndpointAuthMethod,
}

impl std::fmt::Debug for PresentedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentedClient")
            .field("client_id", &self.client_id)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// The client registry of one tenant.
pub struct ClientService {
    store: Arc<dyn ResourceStore>,
    clock: Arc<dyn Clock>,
    settings: ClientAuthSettings,
    tenant_id: Uuid,
    /// Existing clients by id, for [`CLIENT_CACHE_TTL_SECS`] by the clock.
    cache: TtlCache<Uuid, Arc<Client>>,
}

impl ClientService {
    /// The registry of the default tenant (created if missing, as the
    /// account service does).
    pub async fn start(
        store: Arc<dyn ResourceStore>,
        clock: Arc<dyn Clock>,
        settings: ClientAuthSettings,
    ) -> AuthResult<ClientService> {
        let tenant = store
            .ensure_tenant(DEFAULT_TENANT_SLUG, "Default", clock.now())
            .await?;
        Ok(Self::for_tenant(store, clock, settings, tenant.tenant_id))
    }

    /// The registry of tenant `tenant_id` (its issuer is in `settings`).
    pub fn for_tenant(
        store: Arc<dyn ResourceStore>,
        clock: Arc<dyn Clock>,
        settings: ClientAuthSettings,
        tenant_id: Uuid,
    ) -> ClientService {
        let cache = TtlCache::new(
            clock.clone(),
            10_000,
            StdDuration::from_secs(CLIENT_CACHE_TTL_SECS),
        );
        ClientService {
            store,
            clock,
            settings,
            tenant_id,
            cache,
        }
    }

    /// Validates and registers a client; returns it with its secret, if any.
    pub async fn create(&self, input: NewClient) -> AuthResult<RegisteredClient> {
        let mut client = validate(input, self.tenant_id, self.clock.now())?;
        self.check_not_tessera_api(&client)?;
        let secret = client
            .token_endpoint_auth_method
            .uses_secret()
            .then(|| ClientSecret::generate(secret_expiry(client.secret_ttl_secs, client.created_at)));
        client.secret_hash = secret.as_ref().map(|s| token_hash(s.expose()));
        client.secret_expires_at = secret.as_ref().and_then(ClientSecret::expires_at);
        self.store.create_client(&client).await?;
        Ok(RegisteredClient { client, secret })
    }

    /// Every client of the tenant, oldest first.
    pub async fn list(&self) -> AuthResult<Vec<Client>> {
        Ok(self.store.list_clients(self.tenant_id).await?)
    }

    /// One client; `NotFound` if it does not exist.
    pub async fn get(&self, client_id: Uuid) -> AuthResult<Client> {
        Ok(self.store.get_client(self.tenant_id, client_id).await?)
    }

    /// Issues a new secret (expiring after the client's `secret_ttl_secs`,
    /// if set). The current one stays valid until its own expiry (so
    /// deployments can roll over), any older one stops working. Only for
    /// clients that authenticate with a secret.
    pub async fn rotate_secret(&self, client_id: Uuid) -> AuthResult<ClientSecret> {
        let client = self.get(client_id).await?;
        if !client.token_endpoint_auth_method.uses_secret() {
            return Err(AuthError::Validation(vec![FieldViolation {
                field: "token_endpoint_auth_method",
                rule: "no_secret",
                message: format!(
                    "a client using {} has no secret to rotate",
                    client.token_endpoint_auth_method.as_str()
                ),
            }]));
        }
        let now = self.clock.now();
        let secret = ClientSecret::generate(secret_expiry(client.secret_ttl_secs, now));
        let secret_hash = token_hash(secret.expose());
        let rotation = SecretRotation {
            secret_hash: &secret_hash,
            secret_expires_at: secret.expires_at(),
            now,
        };
        self.store
            .rotate_client_secret(self.tenant_id, client_id, &rotation)
            .await?;
        self.cache.invalidate(&client_id).await;
        Ok(secret)
    }

    /// Replaces the registration of client `client_id` with `input`,
    /// validated like a new registration; the id, secrets and creation time
    /// stay. `NotFound` if it does not exist.
    pub async fn update(&self, client_id: Uuid, input: NewClient) -> AuthResult<Client> {
        let current = self.get(client_id).await?;
        let mut client = validate(input, self.tenant_id, self.clock.now())?;
        self.check_not_tessera_api(&client)?;
        client.client_id = current.client_id;
        client.secret_hash = current.secret_hash;
        client.previous_secret_hash = current.previous_secret_hash;
        client.secret_expires_at = current.secret_expires_at;
        client.previous_secret_expires_at = current.previous_secret_expires_at;
        client.created_at = current.created_at;
        // Disabled since when: kept while it stays disabled.
        if client.disabled_at.is_some() && current.disabled_at.is_some() {
            client.disabled_at = current.disabled_at;
        }
        let updated = self.store.update_client(&client).await?;
        self.cache.invalidate(&client_id).await;
        Ok(updated)
    }

    /// Deletes a client; `NotFound` if it does not exist.
    pub async fn delete(&self, client_id: Uuid) -> AuthResult<()> {
        self.store.delete_client(self.tenant_id, client_id).await?;
        self.cache.invalidate(&client_id).await;
        Ok(())
    }

    /// Checks a `client_id` and secret as either `client_secret_*` method
    /// would present them: the client if the secret is its current or
    /// previous one and has not expired, else `InvalidClient` saying why.
    /// Always reads the store (no cache), so it reflects every change at
    /// once; the OAuth endpoints use the cached [`ClientService::authenticate`].
    pub async fn authenticate_secret(&self, client_id: &str, secret: &str) -> AuthResult<Client> {
        let presented = token_hash(secret);
        let Ok(id) = Uuid::parse_str(client_id) else {
            return Err(refused(ClientRefusal::UnknownClient));
        };
        let client = self
            .fetch(id)
            .await?
            .ok_or(refused(ClientRefusal::UnknownClient))?;
        usable(&client)?;
        if !client.token_endpoint_auth_method.uses_secret() {
            return Err(refused(ClientRefusal::MethodMismatch {
                registered: client.token_endpoint_auth_method,
                used: TokenEndpointAuthMethod::ClientSecretBasic,
            }));
        }
        check_secret_of(&client, &presented, self.clock.now())?;
        Ok(client.as_ref().clone())
    }

    /// Authenticates a client at an OAuth endpoint: the client must exist
    /// and be enabled, the method used must be the one it registered (RFC
    /// 6749 §2.3: a client uses one method, and the server accepts only
    /// that), and the secret must match and be unexpired. `private_key_jwt`
    /// (see [`ClientService::authenticate_assertion`]) and `none` (see
    /// [`ClientService::identify_public`]) are refused here.
    pub async fn authenticate(&self, presented: &PresentedClient) -> AuthResult<Arc<Client>> {
        let secret = match (presented.method.uses_secret(), presented.secret.as_deref()) {
            (true, Some(secret)) => secret,
            _ => return Err(refused(ClientRefusal::NoCredentials)),
        };
        let cached = self
            .find(&presented.client_id)
            .await?
            .ok_or(refused(ClientRefusal::UnknownClient))?;
        let presented_hash = token_hash(secret);
        let now = self.clock.now();
        if check_presented(&cached, presented.method, &presented_hash, now).is_ok() {
            return Ok(cached);
        }
        // Maybe rotated, re-enabled or changed by another process since it
        // was cached: read again before refusing.
        let fresh = self
            .fetch(cached.client_id)
            .await?
            .ok_or(refused(ClientRefusal::UnknownClient))?;
        check_presented(&fresh, presented.method, &presented_hash, now)?;
        Ok(fresh)
    }

    /// Authenticates a `private_key_jwt` client by its assertion (RFC 7523
    /// §2.2 and §3, OIDC Core §9) at `endpoint`. `client_id` is the form's
    /// `client_id`, if sent; it must then name the assertion's issuer.
    ///
    /// The assertion must be signed (RS256, ES256 or EdDSA, as the key's
    /// type dictates) by a key of the client's registered JWK Set (the one
    /// named by `kid`, else any that fits); its `iss` and `sub` are the
    /// client id; its `aud` names the issuer, the token endpoint or
    /// `endpoint`; `exp` is in the future but at most
    /// [`MAX_ASSERTION_LIFETIME_SECS`] after `iat` and now; `jti` is
    /// present and has not been used by the client before. Any failure is
    /// `InvalidClient` saying which rule it broke.
    pub async fn authenticate_assertion(
        &self,
        client_id: Option<&str>,
        assertion: &str,
        endpoint: ClientAuthEndpoint,
    ) -> AuthResult<Arc<Client>> {
        // The reason helps developers debug a client; the assertion itself
        // is a credential and is never logged or echoed.
        match self.check_assertion(client_id, assertion, endpoint).await {
            Ok(client) => Ok(client),
            Err(AssertionError::Refused(reason)) => Err(refused(ClientRefusal::Assertion(reason))),
            Err(AssertionError::Client(refusal)) => Err(refused(refusal)),
            Err(AssertionError::Store(err)) => Err(err),
        }
    }

    /// [`ClientService::authenticate_assertion`], keeping the reason of a
    /// refusal for the debug log.
    async fn check_assertion(
        &self,
        client_id: Option<&str>,
        assertion: &str,
        endpoint: ClientAuthEndpoint,
    ) -> Result<Arc<Client>, AssertionError> {
        use AssertionError::Refused;
        if assertion.len() > MAX_ASSERTION_BYTES {
            return Err(Refused("it is larger than 16 KiB"));
        }
        // The header is read unverified only to choose the key; the
        // algorithm that is checked comes from the key (RFC 8725 §3.1).
        // `none` and unknown algorithms do not even parse.
        let header = jsonwebtoken::decode_header(assertion)
            .map_err(|_| Refused("its JOSE header is malformed or names an unsupported algorithm"))?;
        // Which client's keys to try: the form's client_id, else the
        // (as yet unverified) issuer, checked again once verified.
        let named = match client_id {
            Some(id) => id.to_owned(),
            None => unverified_issuer(assertion).ok_or(Refused("it has no iss and the form no client_id"))?,
        };
        let client = self
            .find(&named)
            .await
            .map_err(AssertionError::Store)?
            .ok_or(AssertionError::Client(ClientRefusal::UnknownClient))?;
        if client.disabled_at.is_some() {
            return Err(AssertionError::Client(ClientRefusal::Disabled));
        }
        if client.token_endpoint_auth_method != TokenEndpointAuthMethod::PrivateKeyJwt {
            return Err(AssertionError::Client(ClientRefusal::MethodMismatch {
                registered: client.token_endpoint_auth_method,
                used: TokenEndpointAuthMethod::PrivateKeyJwt,
            }));
        }
        let claims = verify_with_jwks(&client, &header, assertion)?;
        let leeway = i64::try_from(self.settings.leeway_secs).unwrap_or(0);
        self.check_assertion_claims(&claims, &client, client_id, endpoint, leeway)?;
        // Remembered for as long as the assertion is accepted (RFC 7523
        // §3 item 7): its expiry plus the leeway.
        let remember_until = DateTime::from_timestamp(claims.exp.saturating_add(leeway), 0)
            .ok_or(Refused("its exp is out of range"))?;
        let first_use = self
            .store
            .record_client_assertion(self.tenant_id, client.client_id, &claims.jti, remember_until)
            .await
            .map_err(|err| AssertionError::Store(err.into()))?;
        if !first_use {
            return Err(Refused("its jti was used before: an assertion works once"));
        }
        Ok(client)
    }

    /// The claims of a verified assertion (RFC 7523 §3): `iss` and `sub`
    /// name the client (and so does the form's `client_id`, if sent), `aud`
    /// names this server, the lifetime is short and current, and `jti` is
    /// usable. `leeway` applies to every time check.
    fn check_assertion_claims(
        &self,
        claims: &AssertionClaims,
        client: &Client,
        client_id: Option<&str>,
        endpoint: ClientAuthEndpoint,
        leeway: i64,
    ) -> Result<(), AssertionError> {
        use AssertionError::Refused;
        let id = client.client_id.to_string();
        if claims.iss != id || claims.sub != id || client_id.is_some_and(|sent| sent != id) {
            return Err(Refused("iss, sub and client_id must all be the client id"));
        }
        let issuer = self.settings.issuer.as_str();
        let audiences = [
            issuer.to_owned(),
            format!("{issuer}{}", ClientAuthEndpoint::Token.path()),
            format!("{issuer}{}", endpoint.path()),
        ];
        if !claims.aud.iter().any(|aud| audiences.iter().any(|a| a == aud)) {
            return Err(Refused("its aud names neither the issuer nor the endpoint"));
        }
        let now = self.clock.now().timestamp();
        if claims.exp.saturating_add(leeway) <= now {
            return Err(Refused("it has expired (exp)"));
        }
        if claims.exp
            > now
                .saturating_add(MAX_ASSERTION_LIFETIME_SECS)
                .saturating_add(leeway)
        {
            return Err(Refused("its exp is more than 5 minutes away"));
        }
        if let Some(iat) = claims.iat {
            if iat > now.saturating_add(leeway)
                || claims.exp.saturating_sub(iat) > MAX_ASSERTION_LIFETIME_SECS
            {
                return Err(Refused(
                    "its iat is in the future or more than 5 minutes before exp",
                ));
            }
        }
        if claims.nbf.is_some_and(|nbf| nbf.saturating_sub(leeway) > now) {
            return Err(Refused("it is not yet valid (nbf)"));
        }
        if claims.jti.is_empty() || claims.jti.chars().count() > MAX_JTI_CHARS {
            return Err(Refused("its jti is missing or longer than 256 characters"));
        }
        Ok(())
    }

    /// Identifies a public client (RFC 6749 §2.1: it cannot authenticate,
    /// so its `client_id` is all it sends). `InvalidClient` if there is no
    /// such client, it is disabled, or it is not registered with `none`.
    pub async fn identify_public(&self, client_id: &str) -> AuthResult<Arc<Client>> {
        let cached = self
            .find(client_id)
            .await?
            .ok_or(refused(ClientRefusal::UnknownClient))?;
        if is_public_and_usable(&cached).is_ok() {
            return Ok(cached);
        }
        // Maybe re-enabled or changed by another process: read again.
        let fresh = self
            .fetch(cached.client_id)
            .await?
            .ok_or(refused(ClientRefusal::UnknownClient))?;
        is_public_and_usable(&fresh)?;
        Ok(fresh)
    }

    /// The client with this id as sent in a request (served from the cache
    /// for up to [`CLIENT_CACHE_TTL_SECS`]); `None` if the id is malformed
    /// or unknown.
    pub async fn find(&self, client_id: &str) -> AuthResult<Option<Arc<Client>>> {
        let Ok(id) = Uuid::parse_str(client_id) else {
            return Ok(None);
        };
        if let Some(cached) = self.cache.get(&id).await {
            return Ok(Some(cached));
        }
        match self.store.get_client(self.tenant_id, id).await {
            Ok(client) => {
                let client = Arc::new(client);
                self.cache.insert(id, client.clone()).await;
                Ok(Some(client))
            }
            Err(tessera_store::StoreError::NotFound) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// Reads a client from the store and refreshes its cache entry; `None`
    /// (and the entry dropped) if it does not exist.
    async fn fetch(&self, id: Uuid) -> AuthResult<Option<Arc<Client>>> {
        match self.store.get_client(self.tenant_id, id).await {
            Ok(client) => {
                let client = Arc::new(client);
                self.cache.insert(id, client.clone()).await;
                Ok(Some(client))
            }
            Err(tessera_store::StoreError::NotFound) => {
                self.cache.invalidate(&id).await;
                Ok(None)
            }
            Err(err) => Err(err.into()),
        }
    }
}

#[cfg(test)]
mod tests;
