//! The key ring: every tenant's signing and verification keys, read from the
//! store, kept decrypted in memory, and rotated.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tessera_store::{KeyState, ResourceStore, SigningKey};
use tokio::sync::{Mutex, RwLock};
use uuid::Uuid;

use super::cache::{Entry, TenantKeys};
use super::material::generate_pkcs8;
use super::schedule::{rotation_times, seconds, statuses, KeyInfo, Schedule};
use super::{KeyEncryptor, LoadedKey, SigningAlg};
use crate::error::{AuthError, AuthResult};

/// Signing and verification keys of every tenant, read from the store and
/// kept decrypted in memory.
///
/// Several nodes share one database and `tessera keys rotate` writes to it
/// while they run, so each node re-reads a tenant's keys after
/// `cache_ttl` (a new key shows in JWKS within that time) and re-derives
/// which key signs whenever an `activates_at` or `not_after` passes, by the
/// injected clock.
pub struct KeyRing {
    store: Arc<dyn ResourceStore>,
    encryptor: KeyEncryptor,
    default_alg: SigningAlg,
    cache_ttl: Duration,
    tenants: RwLock<HashMap<Uuid, Arc<TenantKeys>>>,
    /// Serialises re-reads, so an expired cache costs one query, not one per
    /// request.
    reload: Mutex<()>,
    /// Serialises on-demand key generation (`signing_key_or_create`).
    create: Mutex<()>,
}

impl KeyRing {
    /// A key ring over `store`; `default_alg` signs access tokens, and
    /// `cache_ttl_secs` bounds how long another node's rotation stays
    /// unseen.
    pub fn new(
        store: Arc<dyn ResourceStore>,
        encryptor: KeyEncryptor,
        default_alg: SigningAlg,
        cache_ttl_secs: u64,
    ) -> KeyRing {
        KeyRing {
            store,
            encryptor,
            default_alg,
            cache_ttl: seconds(cache_ttl_secs),
            tenants: RwLock::new(HashMap::new()),
            reload: Mutex::new(()),
            create: Mutex::new(()),
        }
    }

    /// Loads the tenant's keys, generating and storing an active key of the
    /// default algorithm when the tenant has none still in use (first start,
    /// or `signing_alg` changed — better: rotate to the new algorithm first,
    /// so verifiers see the key before it signs).
    pub async fn ensure_loaded(&self, tenant_id: Uuid, now: DateTime<Utc>) -> AuthResult<()> {
        let stored = self.store.list_signing_keys(tenant_id).await?;
        let usable = stored
            .iter()
            .any(|key| key.alg == self.default_alg.as_str() && key.not_after.is_none_or(|end| end > now));
        if !usable {
            let key = self
                .new_signing_key(tenant_id, self.default_alg, KeyState::Active, now, now)
                .await?;
            self.store.insert_signing_key(&key).await?;
            tracing::info!(kid = %key.kid, alg = %key.alg, "generated the first signing key");
        }
        self.reload(tenant_id, now).await?;
        Ok(())
    }

    /// Re-reads the tenant's keys; keys already decrypted are reused.
    async fn reload(&self, tenant_id: Uuid, now: DateTime<Utc>) -> AuthResult<Arc<TenantKeys>> {
        let _guard = self.reload.lock().await;
        let previous = self.tenants.read().await.get(&tenant_id).cloned();
        if let Some(current) = previous.as_ref().filter(|keys| keys.fresh_at(now)) {
            return Ok(current.clone());
        }
        let keys = match self.read_entries(tenant_id, now, previous.as_deref()).await {
            Ok(entries) => TenantKeys::build(entries, now, self.cache_ttl),
            Err(err) => match previous {
                // The database is unreachable: keep serving the keys already
                // known (re-deriving activations and expiries by the clock),
                // and try again after the cache TTL.
                Some(previous) => {
                    tracing::warn!(error = %err, "cannot re-read signing keys; using the cached ones");
                    TenantKeys::build(previous.entries.clone(), now, self.cache_ttl)
                }
                None => return Err(err),
            },
        };
        let keys = Arc::new(keys);
        self.tenants.write().await.insert(tenant_id, keys.clone());
        Ok(keys)
    }

    async fn read_entries(
        &self,
        tenant_id: Uuid,
        now: DateTime<Utc>,
        previous: Option<&TenantKeys>,
    ) -> AuthResult<Vec<Arc<Entry>>> {
        let stored = self.store.list_signing_keys(tenant_id).await?;
        let mut entries = Vec::with_capacity(stored.len());
        for key in stored {
            if key.not_after.is_some_and(|end| end <= now) {
                continue;
            }
            let known = previous
                .and_then(|keys| keys.entries.iter().find(|e| e.key.kid == key.kid))
                .map(|e| e.key.clone());
            let loaded = match known {
                Some(loaded) => loaded,
                None => Arc::new(self.decrypt(&key)?),
            };
            entries.push(Arc::new(Entry {
                key: loaded,
                created_at: key.created_at,
                activates_at: key.activates_at,
                not_after: key.not_after,
            }));
        }
        Ok(entries)
    }

    fn decrypt(&self, key: &SigningKey) -> AuthResult<LoadedKey> {
        let alg = SigningAlg::parse(&key.alg).ok_or_else(|| {
            AuthError::Internal(format!("signing key {} has unknown alg {}", key.kid, key.alg))
        })?;
        let pkcs8 = self.encryptor.open(&key.kid, &key.private_key_encrypted)?;
        let (loaded, _) = LoadedKey::from_pkcs8(alg, &pkcs8)?;
        if loaded.kid != key.kid {
            return Err(AuthError::Internal(format!(
                "signing key {}: stored kid does not match the key",
                key.kid
            )));
        }
        Ok(loaded)
    }

    async fn new_signing_key(
        &self,
        tenant_id: Uuid,
        alg: SigningAlg,
        state: KeyState,
        now: DateTime<Utc>,
        activates_at: DateTime<Utc>,
    ) -> AuthResult<SigningKey> {
        // RSA generation takes long enough to stall the async runtime.
        let pkcs8 = tokio::task::spawn_blocking(move || generate_pkcs8(alg))
            .await
            .map_err(|err| AuthError::Internal(format!("key generation task failed: {err}")))??;
        let (loaded, _) = LoadedKey::from_pkcs8(alg, &pkcs8)?;
        let sealed = self.encryptor.seal(&loaded.kid, &pkcs8)?;
        Ok(SigningKey {
            kid: loaded.kid.clone(),
            tenant_id,
            alg: alg.as_str().to_string(),
            public_jwk: loaded.jwk.clone(),
            private_key_encrypted: sealed,
            state,
            created_at: now,
            activates_at,
            not_after: None,
        })
    }

    /// Starts a rotation: generates a key of `alg`, published at once and
    /// signing from `now + activation_delay_secs`, and schedules the keys it
    /// replaces (those of the same algorithm) to leave JWKS at its
    /// activation plus the cache TTL plus `retain_secs` — the longest
    /// lifetime of a token they may have signed plus leeway (see
    /// [`retention_secs`](super::retention_secs)). Both writes are
    /// one transaction. Other nodes see the new key within the cache TTL.
    ///
    /// An `activation_delay_secs` above
    /// [`MAX_ACTIVATION_DELAY_SECS`](super::MAX_ACTIVATION_DELAY_SECS) is
    /// refused with [`AuthError::Validation`], before any key is generated.
    pub async fn rotate(
        &self,
        tenant_id: Uuid,
        alg: SigningAlg,
        activation_delay_secs: u64,
        retain_secs: u64,
        now: DateTime<Utc>,
    ) -> AuthResult<SigningKey> {
        let (activates_at, not_after) =
            rotation_times(now, activation_delay_secs, self.cache_ttl, retain_secs)?;
        let state = if activation_delay_secs == 0 {
            KeyState::Active
        } else {
            KeyState::Next
        };
        let key = self
            .new_signing_key(tenant_id, alg, state, now, activates_at)
            .await?;
        self.store.rotate_signing_key(&key, not_after).await?;
        tracing::info!(kid = %key.kid, alg = %key.alg, %activates_at, retired_not_after = %not_after,
            "rotated signing key");
        self.tenants.write().await.remove(&tenant_id);
        Ok(key)
    }

    /// Every key of the tenant with its status at `now`, oldest first.
    pub async fn list(&self, tenant_id: Uuid, now: DateTime<Utc>) -> AuthResult<Vec<KeyInfo>> {
        let stored = self.store.list_signing_keys(tenant_id).await?;
        let schedules: Vec<Schedule<'_>> = stored
            .iter()
            .map(|key| Schedule {
                alg: &key.alg,
                kid: &key.kid,
                created_at: key.created_at,
                activates_at: key.activates_at,
                not_after: key.not_after,
            })
            .collect();
        let statuses = statuses(&schedules, now);
        Ok(stored
            .iter()
            .zip(statuses)
            .map(|(key, status)| KeyInfo {
                kid: key.kid.clone(),
                alg: key.alg.clone(),
                state: status,
                created_at: key.created_at,
                activates_at: key.activates_at,
                not_after: key.not_after,
            })
            .collect())
    }

    async fn tenant(&self, tenant_id: Uuid, now: DateTime<Utc>) -> AuthResult<Arc<TenantKeys>> {
        if let Some(keys) = self.tenants.read().await.get(&tenant_id) {
            if keys.fresh_at(now) {
                return Ok(keys.clone());
            }
        }
        self.reload(tenant_id, now).await
    }

    /// The key new access tokens of this tenant are signed with (the
    /// configured default algorithm).
    pub async fn signing_key(&self, tenant_id: Uuid, now: DateTime<Utc>) -> AuthResult<Arc<LoadedKey>> {
        self.signing_key_for(tenant_id, self.default_alg, now).await
    }

    /// The active key of `alg` (e.g. RS256 for ID tokens, per OIDC Core).
    pub async fn signing_key_for(
        &self,
        tenant_id: Uuid,
        alg: SigningAlg,
        now: DateTime<Utc>,
    ) -> AuthResult<Arc<LoadedKey>> {
        self.tenant(tenant_id, now)
            .await?
            .signing
            .get(&alg)
            .cloned()
            .ok_or_else(|| {
                AuthError::Internal(format!(
                    "no active {alg} signing key (create one with `tessera keys rotate --alg {alg}`)"
                ))
            })
    }

    /// The active key of `alg`, generating and storing one first when the
    /// tenant has none: ID tokens are RS256 by default (OIDC Core §3.1.3.7)
    /// and a client may register ES256 or EdDSA, whatever algorithm signs
    /// access tokens. Generated on first use, not at start, so that a
    /// deployment that never issues ID tokens never pays for an RSA key.
    /// Two nodes racing here may each add a key; both are published, so
    /// tokens signed by either verify.
    pub async fn signing_key_or_create(
        &self,
        tenant_id: Uuid,
        alg: SigningAlg,
        now: DateTime<Utc>,
    ) -> AuthResult<Arc<LoadedKey>> {
        if let Some(key) = self.tenant(tenant_id, now).await?.signing.get(&alg) {
            return Ok(key.clone());
        }
        let _creating = self.create.lock().await;
        // Another task may have created it while this one waited: re-read.
        self.tenants.write().await.remove(&tenant_id);
        if let Some(key) = self.tenant(tenant_id, now).await?.signing.get(&alg) {
            return Ok(key.clone());
        }
        let key = self
            .new_signing_key(tenant_id, alg, KeyState::Active, now, now)
            .await?;
        self.store.insert_signing_key(&key).await?;
        tracing::info!(kid = %key.kid, alg = %key.alg, "generated the first signing key of this algorithm");
        self.tenants.write().await.remove(&tenant_id);
        self.signing_key_for(tenant_id, alg, now).await
    }

    /// A published key by `kid`, for verification; `None` once its
    /// `not_after` has passed.
    pub async fn verification_key(
        &self,
        tenant_id: Uuid,
        kid: &str,
        now: DateTime<Utc>,
    ) -> AuthResult<Option<Arc<LoadedKey>>> {
        Ok(self.tenant(tenant_id, now).await?.by_kid.get(kid).cloned())
    }

    /// The tenant's JWKS document (`{"keys": [...]}`), public parts only:
    /// pending, active and not yet expired retired keys.
    pub async fn jwks(&self, tenant_id: Uuid, now: DateTime<Utc>) -> AuthResult<Arc<serde_json::Value>> {
        Ok(self.tenant(tenant_id, now).await?.jwks.clone())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use tessera_store::prelude::*;

    use super::super::MAX_ACTIVATION_DELAY_SECS;
    use super::*;
    use crate::clock::{Clock as _, ManualClock};

    async fn key_ring() -> (KeyRing, Uuid, DateTime<Utc>) {
        let store = tessera_sqlite::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let now = ManualClock::starting_now().now();
        let tenant = store
            .ensure_tenant(tessera_store::DEFAULT_TENANT_SLUG, "Default", now)
            .await
            .unwrap();
        let store: Arc<dyn Store> = Arc::new(store);
        let keys = KeyRing::new(store, KeyEncryptor::new(&[1; 32]).unwrap(), SigningAlg::ES256, 60);
        (keys, tenant.tenant_id, now)
    }

    #[tokio::test]
    async fn rotate_refuses_a_huge_activation_delay_without_panicking() {
        let (keys, tenant_id, now) = key_ring().await;
        let result = keys
            .rotate(tenant_id, SigningAlg::ES256, i64::MAX as u64, 3600, now)
            .await;
        match result {
            Err(AuthError::Validation(violations)) => {
                assert_eq!(violations[0].field, "activation_delay_secs");
                assert_eq!(violations[0].rule, "out_of_range");
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert!(
            keys.list(tenant_id, now).await.unwrap().is_empty(),
            "nothing stored"
        );
    }

    #[tokio::test]
    async fn rotate_accepts_the_longest_activation_delay() {
        let (keys, tenant_id, now) = key_ring().await;
        let key = keys
            .rotate(tenant_id, SigningAlg::ES256, MAX_ACTIVATION_DELAY_SECS, 3600, now)
            .await
            .unwrap();
        assert_eq!(key.activates_at, now + Duration::days(30));
    }
}
