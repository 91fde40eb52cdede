//! Refresh-token rotation: one use per token, reuse revokes the session,
//! idle and absolute lifetimes, and what is stored of the token.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_problem, sha256_hex, user_id, Engine};
use crate::{every_engine, every_engine_with};

every_engine! {
    async fn refresh_returns_a_new_pair_and_spends_the_old_token(app) {
        let (_, first, _) = app.signed_in_user().await;
        let second = app.refresh(&first.refresh_token).await;
        assert_ne!(second.refresh_token, first.refresh_token);
        assert_ne!(second.access_token, first.access_token);
        assert_eq!(second.session_id, first.session_id);
        assert_eq!((second.token_type.as_str(), second.expires_in), ("Bearer", 900));
        assert_eq!(app.me(&second.access_token).await.status(), StatusCode::OK);
        let third = app.refresh(&second.refresh_token).await;
        assert_eq!(third.session_id, first.session_id);
    }

    async fn refresh_token_reuse_revokes_the_session(app) {
        let (_, first, _) = app.signed_in_user().await;
        let second = app.refresh(&first.refresh_token).await;
        assert_problem(app.refresh_response(&first.refresh_token).await, 401, "invalid_grant").await;
        assert_problem(app.refresh_response(&second.refresh_token).await, 401, "invalid_grant").await;
        assert_problem(app.me(&second.access_token).await, 401, "invalid_token").await;
        assert_problem(app.me(&first.access_token).await, 401, "invalid_token").await;
    }

    async fn suspended_user_cannot_refresh(app) {
        let (user, tokens, _) = app.signed_in_user().await;
        app.set_user_status(&user_id(&user), "suspended").await;
        assert_problem(app.refresh_response(&tokens.refresh_token).await, 401, "invalid_grant").await;
    }

    async fn garbage_refresh_tokens_are_invalid_grant(app) {
        let (_, tokens, _) = app.signed_in_user().await;
        let almost = format!("{}x", &tokens.refresh_token[..42]);
        for garbage in ["", "garbage", "a.b.c", almost.as_str(), &tokens.access_token] {
            let response = app.refresh_response(garbage).await;
            assert_problem(response, 401, "invalid_grant").await;
        }
    }

    async fn refresh_without_a_token_is_invalid_body(app) {
        assert_problem(app.post_json("/api/v1/auth/refresh", json!({})).await, 422, "invalid_body").await;
        let response = app.request(Method::POST, "/api/v1/auth/refresh").send().await.unwrap();
        assert_problem(response, 422, "invalid_body").await;
        let wrong_type = json!({"refresh_token": 42});
        assert_problem(app.post_json("/api/v1/auth/refresh", wrong_type).await, 422, "invalid_body").await;
    }

    async fn refresh_tokens_are_random_and_stored_only_as_sha256(app) {
        let (_, first, _) = app.signed_in_user().await;
        let second = app.refresh(&first.refresh_token).await;
        for token in [&first.refresh_token, &second.refresh_token] {
            assert_eq!(token.len(), 43, "{token}");
            assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{token}");
        }
        let db = app.db().await;
        let hashes = db.texts("select token_hash from refresh_token").await;
        let parents = db.texts("select coalesce(parent_hash, '') from refresh_token").await;
        assert_eq!(hashes.len(), 2);
        for token in [&first.refresh_token, &second.refresh_token] {
            assert!(hashes.contains(&sha256_hex(token)), "{hashes:?}");
            assert!(!hashes.iter().chain(&parents).any(|h| h.contains(token.as_str())));
        }
        if app.engine == Engine::Sqlite {
            let mut scanned = 0;
            for name in ["tessera.db", "tessera.db-wal", "tessera.db-shm"] {
                let Ok(bytes) = std::fs::read(app.config.data_dir.join(name)) else { continue };
                scanned += 1;
                for token in [&first.refresh_token, &second.refresh_token] {
                    assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()), "{token} in {name}");
                }
            }
            assert!(scanned >= 1, "no database file found in {}", app.config.data_dir.display());
        }
    }
}

every_engine_with! {
    async fn idle_refresh_token_expires(app) with |c| {
        c.tokens.refresh_idle_ttl_secs = 1;
    }; {
        let (_, tokens, _) = app.signed_in_user().await;
        app.advance(1);
        assert_problem(app.refresh_response(&tokens.refresh_token).await, 401, "invalid_grant").await;
    }

    async fn session_ends_at_its_absolute_lifetime_despite_activity(app) with |c| {
        c.tokens.session_absolute_ttl_secs = 2;
        c.tokens.refresh_idle_ttl_secs = 60;
    }; {
        let (_, first, _) = app.signed_in_user().await;
        app.advance(1);
        let second = app.refresh(&first.refresh_token).await;
        app.advance(1);
        assert_problem(app.refresh_response(&second.refresh_token).await, 401, "invalid_grant").await;
    }
}
