//! Key material: generating private keys (PKCS#8), deriving the public JWK
//! and its RFC 7638 thumbprint, and the parsed key pairs that sign.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, RsaPublicKeyComponents};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::SigningAlg;
use crate::error::{AuthError, AuthResult};

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
    pub(super) fn from_pkcs8(alg: SigningAlg, pkcs8: &[u8]) -> AuthResult<(LoadedKey, serde_json::Value)> {
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
pub(super) fn generate_pkcs8(alg: SigningAlg) -> AuthResult<Vec<u8>> {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
