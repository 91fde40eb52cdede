//! Typed, layered configuration: defaults → optional TOML file (`--config`)
//! → `TESSERA_*` environment variables (`__` separates nested keys, e.g.
//! `TESSERA_TOKENS__ACCESS_TOKEN_TTL_SECS`). Unknown keys in the file are
//! fatal and named; unknown `TESSERA_*` variables are reported as warnings.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};
use tessera_core::{
    AccountPolicy, HashSettings, KeySettings, LockoutPolicy, PasswordPolicy, SigningAlg, TokenSettings,
};
use tessera_server::Theme;

mod mail;
mod redact;
mod validate;

pub use redact::redact_url;

/// Environment variables with this prefix configure Tessera.
pub const ENV_PREFIX: &str = "TESSERA_";

/// `TESSERA_*` variables that are not configuration keys but are read
/// elsewhere (the CLI's `--config`, the test harness).
const ENV_NOT_KEYS: &[&str] = &["TESSERA_CONFIG"];
const ENV_IGNORED_PREFIXES: &[&str] = &["TESSERA_TEST_", "TESSERA_BENCH_"];

/// The whole configuration. See `docs/configuration.md`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Public base URL (the `iss` of tokens); default `http://<listen>`.
    pub issuer: String,
    /// `sqlite://…`, `postgres://…` or `mysql://…` (`mariadb://…`); default a
    /// SQLite file in `data_dir`.
    #[serde(serialize_with = "serialize_redacted_url")]
    pub database_url: String,
    /// Pool size for PostgreSQL and MariaDB / MySQL.
    pub database_max_connections: u32,
    /// Where the default SQLite file and a generated master key live.
    pub data_dir: PathBuf,
    /// Base64 of the 32-byte key-encryption key for signing keys at rest.
    #[serde(serialize_with = "serialize_secret")]
    pub master_key: Option<SecretString>,
    /// File holding the base64 master key (alternative to `master_key`).
    pub master_key_file: Option<PathBuf>,
    /// Log filter (`info`, `debug`, `tessera=debug,sqlx=warn` …).
    pub log: String,
    /// `json` (default) or `text`.
    pub log_format: LogFormat,
    /// Algorithm access tokens are signed with (and of keys generated
    /// without an explicit `--alg`).
    pub signing_alg: SigningAlg,
    /// Signing-key rotation timings.
    pub keys: KeySettings,
    /// Origins allowed to call the API from browsers (comma-separated in env).
    #[serde(deserialize_with = "string_or_list")]
    pub cors_origins: Vec<String>,
    /// Login answers with HttpOnly cookies unless `?mode=token`.
    pub cookie_mode: bool,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Token and session lifetimes.
    pub tokens: TokenSettings,
    /// Rules for new passwords.
    pub password_policy: PasswordPolicy,
    /// argon2id cost and admission control.
    pub password_hash: HashSettings,
    /// Lockout after failed logins.
    pub lockout: LockoutPolicy,
    /// Email verification and recovery by mail: whether a verified address
    /// is required to sign in, lifetimes of mailed links and codes.
    pub accounts: AccountPolicy,
    /// Branding of the hosted login, consent and logout pages.
    pub theme: Theme,
    /// Email of the `super_admin` created on a start that finds none (with
    /// `bootstrap_admin_password` or `bootstrap_admin_password_file`).
    pub bootstrap_admin_email: Option<String>,
    /// Password of that first super admin.
    #[serde(serialize_with = "serialize_secret")]
    pub bootstrap_admin_password: Option<SecretString>,
    /// File holding that password (alternative to the variable, e.g. a
    /// container secret).
    pub bootstrap_admin_password_file: Option<PathBuf>,
    /// Serve `/docs` (Swagger UI) and `/openapi.json` (switch off in
    /// production if the API description should not be public).
    pub docs: bool,
    /// A second address serving only `GET /metrics`, without a token (bind
    /// it where only the scraper reaches, e.g. `127.0.0.1:9090`).
    pub metrics_listen: Option<String>,
    /// Bearer token that opens `/metrics` on the public listener; without
    /// it, the public listener has no `/metrics`.
    #[serde(serialize_with = "serialize_secret")]
    pub metrics_token: Option<SecretString>,
    /// Seconds a client may take to send a request's headers, on a new
    /// connection or a kept-alive one after the previous response (so it
    /// also closes idle HTTP/1.1 connections).
    pub header_read_timeout_secs: u64,
    /// Connections served at once per listener; more wait to be accepted.
    pub max_connections: usize,
    /// The SMTP relay, `smtp://user:pass@host:587` (STARTTLS),
    /// `smtps://…` (TLS) or `smtp://host?tls=none`; without it mail is
    /// written as `.eml` files to `mail_outbox_dir`. See `docs/mail.md`.
    #[serde(serialize_with = "serialize_secret_url")]
    pub smtp_url: Option<SecretString>,
    /// File holding the SMTP URL (alternative to `smtp_url`).
    pub smtp_url_file: Option<PathBuf>,
    /// Seconds to wait for the relay at each step (connecting, each reply).
    pub smtp_timeout_secs: u64,
    /// Sender address; default `no-reply@` the issuer's host.
    pub mail_from: Option<String>,
    /// Sender display name; default the theme's product name.
    pub mail_from_name: Option<String>,
    /// Where mail is written as `.eml` files when no SMTP relay is
    /// configured; default `{data_dir}/outbox`.
    pub mail_outbox_dir: PathBuf,
    /// A directory of mail templates overriding the built-in ones.
    pub mail_templates_dir: Option<PathBuf>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            issuer: String::new(),
            database_url: String::new(),
            database_max_connections: 16,
            data_dir: PathBuf::from("./tessera-data"),
            master_key: None,
            master_key_file: None,
            log: "info".into(),
            log_format: LogFormat::Json,
            signing_alg: SigningAlg::ES256,
            keys: KeySettings::default(),
            cors_origins: Vec::new(),
            cookie_mode: false,
            max_body_bytes: 64 * 1024,
            tokens: TokenSettings::default(),
            password_policy: PasswordPolicy::default(),
            password_hash: HashSettings::default(),
            lockout: LockoutPolicy::default(),
            accounts: AccountPolicy::default(),
            theme: Theme::default(),
            bootstrap_admin_email: None,
            bootstrap_admin_password: None,
            bootstrap_admin_password_file: None,
            docs: true,
            metrics_listen: None,
            metrics_token: None,
            header_read_timeout_secs: 10,
            max_connections: 4096,
            smtp_url: None,
            smtp_url_file: None,
            smtp_timeout_secs: 10,
            mail_from: None,
            mail_from_name: None,
            mail_outbox_dir: PathBuf::new(),
            mail_templates_dir: None,
        }
    }
}

/// A configuration that failed to load, with a message naming the key.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

/// Settings given as command-line flags (`--listen`, `--issuer`,
/// `--data-dir`). They override the file and the environment, and then feed
/// the derived defaults like any other value: `--listen` moves the default
/// issuer, `--data-dir` the default SQLite file and the generated master key.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    /// Address to listen on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// Public base URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Data directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

/// The loaded configuration and the warnings to log once logging is up.
pub struct Loaded {
    /// The configuration, with derived defaults filled in.
    pub config: Config,
    /// Things worth a warning (unknown `TESSERA_*` variables).
    pub warnings: Vec<String>,
}

impl Config {
    /// Loads defaults, then `file` if given, then the environment, and
    /// validates the result.
    pub fn load(file: Option<&Path>) -> Result<Loaded, ConfigError> {
        Config::load_with(file, &Overrides::default())
    }

    /// As [`Config::load`], with `overrides` (the command-line flags) over
    /// the environment, before the derived defaults are filled in.
    pub fn load_with(file: Option<&Path>, overrides: &Overrides) -> Result<Loaded, ConfigError> {
        let known = known_keys();
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let known_refs: Vec<&str> = known.iter().map(String::as_str).collect();
        figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__").only(&known_refs));
        figment = figment.merge(Serialized::defaults(overrides));
        let mut config: Config = figment
            .extract()
            .map_err(|err| ConfigError(describe_figment_error(err)))?;
        let warnings = unknown_env_vars(&known)
            .into_iter()
            .map(|var| format!("ignoring unknown environment variable {var}"))
            .collect();
        config.fill_derived_defaults();
        config.validate()?;
        Ok(Loaded { config, warnings })
    }

    fn fill_derived_defaults(&mut self) {
        if self.database_url.is_empty() {
            self.database_url = format!("sqlite://{}", self.data_dir.join("tessera.db").display());
        }
        if self.issuer.is_empty() {
            self.issuer = format!("http://{}", self.listen);
        }
        if self.mail_outbox_dir.as_os_str().is_empty() {
            self.mail_outbox_dir = self.data_dir.join("outbox");
        }
        self.issuer = self.issuer.trim_end_matches('/').to_string();
    }

    /// The master key as given directly, if it is.
    pub fn master_key_value(&self) -> Option<&str> {
        self.master_key.as_ref().map(|s| s.expose_secret())
    }

    /// The bootstrap super admin's email and password, if configured (the
    /// password read from its file when given that way).
    pub fn bootstrap_admin(&self) -> anyhow::Result<Option<(String, SecretString)>> {
        let Some(email) = &self.bootstrap_admin_email else {
            return Ok(None);
        };
        let password = match (
            &self.bootstrap_admin_password,
            &self.bootstrap_admin_password_file,
        ) {
            (Some(password), _) => password.clone(),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|err| {
                    anyhow::anyhow!(
                        "bootstrap_admin_password_file: cannot read {}: {err}",
                        path.display()
                    )
                })?;
                SecretString::from(text.trim_end_matches(['\r', '\n']).to_string())
            }
            (None, None) => return Ok(None),
        };
        Ok(Some((email.clone(), password)))
    }

    /// Whether the issuer is https (then cookies are `Secure`).
    pub fn issuer_is_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}

impl Config {
    /// The limits every listener applies to its connections.
    pub fn connection_limits(&self) -> tessera_server::ConnectionLimits {
        tessera_server::ConnectionLimits {
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout_secs),
            max_connections: self.max_connections,
            ..tessera_server::ConnectionLimits::default()
        }
    }
}

/// Every dotted key of the configuration, from the serialised defaults.
fn known_keys() -> BTreeSet<String> {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut BTreeSet<String>) {
        if let serde_json::Value::Object(map) = value {
            for (key, inner) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                if inner.is_object() {
                    walk(&path, inner, out);
                }
                out.insert(path);
            }
        }
    }
    let mut keys = BTreeSet::new();
    if let Ok(value) = serde_json::to_value(Config::default()) {
        walk("", &value, &mut keys);
    }
    keys
}

fn unknown_env_vars(known: &BTreeSet<String>) -> Vec<String> {
    let mut unknown: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| name.starts_with(ENV_PREFIX))
        .filter(|name| !ENV_NOT_KEYS.contains(&name.as_str()))
        .filter(|name| !ENV_IGNORED_PREFIXES.iter().any(|p| name.starts_with(p)))
        .filter(|name| {
            let key = name[ENV_PREFIX.len()..].to_lowercase().replace("__", ".");
            !known.contains(&key)
        })
        .collect();
    unknown.sort();
    unknown
}

fn describe_figment_error(err: figment::Error) -> String {
    err.into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let source = e
                .metadata
                .as_ref()
                .map(|m| m.name.to_string())
                .unwrap_or_default();
            match (key.is_empty(), source.is_empty()) {
                (false, false) => format!("{key} (from {source}): {}", e.kind),
                (false, true) => format!("{key}: {}", e.kind),
                _ => e.kind.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn serialize_secret<S: serde::Serializer>(value: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => s.serialize_some("[redacted]"),
        None => s.serialize_none(),
    }
}

fn serialize_redacted_url<S: serde::Serializer>(value: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(value))
}

fn serialize_secret_url<S: serde::Serializer>(value: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(url) => s.serialize_some(&redact_url(url.expose_secret())),
        None => s.serialize_none(),
    }
}

/// The database engine a `database_url` names, by its scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseEngine {
    /// `sqlite:` — the embedded default.
    Sqlite,
    /// `postgres://` or `postgresql://`.
    Postgres,
    /// `mysql://` or `mariadb://`.
    MySql,
}

impl DatabaseEngine {
    /// The engine of `url`; `None` for an unknown scheme.
    pub fn of_url(url: &str) -> Option<DatabaseEngine> {
        let scheme = url.split_once(':').map(|(scheme, _)| scheme)?;
        match scheme {
            "sqlite" => Some(DatabaseEngine::Sqlite),
            "postgres" | "postgresql" if url.contains("://") => Some(DatabaseEngine::Postgres),
            "mysql" | "mariadb" if url.contains("://") => Some(DatabaseEngine::MySql),
            _ => None,
        }
    }
}

fn string_or_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Either::deserialize(deserializer)? {
        Either::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        Either::Many(v) => v,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn known_keys_cover_nested_settings() {
        let keys = known_keys();
        for key in [
            "listen",
            "database_url",
            "master_key",
            "master_key_file",
            "tokens.access_token_ttl_secs",
            "lockout.max_failures",
            "password_hash.memory_kib",
            "keys.activation_delay_secs",
            "keys.cache_ttl_secs",
        ] {
            assert!(keys.contains(key), "{key} missing");
        }
    }

    fn write_config(text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("tessera-config-{}.toml", rand::random::<u64>()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn file_values_override_defaults_and_nested_tables_work() {
        let path = write_config("listen = \"0.0.0.0:9000\"\n[tokens]\naccess_token_ttl_secs = 60\n");
        let loaded = Config::load(Some(&path)).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(loaded.config.listen, "0.0.0.0:9000");
        assert_eq!(loaded.config.issuer, "http://0.0.0.0:9000");
        assert_eq!(loaded.config.tokens.access_token_ttl_secs, 60);
        assert_eq!(loaded.config.tokens.refresh_idle_ttl_secs, 14 * 24 * 3600);
    }

    #[test]
    fn flags_override_the_file_and_feed_the_derived_defaults() {
        let path = write_config("listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/from-file\"\n");
        let overrides = Overrides {
            listen: Some("127.0.0.1:9100".into()),
            issuer: None,
            data_dir: Some(PathBuf::from("/srv/from-flag")),
        };
        let loaded = Config::load_with(Some(&path), &overrides).unwrap();
        let with_issuer = Overrides {
            issuer: Some("https://id.example.com/".into()),
            ..overrides
        };
        let explicit = Config::load_with(Some(&path), &with_issuer).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(loaded.config.listen, "127.0.0.1:9100");
        assert_eq!(loaded.config.issuer, "http://127.0.0.1:9100");
        assert_eq!(loaded.config.data_dir, PathBuf::from("/srv/from-flag"));
        assert_eq!(loaded.config.database_url, "sqlite:///srv/from-flag/tessera.db");
        assert_eq!(explicit.config.issuer, "https://id.example.com");
    }

    #[test]
    fn unknown_keys_in_the_file_are_rejected_by_name() {
        for (text, name) in [
            ("frobnicate = 1\n", "frobnicate"),
            ("[tokens]\nlifetime = 5\n", "lifetime"),
        ] {
            let path = write_config(text);
            let err = Config::load(Some(&path)).err().unwrap().to_string();
            std::fs::remove_file(&path).unwrap();
            assert!(err.contains(name), "{err}");
        }
    }

    #[test]
    fn invalid_values_name_their_key() {
        for (text, key) in [
            ("listen = \"nonsense\"\n", "listen"),
            ("database_url = \"mongodb://x\"\n", "database_url"),
            (
                "[password_policy]\nmin_length = 0\n",
                "password_policy.min_length",
            ),
            (
                "[tokens]\naccess_token_ttl_secs = \"soon\"\n",
                "tokens.access_token_ttl_secs",
            ),
        ] {
            let path = write_config(text);
            let err = Config::load(Some(&path)).err().unwrap().to_string();
            std::fs::remove_file(&path).unwrap();
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        let err = Config::load(Some(Path::new("/nonexistent/tessera.toml")))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("does not exist"), "{err}");
    }

    #[test]
    fn cors_origins_accept_a_comma_separated_string_or_a_list() {
        let path = write_config("cors_origins = \"https://a.example, https://b.example\"\n");
        let loaded = Config::load(Some(&path)).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            loaded.config.cors_origins,
            ["https://a.example", "https://b.example"]
        );
        let path = write_config("cors_origins = [\"https://c.example\"]\n");
        let loaded = Config::load(Some(&path)).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(loaded.config.cors_origins, ["https://c.example"]);
    }

    #[test]
    fn secrets_are_redacted_when_serialised() {
        let config = Config {
            master_key: Some(SecretString::from("c2VjcmV0")),
            database_url: "postgres://app:hunter2@db/tessera".into(),
            ..Config::default()
        };
        let shown = serde_json::to_string(&config).unwrap();
        assert!(!shown.contains("hunter2"));
        assert!(!shown.contains("c2VjcmV0"));
        assert!(!format!("{config:?}").contains("c2VjcmV0"));
    }
}
