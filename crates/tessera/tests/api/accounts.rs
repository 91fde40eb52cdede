//! Registration: the account shape, uniqueness, validation and policy.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::assert_problem;
use crate::{every_engine, every_engine_with};

every_engine! {
    async fn register_returns_the_user_without_any_hash(app) {
        let response = app
            .post_json("/api/v1/auth/register", json!({"email": "Ada@Example.com", "password": "analytical-Engine-1843", "username": "Ada_L"}))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let user: serde_json::Value = response.json().await.unwrap();
        assert_eq!(user["email"], "ada@example.com");
        assert_eq!(user["username"], "ada_l");
        assert_eq!(user["status"], "active");
        assert_eq!(user["email_verified"], false);
        assert!(uuid::Uuid::parse_str(user["id"].as_str().unwrap()).is_ok());
        let text = user.to_string();
        assert!(!text.contains("argon2") && !text.contains("hash") && !text.contains("password"), "{text}");
    }

    async fn email_and_username_are_unique_case_insensitively(app) {
        let first = json!({"email": "grace@example.com", "password": "compiler-Pioneer-1952", "username": "grace"});
        assert_eq!(app.post_json("/api/v1/auth/register", first).await.status(), StatusCode::CREATED);
        let same_email = json!({"email": "GRACE@example.COM", "password": "compiler-Pioneer-1952"});
        assert_problem(app.post_json("/api/v1/auth/register", same_email).await, 409, "email_taken").await;
        let same_username = json!({"email": "other@example.com", "password": "compiler-Pioneer-1952", "username": "GRACE"});
        assert_problem(app.post_json("/api/v1/auth/register", same_username).await, 409, "username_taken").await;
    }

    async fn a_lookalike_email_with_an_invisible_character_is_refused(app) {
        // "ada@example.com" with a zero-width space: it would look like the
        // real account everywhere it is shown.
        app.register("ada-lookalike@example.com", "plausible-Passphrase-93").await;
        for hidden in ["ada-lookalike\u{200B}@example.com", "\u{202E}ada-lookalike@example.com"] {
            let body = json!({"email": hidden, "password": "plausible-Passphrase-93"});
            let problem = assert_problem(app.post_json("/api/v1/auth/register", body).await, 422, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], "email", "{problem}");
            assert_eq!(problem["errors"][0]["rule"], "invisible_character", "{problem}");
        }
    }

    async fn invalid_email_and_username_are_422_listing_each_field(app) {
        let body = json!({"email": "not-an-email", "password": "compiler-Pioneer-1952", "username": "x!"});
        let problem = assert_problem(app.post_json("/api/v1/auth/register", body).await, 422, "validation_failed").await;
        let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&"email") && fields.contains(&"username"), "{problem}");
        for bad in ["ab", "this-username-is-far-too-long-for-us", "Spaces here", "emoji😀"] {
            let body = json!({"email": "u@example.com", "password": "compiler-Pioneer-1952", "username": bad});
            assert_problem(app.post_json("/api/v1/auth/register", body).await, 422, "validation_failed").await;
        }
    }

    async fn password_policy_lists_every_violated_rule(app) {
        let cases = [
            ("short1", vec!["too_short", "too_weak"]),
            ("password", vec!["common_password", "too_weak"]),
            ("P@ssw0rd", vec!["common_password", "too_weak"]),
            ("margaret-hamilton-apollo", vec!["contains_email"]),
            ("abc", vec!["too_short", "common_password", "too_weak"]),
            // Trivial at any length (NIST SP 800-63B-4 §3.1.1.2).
            ("xxxxxxxxxxxxxxxx", vec!["too_weak"]),
            ("abababababababab", vec!["too_weak"]),
            ("1234567890123", vec!["too_weak"]),
            ("passw0rd!", vec!["too_weak"]),
        ];
        for (password, expected) in cases {
            let body = json!({"email": "margaret-hamilton@example.com", "password": password});
            let problem = assert_problem(app.post_json("/api/v1/auth/register", body).await, 422, "validation_failed").await;
            let rules: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["rule"].as_str().unwrap()).collect();
            for rule in &expected {
                assert!(rules.contains(rule), "password {password:?}: {rules:?} lacks {rule}");
            }
        }
        let long = "x".repeat(129);
        let problem = assert_problem(
            app.post_json("/api/v1/auth/register", json!({"email": "m@example.com", "password": long})).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["rule"], "too_long");
    }
}

every_engine_with! {
    async fn character_class_rule_is_optional_and_enforced_when_set(app) with |c| {
        c.password_policy.min_character_classes = 3;
    }; {
        let weak = json!({"email": "cc@example.com", "password": "onlylowercaseletters"});
        let problem = assert_problem(app.post_json("/api/v1/auth/register", weak).await, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["rule"], "character_classes");
        let strong = json!({"email": "cc@example.com", "password": "Mixed-Case-and-7"});
        assert_eq!(app.post_json("/api/v1/auth/register", strong).await.status(), StatusCode::CREATED);
    }

    async fn policy_lengths_are_configurable(app) with |c| {
        c.password_policy.min_length = 12;
        c.password_policy.max_length = 20;
    }; {
        let short = json!({"email": "len@example.com", "password": "elevenchars"});
        let problem = assert_problem(app.post_json("/api/v1/auth/register", short).await, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["rule"], "too_short");
        let long = json!({"email": "len@example.com", "password": "twenty-one-characters"});
        let problem = assert_problem(app.post_json("/api/v1/auth/register", long).await, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["rule"], "too_long");
    }

    async fn passwords_are_stored_as_argon2id_with_configured_cost(app) with |c| {
        c.password_hash.memory_kib = 19456;
        c.password_hash.iterations = 2;
    }; {
        app.register("hash@example.com", "stored-Safely-2024").await;
        let hashes = app.db().await.texts("select password_hash from user_account").await;
        assert_eq!(hashes.len(), 1);
        assert!(hashes[0].starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", hashes[0]);
    }
}

every_engine! {
    async fn concurrent_registrations_of_one_email_answer_one_201_and_409s(app) {
        // Sixteen at once, as the fuzz test's valid bodies arrive: one
        // account is made, the rest are told the email is taken — never a
        // 5xx because two transactions raced for the same unique key. (The
        // hash queue may turn some away first: 503 `overloaded` with
        // Retry-After, the flood answer, is allowed.)
        let attempts = (0..16).map(|i| {
            let app = &app;
            async move {
                app.post_json(
                    "/api/v1/auth/register",
                    json!({"email": "race@example.com", "password": format!("a-Strong-Passphrase-{i}"), "username": "racer"}),
                )
                .await
            }
        });
        let mut answers = Vec::new();
        for response in futures::future::join_all(attempts).await {
            let status = response.status();
            let retry_after = response.headers().contains_key("retry-after");
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            answers.push((status, body["code"].as_str().unwrap_or_default().to_owned(), retry_after));
        }
        let created = answers.iter().filter(|(s, _, _)| *s == StatusCode::CREATED).count();
        assert_eq!(created, 1, "{answers:?}");
        for (status, code, retry_after) in &answers {
            let fine = match *status {
                StatusCode::CREATED => true,
                StatusCode::CONFLICT => code == "email_taken",
                StatusCode::SERVICE_UNAVAILABLE => code == "overloaded" && *retry_after,
                _ => false,
            };
            assert!(fine, "{answers:?}");
        }
    }
}
