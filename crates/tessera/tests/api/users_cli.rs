//! `tessera users …` as an operator runs it: the real binary creating the
//! first super_admin (password on standard input) in the database of a
//! running server, which can then sign in and use the admin API; listing
//! and showing accounts; and the changes the admin API makes (password,
//! roles, suspension) with the same effects. The running server sees a
//! change made by another process once its session and access caches have
//! expired (`session_cache_ttl_secs`, as for a change on another node): the
//! tests move its clock past that.

use std::process::Stdio;

use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use crate::every_engine;
use crate::helpers::{jwt_part, TestApp, Tokens};

/// Past every cache lifetime of the test server (5 s by default).
const PAST_THE_CACHES_SECS: i64 = 6;

/// A signed-in user: its id, email, tokens and password.
async fn someone(app: &TestApp) -> (String, String, Tokens, String) {
    let (user, tokens, password) = app.signed_in_user().await;
    let id = user["id"].as_str().unwrap().to_owned();
    let email = user["email"].as_str().unwrap().to_owned();
    (id, email, tokens, password)
}

/// `tessera users <args>` that must succeed; its JSON output.
async fn users_json(app: &TestApp, args: &[&str]) -> Value {
    let (code, stdout, stderr) = users(app, args, "").await;
    assert_eq!(code, Some(0), "users {args:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

/// Runs `tessera users <args>` on the app's database with `stdin` piped in;
/// returns exit code, stdout and stderr.
async fn users(app: &TestApp, args: &[&str], stdin: &str) -> (Option<i32>, String, String) {
    let mut command = tokio::process::Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TESSERA_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .current_dir(&app.config.data_dir)
        .env("TESSERA_DATABASE_URL", &app.config.database_url)
        .env("TESSERA_MASTER_KEY", crate::helpers::test_master_key())
        .arg("users")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tessera");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).await.expect("write stdin");
    drop(input);
    let output = child.wait_with_output().await.expect("wait");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

every_engine! {
    async fn users_create_makes_a_super_admin_who_can_use_the_admin_api(app) {
        let password = "Operator-Chosen-Passphrase-1";
        let (code, stdout, stderr) = users(
            &app,
            &["create", "--email", "Ops@Example.com", "--role", "super_admin", "--password-stdin", "--json"],
            &format!("{password}\n"),
        )
        .await;
        assert_eq!(code, Some(0), "stderr: {stderr}");
        let created: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(created["email"], "ops@example.com");
        assert_eq!(created["roles"], json!(["super_admin"]));
        assert!(!stdout.contains(password) && !stderr.contains(password), "the password is never printed");

        let tokens = app.login("ops@example.com", password).await;
        let claims = jwt_part(&tokens.access_token, 1);
        assert_eq!(claims["roles"], json!(["super_admin"]));
        assert_eq!(claims["permissions"], json!(["*"]));
        let response = app
            .call(Method::GET, "/api/v1/admin/users", Some(&tokens.access_token), None)
            .await;
        assert_eq!(response.status(), 200, "the CLI-made super_admin opens the admin API");
    }

    async fn users_create_refuses_bad_input_with_a_clear_message(app) {
        let (code, _, stderr) = users(
            &app,
            &["create", "--email", "a@example.com", "--role", "super_admin", "--password-stdin"],
            "",
        )
        .await;
        assert_ne!(code, Some(0));
        assert!(stderr.contains("standard input held no password"), "{stderr}");

        let (code, _, stderr) = users(
            &app,
            &["create", "--email", "a@example.com", "--role", "super_admin", "--password-stdin"],
            "short\n",
        )
        .await;
        assert_ne!(code, Some(0));
        assert!(stderr.contains("password:"), "names the password rule: {stderr}");

        let (code, _, stderr) = users(
            &app,
            &["create", "--email", "a@example.com", "--role", "emperor", "--password-stdin"],
            "Operator-Chosen-Passphrase-1\n",
        )
        .await;
        assert_ne!(code, Some(0));
        assert!(stderr.contains("no role named emperor"), "{stderr}");

        let (code, _, stderr) = users(
            &app,
            &["create", "--email", "a@example.com", "--tenant", "nope", "--password-stdin"],
            "Operator-Chosen-Passphrase-1\n",
        )
        .await;
        assert_ne!(code, Some(0));
        assert!(stderr.contains("nope"), "names the missing tenant: {stderr}");

        let login = app
            .post_json("/api/v1/auth/login", json!({"identifier": "a@example.com", "password": "Operator-Chosen-Passphrase-1"}))
            .await;
        assert_eq!(login.status(), 401, "nothing was created");
    }
}

every_engine! {
    async fn users_list_and_show_find_accounts_by_id_and_by_email(app) {
        let (first_id, first, _, _) = someone(&app).await;
        let (_, second, _, _) = someone(&app).await;

        let listed = users_json(&app, &["list", "--json"]).await;
        let emails: Vec<&str> = listed.as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
        assert!(emails.contains(&first.as_str()) && emails.contains(&second.as_str()), "{listed}");
        let (code, table, _) = users(&app, &["list"], "").await;
        assert_eq!(code, Some(0));
        assert!(table.starts_with("ID") && table.contains(&first) && table.contains("active"), "{table}");

        let shown = users_json(&app, &["show", &first.to_uppercase(), "--json"]).await;
        assert_eq!(shown["id"], first_id.as_str(), "found by email, in any case");
        assert_eq!(shown["roles"], json!(["user"]));
        assert_eq!(shown["status"], "active");
        assert!(shown["permissions"].is_array(), "{shown}");
        let (code, text, stderr) = users(&app, &["show", &first_id], "").await;
        assert_eq!(code, Some(0), "{stderr}");
        assert!(text.contains(&format!("email:          {first}")), "found by id: {text}");

        let (code, _, stderr) = users(&app, &["show", "nobody@example.com"], "").await;
        assert_eq!(code, Some(1));
        assert!(stderr.contains("no user with email nobody@example.com"), "{stderr}");
        let unknown = uuid::Uuid::new_v4().to_string();
        let (code, _, stderr) = users(&app, &["show", &unknown], "").await;
        assert_eq!(code, Some(1));
        assert!(stderr.contains(&format!("no user with id {unknown}")), "{stderr}");
    }

    async fn users_suspend_ends_sessions_and_refuses_login_until_unsuspended(app) {
        let (id, email, tokens, password) = someone(&app).await;
        let suspended = users_json(&app, &["suspend", &email, "--json"]).await;
        assert_eq!(suspended["status"], "suspended");
        app.advance(PAST_THE_CACHES_SECS);
        assert_eq!(app.me(&tokens.access_token).await.status(), 401, "the session ended");
        assert_eq!(app.refresh_response(&tokens.refresh_token).await.status(), 401);
        let refused = app.login_response(&email, &password).await.status();
        assert!(refused.is_client_error(), "a suspended user cannot log in: {refused}");

        let active = users_json(&app, &["unsuspend", &id, "--json"]).await;
        assert_eq!(active["status"], "active");
        let (code, text, _) = users(&app, &["suspend", &id], "").await;
        assert_eq!(code, Some(0));
        assert!(text.contains("every session of the user ended"), "{text}");
        let (code, text, _) = users(&app, &["reactivate", &email], "").await;
        assert_eq!(code, Some(0));
        assert!(text.contains("status:         active"), "{text}");
        let tokens = app.login(&email, &password).await;
        assert_eq!(app.me(&tokens.access_token).await.status(), 200);
    }

    async fn users_grant_role_reaches_the_next_token_and_revoke_role_takes_it_back(app) {
        let (id, email, _, password) = someone(&app).await;
        let granted = users_json(&app, &["grant-role", &email, "moderator", "--json"]).await;
        assert_eq!(granted["roles"], json!(["moderator", "user"]), "{granted}");
        app.advance(PAST_THE_CACHES_SECS);
        let claims = jwt_part(&app.login(&email, &password).await.access_token, 1);
        assert_eq!(claims["roles"], json!(["moderator", "user"]));
        let permissions = claims["permissions"].as_array().unwrap();
        assert!(permissions.contains(&json!("user:suspend")), "{claims}");

        let revoked = users_json(&app, &["revoke-role", &id, "moderator", "--json"]).await;
        assert_eq!(revoked["roles"], json!(["user"]));
        app.advance(PAST_THE_CACHES_SECS);
        let claims = jwt_part(&app.login(&email, &password).await.access_token, 1);
        assert_eq!(claims["roles"], json!(["user"]));
        assert!(!claims["permissions"].to_string().contains("user:suspend"), "{claims}");

        let (code, _, stderr) = users(&app, &["grant-role", &email, "emperor"], "").await;
        assert_eq!(code, Some(1));
        assert!(stderr.contains("no role named emperor"), "{stderr}");
    }

    async fn users_set_password_reads_standard_input_and_ends_every_session(app) {
        let (_, email, tokens, old_password) = someone(&app).await;
        let new_password = "Operator-Reset-Passphrase-5";
        let (code, stdout, stderr) = users(&app, &["set-password", &email], &format!("{new_password}\n")).await;
        assert_eq!(code, Some(0), "{stderr}");
        assert!(stdout.contains("password set"), "{stdout}");
        assert!(!stdout.contains(new_password) && !stderr.contains(new_password), "never printed");
        app.advance(PAST_THE_CACHES_SECS);
        assert_eq!(app.me(&tokens.access_token).await.status(), 401, "sessions ended");
        assert_eq!(app.login_response(&email, &old_password).await.status(), 401);
        app.login(&email, new_password).await;

        let (code, _, stderr) = users(&app, &["set-password", &email], "").await;
        assert_ne!(code, Some(0));
        assert!(stderr.contains("standard input held no password"), "{stderr}");
        let (code, _, stderr) = users(&app, &["set-password", &email], "short\n").await;
        assert_ne!(code, Some(0));
        assert!(stderr.contains("password:"), "names the password rule: {stderr}");
        app.login(&email, new_password).await;
    }
}
