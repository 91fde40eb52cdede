//! The signed-in user's account: reading, PATCH semantics and validation,
//! and the password change with its session revocation.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::every_engine;
use crate::helpers::{assert_problem, user_id, TestApp};

const PASSWORD: &str = "plausible-Passphrase-93";

async fn patch_me(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.call(Method::PATCH, "/api/v1/users/me", Some(token), Some(body))
        .await
}

async fn patched(app: &TestApp, token: &str, body: Value) -> Value {
    let response = patch_me(app, token, body).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn change_password(app: &TestApp, token: &str, current: &str, new: &str) -> reqwest::Response {
    let body = json!({"current_password": current, "new_password": new});
    app.call(Method::POST, "/api/v1/users/me/password", Some(token), Some(body))
        .await
}

every_engine! {
    async fn me_returns_the_signed_in_user(app) {
        let (user, tokens, _) = app.signed_in_user().await;
        let response = app.me(&tokens.access_token).await;
        assert_eq!(response.status(), StatusCode::OK);
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["id"], user["id"]);
        assert_eq!(me["email"], user["email"]);
        assert_eq!(me["status"], "active");
        assert_eq!(me["profile"], json!({}));
        assert!(!me.to_string().contains("argon2"));
    }

    async fn patch_changes_only_the_given_fields_and_null_clears(app) {
        let (_, tokens, _) = app.signed_in_user().await;
        let token = &tokens.access_token;
        let me = patched(&app, token, json!({"username": "New_Name", "display_name": "  Ada L.  ", "profile": {"lang": "en"}})).await;
        assert_eq!((&me["username"], &me["display_name"], &me["profile"]), (&json!("new_name"), &json!("Ada L."), &json!({"lang": "en"})));

        let me = patched(&app, token, json!({"display_name": "Ada"})).await;
        assert_eq!((&me["username"], &me["display_name"], &me["profile"]), (&json!("new_name"), &json!("Ada"), &json!({"lang": "en"})));

        let me = patched(&app, token, json!({"display_name": null})).await;
        assert_eq!((&me["username"], &me["display_name"], &me["profile"]), (&json!("new_name"), &Value::Null, &json!({"lang": "en"})));

        let me = patched(&app, token, json!({})).await;
        assert_eq!((&me["username"], &me["display_name"], &me["profile"]), (&json!("new_name"), &Value::Null, &json!({"lang": "en"})));

        let fresh: Value = app.me(token).await.json().await.unwrap();
        assert_eq!(fresh["username"], "new_name");
        assert_eq!(fresh["profile"], json!({"lang": "en"}));

        let me = patched(&app, token, json!({"username": null, "profile": {}})).await;
        assert_eq!((&me["username"], &me["profile"]), (&Value::Null, &json!({})));
    }

    async fn taken_username_is_409(app) {
        let body = json!({"email": "holder@example.com", "password": PASSWORD, "username": "holder"});
        assert_eq!(app.post_json("/api/v1/auth/register", body).await.status(), StatusCode::CREATED);
        let (_, tokens, _) = app.signed_in_user().await;
        assert_problem(patch_me(&app, &tokens.access_token, json!({"username": "HOLDER"})).await, 409, "username_taken").await;
        let me: Value = app.me(&tokens.access_token).await.json().await.unwrap();
        assert_eq!(me["username"], Value::Null);
    }

    async fn invalid_profile_changes_are_422(app) {
        let (_, tokens, _) = app.signed_in_user().await;
        let token = &tokens.access_token;
        let problem = assert_problem(patch_me(&app, token, json!({"username": "no spaces allowed"})).await, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "username");

        let huge = json!({"profile": {"bio": "x".repeat(16 * 1024 + 1)}});
        let problem = assert_problem(patch_me(&app, token, huge).await, 422, "validation_failed").await;
        assert_eq!((&problem["errors"][0]["field"], &problem["errors"][0]["rule"]), (&json!("profile"), &json!("too_large")));

        for not_object in [json!([1, 2]), json!("text"), json!(7)] {
            let problem = assert_problem(patch_me(&app, token, json!({"profile": not_object})).await, 422, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], "profile");
        }

        // An owner cannot declare their own address verified.
        assert_problem(patch_me(&app, token, json!({"email_verified": true})).await, 422, "invalid_body").await;
        let me: Value = app.me(token).await.json().await.unwrap();
        assert_eq!(me["profile"], json!({}));
        assert_eq!(me["username"], Value::Null);
    }

    async fn wrong_current_password_is_400(app) {
        let (_, tokens, _) = app.signed_in_user().await;
        let response = change_password(&app, &tokens.access_token, "not-the-Password-1", "brand-new-Secret-77").await;
        assert_problem(response, 400, "wrong_password").await;
    }

    async fn new_password_must_meet_the_policy(app) {
        let (_, tokens, password) = app.signed_in_user().await;
        let problem = assert_problem(change_password(&app, &tokens.access_token, &password, "short").await, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["rule"], "too_short");
        assert_problem(change_password(&app, &tokens.access_token, &password, "password").await, 422, "validation_failed").await;
    }

    async fn password_change_revokes_other_sessions_and_swaps_the_password(app) {
        let (user, email) = app.fresh_user(PASSWORD).await;
        let current = app.login(&email, PASSWORD).await;
        let other = app.login(&email, PASSWORD).await;
        let new_password = "brand-new-Secret-77";
        let response = change_password(&app, &current.access_token, PASSWORD, new_password).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);

        assert_problem(app.me(&other.access_token).await, 401, "invalid_token").await;
        assert_problem(app.refresh_response(&other.refresh_token).await, 401, "invalid_grant").await;

        let me: Value = app.me(&current.access_token).await.json().await.unwrap();
        assert_eq!(me["id"], user["id"]);
        let renewed = app.refresh(&current.refresh_token).await;
        assert_eq!(app.me(&renewed.access_token).await.status(), StatusCode::OK);

        assert_problem(app.login_response(&email, PASSWORD).await, 401, "invalid_credentials").await;
        let tokens = app.login(&email, new_password).await;
        let me: Value = app.me(&tokens.access_token).await.json().await.unwrap();
        assert_eq!(user_id(&me), user_id(&user));
    }
}
