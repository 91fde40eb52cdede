//! Logout, logout-all, and the caller's session list and revocation.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::user_id;
use crate::helpers::{assert_problem, TestApp, Tokens};
use crate::{every_engine, every_engine_with};

const PASSWORD: &str = "plausible-Passphrase-93";

async fn list(app: &TestApp, tokens: &Tokens) -> Vec<Value> {
    let response = app.get_with("/api/v1/sessions", &tokens.access_token).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn post_empty(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.call(Method::POST, path, Some(token), None).await
}

every_engine! {
    async fn logout_revokes_the_current_session(app) {
        let (_, tokens, _) = app.signed_in_user().await;
        assert_eq!(post_empty(&app, "/api/v1/auth/logout", &tokens.access_token).await.status(), StatusCode::NO_CONTENT);
        assert_problem(app.me(&tokens.access_token).await, 401, "invalid_token").await;
        assert_problem(app.refresh_response(&tokens.refresh_token).await, 401, "invalid_grant").await;
    }

    async fn logout_all_revokes_every_session_of_the_user_only(app) {
        let (_, email) = app.fresh_user(PASSWORD).await;
        let one = app.login(&email, PASSWORD).await;
        let two = app.login(&email, PASSWORD).await;
        let (_, other, _) = app.signed_in_user().await;
        assert_eq!(post_empty(&app, "/api/v1/auth/logout-all", &one.access_token).await.status(), StatusCode::NO_CONTENT);
        for tokens in [&one, &two] {
            assert_problem(app.me(&tokens.access_token).await, 401, "invalid_token").await;
            assert_problem(app.refresh_response(&tokens.refresh_token).await, 401, "invalid_grant").await;
        }
        assert_eq!(app.me(&other.access_token).await.status(), StatusCode::OK);
        app.refresh(&other.refresh_token).await;
    }

    async fn session_list_shows_each_session_and_marks_the_current_one(app) {
        let (_, email) = app.fresh_user(PASSWORD).await;
        let laptop = app.login_with_agent(&email, PASSWORD, "TesseraTest/1.0 (laptop)").await;
        let phone = app.login_with_agent(&email, PASSWORD, "TesseraTest/1.0 (phone)").await;
        let (_, stranger, _) = app.signed_in_user().await;
        let sessions = list(&app, &phone).await;
        assert_eq!(sessions.len(), 2, "{sessions:?}");
        for session in &sessions {
            let id = session["id"].as_str().unwrap();
            assert!(id == laptop.session_id || id == phone.session_id, "{session}");
            assert_ne!(id, stranger.session_id);
            assert_eq!(session["ip"], "127.0.0.1");
            assert_eq!(session["ip"], app.addr.ip().to_string().as_str());
            assert_eq!(session["current"], id == phone.session_id, "{session}");
            for field in ["created_at", "last_used_at"] {
                let text = session[field].as_str().unwrap();
                assert!(chrono::DateTime::parse_from_rfc3339(text).is_ok(), "{field}: {text}");
            }
            let agent = if id == laptop.session_id { "TesseraTest/1.0 (laptop)" } else { "TesseraTest/1.0 (phone)" };
            assert_eq!(session["user_agent"], agent);
        }
        app.advance(1);
        app.refresh(&phone.refresh_token).await;
        let refreshed = list(&app, &laptop).await;
        let phone_now = refreshed.iter().find(|s| s["id"] == phone.session_id.as_str()).unwrap();
        let parse = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
        assert!(parse(&phone_now["last_used_at"]) > parse(&phone_now["created_at"]), "refresh did not touch the session: {phone_now}");
        let from_laptop = list(&app, &laptop).await;
        let current: Vec<&Value> = from_laptop.iter().filter(|s| s["current"] == true).collect();
        assert_eq!(current.len(), 1);
        assert_eq!(current[0]["id"], laptop.session_id.as_str());
    }

    async fn deleting_another_own_session_revokes_it(app) {
        let (_, email) = app.fresh_user(PASSWORD).await;
        let keep = app.login(&email, PASSWORD).await;
        let drop = app.login(&email, PASSWORD).await;
        let path = format!("/api/v1/sessions/{}", drop.session_id);
        let response = app.call(Method::DELETE, &path, Some(&keep.access_token), None).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_problem(app.me(&drop.access_token).await, 401, "invalid_token").await;
        assert_problem(app.refresh_response(&drop.refresh_token).await, 401, "invalid_grant").await;
        let ids: Vec<Value> = list(&app, &keep).await.iter().map(|s| s["id"].clone()).collect();
        assert_eq!(ids, vec![Value::from(keep.session_id.clone())]);
    }

    async fn another_users_session_is_not_found(app) {
        let (_, mine, _) = app.signed_in_user().await;
        let (_, theirs, _) = app.signed_in_user().await;
        let path = format!("/api/v1/sessions/{}", theirs.session_id);
        assert_problem(app.call(Method::DELETE, &path, Some(&mine.access_token), None).await, 404, "not_found").await;
        assert_eq!(app.me(&theirs.access_token).await.status(), StatusCode::OK);
        let missing = format!("/api/v1/sessions/{}", uuid::Uuid::new_v4());
        assert_problem(app.call(Method::DELETE, &missing, Some(&mine.access_token), None).await, 404, "not_found").await;
    }

    async fn non_uuid_session_id_is_not_found(app) {
        let (_, tokens, _) = app.signed_in_user().await;
        let response = app.call(Method::DELETE, "/api/v1/sessions/not-a-uuid", Some(&tokens.access_token), None).await;
        assert_problem(response, 404, "not_found").await;
    }
}

every_engine_with! {
    async fn suspending_a_user_ends_their_access_tokens(app) with |c| {
        c.tokens.session_cache_ttl_secs = 1;
    }; {
        let (user, tokens, _) = app.signed_in_user().await;
        assert_eq!(app.me(&tokens.access_token).await.status(), StatusCode::OK);
        // a change made elsewhere (another node, an admin) reaches this node
        // within the session cache lifetime.
        app.set_user_status(&user_id(&user), "suspended").await;
        app.advance(1);
        assert_problem(app.me(&tokens.access_token).await, 401, "invalid_token").await;
    }
}
