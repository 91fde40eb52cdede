//! Access tokens (RFC 9068) of one tenant: signing them for a user or a
//! client, verifying presented ones (with a cache of verified signatures),
//! and the revocation set of RFC 7009.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tessera_store::{Client, ResourceStore, Session, User};
use uuid::Uuid;

use crate::access::{Access, AccessControl};
use crate::cache::TtlCache;
use crate::clock::Clock;
use crate::error::{AuthError, AuthResult};
use crate::jwt::{
    self, AccessClaims, Expectations, ACCESS_TOKEN_TYP, FIRST_PARTY_CLIENT_ID, SCOPE_ADMIN, SCOPE_ROLES,
};
use crate::keys::KeyRing;
use crate::settings::TokenSettings;

/// Who an access token is issued to.
pub enum TokenAudience<'a> {
    /// Tessera's own JSON API (`client_id` = `tessera`, no scope).
    FirstParty,
    /// An OAuth client, with the scopes it was granted (space-separated),
    /// for Tessera's API or for a registered resource (RFC 8707).
    Client {
        /// The client.
        client: &'a Client,
        /// Granted scopes.
        scope: &'a str,
        /// The resource the token is for (its `aud`); `None` = Tessera's
        /// own API.
        resource: Option<&'a str>,
    },
}

/// Signs and checks the tenant's access tokens.
pub struct AccessTokens {
    tenant_id: Uuid,
    issuer: String,
    audience: String,
    tokens: TokenSettings,
    keys: Arc<KeyRing>,
    access: Arc<AccessControl>,
    store: Arc<dyn ResourceStore>,
    clock: Arc<dyn Clock>,
    /// Claims of tokens whose signature was already verified, by the
    /// SHA-256 of the token: a repeat caller skips the signature check.
    /// Expiry is re-checked on every hit, so the cache's own lifetime only
    /// bounds memory.
    verified: moka::sync::Cache<[u8; 32], Arc<AccessClaims>>,
    /// The tenant's revoked, unexpired `jti`s: read from the store at most
    /// once per `session_cache_ttl_secs` (so a revocation on another node
    /// takes effect here within that time) and dropped on every local
    /// revocation.
    revoked: TtlCache<(), Arc<HashSet<String>>>,
}

/// The `roles` and `permissions` claims for `access`; permissions only when
/// `with_permissions`.
pub(crate) fn access_claims(access: &Access, with_permissions: bool) -> (Vec<String>, Option<Vec<String>>) {
    let permissions = with_permissions.then(|| access.grants.names().map(str::to_string).collect());
    (access.roles.clone(), permissions)
}

impl AccessTokens {
    /// The access tokens of `tenant_id`, issued by `issuer`.
    pub(crate) fn new(
        tenant_id: Uuid,
        issuer: String,
        tokens: TokenSettings,
        keys: Arc<KeyRing>,
        access: Arc<AccessControl>,
        store: Arc<dyn ResourceStore>,
        clock: Arc<dyn Clock>,
    ) -> AccessTokens {
        let audience = if tokens.audience.is_empty() {
            issuer.clone()
        } else {
            tokens.audience.clone()
        };
        let verified = moka::sync::Cache::builder()
            .max_capacity(100_000)
            .time_to_live(StdDuration::from_secs(tokens.access_token_ttl_secs.max(1)))
            .build();
        let revoked = TtlCache::new(
            clock.clone(),
            1,
            StdDuration::from_secs(tokens.session_cache_ttl_secs),
        );
        AccessTokens {
            tenant_id,
            issuer,
            audience,
            tokens,
            keys,
            access,
            store,
            clock,
            verified,
            revoked,
        }
    }

    /// The `aud` of tokens for Tessera's own API (first-party tokens, and
    /// clients' tokens that named no resource).
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Access-token lifetime for `client`: its own override, else the
    /// configured default.
    pub fn ttl_for(&self, client: &Client) -> u64 {
        client
            .access_token_ttl_secs
            .and_then(|secs| u64::try_from(secs).ok())
            .filter(|secs| *secs > 0)
            .unwrap_or(self.tokens.access_token_ttl_secs)
    }

    /// The claims every access token has: `aud` = `resource`, or Tessera's
    /// API audience when `None`.
    fn claims(&self, sub: String, resource: Option<&str>, ttl: u64, now: DateTime<Utc>) -> AccessClaims {
        let iat = now.timestamp();
        AccessClaims {
            iss: self.issuer.clone(),
            sub,
            aud: resource.map_or_else(|| self.audience.clone(), str::to_string),
            exp: iat + i64::try_from(ttl).unwrap_or(i64::MAX / 2),
            iat,
            nbf: Some(iat),
            jti: Uuid::new_v4().to_string(),
            client_id: FIRST_PARTY_CLIENT_ID.to_string(),
            sid: None,
            scope: None,
            tid: self.tenant_id,
            email: None,
            roles: Vec::new(),
            permissions: None,
        }
    }

    async fn sign(&self, claims: &AccessClaims, now: DateTime<Utc>) -> AuthResult<String> {
        let key = self.keys.signing_key(self.tenant_id, now).await?;
        jwt::sign(&key, ACCESS_TOKEN_TYP, claims)
    }

    /// Signs an access token for `user` in `session`: a first-party token,
    /// or one for an OAuth client with its `client_id`, granted `scope` and
    /// lifetime (RFC 9068 §2.2). Returns it with its lifetime.
    pub async fn for_user(
        &self,
        user: &User,
        session: &Session,
        audience: &TokenAudience<'_>,
    ) -> AuthResult<(String, u64)> {
        let now = self.clock.now();
        // The first-party API login's token carries everything; a client's
        // token only what its granted scopes allow: `email` with `email`,
        // roles and permissions with `roles` or `tessera:admin`.
        let (client_id, scope, ttl, with_email, with_roles, with_permissions, resource) = match audience {
            TokenAudience::FirstParty => (
                FIRST_PARTY_CLIENT_ID.to_string(),
                None,
                self.tokens.access_token_ttl_secs,
                true,
                true,
                true,
                None,
            ),
            TokenAudience::Client {
                client,
                scope,
                resource,
            } => {
                let granted = |name: &str| scope.split_whitespace().any(|s| s == name);
                let with_roles = granted(SCOPE_ROLES) || granted(SCOPE_ADMIN);
                (
                    client.client_id.to_string(),
                    Some((*scope).to_string()).filter(|s| !s.is_empty()),
                    self.ttl_for(client),
                    granted("email"),
                    with_roles,
                    with_roles && client.token_permissions,
                    *resource,
                )
            }
        };
        let (roles, permissions) = if with_roles {
            let access = self.access.for_user(user.user_id).await?;
            access_claims(&access, with_permissions)
        } else {
            (Vec::new(), None)
        };
        let claims = AccessClaims {
            client_id,
            sid: Some(session.session_id),
            scope,
            email: with_email.then(|| user.email.clone()),
            roles,
            permissions,
            ..self.claims(user.user_id.to_string(), resource, ttl, now)
        };
        Ok((self.sign(&claims, now).await?, ttl))
    }

    /// Signs an access token a client obtains for itself (client
    /// credentials): `sub` = `client_id`, no session, the client's roles;
    /// for `resource` (its `aud`), or Tessera's own API when `None`.
    pub async fn for_client(
        &self,
        client: &Client,
        scope: Option<String>,
        resource: Option<&str>,
    ) -> AuthResult<(String, u64)> {
        let now = self.clock.now();
        let ttl = self.ttl_for(client);
        let client_id = client.client_id.to_string();
        let access = self.access.for_client(client.client_id).await?;
        let (roles, permissions) = access_claims(&access, client.token_permissions);
        let claims = AccessClaims {
            client_id: client_id.clone(),
            scope,
            roles,
            permissions,
            ..self.claims(client_id, resource, ttl, now)
        };
        Ok((self.sign(&claims, now).await?, ttl))
    }

    /// The claims of `token` if it is one of this tenant's live access
    /// tokens for Tessera's own API: [`AccessTokens::verify_any_audience`]
    /// and `aud` = the API's audience, so a token issued for a resource
    /// server opens nothing here. Revocation is not checked here
    /// ([`AccessTokens::is_revoked`]).
    pub async fn verify(&self, token: &str) -> AuthResult<Arc<AccessClaims>> {
        let claims = self.verify_any_audience(token).await?;
        if claims.aud != self.audience {
            return Err(AuthError::InvalidToken("wrong audience"));
        }
        Ok(claims)
    }

    /// The claims of `token` if it is one of this tenant's live access
    /// tokens, whatever its audience: signature (by the `kid`'s key and
    /// algorithm), `typ`, `iss`, `exp`/`nbf` by the clock, `tid`. For
    /// introspection and revocation, whose callers check the audience.
    pub async fn verify_any_audience(&self, token: &str) -> AuthResult<Arc<AccessClaims>> {
        let fingerprint: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = self.clock.now();
        let leeway = i64::try_from(self.tokens.leeway_secs).unwrap_or(0);
        if let Some(claims) = self.verified.get(&fingerprint) {
            if claims.exp + leeway > now.timestamp() {
                return Ok(claims);
            }
            return Err(AuthError::InvalidToken("expired"));
        }
        let (kid, _) = jwt::peek_header(token)?;
        let key = self
            .keys
            .verification_key(self.tenant_id, &kid, now)
            .await?
            .ok_or(AuthError::InvalidToken("unknown key"))?;
        let expect = Expectations {
            issuer: &self.issuer,
            audience: None,
            leeway_secs: self.tokens.leeway_secs,
            now: now.timestamp(),
        };
        let claims = Arc::new(jwt::verify_access_token(token, &key, &expect)?);
        if claims.tid != self.tenant_id {
            return Err(AuthError::InvalidToken("wrong tenant"));
        }
        self.verified.insert(fingerprint, claims.clone());
        Ok(claims)
    }

    /// Whether the access token `jti` was revoked (from the cached
    /// revocation set).
    pub async fn is_revoked(&self, jti: &str) -> AuthResult<bool> {
        let (store, tenant_id, now) = (self.store.clone(), self.tenant_id, self.clock.now());
        let set = self
            .revoked
            .get_or_load((), async move {
                let jtis = store.list_revoked_access_tokens(tenant_id, now).await?;
                Ok(Arc::new(jtis.into_iter().collect::<HashSet<_>>()))
            })
            .await?;
        Ok(set.contains(jti))
    }

    /// Denies the access token `claims` until it expires (RFC 7009).
    pub async fn revoke(&self, claims: &AccessClaims) -> AuthResult<()> {
        let expires_at = DateTime::<Utc>::from_timestamp(claims.exp, 0)
            .ok_or_else(|| AuthError::Internal("token expiry out of range".into()))?;
        self.store
            .revoke_access_token(self.tenant_id, &claims.jti, expires_at, self.clock.now())
            .await?;
        self.revoked.invalidate(&()).await;
        Ok(())
    }
}
