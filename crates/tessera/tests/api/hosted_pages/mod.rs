//! The hosted pages and the authorization endpoint as a browser sees them:
//! login, consent and RP-initiated logout forms, the pages mailed links
//! open (email verification, password recovery), their CSRF protection and
//! security headers, the redirects of the authorization code flow, and the
//! theme.

mod authorize;
mod csrf;
mod error_page;
mod form_post;
mod home;
mod logout;
mod names;
mod not_you;
mod recovery;
mod verify_email;

use reqwest::{Response, StatusCode};

use crate::every_engine;
use crate::flow::{
    hidden_input, location, query_param, return_to_of, with_return_to, Browser, PASSWORD, REDIRECT_URI,
};
use crate::helpers::{header, unique_email, TestApp};

/// The PKCE S256 challenge every standard request carries (OAuth 2.1
/// requires PKCE of every client): the SHA-256 of an unused verifier.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A standard authorization request of `client_id` (with PKCE, unless
/// `extra` brings its own `code_challenge`), plus `extra`.
fn request<'a>(client_id: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid profile email"),
        ("state", "st-123"),
        ("nonce", "n-123"),
    ];
    if !extra.iter().any(|(name, _)| *name == "code_challenge") {
        params.extend([("code_challenge", CHALLENGE), ("code_challenge_method", "S256")]);
    }
    params.extend_from_slice(extra);
    params
}

/// `params` without PKCE.
fn without_pkce<'a>(params: Vec<(&'a str, &'a str)>) -> Vec<(&'a str, &'a str)> {
    params
        .into_iter()
        .filter(|(name, _)| !name.starts_with("code_challenge"))
        .collect()
}

fn client_id(client: &serde_json::Value) -> String {
    client["client_id"].as_str().expect("client_id").to_string()
}

/// A registered user; returns the email.
async fn user(app: &TestApp) -> String {
    let email = unique_email("browser");
    app.register(&email, PASSWORD).await;
    email
}

/// Signs `browser` in without an authorization request.
async fn sign_in_plainly(browser: &Browser, email: &str) {
    let response = browser.sign_in(email, PASSWORD, "").await;
    assert_eq!(response.status(), StatusCode::OK, "signed-in page");
    assert!(response.text().await.expect("html").contains("You are signed in"));
}

/// Authorizes, expects the login redirect, signs in and follows the 303:
/// the response of the authorization endpoint after sign-in.
async fn authorize_signing_in(browser: &Browser, email: &str, params: &[(&str, &str)]) -> Response {
    let response = browser.authorize(params).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let next = location(&response);
    assert!(next.starts_with("/login?return_to="), "{next}");
    let signed_in = browser.sign_in(email, PASSWORD, &return_to_of(&next)).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    browser.get(&location(&signed_in)).await
}

/// Asserts a 302 to the client's redirect URI with `error`, the state and
/// the issuer (RFC 6749 §4.1.2.1, RFC 9207).
fn assert_error_redirect(app: &TestApp, response: &Response, error: &str) {
    assert_eq!(response.status(), StatusCode::FOUND, "{error}");
    let target = location(response);
    assert!(target.starts_with(REDIRECT_URI), "{target}");
    assert_eq!(query_param(&target, "error").as_deref(), Some(error), "{target}");
    assert_eq!(
        query_param(&target, "state").as_deref(),
        Some("st-123"),
        "{target}"
    );
    assert_eq!(
        query_param(&target, "iss").as_deref(),
        Some(app.url.as_str()),
        "{target}"
    );
    assert!(query_param(&target, "code").is_none());
}

/// Asserts a 302/303 to the redirect URI with a code, the state and the issuer.
fn assert_code_redirect(app: &TestApp, response: &Response) -> String {
    assert!(response.status().is_redirection(), "{}", response.status());
    let target = location(response);
    assert!(target.starts_with(REDIRECT_URI), "{target}");
    assert_eq!(query_param(&target, "state").as_deref(), Some("st-123"));
    assert_eq!(query_param(&target, "iss").as_deref(), Some(app.url.as_str()));
    query_param(&target, "code").unwrap_or_else(|| panic!("no code in {target}"))
}

fn assert_page_headers(response: &Response) {
    assert_eq!(header(response, "content-type"), "text/html; charset=utf-8");
    let csp = header(response, "content-security-policy");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("form-action"), "{csp}");
    assert_eq!(header(response, "x-frame-options"), "DENY");
    assert_eq!(header(response, "referrer-policy"), "no-referrer");
    assert_eq!(header(response, "cache-control"), "no-store");
}

/// Asserts that `html` has exactly one inline script and that `csp` allows
/// it by its SHA-256 and nothing else (no `'unsafe-inline'`).
fn assert_script_allowed_by_hash(csp: &str, html: &str) {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use sha2::Digest;
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    let script = html
        .split("<script>")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("script");
    let hash = STANDARD.encode(sha2::Sha256::digest(script.as_bytes()));
    assert!(csp.contains(&format!("script-src 'sha256-{hash}'")), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
}

fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect()
}

every_engine! {
    async fn login_page_has_labels_csrf_and_security_headers(app) {
        let browser = Browser::new(&app);
        let response = browser.get(&with_return_to("/login", "/oauth2/authorize?client_id=x")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_page_headers(&response);
        let response_csp = header(&response, "content-security-policy");
        let csrf_cookie = set_cookies(&response)
            .into_iter()
            .find(|c| c.starts_with("tessera_form_csrf="))
            .expect("csrf cookie");
        assert!(csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Lax") && csrf_cookie.contains("Path=/"));
        let html = response.text().await.unwrap();
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
        assert!(html.contains("<form method=\"post\" action=\"/login\">"));
        assert!(html.contains("<label for=\"identifier\">Email or username</label><input id=\"identifier\" name=\"identifier\""));
        assert!(html.contains("<label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\""));
        assert!(html.contains("<button type=\"submit\">Sign in</button>"));
        // The one script (the show-password toggle) is allowed by its hash.
        assert_script_allowed_by_hash(&response_csp, &html);
        // The field is the server's HMAC of the nonce cookie, never a copy.
        let token = hidden_input(&html, "csrf_token").expect("csrf_token");
        assert_eq!(token.len(), 43);
        assert_ne!(Some(token), browser.cookie("tessera_form_csrf"));
        assert_eq!(hidden_input(&html, "return_to").as_deref(), Some("/oauth2/authorize?client_id=x"));
        let css = browser.get("/assets/tessera.css").await;
        assert_eq!(css.status(), StatusCode::OK);
        assert_eq!(header(&css, "cache-control"), "public, max-age=3600");
        assert!(header(&css, "content-type").starts_with("text/css"));
    }

    async fn login_without_or_with_wrong_csrf_is_forbidden_and_signs_nobody_in(app) {
        let email = user(&app).await;
        let browser = Browser::new(&app);
        let page = browser.get("/login").await;
        let html = page.text().await.unwrap();
        let csrf = hidden_input(&html, "csrf_token").unwrap();
        for token in ["", "not-the-cookie-value-not-the-cookie-value"] {
            let response = browser
                .post_form("/login", &[("csrf_token", token), ("return_to", ""), ("identifier", &email), ("password", PASSWORD)])
                .await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            assert_page_headers(&response);
            assert!(set_cookies(&response).iter().all(|c| !c.starts_with("tessera_sso=")));
            assert!(response.text().await.unwrap().contains("Your session expired, go back and try again"));
        }
        // The right token from another browser (no CSRF cookie) fails too.
        let other = Browser::new(&app);
        let response = other
            .post_form("/login", &[("csrf_token", &csrf), ("identifier", &email), ("password", PASSWORD)])
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(browser.cookie("tessera_sso").is_none());
        assert!(other.cookie("tessera_sso").is_none());
    }

    async fn wrong_password_or_unknown_user_rerenders_login_with_a_generic_401(app) {
        let email = user(&app).await;
        let mut bodies = Vec::new();
        for (identifier, password) in [(email.as_str(), "wrong password but long enough"), ("nobody@example.com", PASSWORD)] {
            let browser = Browser::new(&app);
            let response = browser.sign_in(identifier, password, "/oauth2/authorize?client_id=x").await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            assert_page_headers(&response);
            assert!(browser.cookie("tessera_sso").is_none());
            let html = response.text().await.unwrap();
            assert!(html.contains("role=\"alert\""));
            assert!(html.contains("<form method=\"post\" action=\"/login\">"));
            assert_eq!(hidden_input(&html, "return_to").as_deref(), Some("/oauth2/authorize?client_id=x"));
            let alert = html.split("role=\"alert\">").nth(1).unwrap().split('<').next().unwrap().to_string();
            bodies.push(alert);
        }
        assert_eq!(bodies[0], bodies[1], "the message must not say which part was wrong");
    }

    async fn successful_login_sets_an_httponly_lax_sso_cookie_and_redirects_to_return_to(app) {
        let email = user(&app).await;
        let browser = Browser::new(&app);
        let return_to = "/oauth2/authorize?client_id=abc&scope=openid&prompt=login+consent";
        let response = browser.sign_in(&email, PASSWORD, return_to).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/oauth2/authorize?client_id=abc&scope=openid&prompt=consent");
        let sso = set_cookies(&response)
            .into_iter()
            .find(|c| c.starts_with("tessera_sso="))
            .expect("sso cookie");
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
            assert!(sso.contains(attribute), "{attribute} in {sso}");
        }
        assert!(!sso.contains("Secure"), "plain http test server: {sso}");
        assert!(browser.cookie("tessera_sso").is_some_and(|v| v.len() >= 32));
    }

    async fn return_to_another_site_is_ignored(app) {
        let email = user(&app).await;
        for evil in [
            "https://evil.example/oauth2/authorize?x=1",
            "//evil.example/oauth2/authorize?x=1",
            "/\\evil.example/",
            "/oauth2/authorize?x=1\r\nLocation: https://evil.example",
        ] {
            let browser = Browser::new(&app);
            let page = browser.get(&with_return_to("/login", evil)).await;
            let html = page.text().await.unwrap();
            assert_eq!(hidden_input(&html, "return_to").as_deref(), Some(""), "{evil}");
            let csrf = hidden_input(&html, "csrf_token").unwrap();
            let response = browser
                .post_form("/login", &[("csrf_token", &csrf), ("return_to", evil), ("identifier", &email), ("password", PASSWORD)])
                .await;
            assert_eq!(response.status(), StatusCode::OK, "{evil}");
            assert!(response.headers().get("location").is_none(), "{evil}");
            assert!(response.text().await.unwrap().contains("You are signed in"));
        }
    }

}
