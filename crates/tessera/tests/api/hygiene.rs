//! Request hygiene and the operational surface: body errors, unknown routes
//! and methods, request ids, health, metrics, the OpenAPI document and its
//! UI, and CORS. (The body fuzzing lives in `fuzz.rs`.)

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, header, TestApp};
use crate::{every_engine, every_engine_with};

const LOGIN: &str = "/api/v1/auth/login";

async fn raw_post(app: &TestApp, path: &str, content_type: Option<&str>, body: Vec<u8>) -> reqwest::Response {
    let mut request = app.request(Method::POST, path).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.send().await.unwrap()
}

fn big_login_body(bytes: usize) -> Vec<u8> {
    json!({"identifier": "x".repeat(bytes), "password": "p"})
        .to_string()
        .into_bytes()
}

every_engine! {
    async fn malformed_json_is_400(app) {
        for body in ["{", "{\"identifier\": }", "not json", "{\"identifier\":\"a\",}"] {
            let response = raw_post(&app, LOGIN, Some("application/json"), body.into()).await;
            assert_problem(response, 400, "malformed_json").await;
        }
    }

    async fn wrong_shapes_are_422_invalid_body(app) {
        let cases = [
            json!({"identifier": 1, "password": "x"}),
            json!({"identifier": "a@example.com"}),
            json!({"identifier": "a@example.com", "password": "x", "extra": true}),
            json!({"identifier": ["a@example.com"], "password": "x"}),
            json!("a@example.com"),
        ];
        for body in cases {
            assert_problem(app.post_json(LOGIN, body).await, 422, "invalid_body").await;
        }
    }

    async fn json_array_instead_of_an_object_is_invalid_body(app) {
        // serde's derive also accepts a struct as a positional array; the
        // API documents objects only, so an array is JSON of the wrong shape.
        let (_, email) = app.fresh_user("plausible-Passphrase-93").await;
        let positional = json!([email, "plausible-Passphrase-93"]);
        assert_problem(app.post_json(LOGIN, positional).await, 422, "invalid_body").await;
        let register = json!(["array@example.com", "plausible-Passphrase-93", null]);
        assert_problem(app.post_json("/api/v1/auth/register", register).await, 422, "invalid_body").await;
    }

    async fn missing_or_wrong_content_type_is_415(app) {
        let body = json!({"identifier": "a@example.com", "password": "x"}).to_string().into_bytes();
        assert_problem(raw_post(&app, LOGIN, None, body.clone()).await, 415, "unsupported_media_type").await;
        assert_problem(raw_post(&app, LOGIN, Some("text/plain"), body.clone()).await, 415, "unsupported_media_type").await;
        assert_problem(raw_post(&app, "/api/v1/auth/refresh", Some("text/plain"), b"{\"refresh_token\":\"x\"}".to_vec()).await, 415, "unsupported_media_type").await;
    }

    async fn bodies_over_the_default_limit_are_413(app) {
        let body = big_login_body(70 * 1024);
        assert_problem(raw_post(&app, LOGIN, Some("application/json"), body.clone()).await, 413, "payload_too_large").await;
        let refresh = json!({"refresh_token": "x".repeat(70 * 1024)}).to_string().into_bytes();
        assert_problem(raw_post(&app, "/api/v1/auth/refresh", Some("application/json"), refresh).await, 413, "payload_too_large").await;
        let under = raw_post(&app, LOGIN, Some("application/json"), big_login_body(60 * 1024)).await;
        assert_problem(under, 401, "invalid_credentials").await;
    }

    async fn unknown_route_is_a_404_problem(app) {
        for path in ["/nope", "/api/v1/nope", "/api/v2/auth/login"] {
            assert_problem(app.request(Method::GET, path).send().await.unwrap(), 404, "not_found").await;
        }
    }

    async fn wrong_method_is_a_405_problem(app) {
        let response = app.request(Method::GET, LOGIN).send().await.unwrap();
        // RFC 9110 §15.5.6: a 405 must list the allowed methods.
        assert!(header(&response, "allow").contains("POST"), "Allow: {:?}", header(&response, "allow"));
        assert_problem(response, 405, "method_not_allowed").await;
        assert_problem(app.request(Method::DELETE, "/api/v1/users/me").send().await.unwrap(), 405, "method_not_allowed").await;
    }

    async fn request_ids_are_echoed_generated_or_replaced(app) {
        let given = app.request(Method::GET, "/health/live").header("x-request-id", "abc-123").send().await.unwrap();
        assert_eq!(header(&given, "x-request-id"), "abc-123");
        let generated = app.request(Method::GET, "/health/live").send().await.unwrap();
        assert!(uuid::Uuid::parse_str(&header(&generated, "x-request-id")).is_ok(), "{}", header(&generated, "x-request-id"));
        let malformed = app.request(Method::GET, "/health/live").header("x-request-id", "bad id with spaces").send().await.unwrap();
        let replaced = header(&malformed, "x-request-id");
        assert!(uuid::Uuid::parse_str(&replaced).is_ok(), "{replaced}");
        let on_error = app.request(Method::GET, "/nope").header("x-request-id", "err-1").send().await.unwrap();
        assert_eq!(header(&on_error, "x-request-id"), "err-1");
    }

    async fn health_endpoints_answer_ok(app) {
        for path in ["/health/live", "/health/ready"] {
            let response = app.request(Method::GET, path).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(header(&response, "x-content-type-options"), "nosniff");
            assert_eq!(response.json::<Value>().await.unwrap(), json!({"status": "ok"}), "{path}");
        }
    }

    async fn metrics_count_requests_logins_and_hash_queue(app) {
        let (_, email) = app.fresh_user("plausible-Passphrase-93").await;
        app.login(&email, "plausible-Passphrase-93").await;
        assert_eq!(app.login_response(&email, "wrong-Password-1").await.status(), StatusCode::UNAUTHORIZED);
        let response = app.request(Method::GET, "/metrics").bearer_auth(crate::helpers::METRICS_TOKEN).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(header(&response, "content-type").starts_with("text/plain"), "{}", header(&response, "content-type"));
        let text = response.text().await.unwrap();
        let has_line = |prefix: &str, parts: &[&str]| text.lines().any(|l| l.starts_with(prefix) && parts.iter().all(|p| l.contains(p)));
        assert!(has_line("tessera_http_requests_total{", &[r#"route="/api/v1/auth/login""#, r#"status="200""#]), "{text}");
        assert!(has_line("tessera_http_requests_total{", &[r#"route="/api/v1/auth/login""#, r#"status="401""#]), "{text}");
        assert!(has_line("tessera_logins_total{", &[r#"result="ok""#]), "{text}");
        assert!(has_line("tessera_logins_total{", &[r#"result="failed""#]), "{text}");
        assert!(has_line("tessera_password_hash_queue_depth", &[]), "{text}");
        assert!(has_line("tessera_http_request_duration_seconds_bucket{", &["le="]), "{text}");
    }

    async fn openapi_document_lists_every_route_with_problem_responses(app) {
        let response = app.request(Method::GET, "/openapi.json").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let doc: Value = response.json().await.unwrap();
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", doc["openapi"]);
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout",
            "/api/v1/auth/logout-all", "/api/v1/users/me", "/api/v1/users/me/password", "/api/v1/sessions",
            "/api/v1/sessions/{id}", "/.well-known/jwks.json", "/health/live", "/health/ready", "/metrics",
            "/oauth2/token", "/oauth2/introspect", "/oauth2/revoke", "/oauth2/userinfo",
            "/.well-known/openid-configuration", "/.well-known/oauth-authorization-server",
            "/api/v1/users/me/consents", "/api/v1/users/me/consents/{client_id}",
        ] {
            assert!(paths.contains_key(path), "{path} missing from {:?}", paths.keys().collect::<Vec<_>>());
        }
        assert!(doc["components"]["schemas"]["Problem"].is_object());
        let mut problem_responses = 0;
        for (path, operations) in paths {
            for (method, operation) in operations.as_object().unwrap() {
                for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                    if status.as_str() < "400" {
                        continue;
                    }
                    // The OAuth endpoints answer RFC 6749 §5.2 JSON, not
                    // problem+json; UserInfo is a protected resource (RFC 6750).
                    let (content_type, body) = if path.starts_with("/oauth2/") && path != "/oauth2/userinfo" {
                        ("application/json", "#/components/schemas/OAuthErrorBody")
                    } else {
                        ("application/problem+json", "#/components/schemas/Problem")
                    };
                    let schema = &response["content"][content_type]["schema"]["$ref"];
                    assert_eq!(schema, body, "{method} {path} {status}: {response}");
                    problem_responses += 1;
                }
            }
        }
        assert!(problem_responses >= 20, "{problem_responses}");
    }

    async fn docs_ui_is_served_without_a_cdn(app) {
        let mut path = "/docs".to_string();
        let mut response = app.request(Method::GET, &path).send().await.unwrap();
        for _ in 0..3 {
            if !response.status().is_redirection() {
                break;
            }
            let location = header(&response, "location");
            path = if location.starts_with('/') { location } else { format!("/docs/{}", location.trim_start_matches("./")) };
            response = app.request(Method::GET, &path).send().await.unwrap();
        }
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(header(&response, "content-type").starts_with("text/html"), "{}", header(&response, "content-type"));
        let html = response.text().await.unwrap();
        let references = html_references(&html);
        assert!(references.iter().any(|r| r.ends_with(".js")), "{references:?}");
        assert!(references.iter().any(|r| r.ends_with(".css")), "{references:?}");
        for reference in &references {
            let lower = reference.to_ascii_lowercase();
            assert!(!lower.starts_with("http:") && !lower.starts_with("https:") && !lower.starts_with("//"), "external asset {reference}");
            let absolute = if reference.starts_with('/') { reference.clone() } else { format!("/docs/{}", reference.trim_start_matches("./")) };
            let asset = app.request(Method::GET, &absolute).send().await.unwrap();
            assert_eq!(asset.status(), StatusCode::OK, "{absolute}");
        }
        // Frame protection on Swagger UI too, as on every response.
        assert_eq!(header(&response_headers(&app, &path).await, "x-frame-options"), "DENY");
    }

    async fn metrics_need_the_token_on_the_public_listener(app) {
        let wrong = app.request(Method::GET, "/metrics").bearer_auth("not-the-metrics-token").send().await.unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        let none = app.request(Method::GET, "/metrics").send().await.unwrap();
        assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
        let right = app.request(Method::GET, "/metrics").bearer_auth(crate::helpers::METRICS_TOKEN).send().await.unwrap();
        assert_eq!(right.status(), StatusCode::OK);
    }
}

/// The response to `GET path` (for its headers).
async fn response_headers(app: &TestApp, path: &str) -> reqwest::Response {
    app.request(Method::GET, path).send().await.unwrap()
}

/// The `src` and `href` values of an HTML page.
fn html_references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\"", "src='", "href='"] {
        let quote = attribute.chars().last().unwrap();
        let mut rest = html;
        while let Some(start) = rest.find(attribute) {
            rest = &rest[start + attribute.len()..];
            if let Some(end) = rest.find(quote) {
                found.push(rest[..end].to_string());
                rest = &rest[end..];
            }
        }
    }
    found
}

every_engine_with! {
    async fn by_default_no_metrics_on_the_public_listener_and_docs_switch_off(app) with |c| {
        c.metrics_token = None;
        c.docs = false;
    }; {
        let response = app.request(Method::GET, "/metrics").bearer_auth(crate::helpers::METRICS_TOKEN).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        for path in ["/docs", "/docs/", "/openapi.json"] {
            let response = app.request(Method::GET, path).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }

    async fn an_https_issuer_gets_hsts(app) with |c| {
        c.issuer = "https://id.example.com".into();
    }; {
        let response = app.request(Method::GET, "/health/live").send().await.unwrap();
        assert_eq!(header(&response, "strict-transport-security"), "max-age=31536000; includeSubDomains");
    }

    async fn small_body_limit_is_configurable(app) with |c| {
        c.max_body_bytes = 2048;
    }; {
        let over = raw_post(&app, LOGIN, Some("application/json"), big_login_body(3000)).await;
        assert_problem(over, 413, "payload_too_large").await;
        let under = raw_post(&app, LOGIN, Some("application/json"), big_login_body(1500)).await;
        assert_problem(under, 401, "invalid_credentials").await;
    }

    async fn cors_allows_only_configured_origins(app) with |c| {
        c.cors_origins = vec!["https://app.example.com".into()];
    }; {
        let preflight = |origin: &'static str| {
            app.request(Method::OPTIONS, LOGIN)
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type")
                .send()
        };
        let allowed = preflight("https://app.example.com").await.unwrap();
        assert!(allowed.status().is_success(), "{}", allowed.status());
        assert_eq!(header(&allowed, "access-control-allow-origin"), "https://app.example.com");
        assert_eq!(header(&allowed, "access-control-allow-credentials"), "true");
        let evil = preflight("https://evil.example").await.unwrap();
        assert!(evil.headers().get("access-control-allow-origin").is_none(), "{:?}", evil.headers());
        let simple = app.request(Method::GET, "/health/live").header("origin", "https://app.example.com").send().await.unwrap();
        assert_eq!(header(&simple, "access-control-allow-origin"), "https://app.example.com");
    }
}

every_engine_with! {
    async fn a_client_that_stalls_mid_request_is_disconnected(app) with |c| {
        c.header_read_timeout_secs = 1;
    }; {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // Half a request, then nothing: closed within the timeout (it used
        // to stay open for minutes).
        let mut stalled = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        stalled.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        let mut buffer = Vec::new();
        let closed = tokio::time::timeout(std::time::Duration::from_secs(5), stalled.read_to_end(&mut buffer)).await;
        assert!(closed.is_ok(), "a stalled connection was still open after 5 s");

        // An idle kept-alive connection is closed too; a prompt one is served.
        let mut idle = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        idle.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut answer = Vec::new();
        let closed = tokio::time::timeout(std::time::Duration::from_secs(5), idle.read_to_end(&mut answer)).await;
        assert!(closed.is_ok(), "an idle connection was still open after 5 s");
        assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
    }

    async fn connections_beyond_the_limit_wait_their_turn(app) with |c| {
        c.max_connections = 1;
        c.header_read_timeout_secs = 2;
    }; {
        use tokio::io::AsyncWriteExt;
        // One connection holds the only slot (until its header timeout);
        // a second is served only after it is gone.
        let mut holder = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        holder.write_all(b"GET /health/live HTTP/1.1\r\n").await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let started = std::time::Instant::now();
        let response = app.request(Method::GET, "/health/live").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(started.elapsed() >= std::time::Duration::from_millis(1000), "served at once: {:?}", started.elapsed());
        drop(holder);
    }
}
