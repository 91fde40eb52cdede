//! Password recovery as pages: the forgot form reveals nothing, opening the
//! reset link spends nothing, the new-password form (reached by the link
//! or by the mail's code) applies the policy and ends every session, and
//! the login page links to it — in a tenant under its own prefix.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::verify_email::{alerts, submit};
use super::{assert_page_headers, assert_script_allowed_by_hash, sign_in_plainly, user};
use crate::every_engine;
use crate::every_engine_admin;
use crate::flow::{hidden_input, Browser, PASSWORD};
use crate::helpers::{
    admin_token, assert_problem, header, link, link_token, mailed_code, TestApp, MEMBER_PASSWORD,
};

const NEW_PASSWORD: &str = "staple-orbit-lantern-42";

/// Asks for a reset mail through the forgot page; returns the mail (the
/// account's second: the first is the registration's verification).
async fn reset_mail(app: &TestApp, browser: &Browser, email: &str) -> tessera_core::MailMessage {
    let (status, html) = submit(
        browser,
        "/forgot-password",
        "/forgot-password",
        &[("email", email)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    app.nth_mail_to(email, 2).await
}

/// Submits the new-password form of `page` (a reset link, or the HTML of
/// the form reached by the code).
async fn set_password(browser: &Browser, html: &str, new: &str, again: &str) -> (StatusCode, String) {
    let csrf = hidden_input(html, "csrf_token").expect("csrf_token");
    let mut form = vec![
        ("csrf_token", csrf),
        ("new_password", new.into()),
        ("confirm_password", again.into()),
    ];
    for name in ["token", "email", "code"] {
        if let Some(value) = hidden_input(html, name) {
            form.push((name, value));
        }
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let response = browser.post_form("/reset-password", &form).await;
    assert_page_headers(&response);
    (response.status(), response.text().await.unwrap())
}

every_engine! {
    async fn a_scanner_opening_the_reset_link_spends_nothing(app) {
        let email = user(&app).await;
        app.nth_mail_to(&email, 1).await;
        let mail = reset_mail(&app, &Browser::new(&app), &email).await;
        let (url, token) = (link(&mail, "reset-password"), link_token(&mail, "reset-password"));
        for _ in 0..2 {
            let response = app.client.get(&url).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_page_headers(&response);
            let csp = header(&response, "content-security-policy");
            let html = response.text().await.unwrap();
            assert!(html.contains("<h1>Choose a new password</h1>"), "{html}");
            assert_eq!(hidden_input(&html, "token").as_deref(), Some(token.as_str()));
            assert!(html.contains("aria-controls=\"password password-confirm\""), "one toggle shows both fields: {html}");
            assert_script_allowed_by_hash(&csp, &html);
            let head = app.client.request(Method::HEAD, &url).send().await.unwrap();
            assert_eq!(head.status(), StatusCode::OK);
            assert_eq!(header(&head, "referrer-policy"), "no-referrer");
        }
        let response = app.post_json("/api/v1/auth/password/reset", json!({"token": token, "new_password": NEW_PASSWORD})).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "the link is still good");
    }

    async fn the_forgot_page_answers_alike_for_known_and_unknown_addresses(app) {
        let known = user(&app).await;
        app.nth_mail_to(&known, 1).await;
        let unknown = crate::helpers::unique_email("nobody");
        let browser = Browser::new(&app);
        let page = browser.get("/forgot-password").await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_page_headers(&page);
        let mut answers = Vec::new();
        for address in [&known, &unknown] {
            let (status, html) = submit(&browser, "/forgot-password", "/forgot-password", &[("email", address)]).await;
            // Only the address typed is repeated (in the code form).
            assert!(html.contains(&format!("value=\"{address}\"")), "{html}");
            answers.push((status, html.replace(address.as_str(), "ADDRESS")));
        }
        assert_eq!(answers[0], answers[1], "same status and body");
        assert_eq!(answers[0].0, StatusCode::OK);
        assert!(answers[0].1.contains("If an account has this address, we sent a link and a code to it."));
        assert!(answers[0].1.contains("action=\"/reset-password/code\""));
        app.nth_mail_to(&known, 2).await;

        let (status, html) = submit(&browser, "/forgot-password", "/forgot-password", &[("email", "not an address")]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        let (status, _) = submit(&browser, "/forgot-password", "/forgot-password", &[]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    async fn a_reset_through_the_page_ends_every_session_and_the_new_password_signs_in(app) {
        let email = user(&app).await;
        app.nth_mail_to(&email, 1).await;
        let tokens = app.login(&email, PASSWORD).await;
        let signed_in = Browser::new(&app);
        sign_in_plainly(&signed_in, &email).await;
        let browser = Browser::new(&app);
        let mail = reset_mail(&app, &browser, &email).await;
        let url = link(&mail, "reset-password");
        let html = browser.get(&url).await.text().await.unwrap();

        let (status, html) = set_password(&browser, &html, NEW_PASSWORD, NEW_PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("<h1>Your password has been changed</h1>"), "{html}");
        assert!(html.contains("Every session has been signed out."), "{html}");
        assert!(html.contains("<a href=\"/login\">Sign in</a>"), "{html}");
        assert_eq!(app.me(&tokens.access_token).await.status(), StatusCode::UNAUTHORIZED);
        let home = signed_in.get("/").await.text().await.unwrap();
        assert!(!home.contains("You are signed in as"), "the browser session ended: {home}");
        assert_problem(app.login_response(&email, PASSWORD).await, 401, "invalid_credentials").await;
        assert_eq!(browser.sign_in(&email, NEW_PASSWORD, "").await.status(), StatusCode::OK);

        let spent = browser.get(&url).await;
        assert_eq!(spent.status(), StatusCode::BAD_REQUEST);
        let html = spent.text().await.unwrap();
        assert!(alerts(&html)[0].contains("already used"), "{html}");
        assert!(html.contains("<a href=\"/forgot-password\">Send me a new link</a>"), "{html}");
    }

    async fn a_refused_password_shows_the_rule_and_the_link_stays_usable(app) {
        let email = user(&app).await;
        app.nth_mail_to(&email, 1).await;
        let browser = Browser::new(&app);
        let url = link(&reset_mail(&app, &browser, &email).await, "reset-password");
        let form = browser.get(&url).await.text().await.unwrap();

        let (status, html) = set_password(&browser, &form, "password", "password").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains("This password cannot be used:"), "{html}");
        assert!(html.contains("<li>Password is too common; choose another.</li>"), "the rule is named: {html}");
        assert_eq!(hidden_input(&html, "token"), hidden_input(&form, "token"), "the form keeps the link");
        let (status, html) = set_password(&browser, &html, NEW_PASSWORD, "staple-orbit-lantern-43").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(alerts(&html), ["The two passwords are not the same."]);
        let (status, _) = set_password(&browser, &html, "", "").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        let (status, html) = set_password(&browser, &html, NEW_PASSWORD, NEW_PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        app.login(&email, NEW_PASSWORD).await;
    }

    async fn the_mailed_code_leads_to_the_new_password_form(app) {
        let email = user(&app).await;
        app.nth_mail_to(&email, 1).await;
        let browser = Browser::new(&app);
        let code = mailed_code(&reset_mail(&app, &browser, &email).await);
        let wrong = if code == "000000" { "111111" } else { "000000" };

        // A malformed code never reaches the form.
        let (status, html) = submit(&browser, "/forgot-password", "/forgot-password", &[("email", &email)]).await;
        assert_eq!(status, StatusCode::OK);
        let csrf = hidden_input(&html, "csrf_token").unwrap();
        let malformed = browser.post_form("/reset-password/code", &[("csrf_token", &csrf), ("email", &email), ("code", "12 34")]).await;
        assert_eq!(malformed.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(!malformed.text().await.unwrap().contains("name=\"new_password\""));

        // A wrong code is refused when the form is sent; the address is kept.
        let entered = code_form(&browser, &email, wrong).await;
        assert_eq!(hidden_input(&entered, "code").as_deref(), Some(wrong));
        let (status, html) = set_password(&browser, &entered, NEW_PASSWORD, NEW_PASSWORD).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");
        assert!(alerts(&html)[0].starts_with("The code is not correct"), "{html}");
        assert!(html.contains(&format!("value=\"{email}\"")), "{html}");

        let entered = code_form(&browser, &email, &code).await;
        let (status, html) = set_password(&browser, &entered, NEW_PASSWORD, NEW_PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        app.login(&email, NEW_PASSWORD).await;
    }

    async fn an_expired_or_broken_reset_link_says_why_and_links_to_forgot_password(app) {
        let email = user(&app).await;
        app.nth_mail_to(&email, 1).await;
        let browser = Browser::new(&app);
        let url = link(&reset_mail(&app, &browser, &email).await, "reset-password");
        app.advance(30 * 60 + 1);
        for (path, why) in [
            (url.as_str(), "This link has expired."),
            ("/reset-password", "This link is not complete or was changed: copy the whole link from the mail."),
            ("/reset-password?token=a&token=b", "This link is not complete or was changed: copy the whole link from the mail."),
            ("/reset-password?token=forged", "This link cannot be used: unknown, already used, or replaced by a newer one."),
        ] {
            let response = browser.get(path).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
            assert_page_headers(&response);
            let html = response.text().await.unwrap();
            assert_eq!(alerts(&html), [why], "{path}");
            assert!(html.contains("<a href=\"/forgot-password\">Send me a new link</a>"), "{html}");
            assert!(!html.contains("name=\"new_password\""), "{html}");
        }
    }

    async fn the_login_page_links_to_forgot_password(app) {
        let html = Browser::new(&app).get("/login").await.text().await.unwrap();
        assert!(html.contains("<li><a href=\"/forgot-password\">Forgot password?</a></li>"), "{html}");
        assert!(!html.contains("Create account"), "no sign-up page yet: {html}");
        let forgot = Browser::new(&app).get("/forgot-password").await.text().await.unwrap();
        assert!(forgot.contains("<h1>Forgot your password?</h1>"), "{forgot}");
        assert!(forgot.contains("<label for=\"email\">Email address</label><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\""), "{forgot}");
    }
}

/// Enters `code` on the "check your mail" page: the new-password form.
async fn code_form(browser: &Browser, email: &str, code: &str) -> String {
    let (status, html) = submit(
        browser,
        "/forgot-password",
        "/forgot-password",
        &[("email", email)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let csrf = hidden_input(&html, "csrf_token").unwrap();
    let response = browser
        .post_form(
            "/reset-password/code",
            &[("csrf_token", &csrf), ("email", email), ("code", code)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>Choose a new password</h1>"), "{html}");
    html
}

every_engine_admin! {
    async fn a_tenants_mailed_links_open_its_own_pages(app) {
        let root = admin_token(&app).await;
        app.admin_ok(Method::POST, "/api/v1/admin/tenants", &root,
            Some(json!({"slug": "acme", "name": "Acme", "admin": {"email": "admin@acme.example", "password": MEMBER_PASSWORD}})), 201).await;
        let email = crate::helpers::unique_email("acme");
        let response = app.post_json("/t/acme/api/v1/auth/register", json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let mail = app.nth_mail_to(&email, 1).await;
        let url = link(&mail, "verify-email");
        assert!(url.starts_with(&format!("{}/t/acme/verify-email?token=", app.url)), "{url}");

        let browser = Browser::new(&app);
        let (status, html) = submit(&browser, &url, "/t/acme/verify-email", &[("token", &link_token(&mail, "verify-email"))]).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("<a href=\"/t/acme/login\">Sign in</a>"), "{html}");

        let login = browser.get("/t/acme/login").await.text().await.unwrap();
        assert!(login.contains("<a href=\"/t/acme/forgot-password\">Forgot password?</a>"), "{login}");
        let (status, html) = submit(&browser, "/t/acme/forgot-password", "/t/acme/forgot-password", &[("email", &email)]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("action=\"/t/acme/reset-password/code\""), "{html}");
        let reset = app.nth_mail_to(&email, 2).await;
        let url = link(&reset, "reset-password");
        assert!(url.starts_with(&format!("{}/t/acme/reset-password?token=", app.url)), "{url}");
        let form = browser.get(&url).await.text().await.unwrap();
        assert!(form.contains("<form method=\"post\" action=\"/t/acme/reset-password\">"), "{form}");
    }
}
