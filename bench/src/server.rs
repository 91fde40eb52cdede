//! Starting, watching and stopping the server under test, and reading its
//! (and the machine's) CPU and memory from /proc.

use std::fs::{self, File};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::http;

/// How often readiness is polled.
const READY_POLL: Duration = Duration::from_millis(5);
/// Give up waiting for readiness after this long.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A name unique enough for temp dirs and databases.
pub fn unique_suffix() -> String {
    // The bench is a measuring instrument of its own, outside the service
    // and its Clock port: it names things by the wall clock.
    #[allow(clippy::disallowed_methods)]
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}_{:x}", std::process::id(), nanos & 0xffff_ffff_ffff)
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
pub fn free_addr() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// `bin` with the bench's server environment: only our `TESSERA_*`
/// variables (data dir, database, `--server-env`), none from the caller's
/// shell. Used for `serve` and for the CLI against the same database.
fn server_command(
    bin: &Path,
    data_dir: &Path,
    database_url: Option<&str>,
    extra_env: &[(String, String)],
) -> Command {
    let mut command = Command::new(bin);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("TESSERA_") {
            command.env_remove(key);
        }
    }
    command.env("TESSERA_DATA_DIR", data_dir);
    if let Some(url) = database_url {
        command.env("TESSERA_DATABASE_URL", url);
    }
    for (key, value) in extra_env {
        command.env(key, value);
    }
    command
}

/// An OAuth client registered for the bench.
#[derive(Deserialize)]
pub struct OAuthClient {
    /// Its id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
}

/// Where the `authorization-code` scenario's browser is sent back. Port 9
/// (discard) on loopback: the bench never follows the redirect, it only
/// reads the code from `Location`.
pub const WEB_REDIRECT_URI: &str = "http://127.0.0.1:9/cb";

/// `clients create` arguments of the service client (`client-credentials`,
/// `introspect`): confidential, `client_credentials` only, scope `api`.
pub const SERVICE_CLIENT_ARGS: &[&str] = &[
    "--name",
    "bench",
    "--type",
    "confidential",
    "--grant-types",
    "client_credentials",
    "--scopes",
    "api",
];

/// `clients create` arguments of the first-party web client
/// (`authorization-code`): no consent screen, code + refresh grants.
pub const WEB_CLIENT_ARGS: &[&str] = &[
    "--name",
    "bench-web",
    "--type",
    "confidential",
    "--first-party",
    "--grant-types",
    "authorization_code,refresh_token",
    "--redirect-uri",
    WEB_REDIRECT_URI,
    "--scopes",
    "openid,profile,email",
];

/// Registers one confidential client by running `bin clients create
/// <client_args> --json` against the server's database (same environment
/// as the server).
pub fn create_client(
    bin: &Path,
    data_dir: &Path,
    database_url: Option<&str>,
    extra_env: &[(String, String)],
    client_args: &[&str],
) -> Result<OAuthClient> {
    let output = server_command(bin, data_dir, database_url, extra_env)
        .args(["clients", "create"])
        .args(client_args)
        .arg("--json")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} clients create", bin.display()))?;
    if !output.status.success() {
        bail!(
            "{} clients create {} failed ({}): {}",
            bin.display(),
            client_args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "clients create printed no client_id/client_secret JSON: {}",
            String::from_utf8_lossy(&output.stdout).trim()
        )
    })
}

/// The running server; killed (SIGKILL) on drop if not stopped properly.
pub struct Server {
    child: Option<Child>,
    /// Its process id.
    pub pid: u32,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its stdout+stderr.
    pub log_path: PathBuf,
}

/// What the server did at start.
pub struct Started {
    /// The server.
    pub server: Server,
    /// From spawn to the first 200 on `/health/ready`.
    pub ready: Duration,
}

/// How the server stopped.
pub struct Stopped {
    /// Exit status as text.
    pub exit_status: String,
    /// From SIGTERM to exit.
    pub shutdown: Duration,
}

impl Server {
    /// Spawns `bin serve` with a fresh data dir and waits until ready.
    pub async fn start(
        bin: &Path,
        data_dir: &Path,
        database_url: Option<&str>,
        extra_env: &[(String, String)],
    ) -> Result<Started> {
        let addr = free_addr()?;
        let mut command = server_command(bin, data_dir, database_url, extra_env);
        command.arg("serve").env("TESSERA_LISTEN", addr.to_string());
        Server::spawn(command, addr, data_dir.join("server.log"), "/health/ready")
            .await
            .with_context(|| format!("starting {}", bin.display()))
    }

    /// Spawns `command` (which must listen on `addr`), its stdout and
    /// stderr to `log_path`, and waits for the first 200 on `ready_path`.
    /// Used for Tessera and for the reference server alike.
    pub async fn spawn(
        mut command: Command,
        addr: SocketAddr,
        log_path: PathBuf,
        ready_path: &'static str,
    ) -> Result<Started> {
        let log = File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
        command.stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log);
        let spawned_at = Instant::now();
        let child = command.spawn()?;
        let mut server = Server {
            pid: child.id(),
            child: Some(child),
            addr,
            log_path,
        };
        loop {
            if let Ok(200) = http::probe(addr, ready_path, Duration::from_secs(2)).await {
                break;
            }
            if let Some(child) = server.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    server.child = None;
                    bail!(
                        "the server exited before it was ready ({status}); log:\n{}",
                        server.log_tail(40)
                    );
                }
            }
            if spawned_at.elapsed() > READY_TIMEOUT {
                bail!(
                    "the server was not ready after {READY_TIMEOUT:?}; log:\n{}",
                    server.log_tail(40)
                );
            }
            tokio::time::sleep(READY_POLL).await;
        }
        let ready = spawned_at.elapsed();
        Ok(Started { server, ready })
    }

    /// The last `lines` lines of the server's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(&self.log_path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Reads a numeric `field` of /proc/<pid>/status (`VmRSS`, `VmHWM` in KiB; `Threads`).
    pub fn status_kib(&self, field: &str) -> Result<u64> {
        proc_status_kib(self.pid, field)
    }

    /// Sends SIGTERM and waits for the exit (SIGKILL after 15 s).
    pub fn stop(mut self) -> Result<Stopped> {
        let Some(mut child) = self.child.take() else {
            bail!("the server is not running");
        };
        let sent_at = Instant::now();
        let term = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        if !term.map(|s| s.success()).unwrap_or(false) {
            let _ = child.kill();
        }
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(Stopped {
                    exit_status: status.to_string(),
                    shutdown: sent_at.elapsed(),
                });
            }
            if sent_at.elapsed() > Duration::from_secs(15) {
                let _ = child.kill();
                let status = child.wait()?;
                return Ok(Stopped {
                    exit_status: format!("killed after 15 s without exiting on SIGTERM ({status})"),
                    shutdown: sent_at.elapsed(),
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A `VmXxx:` field of /proc/<pid>/status, in KiB.
pub fn proc_status_kib(pid: u32, field: &str) -> Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let prefix = format!("{field}:");
    let line = status
        .lines()
        .find(|line| line.starts_with(&prefix))
        .with_context(|| format!("no {field} in /proc/{pid}/status"))?;
    let value = line[prefix.len()..].trim().trim_end_matches("kB").trim();
    Ok(value.parse()?)
}

/// CPU time of a process, seconds.
#[derive(Clone, Copy, Default)]
pub struct CpuTime {
    /// User mode.
    pub user: f64,
    /// Kernel mode.
    pub system: f64,
}

/// utime and stime of /proc/<pid>/stat (`self` for this process), seconds.
pub fn proc_cpu_seconds(pid: &str) -> Result<CpuTime> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may contain spaces; fields are counted after its ')'.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("malformed stat")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // fields[0] is field 3 (state); utime is field 14, stime 15.
    let utime: u64 = fields.get(11).context("no utime")?.parse()?;
    let stime: u64 = fields.get(12).context("no stime")?.parse()?;
    let ticks = clock_ticks() as f64;
    Ok(CpuTime {
        user: utime as f64 / ticks,
        system: stime as f64 / ticks,
    })
}

/// Machine-wide CPU counters from the first line of /proc/stat, seconds.
#[derive(Clone, Copy, Default)]
pub struct MachineCpu {
    /// Busy (user, nice, system, irq, softirq), summed over cores.
    pub busy: f64,
    /// Taken by the hypervisor for other guests.
    pub steal: f64,
    /// Everything, including idle and iowait.
    pub total: f64,
}

/// Reads /proc/stat.
pub fn machine_cpu() -> Result<MachineCpu> {
    let stat = fs::read_to_string("/proc/stat")?;
    let line = stat.lines().next().context("empty /proc/stat")?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    let at = |i: usize| values.get(i).copied().unwrap_or(0) as f64;
    let ticks = clock_ticks() as f64;
    // user nice system idle iowait irq softirq steal (guest is inside user).
    let busy = at(0) + at(1) + at(2) + at(5) + at(6);
    let steal = at(7);
    let total = busy + at(3) + at(4) + steal;
    Ok(MachineCpu {
        busy: busy / ticks,
        steal: steal / ticks,
        total: total / ticks,
    })
}

fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(100)
    })
}
