//! The checks serde cannot make: each names the key at fault.

use secrecy::ExposeSecret;

use super::{Config, ConfigError, DatabaseEngine};

/// The longest lifetime a setting may give anything: ten years.
const MAX_LIFETIME_SECS: u64 = 10 * 365 * 24 * 3600;

impl Config {
    /// Checks the settings that serde cannot, in a fixed order: the first
    /// problem is reported, naming its key.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        self.validate_addresses()?;
        self.validate_secrets()?;
        self.validate_passwords()?;
        self.validate_lifetimes()?;
        self.validate_mail()?;
        self.validate_accounts()?;
        if let Some((key, why)) = self.theme.problem() {
            return bad(key, why);
        }
        if self.keys.cache_ttl_secs == 0 {
            return bad("keys.cache_ttl_secs", "must be at least 1".into());
        }
        let max_delay = tessera_core::keys::MAX_ACTIVATION_DELAY_SECS;
        if self.keys.activation_delay_secs > max_delay {
            return bad(
                "keys.activation_delay_secs",
                format!("must be at most {max_delay} seconds (30 days)"),
            );
        }
        if self.max_body_bytes < 1024 {
            return bad("max_body_bytes", "must be at least 1024".into());
        }
        Ok(())
    }

    /// `listen`, `issuer` and `database_url`.
    fn validate_addresses(&self) -> Result<(), ConfigError> {
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return bad(
                "listen",
                format!("'{}' is not an address like 127.0.0.1:8080", self.listen),
            );
        }
        if !(1..=3600).contains(&self.header_read_timeout_secs) {
            return bad("header_read_timeout_secs", "must be 1 to 3600".into());
        }
        if self.max_connections == 0 {
            return bad("max_connections", "must be at least 1".into());
        }
        if let Some(metrics) = &self.metrics_listen {
            if metrics.parse::<std::net::SocketAddr>().is_err() {
                return bad(
                    "metrics_listen",
                    format!("'{metrics}' is not an address like 127.0.0.1:9090"),
                );
            }
        }
        if self
            .metrics_token
            .as_ref()
            .is_some_and(|token| token.expose_secret().trim().chars().count() < 16)
        {
            return bad("metrics_token", "must be at least 16 characters".into());
        }
        match url::Url::parse(&self.issuer) {
            Ok(url)
                if matches!(url.scheme(), "http" | "https")
                    && url.query().is_none()
                    && url.fragment().is_none() => {}
            _ => {
                return bad(
                    "issuer",
                    format!(
                        "'{}' is not an http(s) URL without query or fragment",
                        self.issuer
                    ),
                )
            }
        }
        if DatabaseEngine::of_url(&self.database_url).is_none() {
            return bad(
                "database_url",
                "must start with sqlite:, postgres://, postgresql://, mysql:// or mariadb://".into(),
            );
        }
        Ok(())
    }

    /// The master key and the bootstrap admin: each secret given one way,
    /// and the admin's email and password together.
    fn validate_secrets(&self) -> Result<(), ConfigError> {
        if self.master_key.is_some() && self.master_key_file.is_some() {
            return bad("master_key", "set master_key or master_key_file, not both".into());
        }
        let has_password =
            self.bootstrap_admin_password.is_some() || self.bootstrap_admin_password_file.is_some();
        if self.bootstrap_admin_password.is_some() && self.bootstrap_admin_password_file.is_some() {
            return bad(
                "bootstrap_admin_password",
                "set bootstrap_admin_password or bootstrap_admin_password_file, not both".into(),
            );
        }
        if self.bootstrap_admin_email.is_some() != has_password {
            return bad(
                "bootstrap_admin_email",
                "set it together with bootstrap_admin_password (or _file), or neither".into(),
            );
        }
        Ok(())
    }

    /// `password_policy` and `password_hash`.
    fn validate_passwords(&self) -> Result<(), ConfigError> {
        let policy = &self.password_policy;
        if policy.min_length == 0 || policy.min_length > policy.max_length {
            return bad(
                "password_policy.min_length",
                "must be between 1 and max_length".into(),
            );
        }
        if policy.min_character_classes > 4 {
            return bad("password_policy.min_character_classes", "must be 0 to 4".into());
        }
        if policy.min_strength > 4 {
            return bad(
                "password_policy.min_strength",
                "must be 0 to 4 (zxcvbn scores)".into(),
            );
        }
        let hash = &self.password_hash;
        if hash.memory_kib < 8 * hash.parallelism.max(1) || hash.iterations == 0 || hash.parallelism == 0 {
            return bad(
                "password_hash",
                "memory_kib ≥ 8×parallelism, iterations ≥ 1 and parallelism ≥ 1 are required".into(),
            );
        }
        Ok(())
    }

    /// The token and session lifetimes (`tokens.*`).
    fn validate_lifetimes(&self) -> Result<(), ConfigError> {
        let tokens = &self.tokens;
        if tokens.access_token_ttl_secs == 0
            || tokens.refresh_idle_ttl_secs == 0
            || tokens.session_absolute_ttl_secs == 0
        {
            return bad("tokens", "lifetimes must be positive".into());
        }
        // Every expiry must stay a date every engine stores (MariaDB's
        // DATETIME ends in 9999) and chrono can add.
        for (key, secs) in [
            ("tokens.access_token_ttl_secs", tokens.access_token_ttl_secs),
            ("tokens.refresh_idle_ttl_secs", tokens.refresh_idle_ttl_secs),
            (
                "tokens.session_absolute_ttl_secs",
                tokens.session_absolute_ttl_secs,
            ),
            ("tokens.browser_session_ttl_secs", tokens.browser_session_ttl_secs),
            ("tokens.session_cache_ttl_secs", tokens.session_cache_ttl_secs),
        ] {
            if secs > MAX_LIFETIME_SECS {
                return bad(
                    key,
                    format!("must be at most {MAX_LIFETIME_SECS} seconds (10 years)"),
                );
            }
        }
        if !(1..=60).contains(&tokens.authorization_code_ttl_secs) {
            return bad(
                "tokens.authorization_code_ttl_secs",
                "must be between 1 and 60 seconds".into(),
            );
        }
        if tokens.browser_session_ttl_secs == 0 {
            return bad("tokens.browser_session_ttl_secs", "must be positive".into());
        }
        Ok(())
    }

    /// The mailed links' lifetimes and limits (`accounts.*`).
    fn validate_accounts(&self) -> Result<(), ConfigError> {
        let accounts = &self.accounts;
        for (key, secs, max, max_text) in [
            (
                "accounts.verify_email_ttl_secs",
                accounts.verify_email_ttl_secs,
                30 * 86_400,
                "30 days",
            ),
            (
                "accounts.reset_password_ttl_secs",
                accounts.reset_password_ttl_secs,
                86_400,
                "24 hours",
            ),
            (
                "accounts.mail_cooldown_secs",
                accounts.mail_cooldown_secs,
                86_400,
                "24 hours",
            ),
        ] {
            if secs > max {
                return bad(key, format!("must be at most {max} seconds ({max_text})"));
            }
        }
        for (key, secs) in [
            ("accounts.verify_email_ttl_secs", accounts.verify_email_ttl_secs),
            (
                "accounts.reset_password_ttl_secs",
                accounts.reset_password_ttl_secs,
            ),
        ] {
            if secs < 60 {
                return bad(key, "must be at least 60 seconds".into());
            }
        }
        if !(1..=20).contains(&accounts.max_code_failures) {
            return bad(
                "accounts.max_code_failures",
                "must be between 1 and 20 (NIST SP 800-63B-4 limits guessing)".into(),
            );
        }
        Ok(())
    }
}

impl Config {
    /// The SMTP relay (given one way, a URL we can use), its timeout, the
    /// sender and the mail directories.
    fn validate_mail(&self) -> Result<(), ConfigError> {
        if self.smtp_url_given().is_some() && self.smtp_url_file.is_some() {
            return bad("smtp_url", "set smtp_url or smtp_url_file, not both".into());
        }
        self.smtp_relay()?;
        if !(1..=300).contains(&self.smtp_timeout_secs) {
            return bad("smtp_timeout_secs", "must be 1 to 300".into());
        }
        self.mail_sender()?;
        if self.mail_outbox_dir.exists() && !self.mail_outbox_dir.is_dir() {
            return bad(
                "mail_outbox_dir",
                format!("{} exists and is not a directory", self.mail_outbox_dir.display()),
            );
        }
        if let Some(dir) = &self.mail_templates_dir {
            if !dir.is_dir() {
                return bad(
                    "mail_templates_dir",
                    format!("{} is not a directory", dir.display()),
                );
            }
        }
        Ok(())
    }
}

/// A validation failure naming the key at fault.
fn bad(key: &str, why: String) -> Result<(), ConfigError> {
    Err(ConfigError(format!("{key}: {why}")))
}
