//! Password recovery by mail: the forgot request reveals nothing, the
//! reset spends a link or a code once, applies the policy, ends every
//! session, lifts a lockout, mails a notice and issues no tokens.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::every_engine;
use crate::helpers::*;

const PASSWORD: &str = "correct-horse-battery";
const NEW_PASSWORD: &str = "staple-orbit-lantern-42";

async fn forgot(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_json("/api/v1/auth/password/forgot", json!({"email": email}))
        .await
}

async fn reset(app: &TestApp, body: Value) -> reqwest::Response {
    app.post_json("/api/v1/auth/password/reset", body).await
}

/// Registers `email` and waits for its verification mail (the first).
async fn account(app: &TestApp, email: &str) {
    app.register(email, PASSWORD).await;
    app.nth_mail_to(email, 1).await;
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

every_engine! {
    async fn a_mailed_link_resets_the_password_and_ends_every_session(app) {
        let email = unique_email("forgot");
        account(&app, &email).await;
        let tokens = app.login(&email, PASSWORD).await;
        assert_eq!(forgot(&app, &email).await.status(), StatusCode::ACCEPTED);
        let mail = app.nth_mail_to(&email, 2).await;
        let token = link_token(&mail, "reset-password");
        assert!(link(&mail, "reset-password").starts_with(&app.url));

        let response = reset(&app, json!({"token": token, "new_password": NEW_PASSWORD})).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(response.text().await.unwrap().is_empty(), "a reset issues no tokens");
        assert_eq!(app.me(&tokens.access_token).await.status(), 401, "the old session ended");
        assert_problem(app.refresh_response(&tokens.refresh_token).await, 401, "invalid_grant").await;
        assert_problem(app.login_response(&email, PASSWORD).await, 401, "invalid_credentials").await;
        app.login(&email, NEW_PASSWORD).await;

        let notice = app.nth_mail_to(&email, 3).await;
        assert!(!notice.text.contains("token="), "the notice carries no link token: {}", notice.text);
        let again = reset(&app, json!({"token": token, "new_password": "another-fine-phrase-7"})).await;
        assert_problem(again, 400, "link_invalid").await;
    }

    async fn the_code_resets_with_the_address_and_wrong_codes_are_counted(app) {
        let email = unique_email("code");
        account(&app, &email).await;
        forgot(&app, &email).await;
        let code = mailed_code(&app.nth_mail_to(&email, 2).await);
        let wrong = if code == "999999" { "888888" } else { "999999" };
        for _ in 0..4 {
            let body = json!({"email": email, "code": wrong, "new_password": NEW_PASSWORD});
            assert_problem(reset(&app, body).await, 400, "code_invalid").await;
        }
        let body = json!({"email": email, "code": code, "new_password": NEW_PASSWORD});
        assert_eq!(reset(&app, body).await.status(), StatusCode::NO_CONTENT, "the fifth try is still allowed");
        app.login(&email, NEW_PASSWORD).await;
    }

    async fn a_refused_password_keeps_the_link_usable(app) {
        let email = unique_email("policy");
        account(&app, &email).await;
        forgot(&app, &email).await;
        let token = link_token(&app.nth_mail_to(&email, 2).await, "reset-password");
        let weak = reset(&app, json!({"token": token, "new_password": "password"})).await;
        let problem = assert_problem(weak, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "new_password", "{problem}");
        let strong = reset(&app, json!({"token": token, "new_password": NEW_PASSWORD})).await;
        assert_eq!(strong.status(), StatusCode::NO_CONTENT);
    }

    async fn a_reset_lifts_a_lockout(app) {
        let email = unique_email("locked");
        account(&app, &email).await;
        for _ in 0..5 {
            app.login_response(&email, "wrong-password-123").await;
        }
        assert_problem(app.login_response(&email, PASSWORD).await, 401, "invalid_credentials").await;
        forgot(&app, &email).await;
        let token = link_token(&app.nth_mail_to(&email, 2).await, "reset-password");
        let response = reset(&app, json!({"token": token, "new_password": NEW_PASSWORD})).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        app.login(&email, NEW_PASSWORD).await;
    }

    async fn a_reset_link_expires_after_thirty_minutes(app) {
        let email = unique_email("late");
        account(&app, &email).await;
        forgot(&app, &email).await;
        let token = link_token(&app.nth_mail_to(&email, 2).await, "reset-password");
        app.advance(30 * 60 + 1);
        let late = reset(&app, json!({"token": token, "new_password": NEW_PASSWORD})).await;
        let problem = assert_problem(late, 400, "link_invalid").await;
        assert!(problem["detail"].as_str().unwrap().contains("expired"), "{problem}");
    }

    async fn forgot_answers_alike_for_unknown_and_suspended_addresses(app) {
        let email = unique_email("known");
        account(&app, &email).await;
        let unknown = unique_email("unknown");
        // Warm up both paths, then alternate so that drift hits both alike.
        forgot(&app, &email).await;
        forgot(&app, &unknown).await;
        let (mut known_times, mut unknown_times) = (Vec::new(), Vec::new());
        let mut answers = Vec::new();
        for _ in 0..15 {
            for (address, times) in [(&email, &mut known_times), (&unknown, &mut unknown_times)] {
                let started = Instant::now();
                let response = forgot(&app, address).await;
                times.push(started.elapsed());
                answers.push((response.status(), response.text().await.unwrap()));
            }
        }
        assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
        assert_eq!(answers[0].0, StatusCode::ACCEPTED);
        let (known, unknown) = (median(known_times), median(unknown_times));
        let gap = known.abs_diff(unknown);
        assert!(
            gap <= known.max(unknown) / 10 || gap <= Duration::from_millis(2),
            "median answer times differ: known {known:?}, unknown {unknown:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(app.mail_count(&email), 2, "one reset mail: the others fell in the cooldown");
    }
}
