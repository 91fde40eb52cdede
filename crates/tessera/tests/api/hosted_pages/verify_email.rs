//! The page the verification mail's link opens: a scanner's GET or HEAD
//! spends nothing, the person's button or the mail's code verifies, a dead
//! link says why and offers a new mail, and a tenant requiring verified
//! addresses says so on its login page.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{assert_page_headers, user};
use crate::flow::{hidden_input, unescape_html, Browser, PASSWORD};
use crate::helpers::{captured_logs, link, link_token, mailed_code, TestApp};
use crate::{every_engine, every_engine_with};

/// Whether `email`'s address is verified (through the API).
async fn verified(app: &TestApp, email: &str) -> bool {
    let tokens = app.login(email, PASSWORD).await;
    let me: serde_json::Value = app.me(&tokens.access_token).await.json().await.unwrap();
    me["email_verified"].as_bool().expect("email_verified")
}

/// Opens `path` in `browser` and submits its form posting to `action` with
/// `fields` and the page's CSRF token: the status and HTML of the answer.
pub(super) async fn submit(
    browser: &Browser,
    path: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let page = browser.get(path).await.text().await.unwrap();
    assert!(
        page.contains(&format!("action=\"{action}\"")),
        "no form posting to {action} on {path}: {page}"
    );
    let csrf = hidden_input(&page, "csrf_token").expect("csrf_token");
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    let response = browser.post_form(action, &form).await;
    assert_page_headers(&response);
    (response.status(), response.text().await.unwrap())
}

/// The texts of the page's alerts.
pub(super) fn alerts(html: &str) -> Vec<String> {
    html.split("role=\"alert\">")
        .skip(1)
        .map(|rest| unescape_html(rest.split("</").next().unwrap_or_default()))
        .collect()
}

every_engine! {
    async fn a_scanner_opening_the_verify_link_spends_nothing(app) {
        let email = user(&app).await;
        let mail = app.nth_mail_to(&email, 1).await;
        let (url, token) = (link(&mail, "verify-email"), link_token(&mail, "verify-email"));
        for _ in 0..2 {
            let response = app.client.get(&url).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_page_headers(&response);
            let html = response.text().await.unwrap();
            assert!(html.contains("<h1>Confirm your email address</h1>"), "{html}");
            assert!(html.contains("<button type=\"submit\">Confirm my email address</button>"), "{html}");
            assert_eq!(hidden_input(&html, "token").as_deref(), Some(token.as_str()));
            let head = app.client.head(&url).send().await.unwrap();
            assert_eq!(head.status(), StatusCode::OK);
            assert_page_headers(&head);
        }
        assert!(!verified(&app, &email).await, "opening the link verified nothing");
        let response = app.post_json("/api/v1/auth/verify-email", json!({"token": token})).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "the link is still good");
    }

    async fn the_confirm_button_verifies_the_address_once(app) {
        let email = user(&app).await;
        let mail = app.nth_mail_to(&email, 1).await;
        let (url, token) = (link(&mail, "verify-email"), link_token(&mail, "verify-email"));
        let browser = Browser::new(&app);
        let (status, html) = submit(&browser, &url, "/verify-email", &[("token", &token)]).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("<h1>Your email address is verified</h1>"), "{html}");
        assert!(html.contains("<a href=\"/login\">Sign in</a>"), "{html}");
        assert!(verified(&app, &email).await);

        let again = browser.get(&url).await;
        assert_eq!(again.status(), StatusCode::BAD_REQUEST);
        let html = again.text().await.unwrap();
        assert!(alerts(&html)[0].contains("already used"), "{html}");
        assert!(hidden_input(&html, "token").is_none(), "no button for a spent link");
        assert!(html.contains("action=\"/verify-email/resend\""), "a new mail is offered: {html}");
    }

    async fn the_code_form_verifies_and_says_why_a_code_is_refused(app) {
        let email = user(&app).await;
        let code = mailed_code(&app.nth_mail_to(&email, 1).await);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let browser = Browser::new(&app);
        let page = browser.get("/verify-email").await;
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await.unwrap().contains("<h2 id=\"code-heading\">Have a code instead?</h2>"));

        let (status, html) = submit(&browser, "/verify-email", "/verify-email", &[("email", &email), ("code", wrong)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(alerts(&html)[0].starts_with("The code is not correct"), "{html}");
        assert!(html.contains(&format!("value=\"{email}\"")), "the address is kept: {html}");
        let (status, html) = submit(&browser, "/verify-email", "/verify-email", &[("email", &email), ("code", "12a")]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        let (status, _) = submit(&browser, "/verify-email", "/verify-email", &[("email", &email)]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a code is needed");
        assert!(!verified(&app, &email).await);

        let (status, html) = submit(&browser, "/verify-email", "/verify-email", &[("email", &email), ("code", &code)]).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("Your email address is verified"), "{html}");
        assert!(verified(&app, &email).await);
    }

    async fn an_expired_link_says_so_and_the_page_sends_a_new_mail(app) {
        let email = user(&app).await;
        let url = link(&app.nth_mail_to(&email, 1).await, "verify-email");
        app.advance(24 * 3600 + 1);
        let browser = Browser::new(&app);
        let response = browser.get(&url).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_page_headers(&response);
        let html = response.text().await.unwrap();
        assert_eq!(alerts(&html), ["This link has expired."], "{html}");
        assert!(html.contains("<h1>This link cannot be used</h1>"), "{html}");

        let (status, html) = submit(&browser, &url, "/verify-email/resend", &[("email", &email)]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("<h1>Check your mail</h1>"), "{html}");
        assert!(html.contains("action=\"/verify-email\""), "the new code can be entered here: {html}");
        let fresh = app.nth_mail_to(&email, 2).await;
        let (status, _) = submit(&browser, &link(&fresh, "verify-email"), "/verify-email", &[("token", &link_token(&fresh, "verify-email"))]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(verified(&app, &email).await);
    }

    async fn a_form_post_without_csrf_is_refused_and_spends_nothing(app) {
        let email = user(&app).await;
        let mail = app.nth_mail_to(&email, 1).await;
        let token = link_token(&mail, "verify-email");
        let code = mailed_code(&mail);
        let browser = Browser::new(&app);
        // The browser has a CSRF cookie, but the posts carry no token; past
        // the cooldown, a resend or forgot that got through would mail.
        browser.get(&link(&mail, "verify-email")).await;
        app.advance(61);
        let posts: [(&str, Vec<(&str, &str)>); 6] = [
            ("/verify-email", vec![("token", &token)]),
            ("/verify-email", vec![("email", &email), ("code", &code)]),
            ("/verify-email/resend", vec![("email", &email)]),
            ("/forgot-password", vec![("email", &email)]),
            ("/reset-password/code", vec![("email", &email), ("code", &code)]),
            ("/reset-password", vec![("token", &token), ("new_password", "staple-orbit-lantern-42"), ("confirm_password", "staple-orbit-lantern-42")]),
        ];
        for (path, form) in posts {
            let response = browser.post_form(path, &form).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
            assert_page_headers(&response);
            assert!(response.text().await.unwrap().contains("Your session expired"), "{path}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(app.mail_count(&email), 1, "no mail was sent");
        assert!(!verified(&app, &email).await);
        let response = app.post_json("/api/v1/auth/verify-email", json!({"token": token})).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }

    async fn the_pages_log_neither_the_link_token_nor_the_code(app) {
        let email = user(&app).await;
        let mail = app.nth_mail_to(&email, 1).await;
        let (url, token, code) = (link(&mail, "verify-email"), link_token(&mail, "verify-email"), mailed_code(&mail));
        let browser = Browser::new(&app);
        app.client.request(Method::HEAD, &url).send().await.unwrap();
        let wrong = if code == "000000" { "111111" } else { "000000" };
        submit(&browser, &url, "/verify-email", &[("email", &email), ("code", wrong)]).await;
        let (status, _) = submit(&browser, &url, "/verify-email", &[("token", &token)]).await;
        assert_eq!(status, StatusCode::OK);
        let logs = captured_logs();
        assert!(logs.contains("/verify-email"), "the route is logged");
        assert!(!logs.contains(&token), "the logs hold the link token");
        assert!(!logs.contains(&format!("\"{code}\"")) && !logs.contains(&format!("={code}")), "the logs hold the code");
    }
}

every_engine_with! {
    async fn login_of_an_unverified_address_says_to_verify_it_and_offers_a_new_mail(app)
    with |config| config.accounts.require_verified_email = true;
    {
        let email = user(&app).await;
        let first = app.nth_mail_to(&email, 1).await;
        let browser = Browser::new(&app);
        let wrong = browser.sign_in(&email, "not the password at all 7", "").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        let html = wrong.text().await.unwrap();
        assert!(!html.contains("Verify your email"), "a wrong password learns nothing: {html}");

        let refused = browser.sign_in(&email, PASSWORD, "").await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert_page_headers(&refused);
        assert!(browser.cookie("tessera_sso").is_none());
        let html = refused.text().await.unwrap();
        assert!(alerts(&html)[0].starts_with("Verify your email address first — we sent you a link."), "{html}");
        assert!(html.contains("<form method=\"post\" action=\"/verify-email/resend\">"), "{html}");
        assert!(html.contains(&format!("id=\"resend-email\" name=\"email\" type=\"email\" autocomplete=\"email\" autocapitalize=\"none\" spellcheck=\"false\" required value=\"{email}\"")), "{html}");
        assert!(html.contains("<a href=\"/verify-email\">"), "{html}");

        // The resend form on that page sends a new mail (after the cooldown).
        app.advance(61);
        let csrf = hidden_input(&html, "csrf_token").unwrap();
        let sent = browser.post_form("/verify-email/resend", &[("csrf_token", &csrf), ("email", &email)]).await;
        assert_eq!(sent.status(), StatusCode::OK);
        assert!(sent.text().await.unwrap().contains("Check your mail"));
        let second = app.nth_mail_to(&email, 2).await;
        assert_ne!(link_token(&second, "verify-email"), link_token(&first, "verify-email"));
        let (status, _) = submit(&browser, &link(&second, "verify-email"), "/verify-email", &[("token", &link_token(&second, "verify-email"))]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(browser.sign_in(&email, PASSWORD, "").await.status(), StatusCode::OK);
    }
}
