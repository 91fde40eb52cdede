//! Signing keys: generation, encryption at rest, the in-memory key ring that
//! signs and verifies, and the published JWKS (RFC 7517).
//!
//! Signing uses `ring` directly with key pairs parsed once and kept:
//! `jsonwebtoken` re-parses the PKCS#8 key on every `encode`, which measured
//! about twice ring's raw ES256 cost on our machines. Verification goes
//! through `jsonwebtoken` (see `jwt.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, RsaPublicKeyComponents};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use tessera_store::{KeyState, ResourceStore, SigningKey};
use tokio::sync::{Mutex, RwLock};
use uuid::Uuid;

use crate::error::{AuthError, AuthResult};
use crate::settings::TokenSettings;

/// The JWS algorithms Tessera can sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    /// ECDSA P-256 with SHA-256 (the default for access tokens).
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys (the OIDC Core default
    /// for ID tokens).
    RS256,
    /// Ed25519.
    EdDSA,
}

impl SigningAlg {
    /// Every supported algorithm.
    pub const ALL: [SigningAlg; 3] = [SigningAlg::ES256, SigningAlg::RS256, SigningAlg::EdDSA];

    /// The JOSE name (`alg`).
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::ES256 => "ES256",
            SigningAlg::RS256 => "RS256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }

    /// Parses the JOSE name (exact spelling); `None` for anything else.
    pub fn parse(name: &str) -> Option<SigningAlg> {
        SigningAlg::ALL.into_iter().find(|alg| alg.as_str() == name)
    }

    fn jwt_algorithm(self) -> jsonwebtoken::Algorithm {
        match self {
            SigningAlg::ES256 => jsonwebtoken::Algorithm::ES256,
            SigningAlg::RS256 => jsonwebtoken::Algorithm::RS256,
            SigningAlg::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

impl std::fmt::Display for SigningAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// AES-256-GCM with the master key (the key-encryption key). Each private
/// key is sealed with a fresh random nonce and its `kid` as associated data,
/// so a ciphertext cannot be moved to another key's row.
pub struct KeyEncryptor {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl KeyEncryptor {
    /// Builds the encryptor from the 32-byte master key.
    pub fn new(master_key: &[u8; 32]) -> AuthResult<KeyEncryptor> {
        let unbound = UnboundKey::new(&AES_256_GCM, master_key)
            .map_err(|_| AuthError::Internal("invalid master key".into()))?;
        Ok(KeyEncryptor {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
        })
    }

    fn seal(&self, kid: &str, plaintext: &[u8]) -> AuthResult<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| AuthError::Internal("random generator failed".into()))?;
        let mut sealed = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| AuthError::Internal("key encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn open(&self, kid: &str, sealed: &[u8]) -> AuthResult<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return Err(AuthError::Internal(format!(
                "signing key {kid}: ciphertext too short"
            )));
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| AuthError::Internal("bad nonce".into()))?;
        let mut buffer = ciphertext.to_vec();
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut buffer)
            .map_err(|_| {
                AuthError::Internal(format!(
                    "signing key {kid} cannot be decrypted: wrong master key?"
                ))
            })?;
        Ok(plaintext.to_vec())
    }
}

enum Signer {
    Ecdsa(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A decrypted key, ready to sign and verify.
pub struct LoadedKey {
    /// Key id (RFC 7638 thumbprint of the public JWK).
    pub kid: String,
    /// Its algorithm.
    pub alg: SigningAlg,
    /// Public JWK, as published.
    pub jwk: serde_json::Value,
    signer: Signer,
    pub(crate) decoding: jsonwebtoken::DecodingKey,
    pub(crate) jwt_algorithm: jsonwebtoken::Algorithm,
}

impl LoadedKey {
    fn from_pkcs8(alg: SigningAlg, pkcs8: &[u8]) -> AuthResult<(LoadedKey, serde_json::Value)> {
        let bad = |what: &str| AuthError::Internal(format!("unusable {} key: {what}", alg.as_str()));
        let (signer, public_jwk, decoding) = match alg {
            SigningAlg::ES256 => {
                let pair = EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    pkcs8,
                    &SystemRandom::new(),
                )
                .map_err(|_| bad("pkcs8"))?;
                // Uncompressed SEC1 point: 0x04 ‖ x (32) ‖ y (32).
                let point = pair.public_key().as_ref();
                if point.len() != 65 {
                    return Err(bad("public point"));
                }
                let x = B64.encode(&point[1..33]);
                let y = B64.encode(&point[33..65]);
                let decoding =
                    jsonwebtoken::DecodingKey::from_ec_components(&x, &y).map_err(|_| bad("decoding key"))?;
                (
                    Signer::Ecdsa(pair),
                    json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}),
                    decoding,
                )
            }
            SigningAlg::RS256 => {
                let pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| bad("pkcs8"))?;
                // Big-endian without leading zeros, as RFC 7518 §6.3.1 requires.
                let components = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
                let n = B64.encode(&components.n);
                let e = B64.encode(&components.e);
                let decoding = jsonwebtoken::DecodingKey::from_rsa_components(&n, &e)
                    .map_err(|_| bad("decoding key"))?;
                (Signer::Rsa(pair), json!({"kty": "RSA", "n": n, "e": e}), decoding)
            }
            SigningAlg::EdDSA => {
                let pair = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| bad("pkcs8"))?;
                let x = B64.encode(pair.public_key().as_ref());
                let decoding =
                    jsonwebtoken::DecodingKey::from_ed_components(&x).map_err(|_| bad("decoding key"))?;
                (
                    Signer::Ed25519(pair),
                    json!({"kty": "OKP", "crv": "Ed25519", "x": x}),
                    decoding,
                )
            }
        };
        let kid = jwk_thumbprint(&public_jwk);
        let mut jwk = public_jwk.clone();
        if let Some(object) = jwk.as_object_mut() {
            object.insert("kid".into(), json!(kid));
            object.insert("alg".into(), json!(alg.as_str()));
            object.insert("use".into(), json!("sig"));
        }
        let key = LoadedKey {
            kid,
            alg,
            jwk: jwk.clone(),
            signer,
            decoding,
            jwt_algorithm: alg.jwt_algorithm(),
        };
        Ok((key, jwk))
    }

    /// Signs `message` (the JWS signing input).
    pub(crate) fn sign(&self, message: &[u8]) -> AuthResult<Vec<u8>> {
        match &self.signer {
            Signer::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| AuthError::Internal("ECDSA signing failed".into())),
            Signer::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public().modulus_len()];
                pair.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(|_| AuthError::Internal("RSA signing failed".into()))?;
                Ok(signature)
            }
            Signer::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

/// RFC 7638 JWK thumbprint: SHA-256 over the required members in
/// lexicographic order, base64url.
fn jwk_thumbprint(public_jwk: &serde_json::Value) -> String {
    let member = |name: &str| public_jwk.get(name).and_then(|v| v.as_str()).unwrap_or_default();
    let canonical = match member("kty") {
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            member("crv"),
            member("x"),
            member("y")
        ),
        "RSA" => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, member("e"), member("n")),
        _ => format!(
            r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#,
            member("crv"),
            member("x")
        ),
    };
    B64.encode(Sha256::digest(canonical.as_bytes()))
}

/// Size of generated RSA keys (RFC 7518 §3.3 requires at least 2048).
const RSA_BITS: usize = 2048;

/// A new private key as PKCS#8 DER. CPU-heavy for RSA (tens to hundreds of
/// milliseconds): call from a blocking thread.
fn generate_pkcs8(alg: SigningAlg) -> AuthResult<Vec<u8>> {
    let failed = || AuthError::Internal(format!("{alg} key generation failed"));
    let rng = SystemRandom::new();
    let document = match alg {
        SigningAlg::ES256 => EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng),
        SigningAlg::EdDSA => Ed25519KeyPair::generate_pkcs8(&rng),
        SigningAlg::RS256 => {
            // ring cannot generate RSA keys, so the `rsa` crate does, and is
            // used for key generation ONLY: its own signing is subject to
            // the Marvin timing advisory (RUSTSEC-2023-0071). Signing goes
            // through ring (see `LoadedKey::sign`).
            use rsa::pkcs8::EncodePrivateKey;
            let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS).map_err(|_| failed())?;
            let der = key.to_pkcs8_der().map_err(|_| failed())?;
            return Ok(der.as_bytes().to_vec());
        }
    }
    .map_err(|_| failed())?;
    Ok(document.as_ref().to_vec())
}

/// Where a key stands at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Published in JWKS; starts signing at `activates_at`.
    Pending,
    /// Signs new tokens of its algorithm.
    Active,
    /// Replaced by a newer key of its algorithm; verifies (and stays in
    /// JWKS) until `not_after`.
    Retired,
}

impl KeyStatus {
    /// The lowercase name (`pending`, `active`, `retired`).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Pending => "pending",
            KeyStatus::Active => "active",
            KeyStatus::Retired => "retired",
        }
    }
}

/// The times that decide a key's status.
#[derive(Clone, Copy)]
struct Schedule<'a> {
    alg: &'a str,
    kid: &'a str,
    created_at: DateTime<Utc>,
    activates_at: DateTime<Utc>,
    not_after: Option<DateTime<Utc>>,
}

impl Schedule<'_> {
    fn published_at(&self, now: DateTime<Utc>) -> bool {
        self.not_after.is_none_or(|end| end > now)
    }

    /// Order among the keys of one algorithm: later activation wins, then
    /// later creation, then kid (so every node picks the same key).
    fn rank(&self) -> (DateTime<Utc>, DateTime<Utc>, &str) {
        (self.activates_at, self.created_at, self.kid)
    }
}

/// The status of each key at `now`, in the order given.
///
/// Which key signs is decided by the clock, not by the stored `state`, so
/// every node agrees without anyone writing at activation time: per
/// algorithm, of the keys still published (no `not_after`, or a future one)
/// whose `activates_at` has passed, the one activated last signs; keys
/// activating later are pending; all others are retired.
fn statuses(keys: &[Schedule<'_>], now: DateTime<Utc>) -> Vec<KeyStatus> {
    let mut active: HashMap<&str, (DateTime<Utc>, DateTime<Utc>, &str)> = HashMap::new();
    for key in keys {
        if key.activates_at <= now && key.published_at(now) {
            let rank = key.rank();
            let best = active.entry(key.alg).or_insert(rank);
            if rank > *best {
                *best = rank;
            }
        }
    }
    keys.iter()
        .map(|key| {
            if key.activates_at > now && key.published_at(now) {
                KeyStatus::Pending
            } else if active.get(key.alg) == Some(&key.rank()) && key.published_at(now) {
                KeyStatus::Active
            } else {
                KeyStatus::Retired
            }
        })
        .collect()
}

/// A key as shown to operators (`tessera keys list`): never private material.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    /// Key id.
    pub kid: String,
    /// JWS algorithm.
    pub alg: String,
    /// Status at the time of listing.
    pub state: KeyStatus,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it signs (or signed) its first token.
    pub activates_at: DateTime<Utc>,
    /// When it leaves JWKS and stops verifying, once it has a successor.
    pub not_after: Option<DateTime<Utc>>,
}

/// A key that has been decrypted, with its schedule.
struct Entry {
    key: Arc<LoadedKey>,
    created_at: DateTime<Utc>,
    activates_at: DateTime<Utc>,
    not_after: Option<DateTime<Utc>>,
}

impl Entry {
    fn schedule(&self) -> Schedule<'_> {
        Schedule {
            alg: self.key.alg.as_str(),
            kid: &self.key.kid,
            created_at: self.created_at,
            activates_at: self.activates_at,
            not_after: self.not_after,
        }
    }
}

/// One tenant's keys as read from the store, and what they mean at the
/// time they were read, valid until `fresh_until`.
struct TenantKeys {
    entries: Vec<Arc<Entry>>,
    signing: HashMap<SigningAlg, Arc<LoadedKey>>,
    by_kid: HashMap<String, Arc<LoadedKey>>,
    jwks: Arc<serde_json::Value>,
    built_at: DateTime<Utc>,
    fresh_until: DateTime<Utc>,
}

impl TenantKeys {
    /// Derives the signing keys, verification keys and JWKS at `now`. The
    /// result is good until the cache TTL ends or until the next activation
    /// or expiry among the keys, whichever comes first.
    fn build(entries: Vec<Arc<Entry>>, now: DateTime<Utc>, ttl: Duration) -> TenantKeys {
        let schedules: Vec<Schedule<'_>> = entries.iter().map(|e| e.schedule()).collect();
        let statuses = statuses(&schedules, now);
        let mut signing = HashMap::new();
        let mut by_kid = HashMap::new();
        let mut published = Vec::new();
        let mut fresh_until = now + ttl;
        for (entry, status) in entries.iter().zip(statuses) {
            for boundary in [Some(entry.activates_at), entry.not_after].into_iter().flatten() {
                if boundary > now && boundary < fresh_until {
                    fresh_until = boundary;
                }
            }
            if !entry.schedule().published_at(now) {
                continue;
            }
            if status == KeyStatus::Active {
                signing.insert(entry.key.alg, entry.key.clone());
            }
            published.push(entry.key.jwk.clone());
            by_kid.insert(entry.key.kid.clone(), entry.key.clone());
        }
        TenantKeys {
            entries,
            signing,
            by_kid,
            jwks: Arc::new(json!({ "keys": published })),
            built_at: now,
            fresh_until,
        }
    }

    fn fresh_at(&self, now: DateTime<Utc>) -> bool {
        self.built_at <= now && now < self.fresh_until
    }
}

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
            cache_ttl: Duration::seconds(i64::try_from(cache_ttl_secs).unwrap_or(i64::MAX / 1000)),
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
    /// [`retention_secs`]). Both writes are
    /// one transaction. Other nodes see the new key within the cache TTL.
    pub async fn rotate(
        &self,
        tenant_id: Uuid,
        alg: SigningAlg,
        activation_delay_secs: u64,
        retain_secs: u64,
        now: DateTime<Utc>,
    ) -> AuthResult<SigningKey> {
        let secs = |value: u64| Duration::seconds(i64::try_from(value).unwrap_or(i64::MAX / 1000));
        let activates_at = now + secs(activation_delay_secs);
        let state = if activation_delay_secs == 0 {
            KeyState::Active
        } else {
            KeyState::Next
        };
        let key = self
            .new_signing_key(tenant_id, alg, state, now, activates_at)
            .await?;
        // Nodes that have not re-read the keys yet keep signing with the old
        // key for up to one cache TTL after the activation.
        let not_after = activates_at + self.cache_ttl + secs(retain_secs);
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

/// How long keys replaced by a rotation stay published after the new key
/// activates: the longest lifetime of any token they may have signed, plus
/// the verification leeway. `client_ttls` are per-client access-token
/// lifetimes that override the default.
pub fn retention_secs(tokens: &TokenSettings, client_ttls: impl IntoIterator<Item = Option<i64>>) -> u64 {
    let longest_client = client_ttls
        .into_iter()
        .flatten()
        .filter_map(|ttl| u64::try_from(ttl).ok())
        .max()
        .unwrap_or(0);
    tokens
        .longest_token_ttl_secs()
        .max(longest_client)
        .saturating_add(tokens.leeway_secs)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sealed_key_opens_only_with_same_kid_and_master_key() {
        let encryptor = KeyEncryptor::new(&[7u8; 32]).unwrap();
        let sealed = encryptor.seal("kid-1", b"private bytes").unwrap();
        assert_eq!(encryptor.open("kid-1", &sealed).unwrap(), b"private bytes");
        assert!(encryptor.open("kid-2", &sealed).is_err());
        let other = KeyEncryptor::new(&[8u8; 32]).unwrap();
        assert!(other.open("kid-1", &sealed).is_err());
    }

    #[test]
    fn jwk_has_no_private_members_and_kid_is_the_thumbprint() {
        for alg in SigningAlg::ALL {
            let pkcs8 = generate_pkcs8(alg).unwrap();
            let (key, jwk) = LoadedKey::from_pkcs8(alg, &pkcs8).unwrap();
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(jwk.get(private).is_none(), "{alg}: {private}");
            }
            assert_eq!(jwk["kid"], json!(key.kid));
            assert_eq!(jwk["alg"], json!(alg.as_str()));
            assert_eq!(key.kid.len(), 43);
        }
    }

    #[test]
    fn rfc7638_rsa_thumbprint_example() {
        // RFC 7638 §3.1.
        let jwk = json!({"kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"});
        assert_eq!(
            jwk_thumbprint(&jwk),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn status_follows_the_clock_per_algorithm() {
        use crate::clock::Clock as _;
        let t0 = crate::clock::ManualClock::starting_now().now();
        let key = |alg, kid, activates: i64, not_after: Option<i64>| Schedule {
            alg,
            kid,
            created_at: t0,
            activates_at: t0 + Duration::seconds(activates),
            not_after: not_after.map(|s| t0 + Duration::seconds(s)),
        };
        let keys = [
            key("ES256", "old", 0, Some(100)),
            key("ES256", "new", 10, None),
            key("RS256", "rsa", 0, None),
        ];
        let at = |secs| statuses(&keys, t0 + Duration::seconds(secs));
        use KeyStatus::*;
        assert_eq!(at(0), [Active, Pending, Active]);
        assert_eq!(at(10), [Retired, Active, Active]);
        assert_eq!(at(100), [Retired, Active, Active]);
    }

    #[test]
    fn rfc7638_thumbprint_example() {
        // RFC 7638 §3.1 uses an RSA key; this checks our EC canonical form
        // against an independently computed value for a fixed point.
        let jwk = json!({"kty":"EC","crv":"P-256",
            "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
        let expected = B64.encode(Sha256::digest(
            br#"{"crv":"P-256","kty":"EC","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#,
        ));
        assert_eq!(jwk_thumbprint(&jwk), expected);
    }
}
