//! The mailer an installation gets when the builder is not handed one:
//! the SMTP relay of `smtp_url`, or else `.eml` files in `mail_outbox_dir`
//! — and what `tessera serve` says about it at start.

use std::path::PathBuf;
use std::sync::Arc;

use tessera_core::mail::smtp::SmtpMailer;
use tessera_core::{EmlDirectoryMailer, Mailer};

use crate::config::Config;

/// The configured way out for mail.
pub(crate) enum DefaultMailer {
    /// Through the SMTP relay.
    Smtp(Arc<SmtpMailer>),
    /// Written as `.eml` files into a directory.
    Eml(Arc<EmlDirectoryMailer>),
}

impl DefaultMailer {
    /// The mailer `config` asks for. Connects to nothing (the SMTP pool
    /// opens connections on the first send).
    pub(crate) fn from_config(config: &Config) -> anyhow::Result<DefaultMailer> {
        let sender = config.mail_sender()?;
        match config.smtp_relay()? {
            Some(relay) => Ok(DefaultMailer::Smtp(Arc::new(SmtpMailer::new(
                relay,
                sender,
                config.smtp_timeout(),
            )?))),
            None => {
                let (name, address) = config.mail_from();
                Ok(DefaultMailer::Eml(Arc::new(EmlDirectoryMailer::new(
                    config.mail_outbox_dir.clone(),
                    &name,
                    &address,
                )?)))
            }
        }
    }

    /// The port.
    pub(crate) fn mailer(&self) -> Arc<dyn Mailer> {
        match self {
            DefaultMailer::Smtp(mailer) => mailer.clone(),
            DefaultMailer::Eml(mailer) => mailer.clone(),
        }
    }

    /// Logs, once at start, where mail goes: the relay (no password) at
    /// info, then in the background whether it answers (a warning if not:
    /// the server starts all the same, the relay may be back before the
    /// first mail); or a warning that mail only lands in files.
    pub(crate) fn announce(&self) {
        match self {
            DefaultMailer::Smtp(mailer) => {
                tracing::info!(relay = %mailer.relay(), "mail is sent through the SMTP relay");
                let mailer = mailer.clone();
                tokio::spawn(async move {
                    match mailer.check().await {
                        Ok(()) => tracing::info!(relay = %mailer.relay(), "SMTP relay answers"),
                        Err(err) => tracing::warn!(
                            relay = %mailer.relay(),
                            error = %err.0,
                            "SMTP relay does not answer; starting anyway"
                        ),
                    }
                });
            }
            DefaultMailer::Eml(mailer) => {
                let dir = std::path::absolute(mailer.dir()).unwrap_or_else(|_| PathBuf::from(mailer.dir()));
                tracing::warn!(
                    "no SMTP server configured (TESSERA_SMTP_URL): mail is written as .eml files to {}",
                    dir.display()
                );
            }
        }
    }
}
