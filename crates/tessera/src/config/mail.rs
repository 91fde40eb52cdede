//! The mail keys read as the application wants them: the sender, and the
//! SMTP relay (from `smtp_url` or the file `smtp_url_file` names), parsed.
//! Validation (in `validate.rs`) goes through the same functions, so what
//! starts is what was checked.

use secrecy::{ExposeSecret, SecretString};
use tessera_core::mail::compose::Sender;
use tessera_core::mail::smtp::SmtpRelay;

use super::{Config, ConfigError};

impl Config {
    /// The sender of outgoing mail as `(name, address)`: `mail_from_name`
    /// or the product name, at `mail_from` or `no-reply@` the issuer's
    /// host.
    pub fn mail_from(&self) -> (String, String) {
        let name = self
            .mail_from_name
            .clone()
            .unwrap_or_else(|| self.theme.product_name.clone());
        let address = self.mail_from.clone().unwrap_or_else(|| {
            let host = url::Url::parse(&self.issuer)
                .ok()
                .and_then(|url| url.host_str().map(str::to_string))
                .filter(|host| !host.is_empty() && !host.contains(':'))
                .unwrap_or_else(|| "localhost".into());
            format!("no-reply@{host}")
        });
        (name, address)
    }

    /// The sender, checked: a bad `mail_from` is named.
    pub fn mail_sender(&self) -> Result<Sender, ConfigError> {
        let (name, address) = self.mail_from();
        let key = if self.mail_from.is_some() {
            "mail_from"
        } else {
            "issuer"
        };
        Sender::new(&name, &address).map_err(|err| ConfigError(format!("{key}: {}", err.0)))
    }

    /// The SMTP URL, from `smtp_url` or read from `smtp_url_file` (one
    /// trailing line break dropped); `None` when neither is set or the
    /// variable is empty (so `TESSERA_SMTP_URL=` means "no relay").
    pub fn smtp_url(&self) -> Result<Option<SecretString>, ConfigError> {
        if let Some(url) = self.smtp_url_given() {
            return Ok(Some(SecretString::from(url.to_owned())));
        }
        let Some(path) = &self.smtp_url_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .map_err(|err| ConfigError(format!("smtp_url_file: cannot read {}: {err}", path.display())))?;
        let url = text.trim();
        if url.is_empty() {
            return Err(ConfigError(format!("smtp_url_file: {} is empty", path.display())));
        }
        Ok(Some(SecretString::from(url.to_owned())))
    }

    /// The SMTP relay to send through, if one is configured; an error
    /// names `smtp_url` (or `smtp_url_file`) and never holds the password.
    pub fn smtp_relay(&self) -> Result<Option<SmtpRelay>, ConfigError> {
        let key = if self.smtp_url_given().is_some() {
            "smtp_url"
        } else {
            "smtp_url_file"
        };
        let Some(url) = self.smtp_url()? else {
            return Ok(None);
        };
        SmtpRelay::parse(url.expose_secret())
            .map(Some)
            .map_err(|err| ConfigError(format!("{key}: {}", err.0)))
    }

    /// `smtp_url` unless unset or blank.
    pub(super) fn smtp_url_given(&self) -> Option<&str> {
        self.smtp_url
            .as_ref()
            .map(|url| url.expose_secret().trim())
            .filter(|url| !url.is_empty())
    }

    /// How long the relay may take at each step.
    pub fn smtp_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.smtp_timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::PathBuf;

    use super::*;

    /// The defaults, derived values filled in, with `tweak` applied first.
    fn config(tweak: impl FnOnce(&mut Config)) -> Config {
        let mut config = Config::default();
        tweak(&mut config);
        config.fill_derived_defaults();
        config
    }

    fn with_url(url: &str) -> Config {
        config(|c| c.smtp_url = Some(SecretString::from(url.to_owned())))
    }

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("tessera-mail-{}-{name}", rand::random::<u64>()))
    }

    #[test]
    fn the_mail_keys_are_known_to_the_environment_layer() {
        let keys = super::super::known_keys();
        for key in [
            "smtp_url",
            "smtp_url_file",
            "smtp_timeout_secs",
            "mail_from",
            "mail_from_name",
            "mail_outbox_dir",
            "mail_templates_dir",
        ] {
            assert!(keys.contains(key), "{key} missing");
        }
    }

    #[test]
    fn smtp_urls_are_validated_naming_the_key_never_the_password() {
        for url in [
            "smtp://tessera:Hunter2@mail.example.com:587",
            "smtps://tessera:Hunter2@mail.example.com",
            "smtp://127.0.0.1:25?tls=none",
        ] {
            let config = with_url(url);
            config.validate().unwrap();
            assert!(config.smtp_relay().unwrap().is_some(), "{url}");
        }
        for url in [
            "http://tessera:Hunter2@mail.example.com",
            "smtp://tessera:Hunter2@mail.example.com?tls=maybe",
            "smtp://tessera:Hunter2@mail.example.com?tls=none",
            "smtp://tessera:Hunter2@",
            "tessera:Hunter2@mail.example.com",
        ] {
            let err = with_url(url).validate().unwrap_err().to_string();
            assert!(err.contains("smtp_url:"), "{url}: {err}");
            assert!(!err.contains("Hunter2"), "{url}: {err}");
        }
        // An empty variable means no relay, not a broken one.
        let empty = with_url("  ");
        empty.validate().unwrap();
        assert!(empty.smtp_relay().unwrap().is_none());
        assert!(config(|_| {}).smtp_relay().unwrap().is_none());
    }

    #[test]
    fn the_url_may_come_from_a_file_but_not_from_both() {
        let file = temp_path("smtp-url");
        std::fs::write(&file, "smtps://tessera:Hunter2@mail.example.com\n").unwrap();
        let from_file = config(|c| c.smtp_url_file = Some(file.clone()));
        from_file.validate().unwrap();
        let relay = from_file.smtp_relay().unwrap().unwrap();
        assert_eq!((relay.host(), relay.port()), ("mail.example.com", 465));

        let both = config(|c| {
            c.smtp_url_file = Some(file.clone());
            c.smtp_url = Some(SecretString::from("smtp://mail.example.com".to_owned()));
        });
        let err = both.validate().unwrap_err().to_string();
        assert!(err.contains("smtp_url: set smtp_url or smtp_url_file"), "{err}");

        std::fs::write(&file, "http://tessera:Hunter2@mail.example.com\n").unwrap();
        let bad = config(|c| c.smtp_url_file = Some(file.clone()));
        let err = bad.validate().unwrap_err().to_string();
        assert!(
            err.contains("smtp_url_file:") && !err.contains("Hunter2"),
            "{err}"
        );

        std::fs::write(&file, "\n").unwrap();
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("smtp_url_file:") && err.contains("empty"), "{err}");
        std::fs::remove_file(&file).unwrap();
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("smtp_url_file: cannot read"), "{err}");
    }

    #[test]
    fn the_smtp_password_is_redacted_in_debug_and_serialised_output() {
        let config = with_url("smtp://tessera:Hunter2@mail.example.com:587");
        let debug = format!("{config:?}");
        assert!(!debug.contains("Hunter2"), "{debug}");
        let shown = serde_json::to_value(&config).unwrap();
        assert_eq!(shown["smtp_url"], "smtp://tessera:redacted@mail.example.com:587");
        let relay = config.smtp_relay().unwrap().unwrap();
        assert_eq!(
            relay.to_string(),
            "smtp://tessera@mail.example.com:587 (STARTTLS)"
        );
    }

    #[test]
    fn the_timeout_is_bounded() {
        for (secs, ok) in [(0, false), (1, true), (10, true), (300, true), (301, false)] {
            let result = config(|c| c.smtp_timeout_secs = secs).validate();
            assert_eq!(result.is_ok(), ok, "{secs}: {result:?}");
            if let Err(err) = result {
                assert!(err.to_string().contains("smtp_timeout_secs"), "{err}");
            }
        }
    }

    #[test]
    fn the_sender_defaults_to_the_product_at_the_issuer_host_and_can_be_set() {
        let default = config(|c| c.issuer = "https://id.example.com".into());
        assert_eq!(
            default.mail_from(),
            ("Tessera".to_owned(), "no-reply@id.example.com".to_owned())
        );
        let set = config(|c| {
            c.mail_from = Some("accounts@example.com".into());
            c.mail_from_name = Some("Example Accounts".into());
        });
        set.validate().unwrap();
        assert_eq!(
            set.mail_from(),
            ("Example Accounts".to_owned(), "accounts@example.com".to_owned())
        );
        let bad = config(|c| c.mail_from = Some("accounts at example.com".into()));
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.starts_with("configuration error: mail_from:"), "{err}");
    }

    #[test]
    fn the_outbox_follows_the_data_dir_unless_set_and_directories_are_checked() {
        let default = config(|c| c.data_dir = PathBuf::from("/srv/tessera"));
        assert_eq!(default.mail_outbox_dir, PathBuf::from("/srv/tessera/outbox"));
        let set = config(|c| c.mail_outbox_dir = PathBuf::from("/var/mail/tessera"));
        assert_eq!(set.mail_outbox_dir, PathBuf::from("/var/mail/tessera"));

        let file = temp_path("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        let outbox = config(|c| c.mail_outbox_dir = file.clone());
        let err = outbox.validate().unwrap_err().to_string();
        assert!(err.contains("mail_outbox_dir:"), "{err}");
        let templates = config(|c| c.mail_templates_dir = Some(file.clone()));
        let err = templates.validate().unwrap_err().to_string();
        assert!(err.contains("mail_templates_dir:"), "{err}");
        std::fs::remove_file(&file).unwrap();
        let missing = config(|c| c.mail_templates_dir = Some(file.clone()));
        assert!(missing.validate().is_err());
        let existing = config(|c| c.mail_templates_dir = Some(std::env::temp_dir()));
        existing.validate().unwrap();
    }
}
