//! Identifiers as an attacker spells them: emails and usernames that look
//! alike (case, width, ligatures, `ß`, Unicode and Punycode domains) are one
//! account on every way in, invisible and bidi characters are refused
//! naming the field, and rows stored before the rules are rewritten at
//! start-up, or stop it when two accounts would meet.

use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{admin_token, assert_problem, user_id, TestApp, MEMBER_PASSWORD};
use crate::{every_engine, every_engine_admin};

const PASSWORD: &str = "plausible-Passphrase-93";

async fn register(app: &TestApp, body: Value) -> reqwest::Response {
    app.post_json("/api/v1/auth/register", body).await
}

/// Registers `email` (and `username`), 201 expected; the user.
async fn registered(app: &TestApp, email: &str, username: Option<&str>) -> Value {
    let response = register(
        app,
        json!({"email": email, "password": PASSWORD, "username": username}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED, "register {email:?}");
    response.json().await.unwrap()
}

/// The id of the account `identifier` signs in as.
async fn signs_in_as(app: &TestApp, identifier: &str) -> String {
    let tokens = app.login(identifier, PASSWORD).await;
    let me: Value = app.me(&tokens.access_token).await.json().await.unwrap();
    user_id(&me)
}

/// Asserts a 422 whose first violation names `field` and `rule`.
async fn assert_refused(response: reqwest::Response, field: &str, rule: &str) {
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    assert_eq!(problem["errors"][0]["rule"], rule, "{problem}");
}

every_engine! {
    async fn emails_differing_only_in_case_are_one_account(app) {
        let alice = registered(&app, "Alice@Example.COM", None).await;
        assert_eq!(alice["email"], "alice@example.com");
        let again = register(&app, json!({"email": "alice@example.com", "password": PASSWORD})).await;
        assert_problem(again, 409, "email_taken").await;
    }

    async fn a_ligature_is_the_same_account_as_its_letters(app) {
        // U+FB01 LATIN SMALL LIGATURE FI: NFKC makes it "fi".
        let finn = registered(&app, "\u{FB01}nn@example.com", None).await;
        assert_eq!(finn["email"], "finn@example.com");
        let again = register(&app, json!({"email": "finn@example.com", "password": PASSWORD})).await;
        assert_problem(again, 409, "email_taken").await;
        assert_eq!(signs_in_as(&app, "finn@example.com").await, user_id(&finn));
        assert_eq!(signs_in_as(&app, "\u{FB01}nn@example.com").await, user_id(&finn));
    }

    async fn a_fullwidth_email_signs_in_as_alice(app) {
        let alice = registered(&app, "alice@example.com", None).await;
        let again = register(&app, json!({"email": "ａｌｉｃｅ@example.com", "password": PASSWORD})).await;
        assert_problem(again, 409, "email_taken").await;
        assert_eq!(signs_in_as(&app, "ａｌｉｃｅ@example.com").await, user_id(&alice));
        assert_eq!(signs_in_as(&app, "ＡＬＩＣＥ@ＥＸＡＭＰＬＥ．ＣＯＭ").await, user_id(&alice));
    }

    async fn sharp_s_folds_to_ss_in_emails(app) {
        // The `caseless` crate applies Unicode full case folding
        // (CaseFolding.txt, statuses C and F): "ß" and "ẞ" fold to "ss", so
        // straße@ and strasse@ are one mailbox name here. (`to_lowercase`
        // would have kept them apart.)
        let first = registered(&app, "straße@example.com", None).await;
        assert_eq!(first["email"], "strasse@example.com");
        let again = register(&app, json!({"email": "strasse@example.com", "password": PASSWORD})).await;
        assert_problem(again, 409, "email_taken").await;
        assert_eq!(signs_in_as(&app, "STRAẞE@example.com").await, user_id(&first));
    }

    async fn a_unicode_domain_and_its_punycode_are_one_account(app) {
        let first = registered(&app, "user@bücher.example", None).await;
        assert_eq!(first["email"], "user@xn--bcher-kva.example");
        let again = register(&app, json!({"email": "user@xn--bcher-kva.example", "password": PASSWORD})).await;
        assert_problem(again, 409, "email_taken").await;
        assert_eq!(signs_in_as(&app, "USER@BÜCHER.example").await, user_id(&first));
        assert_eq!(signs_in_as(&app, "user@xn--bcher-kva.example").await, user_id(&first));
    }

    async fn an_invalid_domain_is_422_naming_email(app) {
        for bad in ["user@exa_mple.com", "user@-bucher.example", "user@xn--zz.example"] {
            let response = register(&app, json!({"email": bad, "password": PASSWORD})).await;
            assert_refused(response, "email", "invalid_domain").await;
        }
    }

    async fn usernames_in_another_case_or_width_collide(app) {
        let alice = registered(&app, "alice@example.com", Some("Alice")).await;
        assert_eq!(alice["username"], "alice");
        for (i, same) in ["ALICE", "ａｌｉｃｅ", "ＡＬＩＣＥ"].into_iter().enumerate() {
            let body = json!({"email": format!("other{i}@example.com"), "password": PASSWORD, "username": same});
            assert_problem(register(&app, body).await, 409, "username_taken").await;
        }
        assert_eq!(signs_in_as(&app, "ＡＬＩＣＥ").await, user_id(&alice));
    }

    async fn non_ascii_usernames_are_allowed_in_canonical_form(app) {
        let zoe = registered(&app, "zoe@example.com", Some("Zoe\u{0308}")).await;
        assert_eq!(zoe["username"], "zoë");
        let body = json!({"email": "zoe2@example.com", "password": PASSWORD, "username": "ZOË"});
        assert_problem(register(&app, body).await, 409, "username_taken").await;
        assert_eq!(signs_in_as(&app, "zoë").await, user_id(&zoe));
    }

    async fn a_username_with_a_space_or_a_bidi_control_is_422_naming_username(app) {
        let cases = [
            ("al ice", "invalid_characters"),
            ("al\u{3000}ice", "invalid_characters"),
            ("ali\u{202E}ce", "invisible_character"),
            ("\u{2067}alice", "invisible_character"),
            ("al\u{200B}ice", "invisible_character"),
        ];
        for (bad, rule) in cases {
            let body = json!({"email": "bad@example.com", "password": PASSWORD, "username": bad});
            assert_refused(register(&app, body).await, "username", rule).await;
        }
        let (_, tokens, _) = app.signed_in_user().await;
        let patch = app
            .call(Method::PATCH, "/api/v1/users/me", Some(&tokens.access_token), Some(json!({"username": "ali\u{202E}ce"})))
            .await;
        assert_refused(patch, "username", "invisible_character").await;
    }

    async fn a_profile_username_is_stored_in_canonical_form(app) {
        let (_, tokens, _) = app.signed_in_user().await;
        let patch = app
            .call(Method::PATCH, "/api/v1/users/me", Some(&tokens.access_token), Some(json!({"username": "ＢＯＢ"})))
            .await;
        assert_eq!(patch.status(), StatusCode::OK);
        let me: Value = patch.json().await.unwrap();
        assert_eq!(me["username"], "bob");
    }

    async fn an_identifier_without_canonical_form_fails_like_a_wrong_password(app) {
        registered(&app, "alice@example.com", Some("alice")).await;
        for identifier in ["al ice", "alice@", "ali\u{202E}ce", "a\u{0000}b"] {
            let response = app.login_response(identifier, PASSWORD).await;
            assert_problem(response, 401, "invalid_credentials").await;
        }
    }
}

every_engine_admin! {
    async fn administrators_create_change_and_search_in_canonical_form(app) {
        let root = admin_token(&app).await;
        let body = json!({"email": "ＺＯＥ@Bücher.example", "password": MEMBER_PASSWORD, "username": "Ｚｏｅ_1"});
        let zoe = app.admin_ok(Method::POST, "/api/v1/admin/users", &root, Some(body), 201).await;
        assert_eq!(zoe["email"], "zoe@xn--bcher-kva.example");
        assert_eq!(zoe["username"], "zoe_1");
        let twin = json!({"email": "zoe@xn--bcher-kva.example", "password": MEMBER_PASSWORD});
        let response = app.admin_call(Method::POST, "/api/v1/admin/users", &root, Some(twin)).await;
        assert_problem(response, 409, "email_taken").await;

        let path = format!("/api/v1/admin/users/{}", user_id(&zoe));
        let changed = app
            .admin_ok(Method::PATCH, &path, &root, Some(json!({"email": "Straße@Example.com"})), 200)
            .await;
        assert_eq!(changed["email"], "strasse@example.com");
        let bad = app
            .admin_call(Method::PATCH, &path, &root, Some(json!({"email": "st\u{200B}rasse@example.com"})))
            .await;
        assert_refused(bad, "email", "invisible_character").await;

        // The search folds the query as the column is folded.
        for q in ["STRASSE", "straße", "Strasse@EXAMPLE", "Zoe_", "ＺＯＥ"] {
            let page = app
                .admin_ok(Method::GET, &format!("/api/v1/admin/users?q={}", urlencode(q)), &root, None, 200)
                .await;
            let ids: Vec<String> = page["items"].as_array().unwrap().iter().map(user_id).collect();
            assert_eq!(ids, [user_id(&zoe)], "q={q:?}: {page}");
        }
    }
}

/// `text` percent-encoded for a query string.
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Overwrites a user's stored email as an older version could have stored
/// it (lowercased only), behind the service's back.
async fn store_old_form(app: &TestApp, user: &Value, email: &str) {
    app.db()
        .await
        .execute_with_user(
            "update user_account set email = $1 where user_id = $2",
            email,
            &user_id(user),
        )
        .await;
}

/// The stored emails, in any order.
async fn stored_emails(app: &TestApp) -> Vec<String> {
    let mut emails = app.db().await.texts("select email from user_account").await;
    emails.sort();
    emails
}

/// `tessera migrate` against the test's database.
fn migrate(app: &TestApp) -> std::process::Output {
    let dir = crate::helpers::TempDir::new();
    let mut command = Command::new(env!("CARGO_BIN_EXE_tessera"));
    command.current_dir(&dir.0);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TESSERA_") {
            command.env_remove(name);
        }
    }
    command
        .arg("migrate")
        .env("TESSERA_DATABASE_URL", &app.config.database_url)
        .output()
        .expect("run tessera migrate")
}

every_engine! {
    async fn rows_stored_before_the_rules_are_rewritten_at_start_up(app) {
        let user = registered(&app, "placeholder@example.com", None).await;
        store_old_form(&app, &user, "straße@bücher.example").await;
        assert_eq!(stored_emails(&app).await, ["straße@bücher.example"]);

        let restarted = app.sibling(|_| {}).await;

        assert_eq!(stored_emails(&app).await, ["strasse@xn--bcher-kva.example"]);
        let tokens = restarted.login("STRASSE@Bücher.example", PASSWORD).await;
        let me: Value = restarted.me(&tokens.access_token).await.json().await.unwrap();
        assert_eq!(me["id"], user["id"]);
    }

    async fn colliding_rows_refuse_start_and_migrate_naming_both_accounts(app) {
        let finn = registered(&app, "finn@example.com", None).await;
        let twin = registered(&app, "twin@example.com", None).await;
        // What an older version stored for "ﬁnn@example.com": another account.
        store_old_form(&app, &twin, "\u{FB01}nn@example.com").await;

        let refused = app.try_sibling(|_| {}).await.expect_err("start refused");
        let message = refused
            .downcast_ref::<tessera::RefusedToStart>()
            .unwrap_or_else(|| panic!("not a refusal to start: {refused:#}"))
            .to_string();
        assert!(message.contains(&user_id(&finn)) && message.contains(&user_id(&twin)), "{message}");
        assert!(message.contains("email"), "{message}");

        let output = migrate(&app);
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&user_id(&finn)) && stderr.contains(&user_id(&twin)), "{stderr}");
        assert!(!stderr.contains("argon2"), "{stderr}");

        // Nothing was merged or rewritten.
        assert_eq!(stored_emails(&app).await, ["finn@example.com", "\u{FB01}nn@example.com"]);

        // Once the operator renames one of them, both start and migrate go on.
        store_old_form(&app, &twin, "finn.twin@example.com").await;
        let output = migrate(&app);
        assert!(output.status.success(), "{output:?}");
        if let Err(err) = app.try_sibling(|_| {}).await {
            panic!("start refused after the rename: {err:#}");
        }
    }
}
