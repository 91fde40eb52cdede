//! `/metrics` of the real binary: its own listener, `# HELP` for every
//! family, the documented counters present at 0 from the start.

use reqwest::StatusCode;

use crate::binary::{free_port, Served};

/// `metrics_listen`: a second address serving only `/metrics`, while the
/// public listener (no `metrics_token`) has none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_on_their_own_listener_only() {
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let server = Served::start(&[("TESSERA_METRICS_LISTEN", &address)]).await;
    let public = server.client.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    let scraped = server
        .client
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(scraped
        .text()
        .await
        .unwrap()
        .contains("tessera_http_requests_total"));
    let other = server
        .client
        .get(format!("http://{address}/api/v1/users/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND, "only /metrics there");
}

/// `/metrics` of a fresh process: every metric family has `# HELP`, and
/// the documented counters are there at 0 before anything happened (an
/// alert on `increase(…)` needs the series to exist).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_described_and_counters_start_at_zero() {
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let server = Served::start(&[("TESSERA_METRICS_LISTEN", &address)]).await;
    let text = server
        .client
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for family in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let name = family.split_whitespace().next().unwrap();
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has no # HELP:\n{text}"
        );
    }
    for series in [
        "tessera_password_hash_rejected_total 0",
        "tessera_refresh_token_reuse_total 0",
        "tessera_authorization_code_reuse_total 0",
        "tessera_password_hash_queue_depth 0",
        "tessera_logins_total{result=\"failed\"} 0",
        "tessera_tokens_issued_total{grant_type=\"client_credentials\",result=\"ok\"} 0",
        "tessera_client_auth_failures_total{reason=\"method_mismatch\"} 0",
    ] {
        assert!(text.lines().any(|l| l == series), "missing {series}:\n{text}");
    }
}
