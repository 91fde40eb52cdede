//! What a [`Guard`](crate::Guard) checks and how it treats the key set.

use std::time::Duration;

/// Settings of a [`Guard`](crate::Guard): which issuer and audience to
/// accept, where the keys are and how long to trust a fetched key set.
///
/// Start from [`GuardConfig::new`] with the issuer (exactly the `iss` of the
/// tokens: the server's base URL for the default tenant, `{base}/t/{slug}`
/// for another tenant) and change what differs with the setters.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    pub(crate) issuer: String,
    pub(crate) audience: Option<String>,
    pub(crate) jwks_url: Option<String>,
    pub(crate) leeway_secs: u64,
    pub(crate) jwks_ttl: Duration,
    pub(crate) min_refresh_interval: Duration,
    pub(crate) http_timeout: Duration,
}

impl GuardConfig {
    /// Defaults for tokens of `issuer`: audience = issuer, JWKS at
    /// `{issuer}/.well-known/jwks.json`, 30 s leeway, keys cached for
    /// 5 minutes, at most one refetch for an unknown `kid` every 10 s, and
    /// a 5 s HTTP timeout.
    pub fn new(issuer: impl Into<String>) -> GuardConfig {
        GuardConfig {
            issuer: issuer.into(),
            audience: None,
            jwks_url: None,
            leeway_secs: 30,
            jwks_ttl: Duration::from_secs(300),
            min_refresh_interval: Duration::from_secs(10),
            http_timeout: Duration::from_secs(5),
        }
    }

    /// The required `aud` (Tessera's default audience is the issuer; a
    /// client may be configured to request another).
    pub fn audience(mut self, audience: impl Into<String>) -> GuardConfig {
        self.audience = Some(audience.into());
        self
    }

    /// Where the key set is fetched from, when not at the issuer's
    /// well-known path (e.g. an internal address of the same server).
    pub fn jwks_url(mut self, url: impl Into<String>) -> GuardConfig {
        self.jwks_url = Some(url.into());
        self
    }

    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub fn leeway_secs(mut self, secs: u64) -> GuardConfig {
        self.leeway_secs = secs;
        self
    }

    /// How long a fetched key set is used before it is fetched again.
    pub fn jwks_ttl(mut self, ttl: Duration) -> GuardConfig {
        self.jwks_ttl = ttl;
        self
    }

    /// The least time between two fetches of the key set. Bounds the load a
    /// flood of tokens with unknown `kid`s (or an unreachable JWKS) can put
    /// on Tessera: at most one request per interval, whatever the traffic.
    pub fn min_refresh_interval(mut self, interval: Duration) -> GuardConfig {
        self.min_refresh_interval = interval;
        self
    }

    /// Timeout of one JWKS request (connect and read).
    pub fn http_timeout(mut self, timeout: Duration) -> GuardConfig {
        self.http_timeout = timeout;
        self
    }

    /// The accepted `aud`.
    pub(crate) fn effective_audience(&self) -> &str {
        self.audience.as_deref().unwrap_or(&self.issuer)
    }

    /// The key set's URL.
    pub(crate) fn effective_jwks_url(&self) -> String {
        match &self.jwks_url {
            Some(url) => url.clone(),
            None => format!("{}/.well-known/jwks.json", self.issuer.trim_end_matches('/')),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_derive_audience_and_jwks_url_from_the_issuer() {
        let config = GuardConfig::new("https://id.example.com/t/acme");
        assert_eq!(config.effective_audience(), "https://id.example.com/t/acme");
        assert_eq!(
            config.effective_jwks_url(),
            "https://id.example.com/t/acme/.well-known/jwks.json"
        );
        assert_eq!(config.leeway_secs, 30);
        assert_eq!(config.jwks_ttl, Duration::from_secs(300));
        assert_eq!(config.min_refresh_interval, Duration::from_secs(10));
    }

    #[test]
    fn setters_override_the_defaults() {
        let config = GuardConfig::new("https://id.example.com")
            .audience("reports-api")
            .jwks_url("http://tessera.internal/.well-known/jwks.json");
        assert_eq!(config.effective_audience(), "reports-api");
        assert_eq!(
            config.effective_jwks_url(),
            "http://tessera.internal/.well-known/jwks.json"
        );
    }
}
