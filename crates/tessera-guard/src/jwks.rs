//! The issuer's key set: fetched lazily, cached for a TTL, refetched for an
//! unknown `kid` at most once per `min_refresh_interval`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::{Mutex, RwLock};

use crate::error::GuardError;

/// A key set larger than this is refused (Tessera's holds a handful of keys).
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// A verification key and the one algorithm it may be used with (taken
/// from the JWK, never from a token's header).
#[derive(Clone)]
pub(crate) struct VerifyingKey {
    pub(crate) algorithm: Algorithm,
    pub(crate) key: DecodingKey,
}

/// The keys of one successful fetch.
struct KeySet {
    keys: HashMap<String, VerifyingKey>,
    fetched_at: Option<Instant>,
}

/// When the key set was last fetched for, and whether that went wrong.
struct RefreshState {
    attempted_at: Option<Instant>,
    failed: bool,
}

/// The cached key set of one issuer.
pub(crate) struct KeyCache {
    http: reqwest::Client,
    url: String,
    ttl: Duration,
    min_refresh_interval: Duration,
    current: RwLock<Arc<KeySet>>,
    // Held while fetching, so concurrent misses wait for one fetch instead
    // of each starting their own.
    refresh: Mutex<RefreshState>,
}

impl KeyCache {
    /// An empty cache of the key set at `url`.
    pub(crate) fn new(
        http: reqwest::Client,
        url: String,
        ttl: Duration,
        min_refresh_interval: Duration,
    ) -> Self {
        KeyCache {
            http,
            url,
            ttl,
            min_refresh_interval,
            current: RwLock::new(Arc::new(KeySet {
                keys: HashMap::new(),
                fetched_at: None,
            })),
            refresh: Mutex::new(RefreshState {
                attempted_at: None,
                failed: false,
            }),
        }
    }

    /// The key named `kid`, fetching the key set when it is stale or does
    /// not know `kid` — unless a fetch was attempted less than
    /// `min_refresh_interval` ago. While the key set cannot be fetched the
    /// keys of the last successful fetch stay in use.
    pub(crate) async fn key(&self, kid: &str) -> Result<VerifyingKey, GuardError> {
        let snapshot = self.current.read().await.clone();
        if let Some(key) = snapshot.fresh_key(kid, Instant::now(), self.ttl) {
            return Ok(key);
        }
        let mut state = self.refresh.lock().await;
        let now = Instant::now();
        let mut snapshot = self.current.read().await.clone();
        // Another request may have fetched while this one waited.
        if let Some(key) = snapshot.fresh_key(kid, now, self.ttl) {
            return Ok(key);
        }
        let may_fetch = state
            .attempted_at
            .is_none_or(|at| now.duration_since(at) >= self.min_refresh_interval);
        if may_fetch {
            state.attempted_at = Some(now);
            match self.fetch().await {
                Ok(keys) => {
                    tracing::debug!(url = %self.url, keys = keys.len(), "fetched JWKS");
                    snapshot = Arc::new(KeySet {
                        keys,
                        fetched_at: Some(Instant::now()),
                    });
                    *self.current.write().await = snapshot.clone();
                    state.failed = false;
                }
                Err(cause) => {
                    tracing::warn!(url = %self.url, %cause, "JWKS fetch failed");
                    state.failed = true;
                }
            }
        }
        match snapshot.keys.get(kid) {
            Some(key) => Ok(key.clone()),
            None if state.failed => Err(GuardError::JwksUnavailable(format!(
                "the key set at {} could not be fetched",
                self.url
            ))),
            None => Err(GuardError::InvalidToken("unknown key")),
        }
    }

    /// Fetches and parses the key set; keys Tessera would not sign access
    /// tokens with are skipped.
    async fn fetch(&self) -> Result<HashMap<String, VerifyingKey>, String> {
        let response = self
            .http
            .get(&self.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|err| err.to_string())?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        if response
            .content_length()
            .is_some_and(|len| len > MAX_JWKS_BYTES as u64)
        {
            return Err("key set too large".into());
        }
        let body = response.bytes().await.map_err(|err| err.to_string())?;
        if body.len() > MAX_JWKS_BYTES {
            return Err("key set too large".into());
        }
        parse_key_set(&body)
    }
}

impl KeySet {
    fn fresh_key(&self, kid: &str, now: Instant, ttl: Duration) -> Option<VerifyingKey> {
        let fresh = self.fetched_at.is_some_and(|at| now.duration_since(at) < ttl);
        if fresh {
            self.keys.get(kid).cloned()
        } else {
            None
        }
    }
}

/// The usable signing keys of a JWKS document, by `kid`.
fn parse_key_set(body: &[u8]) -> Result<HashMap<String, VerifyingKey>, String> {
    #[derive(serde::Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let document: Document = serde_json::from_slice(body).map_err(|err| format!("not a JWKS: {err}"))?;
    let mut keys = HashMap::new();
    for value in document.keys {
        // One key in an unknown shape must not hide the others.
        match serde_json::from_value::<Jwk>(value) {
            Ok(jwk) => match verifying_key(&jwk) {
                Some((kid, key)) => {
                    keys.insert(kid, key);
                }
                None => tracing::debug!(kid = ?jwk.common.key_id, "skipped an unusable JWK"),
            },
            Err(err) => tracing::debug!(%err, "skipped an unparsable JWK"),
        }
    }
    Ok(keys)
}

/// The key and algorithm of a public signing JWK: `alg` must agree with
/// the key type (or is inferred from it when absent), symmetric keys are
/// never accepted, and a key meant for encryption is not used to verify.
fn verifying_key(jwk: &Jwk) -> Option<(String, VerifyingKey)> {
    if matches!(&jwk.common.public_key_use, Some(usage) if *usage != PublicKeyUse::Signature) {
        return None;
    }
    let kid = jwk.common.key_id.clone()?;
    let declared = jwk.common.key_algorithm;
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(params) => match (&params.curve, declared) {
            (EllipticCurve::P256, None | Some(KeyAlgorithm::ES256)) => Algorithm::ES256,
            (EllipticCurve::P384, None | Some(KeyAlgorithm::ES384)) => Algorithm::ES384,
            _ => return None,
        },
        AlgorithmParameters::RSA(_) => match declared {
            None | Some(KeyAlgorithm::RS256) => Algorithm::RS256,
            Some(KeyAlgorithm::RS384) => Algorithm::RS384,
            Some(KeyAlgorithm::RS512) => Algorithm::RS512,
            Some(KeyAlgorithm::PS256) => Algorithm::PS256,
            Some(KeyAlgorithm::PS384) => Algorithm::PS384,
            Some(KeyAlgorithm::PS512) => Algorithm::PS512,
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(params) => match (&params.curve, declared) {
            (EllipticCurve::Ed25519, None | Some(KeyAlgorithm::EdDSA)) => Algorithm::EdDSA,
            _ => return None,
        },
        // A shared secret in a public key set is a misconfiguration, and
        // accepting one would let anyone who read the JWKS sign tokens.
        AlgorithmParameters::OctetKey(_) => return None,
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some((kid, VerifyingKey { algorithm, key }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(keys: serde_json::Value) -> HashMap<String, VerifyingKey> {
        parse_key_set(serde_json::json!({ "keys": keys }).to_string().as_bytes()).unwrap()
    }

    const X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    #[test]
    fn the_algorithm_comes_from_the_key() {
        let keys = parse(serde_json::json!([
            {"kty": "EC", "crv": "P-256", "x": X, "y": Y, "kid": "ec", "alg": "ES256", "use": "sig"},
            {"kty": "OKP", "crv": "Ed25519", "x": X, "kid": "ed"},
        ]));
        assert_eq!(keys["ec"].algorithm, Algorithm::ES256);
        assert_eq!(keys["ed"].algorithm, Algorithm::EdDSA);
    }

    #[test]
    fn symmetric_encryption_mismatched_and_kidless_keys_are_skipped() {
        let keys = parse(serde_json::json!([
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac", "alg": "HS256"},
            {"kty": "EC", "crv": "P-256", "x": X, "y": Y, "kid": "enc", "use": "enc"},
            {"kty": "EC", "crv": "P-256", "x": X, "y": Y, "kid": "lies", "alg": "RS256"},
            {"kty": "EC", "crv": "P-256", "x": X, "y": Y},
            {"kty": "something-new", "kid": "future"},
            {"kty": "EC", "crv": "P-256", "x": X, "y": Y, "kid": "good"},
        ]));
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["good"]);
    }

    #[test]
    fn a_document_without_keys_is_an_error() {
        assert!(parse_key_set(b"{\"nope\": 1}").is_err());
        assert!(parse_key_set(b"<html>").is_err());
    }
}
