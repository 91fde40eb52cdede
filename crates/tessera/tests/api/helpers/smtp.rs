//! A real SMTP server for a test: `tests/smtp/server.py` (aiosmtpd) on a
//! free loopback port, writing what it receives into a temporary
//! directory, read back and parsed with `mail-parser`.
//!
//! The Python comes from `TESSERA_TEST_PYTHON` (scripts/test sets it to the
//! venv it installs from `tests/smtp/requirements.txt`), else from that
//! venv's default place, `<target dir>/smtp-venv`. Without it a test is
//! skipped with a message — and fails under `CI=true`, where it must run.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::TempDir;

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The `RCPT TO` addresses of the SMTP envelope.
    pub envelope_to: Vec<String>,
    /// The addresses of the `To` header.
    pub to: Vec<String>,
    /// The address of the `From` header.
    pub from: String,
    /// The display name of the `From` header.
    pub from_name: Option<String>,
    /// `Subject`, decoded.
    pub subject: String,
    /// `Message-ID`, without the angle brackets.
    pub message_id: Option<String>,
    /// The `text/plain` body, decoded, line breaks as `\n` (SMTP carries
    /// `\r\n`).
    pub text: Option<String>,
    /// The `text/html` body, decoded, line breaks as `\n` (`None` when the
    /// message has none).
    pub html: Option<String>,
    /// The message as received.
    pub raw: String,
}

/// The running server; killed when dropped.
pub struct SmtpServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    maildir: TempDir,
    _child: Child,
}

impl SmtpServer {
    /// A server accepting mail from anyone; `None` (test skipped) when
    /// Python or aiosmtpd is missing outside CI.
    pub async fn start() -> Option<SmtpServer> {
        SmtpServer::spawn(None).await
    }

    /// A server that wants `AUTH` as `user` / `password` before `MAIL FROM`.
    pub async fn start_with_auth(user: &str, password: &str) -> Option<SmtpServer> {
        SmtpServer::spawn(Some((user, password))).await
    }

    async fn spawn(auth: Option<(&str, &str)>) -> Option<SmtpServer> {
        let python = usable_python()?;
        let maildir = TempDir::new();
        let port = crate::binary::free_port();
        let mut command = Command::new(&python);
        command
            .arg(server_script())
            .args(["--port", &port.to_string()])
            .arg("--maildir")
            .arg(maildir.0.join("mail"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some((user, password)) = auth {
            command.args(["--user", user, "--password", password]);
        }
        let mut child = command.spawn().expect("start tests/smtp/server.py");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
        match ready {
            Ok(Ok(Some(line))) if line.trim() == "ready" => {}
            other => panic!("tests/smtp/server.py did not print \"ready\": {other:?}"),
        }
        Some(SmtpServer {
            port,
            maildir,
            _child: child,
        })
    }

    /// An SMTP URL for this server (no TLS: it is on the loopback), with
    /// `credentials` (`user:password`) when given.
    pub fn url(&self, credentials: Option<&str>) -> String {
        let login = credentials.map(|c| format!("{c}@")).unwrap_or_default();
        format!("smtp://{login}127.0.0.1:{}?tls=none", self.port)
    }

    /// The messages received so far, oldest first, once there are at least
    /// `n` of them; panics after `timeout`.
    pub async fn wait_for_messages(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + timeout;
        loop {
            let files = self.files();
            if files.len() >= n {
                return files.iter().map(|path| parse(path)).collect();
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} messages after {timeout:?}",
                files.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The complete messages in the mail directory (not the hidden
    /// temporary files of one being written), in arrival order.
    fn files(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.maildir.0.join("mail")) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
            .filter(|path| {
                !path
                    .file_name()
                    .is_some_and(|name| name.to_string_lossy().starts_with('.'))
            })
            .collect();
        files.sort();
        files
    }
}

/// Parses one received file.
fn parse(path: &Path) -> ReceivedMail {
    let bytes = std::fs::read(path).expect("read a received message");
    let message = mail_parser::MessageParser::default()
        .parse(&bytes)
        .unwrap_or_else(|| panic!("{} is not a message", path.display()));
    let addresses = |address: Option<&mail_parser::Address>| -> Vec<String> {
        address
            .map(|list| {
                list.iter()
                    .filter_map(|addr| addr.address().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let sender = message.from().and_then(|from| from.first());
    let envelope_to = message
        .header_values("X-Envelope-To")
        .filter_map(|value| value.as_text().map(|text| text.trim().to_string()))
        .collect();
    let html = message
        .html_bodies()
        .find(|part| part.is_text_html())
        .and_then(|part| part.text_contents().map(unix_lines));
    ReceivedMail {
        envelope_to,
        to: addresses(message.to()),
        from: sender
            .and_then(|addr| addr.address())
            .unwrap_or_default()
            .to_string(),
        from_name: sender.and_then(|addr| addr.name()).map(String::from),
        subject: message.subject().unwrap_or_default().to_string(),
        message_id: message.message_id().map(String::from),
        text: message.body_text(0).map(|text| unix_lines(&text)),
        html,
        raw: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn unix_lines(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// The Python with aiosmtpd, or `None` (the test skips) when there is
/// none — a failure instead under `CI=true`.
fn usable_python() -> Option<PathBuf> {
    let python = std::env::var_os("TESSERA_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(default_venv_python);
    let works = std::process::Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if works {
        return Some(python);
    }
    let why = format!(
        "no Python with aiosmtpd at {} (run scripts/test, which installs tests/smtp/requirements.txt \
         into a venv, or set TESSERA_TEST_PYTHON)",
        python.display()
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true: {why}");
    eprintln!("SMTP test skipped: {why}");
    None
}

/// `<target dir>/smtp-venv/bin/python`, where scripts/test installs it.
fn default_venv_python() -> PathBuf {
    let target_tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    target_tmp
        .parent()
        .unwrap_or(target_tmp)
        .join("smtp-venv/bin/python")
}

/// `tests/smtp/server.py` of the workspace.
fn server_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/smtp/server.py")
}
