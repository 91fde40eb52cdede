//! The logs of a full flow carry request structure and never a secret.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::every_engine;
use crate::helpers::{captured_logs, test_master_key, unique_email};

every_engine! {
    async fn logs_of_a_full_flow_hold_no_secrets(app) {
        let marker = uuid::Uuid::new_v4().simple().to_string();
        let email = unique_email("logs");
        let password = format!("first-Secret-{marker}");
        let new_password = format!("second-Secret-{marker}");
        let failed_password = format!("failed-Secret-{marker}");

        app.register(&email, &password).await;
        let first = app.login(&email, &password).await;
        assert_eq!(app.me(&first.access_token).await.status(), StatusCode::OK);
        let second = app.refresh(&first.refresh_token).await;
        let change = json!({"current_password": password, "new_password": new_password});
        let response = app.call(Method::POST, "/api/v1/users/me/password", Some(&second.access_token), Some(change)).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.login_response(&email, &failed_password).await.status(), StatusCode::UNAUTHORIZED);
        let third = app.login(&email, &new_password).await;
        let response = app.call(Method::POST, "/api/v1/auth/logout", Some(&third.access_token), None).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        // a reused refresh token makes the service log a warning about it.
        assert_eq!(app.refresh_response(&first.refresh_token).await.status(), StatusCode::UNAUTHORIZED);

        let logs = captured_logs();
        let secrets = [
            ("password", password.clone()),
            ("new password", new_password.clone()),
            ("failed password", failed_password.clone()),
            ("the secret marker", marker.clone()),
            ("access token", first.access_token.clone()),
            ("access token", second.access_token.clone()),
            ("access token", third.access_token.clone()),
            ("access token signature", first.access_token.rsplit('.').next().unwrap().to_string()),
            ("refresh token", first.refresh_token.clone()),
            ("refresh token", second.refresh_token.clone()),
            ("refresh token", third.refresh_token.clone()),
            ("argon2 hash", "$argon2id$".to_string()),
            ("master key", test_master_key()),
        ];
        for (what, secret) in &secrets {
            assert!(!logs.contains(secret.as_str()), "the logs contain the {what}");
        }

        let lines: Vec<Value> = logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        assert!(!lines.is_empty(), "no JSON log lines captured");
        let login_line = lines.iter().find(|line| {
            let text = line.to_string();
            text.contains("\"request_id\"") && text.contains(r#""route":"/api/v1/auth/login""#) && text.contains("\"status\"")
        });
        let line = login_line.unwrap_or_else(|| panic!("no request log line for the login route"));
        let span = &line["span"];
        assert!(span["request_id"].as_str().is_some_and(|id| !id.is_empty()), "{line}");
        assert_eq!(span["method"], "POST", "{line}");
    }
}
