//! Mail through a real SMTP server (tests/smtp/server.py, aiosmtpd):
//! what `SmtpMailer` hands over arrives with its recipient, subject and
//! both bodies; SMTP AUTH works and a refused login never shows the
//! password; a relay that is down or silent fails within the timeout.
//! And what `tessera serve` says at start about where mail goes.

use std::time::{Duration, Instant};

use tessera_core::mail::compose::Sender;
use tessera_core::mail::smtp::{SmtpMailer, SmtpRelay};
use tessera_core::{MailMessage, Mailer};

use crate::binary::{free_port, run, tessera, Served};
use crate::helpers::smtp::SmtpServer;
use crate::helpers::TempDir;

const PASSWORD: &str = "Right-h0rse:battery/staple";
const PASSWORD_ENCODED: &str = "Right-h0rse%3Abattery%2Fstaple";

fn mailer(url: &str, timeout: Duration) -> SmtpMailer {
    let relay = SmtpRelay::parse(url).unwrap();
    let from = Sender::new("Tessera Test", "no-reply@id.example.com").unwrap();
    SmtpMailer::new(relay, from, timeout).unwrap()
}

fn welcome(to: &str) -> MailMessage {
    MailMessage {
        to: to.into(),
        subject: "Vérifiez votre adresse — Tessera".into(),
        text: "Hello Ada,\n\nyour code is 493021.\n".into(),
        html: Some("<p>Hello Ada,</p><p>your code is <b>493021</b>.</p>".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_and_html_arrive_through_a_real_smtp_server() {
    let Some(server) = SmtpServer::start().await else {
        return;
    };
    let mailer = mailer(&server.url(None), Duration::from_secs(5));
    mailer.check().await.unwrap();

    mailer.send(&welcome("ada@example.com")).await.unwrap();
    let text_only = MailMessage {
        html: None,
        subject: "Second".into(),
        ..welcome("bob@example.com")
    };
    // The second goes over the pooled connection.
    mailer.send(&text_only).await.unwrap();

    let received = server.wait_for_messages(2, Duration::from_secs(10)).await;
    let first = &received[0];
    assert_eq!(first.envelope_to, ["ada@example.com"]);
    assert_eq!(first.to, ["ada@example.com"]);
    assert_eq!(first.from, "no-reply@id.example.com");
    assert_eq!(first.from_name.as_deref(), Some("Tessera Test"));
    assert_eq!(first.subject, "Vérifiez votre adresse — Tessera");
    assert_eq!(
        first.text.as_deref().map(str::trim_end),
        Some("Hello Ada,\n\nyour code is 493021.")
    );
    assert_eq!(
        first.html.as_deref().map(str::trim_end),
        Some("<p>Hello Ada,</p><p>your code is <b>493021</b>.</p>")
    );
    let id = first.message_id.as_deref().unwrap_or_default();
    assert!(id.ends_with("@id.example.com"), "Message-ID {id:?}");
    assert!(first.raw.contains("\r\nDate: ") || first.raw.starts_with("Date: "));

    let second = &received[1];
    assert_eq!(
        (second.to.as_slice(), second.subject.as_str()),
        (&["bob@example.com".to_string()][..], "Second")
    );
    assert!(second.html.is_none(), "{}", second.raw);
    assert_ne!(second.message_id, first.message_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_auth_delivers_with_the_right_password_and_never_shows_a_wrong_one() {
    let Some(server) = SmtpServer::start_with_auth("tessera", PASSWORD).await else {
        return;
    };
    let right = mailer(
        &server.url(Some(&format!("tessera:{PASSWORD_ENCODED}"))),
        Duration::from_secs(5),
    );
    right.check().await.unwrap();
    right.send(&welcome("ada@example.com")).await.unwrap();
    let received = server.wait_for_messages(1, Duration::from_secs(10)).await;
    assert_eq!(received[0].to, ["ada@example.com"]);

    let wrong_password = "Wrong-h0rse-battery";
    let wrong = mailer(
        &server.url(Some(&format!("tessera:{wrong_password}"))),
        Duration::from_secs(5),
    );
    let err = wrong
        .send(&welcome("eve@example.com"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("535"), "the relay's refusal: {err}");
    assert!(
        err.contains(&format!("127.0.0.1:{}", server.port)),
        "names the relay: {err}"
    );
    assert!(!err.contains(wrong_password), "{err}");
    let check = wrong.check().await.unwrap_err().to_string();
    assert!(!check.contains(wrong_password), "{check}");

    let anonymous = mailer(&server.url(None), Duration::from_secs(5));
    let err = anonymous
        .send(&welcome("eve@example.com"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("530"), "authentication required: {err}");

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.wait_for_messages(1, Duration::from_secs(1)).await.len(),
        1,
        "nothing delivered without the right login"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_smtp_urls_require_starttls_and_send_nothing_in_clear_text() {
    let Some(server) = SmtpServer::start_with_auth("tessera", PASSWORD).await else {
        return;
    };
    // The test server offers no STARTTLS: without `tls=none` nothing goes.
    let url = format!("smtp://tessera:{PASSWORD_ENCODED}@127.0.0.1:{}", server.port);
    let starttls = mailer(&url, Duration::from_secs(5));
    let err = starttls
        .send(&welcome("ada@example.com"))
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains("Right-h0rse"), "{err}");
    assert!(starttls.check().await.is_err());
    let plain = mailer(
        &server.url(Some(&format!("tessera:{PASSWORD_ENCODED}"))),
        Duration::from_secs(5),
    );
    plain.send(&welcome("bob@example.com")).await.unwrap();
    let received = server.wait_for_messages(1, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].to,
        ["bob@example.com"],
        "only the tls=none message arrived"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_is_down_or_silent_fails_within_the_timeout() {
    // Nobody listens on this port: refused at once.
    let closed = mailer(
        &format!("smtp://127.0.0.1:{}?tls=none", free_port()),
        Duration::from_secs(2),
    );
    let started = Instant::now();
    let outcome =
        tokio::time::timeout(Duration::from_secs(20), closed.send(&welcome("ada@example.com"))).await;
    let err = outcome.expect("no hang").unwrap_err().to_string();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(err.starts_with("mail not sent: SMTP relay 127.0.0.1:"), "{err}");

    // This one accepts connections and never says a word (no greeting).
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let mute = mailer(
        &format!("smtp://127.0.0.1:{port}?tls=none"),
        Duration::from_secs(1),
    );
    let started = Instant::now();
    let sent = tokio::time::timeout(Duration::from_secs(20), mute.send(&welcome("ada@example.com"))).await;
    let send_took = started.elapsed();
    assert!(sent.expect("no hang").is_err());
    let started = Instant::now();
    let checked = tokio::time::timeout(Duration::from_secs(20), mute.check()).await;
    let check_took = started.elapsed();
    assert!(checked.expect("no hang").is_err());
    for took in [send_took, check_took] {
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(5),
            "failed after {took:?}, with a 1 s timeout"
        );
    }
    holder.abort();
}

/// Lines of the JSON log at level WARN that contain `text`.
fn warnings_with(stdout: &str, text: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|line| line.contains("\"level\":\"WARN\"") && line.contains(text))
        .map(String::from)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_without_smtp_warns_once_that_mail_is_written_to_eml_files() {
    let server = Served::start(&[]).await;
    let stdout = server.stdout();
    let warnings = warnings_with(&stdout, "no SMTP server configured (TESSERA_SMTP_URL)");
    assert_eq!(warnings.len(), 1, "{stdout}");
    let outbox = server.dir.0.join("tessera-data").join("outbox");
    assert!(
        warnings[0].contains(&format!("mail is written as .eml files to {}", outbox.display())),
        "{}",
        warnings[0]
    );
}

/// Waits until the server's log contains `text`.
async fn wait_for_log(server: &Served, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stdout = server.stdout();
        if stdout.contains(text) {
            return stdout;
        }
        assert!(Instant::now() < deadline, "no {text:?} in:\n{stdout}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_a_relay_that_is_down_still_starts_and_warns_without_the_password() {
    let url = format!(
        "smtp://tessera:{PASSWORD_ENCODED}@127.0.0.1:{}?tls=none",
        free_port()
    );
    let server = Served::start(&[("TESSERA_SMTP_URL", &url), ("TESSERA_SMTP_TIMEOUT_SECS", "2")]).await;
    let stdout = wait_for_log(&server, "SMTP relay does not answer").await;
    assert!(stdout.contains("mail is sent through the SMTP relay"), "{stdout}");
    assert!(
        stdout.contains("smtp://tessera@127.0.0.1:"),
        "the relay, without its password: {stdout}"
    );
    assert!(
        warnings_with(&stdout, "no SMTP server configured").is_empty(),
        "{stdout}"
    );
    let everything = format!("{stdout}{}", server.stderr());
    for secret in [PASSWORD, PASSWORD_ENCODED, "Right-h0rse"] {
        assert!(
            !everything.contains(secret),
            "{secret} in the output:\n{everything}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reports_a_relay_that_answers() {
    let Some(relay) = SmtpServer::start_with_auth("tessera", PASSWORD).await else {
        return;
    };
    let url = relay.url(Some(&format!("tessera:{PASSWORD_ENCODED}")));
    let server = Served::start(&[("TESSERA_SMTP_URL", &url)]).await;
    let stdout = wait_for_log(&server, "SMTP relay answers").await;
    assert!(!stdout.contains("Right-h0rse"), "{stdout}");
    assert!(warnings_with(&stdout, "SMTP").is_empty(), "{stdout}");
}

#[test]
fn a_bad_smtp_url_stops_the_start_naming_the_key_not_the_password() {
    let dir = TempDir::new();
    let output = run(tessera(&dir.0)
        .arg("serve")
        .env("TESSERA_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env(
            "TESSERA_SMTP_URL",
            "http://tessera:Hunter2-secret@mail.example.com",
        ));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("smtp_url: scheme \"http\""), "{stderr}");
    assert!(!stderr.contains("Hunter2"), "{stderr}");
}

/// The whole path: `tessera serve` with an authenticated relay, a
/// registration over HTTP, the verification mail read from the SMTP
/// server, and its link's token spent over HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_mail_travels_through_the_relay_and_its_link_verifies() {
    let Some(relay) = SmtpServer::start_with_auth("tessera", PASSWORD).await else {
        return;
    };
    let url = relay.url(Some(&format!("tessera:{PASSWORD_ENCODED}")));
    let server = Served::start(&[("TESSERA_SMTP_URL", &url)]).await;
    let client = reqwest::Client::new();
    let email = "grace@example.com";
    let registered = client
        .post(server.url("/api/v1/auth/register"))
        .json(&serde_json::json!({"email": email, "password": "correct-horse-battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let received = relay.wait_for_messages(1, Duration::from_secs(20)).await;
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail.to, vec![email.to_string()]);
    let text = mail.text.as_deref().expect("a text part");
    let base = server.url("/verify-email?token=");
    let start = text
        .find(&base)
        .unwrap_or_else(|| panic!("no link to {base} in {text}"))
        + base.len();
    let token: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(
        mail.html.as_deref().unwrap_or_default().contains(&token),
        "both parts carry the link"
    );
    let verified = client
        .post(server.url("/api/v1/auth/verify-email"))
        .json(&serde_json::json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), 204);
}
