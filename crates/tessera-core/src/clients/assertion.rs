//! `private_key_jwt` (RFC 7523 §3, OIDC Core §9): reading and verifying a
//! client assertion against the keys the client registered. The rules
//! that need the clock and the store (expiry, audience, replay) are in
//! `ClientService::check_assertion`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tessera_store::Client;

use crate::error::AuthError;

/// Why an assertion was refused (answered as `InvalidClient`), or the
/// store failure that stopped the check.
pub(super) enum AssertionError {
    /// The assertion itself was refused; says why.
    Refused(&'static str),
    /// The client it names cannot authenticate this way (unknown, disabled,
    /// registered for another method).
    Client(super::ClientRefusal),
    /// The store failed.
    Store(AuthError),
}

/// The claims of a client assertion (RFC 7523 §3); `exp` and `jti` are
/// required here (OIDC Core §9).
#[derive(Deserialize)]
pub(super) struct AssertionClaims {
    /// Must be the client id.
    pub(super) iss: String,
    /// Must be the client id.
    pub(super) sub: String,
    /// Must name the issuer or the endpoint.
    #[serde(deserialize_with = "one_or_many")]
    pub(super) aud: Vec<String>,
    /// Expiry.
    pub(super) exp: i64,
    /// Issue time, if given.
    pub(super) iat: Option<i64>,
    /// Not before, if given.
    pub(super) nbf: Option<i64>,
    /// Single-use id.
    pub(super) jti: String,
}

/// `aud` is a string or an array of strings (RFC 7519 §4.1.3).
fn one_or_many<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(aud) => vec![aud],
        OneOrMany::Many(auds) => auds,
    })
}

/// The `iss` of a JWT, read without verifying it (only to pick the client
/// whose keys will verify it).
pub(super) fn unverified_issuer(jwt: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Issuer {
        iss: String,
    }
    let payload = jwt.split('.').nth(1)?;
    let bytes = B64URL.decode(payload).ok()?;
    serde_json::from_slice::<Issuer>(&bytes)
        .ok()
        .map(|claims| claims.iss)
}

/// Verifies the assertion's signature with the client's registered keys:
/// the one with the header's `kid`, else each key whose type fits the
/// header's algorithm. Returns the claims of the first key that verifies.
pub(super) fn verify_with_jwks(
    client: &Client,
    header: &jsonwebtoken::Header,
    assertion: &str,
) -> Result<AssertionClaims, AssertionError> {
    if crate::jwt::declares_critical_extensions(assertion) {
        return Err(AssertionError::Refused(
            "crit names an extension Tessera does not understand (RFC 7515 §4.1.11)",
        ));
    }
    let keys = client
        .jwks
        .as_ref()
        .and_then(|jwks| jwks.get("keys"))
        .and_then(serde_json::Value::as_array)
        .ok_or(AssertionError::Refused("the client has no registered keys"))?;
    let mut matched_key = false;
    // A key that does not parse (an unsupported type) is skipped rather
    // than failing the whole set.
    for jwk in keys
        .iter()
        .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
    {
        if header
            .kid
            .as_deref()
            .is_some_and(|kid| jwk.common.key_id.as_deref() != Some(kid))
        {
            continue;
        }
        let Some(alg) = key_algorithm(&jwk) else {
            continue;
        };
        if alg != header.alg {
            continue;
        }
        matched_key = true;
        let Ok(key) = DecodingKey::from_jwk(&jwk) else {
            continue;
        };
        // Only the signature and algorithm are checked here; the claims
        // are checked against the service's clock by the caller.
        let mut validation = Validation::new(alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        match jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation) {
            Ok(data) => return Ok(data.claims),
            Err(err) => match err.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => continue,
                _ => {
                    return Err(AssertionError::Refused(
                        "its claims are malformed (iss, sub, aud, exp and jti are required)",
                    ))
                }
            },
        }
    }
    Err(AssertionError::Refused(if matched_key {
        "its signature does not verify with the client's registered keys"
    } else {
        "no registered key has its kid and fits its alg"
    }))
}

/// The one algorithm a registered key verifies: RS256 for RSA, ES256 for
/// P-256, EdDSA for Ed25519 — `None` for any other key, for a key whose
/// `alg` says otherwise, and for a key not meant for signatures.
fn key_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|key_use| *key_use != PublicKeyUse::Signature)
    {
        return None;
    }
    let (alg, declared) = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => (Algorithm::RS256, KeyAlgorithm::RS256),
        AlgorithmParameters::EllipticCurve(params) if params.curve == EllipticCurve::P256 => {
            (Algorithm::ES256, KeyAlgorithm::ES256)
        }
        AlgorithmParameters::OctetKeyPair(params) if params.curve == EllipticCurve::Ed25519 => {
            (Algorithm::EdDSA, KeyAlgorithm::EdDSA)
        }
        _ => return None,
    };
    match jwk.common.key_algorithm {
        Some(stated) if stated != declared => None,
        _ => Some(alg),
    }
}
