//! A PostgreSQL outage: the server answers 503 quickly while the database
//! is unreachable and recovers by itself when it is back. (PostgreSQL only:
//! an embedded SQLite file has no network to lose.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::{assert_problem, header, Engine, TestApp};

/// A TCP proxy to PostgreSQL that can be switched off: then it drops every
/// live connection and closes new ones at once.
struct SwitchableProxy {
    addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl SwitchableProxy {
    async fn start(target: String) -> SwitchableProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let task = tokio::spawn({
            let up = up.clone();
            let generation = generation.clone();
            async move {
                loop {
                    let Ok((mut client, _)) = listener.accept().await else {
                        continue;
                    };
                    if !up.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    let mut cut = generation.subscribe();
                    let target = target.clone();
                    tokio::spawn(async move {
                        let Ok(mut server) = TcpStream::connect(&target).await else {
                            return;
                        };
                        tokio::select! {
                            _ = copy_bidirectional(&mut client, &mut server) => {}
                            _ = cut.changed() => {}
                        }
                    });
                }
            }
        });
        SwitchableProxy {
            addr,
            up,
            generation,
            task,
        }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for SwitchableProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A PostgreSQL test server, and a second server on the same database that
/// reaches it only through a proxy; `None` when PostgreSQL is not configured.
async fn behind_proxy() -> Option<(TestApp, TestApp, SwitchableProxy)> {
    let direct = TestApp::try_spawn(Engine::Postgres, |_| {}).await?;
    let mut url = url::Url::parse(&direct.config.database_url).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let proxy = SwitchableProxy::start(target).await;
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(proxy.addr.port())).unwrap();
    let proxied_url = url.to_string();
    let proxied = direct.sibling(|c| c.database_url = proxied_url).await;
    Some((direct, proxied, proxy))
}

async fn ready(app: &TestApp) -> reqwest::Response {
    app.request(Method::GET, "/health/ready")
        .timeout(Duration::from_secs(15))
        .send()
        .await
        .expect("ready answered")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_is_a_quick_503_and_the_server_recovers() {
    let Some((_direct, app, proxy)) = behind_proxy().await else {
        return;
    };
    let (_, email) = app.fresh_user("plausible-Passphrase-93").await;
    assert_eq!(ready(&app).await.status(), StatusCode::OK);

    proxy.down();
    let started = Instant::now();
    let response = ready(&app).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "readiness took {:?}",
        started.elapsed()
    );
    assert_eq!(header(&response, "retry-after"), "5");
    assert_problem(response, 503, "service_unavailable").await;

    let started = Instant::now();
    let login = app
        .request(Method::POST, "/api/v1/auth/login")
        .timeout(Duration::from_secs(15))
        .json(&serde_json::json!({"identifier": email, "password": "plausible-Passphrase-93"}))
        .send()
        .await
        .expect("login answered");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "login took {:?}",
        started.elapsed()
    );
    assert_eq!(header(&login, "retry-after"), "5");
    assert_problem(login, 503, "service_unavailable").await;

    proxy.up();
    let recovered_by = Instant::now() + Duration::from_secs(10);
    loop {
        if ready(&app).await.status() == StatusCode::OK {
            break;
        }
        assert!(
            Instant::now() < recovered_by,
            "not ready again 10 s after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.login(&email, "plausible-Passphrase-93").await;
}
