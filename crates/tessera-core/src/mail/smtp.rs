//! Mail handed to an SMTP relay (lettre, TLS by rustls with the Mozilla
//! roots compiled in, so a container needs no CA bundle).
//!
//! The relay is one URL (`TESSERA_SMTP_URL`):
//!
//! | URL | connection | default port |
//! |---|---|---|
//! | `smtp://user:pass@host` | STARTTLS, required | 587 |
//! | `smtps://user:pass@host` | TLS from the first byte | 465 |
//! | `smtp://host?tls=none` | plain text, for a relay on the same host | 25 |
//!
//! A plain `smtp://` URL is STARTTLS *required*, unlike lettre's own URL
//! form (where it means no encryption at all): the safe reading is the
//! default, and clear text must be asked for by name. The user and password
//! are percent-decoded (`%40` for an `@` in a user name); a path names the
//! EHLO host (`smtp://relay:587/mail.example.com`).
//!
//! Neither a parse error nor a send error ever contains the password.
//!
//! Why lettre's blocking `SmtpTransport` on the blocking pool and not its
//! `AsyncSmtpTransport`: in lettre 0.11 the async transport applies its
//! timeout to connecting only, so a relay that accepts the connection and
//! then says nothing hangs a send for ever (lettre issue #1027). Cutting
//! the async send off from outside is no cure: the half-used connection
//! would go back to the pool and the next message would start in the
//! middle of another conversation. The blocking transport sets the timeout
//! on every read and write of the socket, and a connection that timed out
//! is marked broken and never reused.

use std::time::Duration;

use async_trait::async_trait;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::PoolConfig;
use lettre::{SmtpTransport, Transport};

use crate::mail::compose::{compose, Sender};
use crate::ports::{MailError, MailMessage, Mailer};

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which the relay must offer
    /// (RFC 3207): `smtp://`, port 587 by default.
    StartTls,
    /// TLS from the first byte (RFC 8314): `smtps://`, port 465 by default.
    ImplicitTls,
    /// No encryption: `smtp://…?tls=none`, port 25 by default. Only for a
    /// relay that is not reached over a network anyone else shares.
    None,
}

impl SmtpSecurity {
    fn describe(self) -> &'static str {
        match self {
            SmtpSecurity::StartTls => "STARTTLS",
            SmtpSecurity::ImplicitTls => "TLS",
            SmtpSecurity::None => "no TLS",
        }
    }
}

/// Where mail is relayed: the parsed `smtp_url`. Its `Display` and `Debug`
/// show everything but the password, for the start-up log line.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpRelay {
    host: String,
    port: u16,
    security: SmtpSecurity,
    user: Option<String>,
    password: Option<String>,
    hello_name: Option<String>,
}

impl SmtpRelay {
    /// Parses `smtp://[user:password@]host[:port][/ehlo-name][?tls=required|none]`
    /// or `smtps://…`. Errors say what is wrong without repeating the URL
    /// (it may hold the password).
    pub fn parse(raw: &str) -> Result<SmtpRelay, MailError> {
        let url = url::Url::parse(raw).map_err(|e| MailError(format!("not a URL: {e}")))?;
        let mut tls = None;
        for (name, value) in url.query_pairs() {
            match name.as_ref() {
                "tls" if tls.is_none() => tls = Some(value.into_owned()),
                "tls" => return Err(MailError("tls is given twice".into())),
                _ => {
                    return Err(MailError(format!(
                        "unknown parameter {name:?} (only tls=required or tls=none)"
                    )))
                }
            }
        }
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtp", None | Some("required")) => SmtpSecurity::StartTls,
            ("smtp", Some("none")) => SmtpSecurity::None,
            ("smtps", None) => SmtpSecurity::ImplicitTls,
            ("smtps", Some(_)) => {
                return Err(MailError(
                    "smtps:// is always TLS; the tls parameter is for smtp:// only".into(),
                ))
            }
            ("smtp", Some(other)) => {
                return Err(MailError(format!(
                    "tls={other:?}: use tls=required (the default) or tls=none"
                )))
            }
            (scheme, _) => {
                return Err(MailError(format!(
                    "scheme {scheme:?}: use smtp:// (STARTTLS) or smtps:// (TLS)"
                )))
            }
        };
        let host = match url.host() {
            Some(url::Host::Domain(name)) if !name.is_empty() => name.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(MailError("no relay host".into())),
        };
        let port = url.port().unwrap_or(match security {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::ImplicitTls => 465,
            SmtpSecurity::None => 25,
        });
        let user = decoded(url.username(), "user name")?;
        let password = url.password().map(|p| decoded(p, "password")).transpose()?;
        let user = (!user.is_empty()).then_some(user);
        if user.is_some() != password.is_some() {
            return Err(MailError(
                "give both a user name and a password, or neither".into(),
            ));
        }
        let hello = url.path().trim_matches('/');
        let relay = SmtpRelay {
            host,
            port,
            security,
            user,
            password,
            hello_name: (!hello.is_empty()).then(|| hello.to_string()),
        };
        if relay.password.is_some() && security == SmtpSecurity::None && !relay.is_loopback() {
            return Err(MailError(
                "tls=none would send the password in clear text; use STARTTLS (drop tls=none) \
                 or smtps://, or a relay on 127.0.0.1 / ::1 / localhost"
                    .into(),
            ));
        }
        Ok(relay)
    }

    /// The relay's host name or address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The relay's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How the connection is protected.
    pub fn security(&self) -> SmtpSecurity {
        self.security
    }

    /// Whether the relay is on this host (where clear text is acceptable).
    fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// `text` with the password replaced: lettre's errors carry the
    /// relay's reply, which a badly written relay could make quote it.
    fn scrub(&self, text: String) -> String {
        match &self.password {
            Some(password) if !password.is_empty() => text.replace(password.as_str(), "[redacted]"),
            _ => text,
        }
    }
}

/// Percent-decodes a URL's user name or password.
fn decoded(raw: &str, what: &str) -> Result<String, MailError> {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| MailError(format!("the {what} is not UTF-8 once percent-decoded")))
}

impl std::fmt::Display for SmtpRelay {
    /// `smtp://user@host:port (STARTTLS)`: never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = match self.security {
            SmtpSecurity::ImplicitTls => "smtps",
            _ => "smtp",
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let user = self.user.as_ref().map(|u| format!("{u}@")).unwrap_or_default();
        let describe = self.security.describe();
        write!(f, "{scheme}://{user}{host}:{} ({describe})", self.port)
    }
}

impl std::fmt::Debug for SmtpRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmtpRelay({self})")
    }
}

/// Hands each message to an SMTP relay, over a pool of kept-open
/// connections (lettre's: at most 10 idle, each closed after 60 s idle).
///
/// `timeout` bounds every step of a conversation — connecting, and each
/// read or write — so a relay that is down or silent fails a send within
/// it rather than hanging the outbox worker. Each send runs on Tokio's
/// blocking pool (see the module documentation).
pub struct SmtpMailer {
    relay: SmtpRelay,
    from: Sender,
    transport: SmtpTransport,
}

impl SmtpMailer {
    /// A mailer relaying through `relay` as `from`. Connects to nothing yet
    /// (see [`SmtpMailer::check`]).
    pub fn new(relay: SmtpRelay, from: Sender, timeout: Duration) -> Result<SmtpMailer, MailError> {
        let mut builder = SmtpTransport::builder_dangerous(relay.host.clone())
            .port(relay.port)
            .timeout(Some(timeout))
            // lettre's defaults, spelled out because docs/mail.md promises them.
            .pool_config(
                PoolConfig::new()
                    .min_idle(0)
                    .max_size(10)
                    .idle_timeout(Duration::from_secs(60)),
            );
        let tls = || TlsParameters::new(relay.host.clone());
        builder = match relay.security {
            SmtpSecurity::StartTls => builder.tls(Tls::Required(tls().map_err(|e| relay_error(&relay, e))?)),
            SmtpSecurity::ImplicitTls => {
                builder.tls(Tls::Wrapper(tls().map_err(|e| relay_error(&relay, e))?))
            }
            SmtpSecurity::None => builder.tls(Tls::None),
        };
        if let (Some(user), Some(password)) = (&relay.user, &relay.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        if let Some(name) = &relay.hello_name {
            builder = builder.hello_name(ClientId::Domain(name.clone()));
        }
        Ok(SmtpMailer {
            transport: builder.build(),
            relay,
            from,
        })
    }

    /// Where mail goes, for the log (no password).
    pub fn relay(&self) -> &SmtpRelay {
        &self.relay
    }

    /// Connects, says EHLO, upgrades to TLS and logs in as a send would,
    /// then asks NOOP: whether mail could be sent now. For a warning at
    /// start-up, where a relay that is down is not fatal.
    pub async fn check(&self) -> Result<(), MailError> {
        let transport = self.transport.clone();
        match blocking(move || transport.test_connection()).await? {
            Ok(true) => Ok(()),
            Ok(false) => Err(MailError(format!(
                "SMTP relay {}:{} did not answer NOOP",
                self.relay.host, self.relay.port
            ))),
            Err(err) => Err(relay_error(&self.relay, err)),
        }
    }
}

/// Runs `work` (a blocking SMTP conversation) on Tokio's blocking pool.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, MailError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| MailError(format!("SMTP task failed: {err}")))
}

/// A lettre error as a [`MailError`] naming the relay (never the password:
/// lettre's messages hold the SMTP reply, which is scrubbed all the same).
fn relay_error(relay: &SmtpRelay, err: lettre::transport::smtp::Error) -> MailError {
    let text = format!("SMTP relay {}:{}: {err}", relay.host, relay.port);
    MailError(relay.scrub(text))
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: &MailMessage) -> Result<(), MailError> {
        let email = compose(&self.from, message)?;
        let transport = self.transport.clone();
        blocking(move || transport.send(&email))
            .await?
            .map(drop)
            .map_err(|err| relay_error(&self.relay, err))
    }
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("relay", &self.relay)
            .field("from", &self.from.address())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn smtp_is_starttls_unless_told_otherwise() {
        let relay = SmtpRelay::parse("smtp://ada:s3cret@mail.example.com").unwrap();
        assert_eq!(relay.security(), SmtpSecurity::StartTls);
        assert_eq!((relay.host(), relay.port()), ("mail.example.com", 587));
        let required = SmtpRelay::parse("smtp://mail.example.com:2525?tls=required").unwrap();
        assert_eq!(
            (required.security(), required.port()),
            (SmtpSecurity::StartTls, 2525)
        );
        let tls = SmtpRelay::parse("smtps://ada:s3cret@mail.example.com").unwrap();
        assert_eq!((tls.security(), tls.port()), (SmtpSecurity::ImplicitTls, 465));
        let plain = SmtpRelay::parse("smtp://127.0.0.1?tls=none").unwrap();
        assert_eq!((plain.security(), plain.port()), (SmtpSecurity::None, 25));
    }

    #[test]
    fn credentials_are_percent_decoded_and_never_shown() {
        let relay = SmtpRelay::parse(
            "smtp://postmaster%40mg.example.com:p%2Fss%3Aw0rd@smtp.mailgun.org/ehlo.example.com",
        )
        .unwrap();
        assert_eq!(relay.user.as_deref(), Some("postmaster@mg.example.com"));
        assert_eq!(relay.password.as_deref(), Some("p/ss:w0rd"));
        assert_eq!(relay.hello_name.as_deref(), Some("ehlo.example.com"));
        let shown = format!("{relay} {relay:?}");
        assert!(!shown.contains("w0rd"), "{shown}");
        assert_eq!(
            relay.to_string(),
            "smtp://postmaster@mg.example.com@smtp.mailgun.org:587 (STARTTLS)"
        );
        assert_eq!(
            relay.scrub("535 bad password p/ss:w0rd".into()),
            "535 bad password [redacted]"
        );
    }

    #[test]
    fn bad_urls_are_refused_without_repeating_the_password() {
        for (url, says) in [
            ("http://u:hunter2@mail.example.com", "scheme"),
            ("smtp://u:hunter2@mail.example.com?tls=opportunistic", "tls="),
            ("smtps://u:hunter2@mail.example.com?tls=none", "smtps://"),
            ("smtp://u:hunter2@mail.example.com?timeout=5", "unknown parameter"),
            ("smtp://u:hunter2@mail.example.com?tls=none", "clear text"),
            ("smtp://u@mail.example.com", "password"),
            ("smtp://u:hunter2@", "host"),
            ("mail.example.com:587", "scheme"),
        ] {
            let err = SmtpRelay::parse(url).unwrap_err().to_string();
            assert!(err.contains(says), "{url}: {err}");
            assert!(!err.contains("hunter2"), "{url}: {err}");
        }
        assert!(SmtpRelay::parse("smtp://u:pw@localhost:2525?tls=none").is_ok());
        assert!(SmtpRelay::parse("smtp://u:pw@[::1]:2525?tls=none").is_ok());
    }
}
