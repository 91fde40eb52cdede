//! Sessions that really end (issue #10, written as the attacks): a stolen
//! single sign-on cookie must stop minting codes after a password change,
//! a logout everywhere, an administrator's password reset or force-logout;
//! browser sessions are in the person's session list and end one by one;
//! an ID token in someone else's hands ends nothing; and parallel wrong
//! passwords all count towards the lockout.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::flow::{create_web_client, location, query_param, Browser, PASSWORD, REDIRECT_URI};
use crate::helpers::{admin_token, unique_email, user_id, with_bootstrap_admin, TestApp};
use crate::{every_engine, every_engine_with};

const VERIFIER: &str = "a-verifier-that-is-long-enough-for-rfc-7636-section-4.1-0123456789";

/// A first-party web client (no consent screen); its id and secret.
async fn web_client(app: &TestApp) -> (String, String) {
    let client = create_web_client(app, &["--first-party"]).await;
    (
        client["client_id"].as_str().expect("id").to_owned(),
        client["client_secret"].as_str().expect("secret").to_owned(),
    )
}

/// A registered user signed in to the hosted pages in a fresh browser
/// (having authorized `client_id` once); returns the browser, the email and
/// the authorization code it got.
async fn signed_in_browser(app: &TestApp, client_id: &str) -> (Browser, String, String) {
    let email = unique_email("sso");
    app.register(&email, PASSWORD).await;
    let browser = Browser::new(app);
    let (code, _) = browser
        .obtain_code(
            client_id,
            REDIRECT_URI,
            "openid",
            Some(VERIFIER),
            &email,
            PASSWORD,
        )
        .await;
    (browser, email, code)
}

/// `prompt=none` with only `cookie` (a stolen `tessera_sso` value replayed
/// from another machine): whether it still yields a code.
async fn cookie_mints_codes(app: &TestApp, client_id: &str, cookie: &str) -> bool {
    let challenge = crate::flow::pkce_challenge(VERIFIER);
    let mut url = url::Url::parse(&app.at("/oauth2/authorize")).expect("url");
    url.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid"),
        ("state", "s"),
        ("prompt", "none"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    let response = app
        .client
        .get(url)
        .header("cookie", format!("tessera_sso={cookie}"))
        .send()
        .await
        .expect("authorize");
    assert_eq!(response.status(), StatusCode::FOUND);
    let target = location(&response);
    if query_param(&target, "code").is_some() {
        return true;
    }
    assert_eq!(
        query_param(&target, "error").as_deref(),
        Some("login_required"),
        "{target}"
    );
    false
}

/// The code's tokens (authorization code + PKCE, client secret basic).
async fn exchange(app: &TestApp, client: &(String, String), code: &str) -> Value {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ];
    let response = app
        .client
        .post(app.at("/oauth2/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(&form)
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("token json")
}

async fn sessions(app: &TestApp, token: &str) -> Vec<Value> {
    let response = app.get_with("/api/v1/sessions", token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    body.as_array().expect("array").clone()
}

every_engine_with! {
    async fn a_stolen_sso_cookie_dies_with_every_kind_of_logout(app) with with_bootstrap_admin; {
        let client = web_client(&app).await;
        let root = admin_token(&app).await;

        // The person changes their password through the API.
        let (browser, email, _) = signed_in_browser(&app, &client.0).await;
        let stolen = browser.cookie("tessera_sso").expect("sso cookie");
        assert!(cookie_mints_codes(&app, &client.0, &stolen).await, "control: the cookie works");
        let api = app.login(&email, PASSWORD).await;
        let body = json!({"current_password": PASSWORD, "new_password": "a-brand-New-passphrase-5"});
        let changed = app.call(Method::POST, "/api/v1/users/me/password", Some(&api.access_token), Some(body)).await;
        assert_eq!(changed.status(), StatusCode::NO_CONTENT);
        assert!(!cookie_mints_codes(&app, &client.0, &stolen).await, "password change");

        // Logout everywhere.
        let (browser, email, _) = signed_in_browser(&app, &client.0).await;
        let stolen = browser.cookie("tessera_sso").expect("sso cookie");
        let api = app.login(&email, PASSWORD).await;
        let ended = app.call(Method::POST, "/api/v1/auth/logout-all", Some(&api.access_token), None).await;
        assert_eq!(ended.status(), StatusCode::NO_CONTENT);
        assert!(!cookie_mints_codes(&app, &client.0, &stolen).await, "logout-all");

        // An administrator's force-logout and password reset.
        for action in ["logout", "password"] {
            let (browser, email, _) = signed_in_browser(&app, &client.0).await;
            let stolen = browser.cookie("tessera_sso").expect("sso cookie");
            let me: Value = app.me(&app.login(&email, PASSWORD).await.access_token).await.json().await.unwrap();
            let body = (action == "password").then(|| json!({"password": "Reset-by-the-Admin-81"}));
            let path = format!("/api/v1/admin/users/{}/{action}", user_id(&me));
            let answer = app.admin_call(Method::POST, &path, &root, body).await;
            assert!(answer.status().is_success(), "{action}: {}", answer.status());
            assert!(!cookie_mints_codes(&app, &client.0, &stolen).await, "admin {action}");
        }
    }
}

every_engine! {
    async fn browser_sessions_are_listed_and_end_one_by_one(app) {
        let client = web_client(&app).await;
        let (browser, email, _) = signed_in_browser(&app, &client.0).await;
        let cookie = browser.cookie("tessera_sso").expect("sso cookie");
        let api = app.login(&email, PASSWORD).await;

        let listed = sessions(&app, &api.access_token).await;
        let kinds: Vec<&str> = listed.iter().map(|s| s["kind"].as_str().unwrap()).collect();
        assert!(kinds.contains(&"api") && kinds.contains(&"browser"), "{listed:?}");
        let sso = listed.iter().find(|s| s["kind"] == "browser").expect("browser session");
        assert_eq!(sso["ip"], "127.0.0.1", "{sso}");
        assert!(sso["user_agent"].is_string() || sso["user_agent"].is_null(), "{sso}");
        assert!(sso["last_used_at"].as_str() >= sso["created_at"].as_str(), "{sso}");
        assert_eq!(sso["current"], false);

        let id = sso["id"].as_str().unwrap();
        let ended = app.call(Method::DELETE, &format!("/api/v1/sessions/{id}"), Some(&api.access_token), None).await;
        assert_eq!(ended.status(), StatusCode::NO_CONTENT);
        assert!(!cookie_mints_codes(&app, &client.0, &cookie).await, "ended from the list");
        let listed = sessions(&app, &api.access_token).await;
        assert!(listed.iter().all(|s| s["kind"] != "browser"), "{listed:?}");

        // Someone else's browser session is not ours to end: 404, and it lives.
        let (other, other_email, _) = signed_in_browser(&app, &client.0).await;
        let other_cookie = other.cookie("tessera_sso").expect("other cookie");
        let theirs = app.login(&other_email, PASSWORD).await;
        let listed = sessions(&app, &theirs.access_token).await;
        let their_sso = listed.iter().find(|s| s["kind"] == "browser").expect("their browser session");
        let path = format!("/api/v1/sessions/{}", their_sso["id"].as_str().unwrap());
        let refused = app.call(Method::DELETE, &path, Some(&api.access_token), None).await;
        assert_eq!(refused.status(), StatusCode::NOT_FOUND);
        assert!(cookie_mints_codes(&app, &client.0, &other_cookie).await, "another person's browser is untouched");
    }

    async fn an_id_token_in_someone_elses_hands_ends_nothing(app) {
        let client = web_client(&app).await;
        let (victim, _, code) = signed_in_browser(&app, &client.0).await;
        let tokens = exchange(&app, &client, &code).await;
        let hint = tokens["id_token"].as_str().expect("id token").to_owned();

        // The attacker's browser has no session of the victim.
        let attacker = Browser::new(&app);
        let mut logout = attacker.url("/oauth2/logout");
        logout.query_pairs_mut().append_pair("id_token_hint", &hint);
        let page = attacker.get(logout.as_str()).await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        let csrf = crate::flow::hidden_input(&html, "csrf_token").expect("csrf");
        let done = attacker
            .post_form("/logout", &[("csrf_token", &csrf), ("id_token_hint", &hint), ("decision", "logout")])
            .await;
        assert!(done.status().is_success() || done.status().is_redirection(), "{}", done.status());

        let cookie = victim.cookie("tessera_sso").expect("victim cookie");
        assert!(cookie_mints_codes(&app, &client.0, &cookie).await, "the victim's SSO session lives");
        let refreshed = app
            .client
            .post(app.at("/oauth2/token"))
            .basic_auth(&client.0, Some(&client.1))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())])
            .send()
            .await
            .unwrap();
        assert_eq!(refreshed.status(), StatusCode::OK, "the victim's token session lives");
    }

    async fn a_refused_refresh_does_not_spend_the_token(app) {
        let client = web_client(&app).await;
        let (_, _, code) = signed_in_browser(&app, &client.0).await;
        let tokens = exchange(&app, &client, &code).await;
        let refresh = tokens["refresh_token"].as_str().expect("refresh token");
        let refresh_with = |scope: Option<&'static str>| {
            let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", refresh)];
            form.extend(scope.map(|s| ("scope", s)));
            app.client.post(app.at("/oauth2/token")).basic_auth(&client.0, Some(&client.1)).form(&form).send()
        };
        let widened = refresh_with(Some("openid email")).await.unwrap();
        assert_eq!(widened.status(), StatusCode::BAD_REQUEST);
        let body: Value = widened.json().await.unwrap();
        assert_eq!(body["error"], "invalid_scope");
        let retried = refresh_with(None).await.unwrap();
        assert_eq!(retried.status(), StatusCode::OK, "the refused request left the token unspent");
    }

    async fn parallel_wrong_passwords_all_count_towards_the_lockout(app) {
        let (_, email) = app.fresh_user(PASSWORD).await;
        for _ in 0..2 {
            let burst = (0..10).map(|_| app.login_response(&email, "not-the-password-at-all"));
            for response in futures::future::join_all(burst).await {
                assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            }
        }
        let response = app.login_response(&email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "20 failures lock the account, whatever their timing");
        app.advance(7200);
        assert_eq!(app.login_response(&email, PASSWORD).await.status(), StatusCode::OK, "the lock ends");
    }
}
