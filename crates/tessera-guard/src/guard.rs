//! Verification of access tokens against the issuer's published keys.

use std::collections::HashSet;
use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::Validation;

use crate::claims::Claims;
use crate::config::GuardConfig;
use crate::error::GuardError;
use crate::jwks::KeyCache;

/// Verifies Tessera access tokens offline. Cheap to clone (the key cache is
/// shared), so put one in the router state and hand it out with
/// [`FromRef`](axum::extract::FromRef).
#[derive(Clone)]
pub struct Guard {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    audience: String,
    leeway_secs: u64,
    keys: KeyCache,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// A guard for `config`. Nothing is fetched yet: the key set is loaded
    /// by the first verification, so a service can start before Tessera.
    pub fn new(config: GuardConfig) -> Result<Guard, GuardError> {
        if config.issuer.trim().is_empty() {
            return Err(GuardError::Config("the issuer is empty".into()));
        }
        let jwks_url = config.effective_jwks_url();
        let parsed = reqwest::Url::parse(&jwks_url)
            .map_err(|err| GuardError::Config(format!("JWKS URL {jwks_url}: {err}")))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(GuardError::Config(format!("JWKS URL {jwks_url}: not http(s)")));
        }
        let http = reqwest::Client::builder()
            .timeout(config.http_timeout)
            .connect_timeout(config.http_timeout)
            .build()
            .map_err(|err| GuardError::Config(format!("HTTP client: {err}")))?;
        let audience = config.effective_audience().to_string();
        Ok(Guard {
            inner: Arc::new(Inner {
                keys: KeyCache::new(http, jwks_url, config.jwks_ttl, config.min_refresh_interval),
                issuer: config.issuer,
                audience,
                leeway_secs: config.leeway_secs,
            }),
        })
    }

    /// The claims of `token` once its signature, `typ`, `iss`, `aud`, `exp`
    /// and `nbf` have been checked. The algorithm is the one of the JWK
    /// named by `kid`; whatever the header claims (`none`, or HS256 signed
    /// with the public key) cannot change it.
    pub async fn verify(&self, token: &str) -> Result<Claims, GuardError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| GuardError::InvalidToken("malformed"))?;
        // RFC 9068 §4: the typ header must be at+jwt (with or without the
        // application/ prefix, RFC 7515 §4.1.9), so an ID token or another
        // JWT signed by the same keys is not mistaken for an access token.
        let typ_ok = header.typ.as_deref().is_some_and(|typ| {
            typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return Err(GuardError::InvalidToken("wrong typ"));
        }
        let kid = header.kid.ok_or(GuardError::InvalidToken("no kid"))?;
        let key = self.inner.keys.key(&kid).await?;

        let mut validation = Validation::new(key.algorithm);
        validation.set_issuer(&[&self.inner.issuer]);
        validation.set_audience(&[&self.inner.audience]);
        validation.leeway = self.inner.leeway_secs;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.required_spec_claims = ["exp", "iss", "aud", "sub"]
            .into_iter()
            .map(String::from)
            .collect::<HashSet<_>>();
        jsonwebtoken::decode::<Claims>(token, &key.key, &validation)
            .map(|data| data.claims)
            .map_err(|err| {
                GuardError::InvalidToken(match err.kind() {
                    ErrorKind::ExpiredSignature => "expired",
                    ErrorKind::ImmatureSignature => "not yet valid",
                    ErrorKind::InvalidIssuer => "wrong issuer",
                    ErrorKind::InvalidAudience => "wrong audience",
                    ErrorKind::InvalidAlgorithm => "wrong algorithm",
                    ErrorKind::InvalidSignature => "bad signature",
                    ErrorKind::MissingRequiredClaim(_) => "missing claim",
                    _ => "malformed",
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_issuer_or_a_bad_jwks_url_is_a_configuration_error() {
        assert!(matches!(
            Guard::new(GuardConfig::new("")),
            Err(GuardError::Config(_))
        ));
        assert!(matches!(
            Guard::new(GuardConfig::new("https://id.example.com").jwks_url("ftp://x/jwks")),
            Err(GuardError::Config(_))
        ));
        assert!(matches!(
            Guard::new(GuardConfig::new("not a url")),
            Err(GuardError::Config(_))
        ));
        assert!(Guard::new(GuardConfig::new("https://id.example.com")).is_ok());
    }
}
