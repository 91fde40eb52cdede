//! One component owns every write to users and sessions, with the cache
//! invalidation it implies: whichever path changes a user — the admin API,
//! the user's own account routes, OpenID Connect consent — the node that
//! made the change stops serving what it had cached at once. The session
//! cache lives an hour here, so only invalidation (never expiry) can
//! explain a fresh answer.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::every_engine_with;
use crate::flow::{create_web_client, obtain_code, REDIRECT_URI};
use crate::helpers::{admin_token, user_id, with_bootstrap_admin, TestApp};

const VERIFIER: &str = "a-verifier-that-is-long-enough-for-rfc-7636-section-4.1-0123456789";

fn long_lived_caches(config: &mut tessera::Config) {
    with_bootstrap_admin(config);
    config.tokens.session_cache_ttl_secs = 3600;
}

/// `GET /api/v1/users/me` as JSON (200 expected).
async fn me(app: &TestApp, token: &str) -> Value {
    let response = app.me(token).await;
    assert_eq!(response.status(), StatusCode::OK, "me");
    response.json().await.expect("me json")
}

/// A web client's access token for the user (authorization code + PKCE).
async fn client_access_token(app: &TestApp, email: &str, password: &str) -> (String, String) {
    let client = create_web_client(app, &[]).await;
    let id = client["client_id"].as_str().expect("id").to_owned();
    let secret = client["client_secret"].as_str().expect("secret").to_owned();
    let (code, _) = obtain_code(app, &id, REDIRECT_URI, "openid", Some(VERIFIER), email, password).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ];
    let response = app
        .client
        .post(app.at("/oauth2/token"))
        .basic_auth(&id, Some(&secret))
        .form(&form)
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("token json");
    (
        id,
        body["access_token"].as_str().expect("access token").to_owned(),
    )
}

every_engine_with! {
    async fn the_users_own_changes_are_seen_at_once(app) with long_lived_caches; {
        let (user, laptop, password) = app.signed_in_user().await;
        let email = user["email"].as_str().unwrap().to_owned();
        assert!(me(&app, &laptop.access_token).await["display_name"].is_null(), "cached");
        let patched = app.call(Method::PATCH, "/api/v1/users/me", Some(&laptop.access_token), Some(json!({"display_name": "Ada L."}))).await;
        assert_eq!(patched.status(), StatusCode::OK);
        assert_eq!(me(&app, &laptop.access_token).await["display_name"], "Ada L.", "the profile change, not the cached user");

        let phone = app.login(&email, &password).await;
        me(&app, &phone.access_token).await;
        let body = json!({"current_password": password, "new_password": "another-Passphrase-77"});
        let changed = app.call(Method::POST, "/api/v1/users/me/password", Some(&laptop.access_token), Some(body)).await;
        assert_eq!(changed.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.me(&phone.access_token).await.status(), StatusCode::UNAUTHORIZED, "the other session ended at once");
        me(&app, &laptop.access_token).await;
    }

    async fn an_administrators_changes_are_seen_at_once(app) with long_lived_caches; {
        let root = admin_token(&app).await;
        let (user, tokens, _) = app.signed_in_user().await;
        let path = format!("/api/v1/admin/users/{}", user_id(&user));
        me(&app, &tokens.access_token).await;
        let renamed = format!("renamed-{}@example.com", uuid::Uuid::new_v4().simple());
        app.admin_ok(Method::PATCH, &path, &root, Some(json!({"email": renamed})), 200).await;
        assert_eq!(me(&app, &tokens.access_token).await["email"], renamed.as_str(), "the new email, not the cached one");
        app.admin_ok(Method::POST, &format!("{path}/suspend"), &root, None, 200).await;
        assert_eq!(app.me(&tokens.access_token).await.status(), StatusCode::UNAUTHORIZED, "suspended at once");
    }

    async fn withdrawing_consent_ends_the_clients_cached_session_at_once(app) with long_lived_caches; {
        let (user, api, password) = app.signed_in_user().await;
        let email = user["email"].as_str().unwrap().to_owned();
        let (client_id, access) = client_access_token(&app, &email, &password).await;
        assert_eq!(app.get_with("/oauth2/userinfo", &access).await.status(), StatusCode::OK, "cached");
        let path = format!("/api/v1/users/me/consents/{client_id}");
        let withdrawn = app.call(Method::DELETE, &path, Some(&api.access_token), None).await;
        assert_eq!(withdrawn.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.get_with("/oauth2/userinfo", &access).await.status(), StatusCode::UNAUTHORIZED, "ended at once");
        me(&app, &api.access_token).await;
    }
}
