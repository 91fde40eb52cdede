//! Access tokens as JWTs per RFC 9068 (`typ: at+jwt`).

use std::collections::HashSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AuthError, AuthResult};
use crate::keys::LoadedKey;

pub use tessera_claims::{
    AccessClaims, ACCESS_TOKEN_TYP, FIRST_PARTY_CLIENT_ID, SCOPE_ACCOUNT, SCOPE_ADMIN, SCOPE_ROLES,
};

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

/// Serialises and signs `claims` as a compact JWS with `key`.
pub fn sign<C: Serialize>(key: &LoadedKey, typ: &str, claims: &C) -> AuthResult<String> {
    let header = Header {
        alg: key.alg.as_str(),
        typ,
        kid: &key.kid,
    };
    let mut token = encode_part(&header)?;
    token.push('.');
    token.push_str(&encode_part(claims)?);
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&B64.encode(signature));
    Ok(token)
}

fn encode_part<T: Serialize>(value: &T) -> AuthResult<String> {
    let json = serde_json::to_vec(value).map_err(|err| AuthError::Internal(err.to_string()))?;
    Ok(B64.encode(json))
}

/// What a verifier expects of a token besides its signature.
pub struct Expectations<'a> {
    /// Required `iss`.
    pub issuer: &'a str,
    /// Required `aud`; `None` accepts any, for a caller that decides
    /// itself which audiences it serves (introspection, revocation).
    pub audience: Option<&'a str>,
    /// Allowed clock skew, seconds.
    pub leeway_secs: u64,
    /// The current time, seconds since the epoch (from the service's clock,
    /// so expiry is testable without sleeping).
    pub now: i64,
}

/// The `kid` and `typ` of a token, read without trusting anything else.
pub fn peek_header(token: &str) -> AuthResult<(String, Option<String>)> {
    if declares_critical_extensions(token) {
        return Err(AuthError::InvalidToken(
            "crit names an extension Tessera does not understand",
        ));
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::InvalidToken("malformed"))?;
    let kid = header.kid.ok_or(AuthError::InvalidToken("no kid"))?;
    Ok((kid, header.typ))
}

/// Whether the JWS header of `token` has a `crit` parameter. Tessera
/// understands no JWS extension, so any `crit` (even an empty one, which
/// RFC 7515 §4.1.11 forbids) makes the JWS invalid. `jsonwebtoken`'s
/// `Header` has no `crit` field and ignores it, hence this check.
pub(crate) fn declares_critical_extensions(token: &str) -> bool {
    let Some(encoded) = token.split('.').next() else {
        return false;
    };
    let Ok(bytes) = B64.decode(encoded) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&bytes)
        .is_ok_and(|header| header.contains_key("crit"))
}

/// Verifies `token` against `key`: the algorithm is the key's (never the
/// header's choice: `none`, HS256-with-a-public-key and other confusions
/// fail), then signature, `typ`, `iss`, `aud`, `exp` and `nbf`.
pub fn verify_access_token(
    token: &str,
    key: &LoadedKey,
    expect: &Expectations<'_>,
) -> AuthResult<AccessClaims> {
    let (_, typ) = peek_header(token)?;
    // RFC 9068 §4: reject tokens whose typ is not at+jwt.
    if !typ.is_some_and(|t| {
        t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || t.eq_ignore_ascii_case("application/at+jwt")
    }) {
        return Err(AuthError::InvalidToken("wrong typ"));
    }
    let mut validation = jsonwebtoken::Validation::new(key.jwt_algorithm);
    validation.set_issuer(&[expect.issuer]);
    match expect.audience {
        Some(audience) => validation.set_audience(&[audience]),
        None => validation.validate_aud = false,
    }
    // exp and nbf are checked below against the injected clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.required_spec_claims = ["exp", "iat", "iss", "aud", "sub"]
        .into_iter()
        .map(String::from)
        .collect::<HashSet<_>>();
    let claims = jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &validation)
        .map(|data| data.claims)
        .map_err(|err| {
            use jsonwebtoken::errors::ErrorKind;
            AuthError::InvalidToken(match err.kind() {
                ErrorKind::InvalidIssuer => "wrong issuer",
                ErrorKind::InvalidAudience => "wrong audience",
                ErrorKind::InvalidAlgorithm => "wrong algorithm",
                ErrorKind::InvalidSignature => "bad signature",
                _ => "malformed",
            })
        })?;
    let leeway = i64::try_from(expect.leeway_secs).unwrap_or(0);
    if claims.exp + leeway <= expect.now {
        return Err(AuthError::InvalidToken("expired"));
    }
    if claims.nbf.is_some_and(|nbf| nbf - leeway > expect.now) {
        return Err(AuthError::InvalidToken("not yet valid"));
    }
    Ok(claims)
}

/// Claims of an ID token (OIDC Core §2, §3.1.3.6). Standard profile and
/// email claims the scopes grant are added in `extra`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IdClaims {
    /// Issuer URL.
    pub iss: String,
    /// The user id.
    pub sub: String,
    /// The client the token is for.
    pub aud: String,
    /// Authorized party: the same client (OIDC Core §2).
    pub azp: String,
    /// Expiry.
    pub exp: i64,
    /// Issue time.
    pub iat: i64,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The authorization request's `nonce`, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Left half of the access token's hash (OIDC Core §3.1.3.6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// Authentication methods (RFC 8176).
    pub amr: Vec<String>,
    /// The browser session (OIDC Front-Channel Logout §3: `sid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Tenant id.
    pub tid: Uuid,
    /// Claims granted by `profile` and `email`.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The `typ` header of ID tokens.
pub const ID_TOKEN_TYP: &str = "JWT";

/// `at_hash` of `access_token` for a token signed with `alg` (OIDC Core
/// §3.1.3.6): the left half of the hash the algorithm uses — SHA-256 for
/// RS256 and ES256, SHA-512 for EdDSA over Ed25519 — base64url.
pub fn at_hash(alg: crate::keys::SigningAlg, access_token: &str) -> String {
    use sha2::{Digest, Sha256, Sha512};
    let digest: Vec<u8> = match alg {
        crate::keys::SigningAlg::EdDSA => Sha512::digest(access_token.as_bytes()).to_vec(),
        _ => Sha256::digest(access_token.as_bytes()).to_vec(),
    };
    B64.encode(&digest[..digest.len() / 2])
}

/// Verifies an ID token this issuer signed, as an `id_token_hint` (OIDC
/// RP-Initiated Logout §2): signature by `key` with the key's algorithm and
/// `iss`; an expired token is still a valid hint, so `exp` is not checked.
pub fn verify_id_token_hint(token: &str, key: &LoadedKey, issuer: &str) -> AuthResult<IdClaims> {
    let mut validation = jsonwebtoken::Validation::new(key.jwt_algorithm);
    validation.set_issuer(&[issuer]);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims = ["iss", "sub", "aud"]
        .into_iter()
        .map(String::from)
        .collect::<HashSet<_>>();
    jsonwebtoken::decode::<IdClaims>(token, &key.decoding, &validation)
        .map(|data| data.claims)
        .map_err(|_| AuthError::InvalidToken("bad id_token_hint"))
}
