//! Login: the token response, uniform failures (body and time), lockout
//! with growing lock periods, and admission control of password hashing.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_problem, header, user_id, TestApp};
use crate::{every_engine, every_engine_with};

const PASSWORD: &str = "plausible-Passphrase-93";

/// Status and raw body of a login attempt.
async fn attempt(app: &TestApp, identifier: &str, password: &str) -> (StatusCode, Vec<u8>) {
    let response = app.login_response(identifier, password).await;
    (response.status(), response.bytes().await.unwrap().to_vec())
}

/// The body every failed login must answer with: the unknown-user one.
async fn unknown_user_body(app: &TestApp) -> Vec<u8> {
    let (status, body) = attempt(app, "nobody-at-all@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    body
}

async fn fail_times(app: &TestApp, identifier: &str, times: usize) {
    for _ in 0..times {
        let (status, _) = attempt(app, identifier, "definitely-Wrong-000").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

every_engine! {
    async fn login_by_email_returns_a_bearer_token_pair(app) {
        let (_, email) = app.fresh_user(PASSWORD).await;
        let response = app.login_response(&email.to_uppercase(), PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        // RFC 6749 §5.1: token responses must not be cached.
        assert_eq!(header(&response, "cache-control"), "no-store");
        let body: serde_json::Value = response.json().await.unwrap();
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 5, "{body}");
        assert!(body["access_token"].as_str().is_some_and(|t| t.split('.').count() == 3), "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 900);
        assert!(body["refresh_token"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(uuid::Uuid::parse_str(body["session_id"].as_str().unwrap()).is_ok());
    }

    async fn login_by_username_works_too(app) {
        let body = json!({"email": "lin@example.com", "password": PASSWORD, "username": "Lin_Q"});
        assert_eq!(app.post_json("/api/v1/auth/register", body).await.status(), StatusCode::CREATED);
        let tokens = app.login("LIN_q", PASSWORD).await;
        assert_eq!(tokens.token_type, "Bearer");
        let me: serde_json::Value = app.me(&tokens.access_token).await.json().await.unwrap();
        assert_eq!(me["email"], "lin@example.com");
    }

    async fn every_failed_login_answers_the_same_401_body(app) {
        let expected = unknown_user_body(&app).await;
        let text = String::from_utf8_lossy(&expected).to_string();
        assert!(text.contains("\"code\":\"invalid_credentials\""), "{text}");
        assert_problem(app.login_response("nobody@example.com", PASSWORD).await, 401, "invalid_credentials").await;

        let (_, wrong) = app.fresh_user(PASSWORD).await;
        assert_eq!(attempt(&app, &wrong, "wrong-Password-123").await, (StatusCode::UNAUTHORIZED, expected.clone()));

        for status in ["suspended", "disabled"] {
            let (user, email) = app.fresh_user(PASSWORD).await;
            app.set_user_status(&user_id(&user), status).await;
            assert_eq!(
                attempt(&app, &email, PASSWORD).await,
                (StatusCode::UNAUTHORIZED, expected.clone()),
                "{status} account with the correct password"
            );
        }
    }
}

every_engine_with! {
    async fn unknown_user_login_costs_about_as_much_as_a_wrong_password(app) with |c| {
        c.password_hash.memory_kib = 19456;
        c.password_hash.iterations = 2;
        c.lockout.max_failures = 0;
    }; {
        let (_, email) = app.fresh_user(PASSWORD).await;
        let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
        // interleaved, so that load changes hit both series alike.
        for i in 0..5 {
            let started = Instant::now();
            let (status, _) = attempt(&app, &format!("ghost-{i}@example.com"), PASSWORD).await;
            unknown.push(started.elapsed());
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            let started = Instant::now();
            let (status, _) = attempt(&app, &email, "wrong-Password-123").await;
            wrong.push(started.elapsed());
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let (unknown, wrong) = (median(unknown), median(wrong));
        assert!(unknown.as_secs_f64() >= 0.5 * wrong.as_secs_f64(), "unknown {unknown:?} vs wrong {wrong:?}");
    }

    async fn five_failures_lock_the_account_until_the_period_ends(app) with |c| {
        c.lockout.base_lock_secs = 1;
    }; {
        let expected = unknown_user_body(&app).await;
        let (_, email) = app.fresh_user(PASSWORD).await;
        fail_times(&app, &email, 5).await;
        assert_eq!(attempt(&app, &email, PASSWORD).await, (StatusCode::UNAUTHORIZED, expected), "locked account");
        app.advance(1);
        app.login(&email, PASSWORD).await;
    }

    async fn successful_login_resets_the_failure_count(app) with |c| {
        c.lockout.base_lock_secs = 1;
    }; {
        let (_, email) = app.fresh_user(PASSWORD).await;
        fail_times(&app, &email, 4).await;
        app.login(&email, PASSWORD).await;
        fail_times(&app, &email, 4).await;
        app.login(&email, PASSWORD).await;
    }

    async fn a_failure_after_a_lock_locks_for_twice_as_long(app) with |c| {
        c.lockout.base_lock_secs = 1;
    }; {
        let (_, email) = app.fresh_user(PASSWORD).await;
        fail_times(&app, &email, 5).await;
        app.advance(1);
        fail_times(&app, &email, 1).await;
        app.advance(1);
        let (status, _) = attempt(&app, &email, PASSWORD).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "still locked 1 s into a 2 s lock");
        app.advance(1);
        app.login(&email, PASSWORD).await;
    }

    async fn a_full_hash_queue_answers_503_with_retry_after(app) with |c| {
        c.password_hash.memory_kib = 19456;
        c.password_hash.iterations = 2;
        c.password_hash.max_concurrent = 1;
        c.password_hash.max_queued = 1;
        c.lockout.max_failures = 0;
    }; {
        let (_, email) = app.fresh_user(PASSWORD).await;
        let attempts = (0..16).map(|i| {
            let password = if i % 2 == 0 { PASSWORD } else { "wrong-Password-123" };
            app.login_response(&email, password)
        });
        let responses = futures::future::join_all(attempts).await;
        let mut overloaded = 0;
        let mut served = 0;
        for response in responses {
            match response.status().as_u16() {
                200 | 401 => served += 1,
                503 => {
                    assert_eq!(header(&response, "retry-after"), "1");
                    assert_problem(response, 503, "overloaded").await;
                    overloaded += 1;
                }
                other => panic!("unexpected status {other}"),
            }
        }
        assert!(overloaded > 0, "no request was refused");
        assert!(served > 0, "no request was served");
    }
}
