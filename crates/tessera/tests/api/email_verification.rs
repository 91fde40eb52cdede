//! Email verification: the registration's mail, the link and the code,
//! their limits, resending, and the tenant that requires a verified
//! address to sign in.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::{every_engine, every_engine_with};

const PASSWORD: &str = "correct-horse-battery";

async fn me(app: &TestApp, email: &str) -> Value {
    let tokens = app.login(email, PASSWORD).await;
    app.me(&tokens.access_token).await.json().await.unwrap()
}

async fn verify(app: &TestApp, body: Value) -> reqwest::Response {
    app.post_json("/api/v1/auth/verify-email", body).await
}

every_engine! {
    async fn registration_mails_a_link_and_a_code_and_the_link_verifies_once(app) {
        let email = unique_email("verify");
        app.register(&email, PASSWORD).await;
        let mail = app.nth_mail_to(&email, 1).await;
        let token = link_token(&mail, "verify-email");
        assert!(token.len() >= 43, "at least 256 bits, base64url: {token}");
        assert!(link(&mail, "verify-email").starts_with(&format!("{}/verify-email?token=", app.url)));
        let html = mail.html.as_deref().expect("an HTML part");
        assert!(html.contains(&token), "the HTML part carries the same link");
        assert_eq!(me(&app, &email).await["email_verified"], false);

        let response = verify(&app, json!({"token": token})).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(me(&app, &email).await["email_verified"], true);

        let again = assert_problem(verify(&app, json!({"token": token})).await, 400, "link_invalid").await;
        assert!(again["detail"].as_str().unwrap().contains("already used"), "{again}");
        assert_eq!(app.mail_count(&email), 1, "no further mail");
    }

    async fn the_code_verifies_with_the_address(app) {
        let email = unique_email("code");
        app.register(&email, PASSWORD).await;
        let code = mailed_code(&app.nth_mail_to(&email, 1).await);
        let response = verify(&app, json!({"email": email.to_uppercase(), "code": code})).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "the address is matched in canonical form");
        assert_eq!(me(&app, &email).await["email_verified"], true);
    }

    async fn five_wrong_codes_void_the_code_and_a_resend_does_not_reset_the_count(app) {
        let email = unique_email("guess");
        app.register(&email, PASSWORD).await;
        let code = mailed_code(&app.nth_mail_to(&email, 1).await);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..5 {
            assert_problem(verify(&app, json!({"email": email, "code": wrong})).await, 400, "code_invalid").await;
        }
        assert_problem(verify(&app, json!({"email": email, "code": code})).await, 400, "code_invalid").await;

        app.advance(61);
        let resend = app.post_json("/api/v1/auth/verify-email/resend", json!({"email": email})).await;
        assert_eq!(resend.status(), StatusCode::ACCEPTED);
        let second = app.nth_mail_to(&email, 2).await;
        let body = json!({"email": email, "code": mailed_code(&second)});
        assert_problem(verify(&app, body).await, 400, "code_invalid").await;

        let response = verify(&app, json!({"token": link_token(&second, "verify-email")})).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "the link still works");
    }

    async fn a_resent_mail_replaces_the_first(app) {
        let email = unique_email("replace");
        app.register(&email, PASSWORD).await;
        let first = app.nth_mail_to(&email, 1).await;
        app.advance(61);
        app.post_json("/api/v1/auth/verify-email/resend", json!({"email": email})).await;
        let second = app.nth_mail_to(&email, 2).await;
        let old = json!({"token": link_token(&first, "verify-email")});
        assert_problem(verify(&app, old).await, 400, "link_invalid").await;
        let new = json!({"token": link_token(&second, "verify-email")});
        assert_eq!(verify(&app, new).await.status(), StatusCode::NO_CONTENT);
    }

    async fn an_expired_link_and_code_are_refused_and_say_so(app) {
        let email = unique_email("expired");
        app.register(&email, PASSWORD).await;
        let mail = app.nth_mail_to(&email, 1).await;
        app.advance(24 * 3600 + 1);
        let refused = assert_problem(
            verify(&app, json!({"token": link_token(&mail, "verify-email")})).await,
            400,
            "link_invalid",
        )
        .await;
        assert!(refused["detail"].as_str().unwrap().contains("expired"), "{refused}");
        let body = json!({"email": email, "code": mailed_code(&mail)});
        assert_problem(verify(&app, body).await, 400, "code_invalid").await;
    }

    async fn a_proof_is_a_token_or_an_address_with_a_code(app) {
        for body in [
            json!({}),
            json!({"email": "a@example.com"}),
            json!({"token": "x", "email": "a@example.com", "code": "123456"}),
        ] {
            assert_problem(verify(&app, body).await, 422, "validation_failed").await;
        }
        let malformed = json!({"email": "a@example.com", "code": "12345a"});
        let problem = assert_problem(verify(&app, malformed).await, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "code");
        let unknown = json!({"email": "nobody@example.com", "code": "123456"});
        assert_problem(verify(&app, unknown).await, 400, "code_invalid").await;
        let forged = json!({"token": "A".repeat(43)});
        assert_problem(verify(&app, forged).await, 400, "link_invalid").await;
    }

    async fn resend_answers_alike_and_mails_only_an_unverified_account(app) {
        let unverified = unique_email("unverified");
        app.register(&unverified, PASSWORD).await;
        let verified = unique_email("verified");
        app.register(&verified, PASSWORD).await;
        let token = link_token(&app.nth_mail_to(&verified, 1).await, "verify-email");
        assert_eq!(verify(&app, json!({"token": token})).await.status(), StatusCode::NO_CONTENT);
        app.nth_mail_to(&unverified, 1).await;
        app.advance(61);

        let mut answers = Vec::new();
        for email in [&unverified, &verified, &unique_email("nobody")] {
            let response = app.post_json("/api/v1/auth/verify-email/resend", json!({"email": email})).await;
            answers.push((response.status(), response.text().await.unwrap()));
        }
        assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
        assert_eq!(answers[0].0, StatusCode::ACCEPTED);
        app.nth_mail_to(&unverified, 2).await;
        let again = app.post_json("/api/v1/auth/verify-email/resend", json!({"email": unverified})).await;
        assert_eq!(again.status(), StatusCode::ACCEPTED, "within the cooldown: same answer");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(app.mail_count(&unverified), 2, "but no mail within the cooldown");
        assert_eq!(app.mail_count(&verified), 1, "a verified address gets nothing");
    }
}

every_engine_with! {
    async fn a_tenant_requiring_verified_addresses_refuses_login_only_after_the_right_password(app)
    with |config| config.accounts.require_verified_email = true;
    {
        let email = unique_email("required");
        app.register(&email, PASSWORD).await;
        assert_problem(app.login_response(&email, "wrong-password-123").await, 401, "invalid_credentials").await;
        let refused = assert_problem(app.login_response(&email, PASSWORD).await, 403, "email_not_verified").await;
        assert!(refused["detail"].as_str().unwrap().contains("resend"), "{refused}");
        let token = link_token(&app.nth_mail_to(&email, 1).await, "verify-email");
        assert_eq!(verify(&app, json!({"token": token})).await.status(), StatusCode::NO_CONTENT);
        app.login(&email, PASSWORD).await;
    }
}

every_engine_with! {
    async fn a_tenant_concealing_accounts_answers_alike_and_mails_the_owner_instead(app)
    with |config| config.accounts.conceal_existing_accounts = true;
    {
        let email = unique_email("conceal");
        let body = json!({"email": email, "password": PASSWORD});
        let first = app.post_json("/api/v1/auth/register", body).await;
        let first = (first.status(), first.text().await.unwrap());
        assert_eq!(first.0, StatusCode::ACCEPTED);
        assert_eq!(first.1, r#"{"status":"verification_sent"}"#);
        let verification = app.nth_mail_to(&email, 1).await;
        link_token(&verification, "verify-email");

        let again = json!({"email": email.to_uppercase(), "password": "another-fine-phrase-7"});
        let second = app.post_json("/api/v1/auth/register", again).await;
        assert_eq!((second.status(), second.text().await.unwrap()), first, "a taken address answers alike");
        let notice = app.nth_mail_to(&email, 2).await;
        assert!(notice.text.contains("already has an account"), "{}", notice.text);
        let token = link_token(&notice, "reset-password");
        app.login(&email, PASSWORD).await;
        let reset = json!({"token": token, "new_password": "staple-orbit-lantern-42"});
        let response = app.post_json("/api/v1/auth/password/reset", reset).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "the notice's link leads back in");

        // A taken username answers 409 whatever the address, so it cannot
        // tell a taken address from a free one.
        let named = json!({"email": unique_email("named"), "password": PASSWORD, "username": "ada-conceal"});
        assert_eq!(app.post_json("/api/v1/auth/register", named).await.status(), StatusCode::ACCEPTED);
        for address in [email.clone(), unique_email("free")] {
            let body = json!({"email": address, "password": PASSWORD, "username": "ada-conceal"});
            assert_problem(app.post_json("/api/v1/auth/register", body).await, 409, "username_taken").await;
        }

        let invalid = json!({"email": "not-an-address", "password": PASSWORD});
        assert_problem(app.post_json("/api/v1/auth/register", invalid).await, 422, "validation_failed").await;
    }
}
