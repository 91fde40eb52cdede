//! Changing one's address: the new one is proven before it counts, the old
//! one is told, and the change needs a recent sign-in or the password.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::every_engine;
use crate::helpers::*;

const PASSWORD: &str = "correct-horse-battery";

async fn patch_me(app: &TestApp, token: &str, body: serde_json::Value) -> reqwest::Response {
    app.call(Method::PATCH, "/api/v1/users/me", Some(token), Some(body))
        .await
}

every_engine! {
    async fn a_new_address_counts_only_once_verified_and_the_old_one_is_told(app) {
        let old = unique_email("old");
        let new = unique_email("new");
        app.register(&old, PASSWORD).await;
        app.nth_mail_to(&old, 1).await;
        let tokens = app.login(&old, PASSWORD).await;

        let response = patch_me(&app, &tokens.access_token, json!({"email": new.to_uppercase(), "display_name": "Ada"})).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], "verification_sent");
        assert_eq!(body["pending_email"], new.as_str());
        assert_eq!(body["user"]["email"], old.as_str(), "unchanged until verified");
        assert_eq!(body["user"]["display_name"], "Ada", "the other changes are applied");

        let verify = app.nth_mail_to(&new, 1).await;
        let notice = app.nth_mail_to(&old, 2).await;
        assert!(notice.text.contains(&new), "the old address is told the new one: {}", notice.text);
        assert!(!notice.text.contains("token="), "but gets no link: {}", notice.text);
        let me: serde_json::Value = app.me(&tokens.access_token).await.json().await.unwrap();
        assert_eq!(me["email"], old.as_str());

        let code = json!({"email": new, "code": mailed_code(&verify)});
        let verified = app.post_json("/api/v1/auth/verify-email", code).await;
        assert_eq!(verified.status(), StatusCode::NO_CONTENT, "the code works with the new address");
        let tokens = app.login(&new, PASSWORD).await;
        let me: serde_json::Value = app.me(&tokens.access_token).await.json().await.unwrap();
        assert_eq!(me["email"], new.as_str());
        assert_eq!(me["email_verified"], true);
        assert_problem(app.login_response(&old, PASSWORD).await, 401, "invalid_credentials").await;
    }

    async fn an_email_change_needs_a_recent_sign_in_or_the_password(app) {
        let email = unique_email("reauth");
        app.register(&email, PASSWORD).await;
        let tokens = app.login(&email, PASSWORD).await;
        app.advance(301);
        let new = unique_email("elsewhere");
        let stale = patch_me(&app, &tokens.access_token, json!({"email": new, "display_name": "X"})).await;
        let problem = assert_problem(stale, 403, "reauthentication_required").await;
        assert!(problem["detail"].as_str().unwrap().contains("current_password"), "{problem}");
        let me: serde_json::Value = app.me(&tokens.access_token).await.json().await.unwrap();
        assert!(me["display_name"].is_null(), "a refused request changes nothing");

        let wrong = json!({"email": new, "current_password": "not-the-password-1"});
        assert_problem(patch_me(&app, &tokens.access_token, wrong).await, 400, "wrong_password").await;
        let right = json!({"email": new, "current_password": PASSWORD});
        assert_eq!(patch_me(&app, &tokens.access_token, right).await.status(), StatusCode::ACCEPTED);
        app.nth_mail_to(&new, 1).await;
    }

    async fn a_taken_or_unchanged_address_is_refused(app) {
        let email = unique_email("mine");
        let other = unique_email("theirs");
        app.register(&email, PASSWORD).await;
        app.register(&other, PASSWORD).await;
        let tokens = app.login(&email, PASSWORD).await;
        assert_problem(patch_me(&app, &tokens.access_token, json!({"email": other})).await, 409, "email_taken").await;
        let same = assert_problem(patch_me(&app, &tokens.access_token, json!({"email": email})).await, 422, "validation_failed").await;
        assert_eq!(same["errors"][0]["rule"], "unchanged");
        assert_problem(patch_me(&app, &tokens.access_token, json!({"email": "nope"})).await, 422, "validation_failed").await;
    }
}

every_engine! {
    async fn a_password_reset_ends_a_pending_email_change(app) {
        let email = unique_email("victim");
        app.register(&email, PASSWORD).await;
        app.nth_mail_to(&email, 1).await;
        let tokens = app.login(&email, PASSWORD).await;
        let attacker = unique_email("attacker");
        let response = patch_me(&app, &tokens.access_token, json!({"email": attacker})).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let change = link_token(&app.nth_mail_to(&attacker, 1).await, "verify-email");
        app.nth_mail_to(&email, 2).await;

        // The owner reads the notice and resets the password.
        app.post_json("/api/v1/auth/password/forgot", json!({"email": email})).await;
        let reset = link_token(&app.nth_mail_to(&email, 3).await, "reset-password");
        let body = json!({"token": reset, "new_password": "staple-orbit-lantern-42"});
        assert_eq!(app.post_json("/api/v1/auth/password/reset", body).await.status(), StatusCode::NO_CONTENT);

        let hijack = app.post_json("/api/v1/auth/verify-email", json!({"token": change})).await;
        assert_problem(hijack, 400, "link_invalid").await;
        app.login(&email, "staple-orbit-lantern-42").await;
    }
}
