//! `invalid_client` says why (issue #11): the method a client registered
//! versus the one the request used — openid-client v6 sends
//! `client_secret_post` by default, `tessera clients create` registers
//! `client_secret_basic` — and an unknown, disabled client or a wrong or
//! expired secret, each distinguishable in `error_description` without a
//! secret in it, and logged with the client id at info.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::every_engine_admin;
use crate::helpers::{
    admin_token, captured_logs, client_credentials_response, client_credentials_token, machine_client,
    TestApp,
};

/// The `error_description` of a 401 `invalid_client` answer.
async fn refusal(response: Response) -> String {
    assert_eq!(response.status().as_u16(), 401, "status");
    let body: Value = response.json().await.expect("oauth error json");
    assert_eq!(body["error"], "invalid_client", "{body}");
    body["error_description"]
        .as_str()
        .expect("error_description")
        .to_owned()
}

/// `POST /oauth2/token` (client credentials) with `client_id` and
/// `client_secret` in the form, as openid-client v6 sends them by default.
async fn post_secret_in_form(app: &TestApp, id: &str, secret: &str) -> Response {
    app.client
        .post(app.at("/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("request")
}

every_engine_admin! {
    async fn invalid_client_names_the_registered_and_the_used_method(app) {
        let admin = admin_token(&app).await;
        let (basic, _) = machine_client(&app, &admin, json!({})).await;
        let description = refusal(post_secret_in_form(&app, &basic.id, &basic.secret).await).await;
        assert!(
            description.contains("registered for client_secret_basic")
                && description.contains("the request used client_secret_post"),
            "{description}"
        );
        assert!(!description.contains(&basic.secret), "the secret is echoed: {description}");

        let (post, _) = machine_client(
            &app,
            &admin,
            json!({"token_endpoint_auth_method": "client_secret_post"}),
        )
        .await;
        let description = refusal(client_credentials_response(&app, &post.id, &post.secret).await).await;
        assert!(
            description.contains("registered for client_secret_post")
                && description.contains("the request used client_secret_basic"),
            "{description}"
        );
        // Each still works with its own method.
        let response = post_secret_in_form(&app, &post.id, &post.secret).await;
        assert_eq!(response.status().as_u16(), 200);
        client_credentials_token(&app, &basic.id, &basic.secret).await;
    }

    async fn unknown_client_wrong_secret_and_no_credentials_are_told_apart(app) {
        let admin = admin_token(&app).await;
        let (client, _) = machine_client(&app, &admin, json!({})).await;
        let unknown = uuid::Uuid::now_v7().to_string();
        let unknown_said = refusal(client_credentials_response(&app, &unknown, &client.secret).await).await;
        assert!(unknown_said.contains("no client with this client_id"), "{unknown_said}");

        let wrong = "not-the-secret-at-all";
        let wrong_said = refusal(client_credentials_response(&app, &client.id, wrong).await).await;
        assert!(wrong_said.contains("secret is wrong"), "{wrong_said}");
        assert!(!wrong_said.contains(wrong) && !wrong_said.contains(&client.secret));

        let response = app
            .client
            .post(app.at("/oauth2/token"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("request");
        let none_said = refusal(response).await;
        assert!(none_said.contains("no client authentication was sent"), "{none_said}");

        let response = app
            .client
            .post(app.at("/oauth2/token"))
            .basic_auth(&client.id, Some(&client.secret))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client.id.as_str()),
                ("client_secret", client.secret.as_str()),
            ])
            .send()
            .await
            .expect("request");
        let both_said = refusal(response).await;
        assert!(both_said.contains("more than one client authentication method"), "{both_said}");
        let all = [&unknown_said, &wrong_said, &none_said, &both_said];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b, "two refusals read alike");
            }
        }
    }

    async fn a_disabled_client_is_refused_until_enabled_again(app) {
        let admin = admin_token(&app).await;
        let (client, _) = machine_client(&app, &admin, json!({})).await;
        let path = format!("/api/v1/admin/clients/{}", client.id);
        let view = app
            .admin_ok(Method::PATCH, &path, &admin, Some(json!({"disabled": true})), 200)
            .await;
        assert_eq!(view["disabled"], true);
        assert!(view["disabled_at"].is_string(), "{view}");

        let said = refusal(client_credentials_response(&app, &client.id, &client.secret).await).await;
        assert!(said.contains("this client is disabled"), "{said}");
        // Introspection and revocation authenticate the same way.
        let response = app
            .client
            .post(app.at("/oauth2/introspect"))
            .basic_auth(&client.id, Some(&client.secret))
            .form(&[("token", "whatever")])
            .send()
            .await
            .expect("request");
        assert!(refusal(response).await.contains("disabled"));

        let view = app
            .admin_ok(Method::PATCH, &path, &admin, Some(json!({"disabled": false})), 200)
            .await;
        assert_eq!(view["disabled"], false);
        assert!(view["disabled_at"].is_null());
        client_credentials_token(&app, &client.id, &client.secret).await;
    }

    async fn an_expired_secret_says_when_and_a_rotation_gives_a_working_one(app) {
        let admin = admin_token(&app).await;
        let (client, created) = machine_client(&app, &admin, json!({"secret_ttl_secs": 3600})).await;
        assert_eq!(created["secret_ttl_secs"], 3600);
        let expires_at = created["secret_expires_at"].as_str().expect("secret_expires_at").to_owned();
        client_credentials_token(&app, &client.id, &client.secret).await;

        app.advance(3601);
        let said = refusal(client_credentials_response(&app, &client.id, &client.secret).await).await;
        assert!(said.contains("client secret expired at"), "{said}");
        let expiry = chrono::DateTime::parse_from_rfc3339(&expires_at).expect("rfc3339");
        assert!(said.contains(&expiry.format("%Y-%m-%dT%H:%M:%SZ").to_string()), "{said} vs {expires_at}");

        // A wrong secret is still only "wrong", not "expired".
        let wrong = refusal(client_credentials_response(&app, &client.id, "guess").await).await;
        assert!(wrong.contains("secret is wrong"), "{wrong}");

        // The admin's own token expired with the hour: sign in again.
        let admin = admin_token(&app).await;
        let rotated = app
            .admin_ok(
                Method::POST,
                &format!("/api/v1/admin/clients/{}/secret", client.id),
                &admin,
                None,
                200,
            )
            .await;
        let fresh = rotated["client_secret"].as_str().expect("client_secret");
        assert!(rotated["client_secret_expires_at"].is_string(), "{rotated}");
        client_credentials_token(&app, &client.id, fresh).await;
        // The expired one stays expired as the previous secret.
        let said = refusal(client_credentials_response(&app, &client.id, &client.secret).await).await;
        assert!(said.contains("expired"), "{said}");
    }

    async fn a_secret_lifetime_is_only_for_clients_with_a_secret(app) {
        let admin = admin_token(&app).await;
        let response = app
            .admin_call(
                Method::POST,
                "/api/v1/admin/clients",
                &admin,
                Some(json!({
                    "name": "SPA", "client_type": "public", "grant_types": ["authorization_code"],
                    "redirect_uris": ["https://spa.example.com/cb"], "secret_ttl_secs": 3600,
                })),
            )
            .await;
        assert_eq!(response.status().as_u16(), 422);
        let body: Value = response.json().await.expect("problem");
        assert_eq!(body["errors"][0]["field"], "secret_ttl_secs", "{body}");
        assert_eq!(body["errors"][0]["rule"], "no_secret", "{body}");
    }

    async fn client_refusals_are_logged_at_info_with_the_client_id(app) {
        let admin = admin_token(&app).await;
        let (client, _) = machine_client(&app, &admin, json!({})).await;
        refusal(post_secret_in_form(&app, &client.id, &client.secret).await).await;
        let logs = captured_logs();
        let line = logs
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|line| line["client_id"] == client.id.as_str() && line["reason"] == "method_mismatch")
            .expect("a log line for the refusal");
        assert_eq!(line["level"], "INFO", "{line}");
        assert!(!logs.contains(&client.secret), "the secret is in the logs");

        // A secret pasted where the id belongs is not logged.
        let pasted = "pasted-secret-in-the-client-id-field-0123456789";
        refusal(client_credentials_response(&app, pasted, "anything").await).await;
        let logs = captured_logs();
        assert!(!logs.contains(pasted), "a malformed client_id reached the logs");
        assert!(logs.contains("\"client_id_malformed\":true"));
    }

    async fn a_disabled_client_cannot_start_an_authorization_request(app) {
        let admin = admin_token(&app).await;
        let redirect_uri = "http://127.0.0.1:9/cb";
        let created = app
            .admin_ok(
                Method::POST,
                "/api/v1/admin/clients",
                &admin,
                Some(json!({
                    "name": "Web", "client_type": "public", "grant_types": ["authorization_code"],
                    "redirect_uris": [redirect_uri],
                })),
                201,
            )
            .await;
        let id = created["client_id"].as_str().expect("client_id");
        let authorize = || {
            app.client
                .get(app.at("/oauth2/authorize"))
                .query(&[
                    ("client_id", id),
                    ("redirect_uri", redirect_uri),
                    ("response_type", "code"),
                    ("scope", "openid"),
                    ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
                    ("code_challenge_method", "S256"),
                ])
                .send()
        };
        let before = authorize().await.expect("request");
        assert_ne!(before.status().as_u16(), 400, "the enabled client is served");
        app.admin_ok(
            Method::PATCH,
            &format!("/api/v1/admin/clients/{id}"),
            &admin,
            Some(json!({"disabled": true})),
            200,
        )
        .await;
        let after = authorize().await.expect("request");
        assert_eq!(after.status().as_u16(), 400);
        assert!(after.headers().get("location").is_none(), "never sent back to a disabled client");
        let html = after.text().await.expect("html");
        assert!(html.contains("disabled"), "{html}");
    }
}
