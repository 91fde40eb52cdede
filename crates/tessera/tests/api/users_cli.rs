//! `tessera users create` as an operator runs it: the real binary creating
//! the first super_admin (password on standard input) in the database of a
//! running server, which can then sign in and use the admin API.

use std::process::Stdio;

use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use crate::every_engine;
use crate::helpers::{jwt_part, TestApp};

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
