//! CSRF tokens of the hosted forms, tested as the attack. Whoever can plant
//! cookies (a sibling subdomain sets `tessera_form_csrf=x` with `Domain=`)
//! posts a field of their choosing too; the form token must be the server's
//! HMAC of the nonce cookie and of the browser session, so a planted equal
//! pair fails, and so does a pair the attacker got from their own browser.
//! Over https the cookies are `__Host-` at the root and `__Secure-` in a
//! tenant, which a sibling cannot plant at all.

use reqwest::{Method, Response, StatusCode};
use serde_json::json;

use super::{assert_code_redirect, authorize_signing_in, client_id, request, set_cookies, user};
use crate::every_engine;
use crate::every_engine_with;
use crate::flow::{create_web_client, hidden_input, location, return_to_of, Browser, PASSWORD};
use crate::helpers::{admin_token, with_bootstrap_admin, TestApp};

/// A nonce of the attacker's choosing: the shape the server mints.
const PLANTED: &str = "planted-by-a-sibling-subdomain-0123456789a";

/// `POST path` from a browser that carries exactly `cookies`.
async fn post_with_cookies(app: &TestApp, path: &str, cookies: &str, form: &[(&str, &str)]) -> Response {
    app.client
        .post(app.at(path))
        .header("cookie", cookies)
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Asserts the 403 "session expired" page, with no new browser session.
async fn assert_csrf_refused(response: Response) {
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        set_cookies(&response).iter().all(|c| !c.contains("tessera_sso")),
        "no session cookie"
    );
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("Your session expired, go back and try again"));
}

/// The `name=value` pair of the `Set-Cookie` line for `name`, and its
/// lowercased attributes.
fn cookie_line(lines: &[String], name: &str) -> (String, Vec<String>) {
    let line = lines
        .iter()
        .find(|l| l.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no Set-Cookie for {name} in {lines:?}"));
    let mut parts = line.split(';').map(str::trim);
    let pair = parts.next().unwrap().to_string();
    (pair, parts.map(str::to_ascii_lowercase).collect())
}

/// Config tweak: an https issuer (Secure cookies) and a bootstrap admin.
fn https_issuer_with_admin(config: &mut tessera::Config) {
    with_bootstrap_admin(config);
    config.issuer = "https://id.example.com".into();
}

every_engine! {
    async fn a_planted_csrf_cookie_and_field_pair_is_refused_on_login(app) {
        let email = user(&app).await;
        let planted = format!("tessera_form_csrf={PLANTED}");
        let fields = [("csrf_token", PLANTED), ("return_to", ""), ("identifier", email.as_str()), ("password", PASSWORD)];
        assert_csrf_refused(post_with_cookies(&app, "/login", &planted, &fields).await).await;

        // A nonce the server minted, echoed as is (the old double submit),
        // fails too: the field must be the server's HMAC of it.
        let page = app.client.get(app.at("/login")).send().await.unwrap();
        let (nonce_pair, _) = cookie_line(&set_cookies(&page), "tessera_form_csrf");
        let nonce = nonce_pair.split_once('=').unwrap().1.to_string();
        let token = hidden_input(&page.text().await.unwrap(), "csrf_token").unwrap();
        assert_ne!(token, nonce);
        let echoed = [("csrf_token", nonce.as_str()), ("return_to", ""), ("identifier", email.as_str()), ("password", PASSWORD)];
        assert_csrf_refused(post_with_cookies(&app, "/login", &nonce_pair, &echoed).await).await;

        // The form's own token signs in.
        let signed_in = [("csrf_token", token.as_str()), ("return_to", ""), ("identifier", email.as_str()), ("password", PASSWORD)];
        let response = post_with_cookies(&app, "/login", &nonce_pair, &signed_in).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(set_cookies(&response).iter().any(|c| c.starts_with("tessera_sso=")));
    }

    async fn a_planted_pair_is_refused_on_consent_and_the_browsers_own_form_works(app) {
        let id = client_id(&create_web_client(&app, &[]).await);
        let victim = Browser::new(&app);
        let asked = authorize_signing_in(&victim, &user(&app).await, &request(&id, &[])).await;
        let return_to = return_to_of(&location(&asked));
        let victim_sso = victim.cookie("tessera_sso").expect("victim signed in");

        // The attacker's own consent form: a valid pair, for their session.
        let attacker = Browser::new(&app);
        let theirs = authorize_signing_in(&attacker, &user(&app).await, &request(&id, &[])).await;
        let html = attacker.get(&location(&theirs)).await.text().await.unwrap();
        let attacker_token = hidden_input(&html, "csrf_token").unwrap();
        let attacker_nonce = attacker.cookie("tessera_form_csrf").unwrap();

        for (nonce, token) in [(PLANTED, PLANTED), (attacker_nonce.as_str(), attacker_token.as_str())] {
            let cookies = format!("tessera_sso={victim_sso}; tessera_form_csrf={nonce}");
            let fields = [("csrf_token", token), ("return_to", return_to.as_str()), ("decision", "allow")];
            assert_csrf_refused(post_with_cookies(&app, "/consent", &cookies, &fields).await).await;
        }
        // Nothing was approved: the request still asks for consent.
        let again = victim.authorize(&request(&id, &[])).await;
        assert!(location(&again).starts_with("/consent?"), "{}", location(&again));

        let allowed = victim.consent(&return_to, true).await;
        assert_eq!(allowed.status(), StatusCode::SEE_OTHER);
        assert_code_redirect(&app, &allowed);
    }

    async fn a_planted_pair_signs_nobody_out(app) {
        let browser = Browser::new(&app);
        let signed_in = browser.sign_in(&user(&app).await, PASSWORD, "").await;
        assert_eq!(signed_in.status(), StatusCode::OK);
        let sso = browser.cookie("tessera_sso").unwrap();
        let cookies = format!("tessera_sso={sso}; tessera_form_csrf={PLANTED}");
        let forged = post_with_cookies(&app, "/logout", &cookies, &[("csrf_token", PLANTED), ("decision", "logout")]).await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        assert!(set_cookies(&forged).is_empty(), "the session cookie is not cleared");
        // The session lives: the logout page still offers to end it.
        let html = browser.get("/logout").await.text().await.unwrap();
        let csrf = hidden_input(&html, "csrf_token").unwrap();
        let done = browser.post_form("/logout", &[("csrf_token", &csrf), ("decision", "logout")]).await;
        assert_eq!(done.status(), StatusCode::OK);
        assert!(browser.cookie("tessera_sso").is_none());
    }

    async fn a_form_rendered_for_another_session_is_refused(app) {
        // The token is bound to the session cookie the form was shown
        // with: a sign-in in between (a new session) invalidates it.
        let email = user(&app).await;
        let browser = Browser::new(&app);
        let stale = hidden_input(&browser.get("/login").await.text().await.unwrap(), "csrf_token").unwrap();
        assert_eq!(browser.sign_in(&email, PASSWORD, "").await.status(), StatusCode::OK);
        let session = browser.cookie("tessera_sso");
        let response = browser
            .post_form("/login", &[("csrf_token", &stale), ("return_to", ""), ("identifier", &email), ("password", PASSWORD)])
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(browser.cookie("tessera_sso"), session, "the session is untouched");
    }
}

every_engine_with! {
    async fn form_cookies_are_host_prefixed_at_the_root_and_secure_prefixed_in_a_tenant(app)
        with https_issuer_with_admin; {
        let page = app.client.get(app.at("/login")).send().await.unwrap();
        let (nonce_pair, attributes) = cookie_line(&set_cookies(&page), "__Host-tessera_form_csrf");
        // RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain.
        for attribute in ["secure", "path=/", "httponly", "samesite=lax"] {
            assert!(attributes.contains(&attribute.to_string()), "{attribute} in {attributes:?}");
        }
        assert!(!attributes.iter().any(|a| a.starts_with("domain")), "{attributes:?}");
        let token = hidden_input(&page.text().await.unwrap(), "csrf_token").unwrap();
        let email = user(&app).await;
        let form = [("csrf_token", token.as_str()), ("return_to", ""), ("identifier", email.as_str()), ("password", PASSWORD)];

        // The same nonce under the bare name (which a sibling subdomain
        // could plant) is not read.
        let bare = nonce_pair.replacen("__Host-", "", 1);
        assert_csrf_refused(post_with_cookies(&app, "/login", &bare, &form).await).await;

        let response = post_with_cookies(&app, "/login", &nonce_pair, &form).await;
        assert_eq!(response.status(), StatusCode::OK);
        let (_, sso) = cookie_line(&set_cookies(&response), "__Host-tessera_sso");
        assert!(sso.contains(&"secure".to_string()) && sso.contains(&"path=/".to_string()), "{sso:?}");

        // A tenant's cookies live under /t/{slug}: __Secure-, not __Host-.
        let root = admin_token(&app).await;
        app.admin_ok(Method::POST, "/api/v1/admin/tenants", &root, Some(json!({"slug": "acme", "name": "Acme"})), 201).await;
        let page = app.client.get(app.at("/t/acme/login")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let (_, attributes) = cookie_line(&set_cookies(&page), "__Secure-tessera_form_csrf_acme");
        for attribute in ["secure", "path=/t/acme", "httponly"] {
            assert!(attributes.contains(&attribute.to_string()), "{attribute} in {attributes:?}");
        }
        assert!(!attributes.iter().any(|a| a.starts_with("domain")), "{attributes:?}");
    }
}
