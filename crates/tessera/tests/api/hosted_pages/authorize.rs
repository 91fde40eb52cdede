//! The authorization endpoint and the consent page.

use reqwest::StatusCode;

use super::{
    assert_code_redirect, assert_error_redirect, assert_page_headers, authorize_signing_in, client_id,
    request, sign_in_plainly, user, without_pkce,
};
use crate::every_engine;
use crate::flow::{
    create_web_client, hidden_input, location, query_param, return_to_of, Browser, REDIRECT_URI,
};

every_engine! {
    async fn authorize_without_session_redirects_to_login(app) {
        let id = client_id(&create_web_client(&app, &[]).await);
        let browser = Browser::new(&app);
        let response = browser.authorize(&request(&id, &[])).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let next = location(&response);
        assert!(next.starts_with("/login?return_to=%2Foauth2%2Fauthorize%3F"), "{next}");
        let return_to = return_to_of(&next);
        assert_eq!(query_param(&return_to, "client_id").as_deref(), Some(id.as_str()));
        assert_eq!(query_param(&return_to, "state").as_deref(), Some("st-123"));
        // The same request as a form post (OIDC Core §3.1.2.1).
        let posted = browser.post_form("/oauth2/authorize", &request(&id, &[])).await;
        assert_eq!(posted.status(), StatusCode::FOUND);
        assert_eq!(location(&posted), next);
    }

    async fn unknown_client_unregistered_redirect_uri_or_repeated_parameter_is_a_400_page_without_location(app) {
        let id = client_id(&create_web_client(&app, &[]).await);
        let browser = Browser::new(&app);
        let unknown = uuid::Uuid::new_v4().to_string();
        let cases: Vec<Vec<(&str, &str)>> = vec![
            request(&unknown, &[]),
            request("not-a-client", &[]),
            request(&id, &[]).into_iter().map(|(k, v)| if k == "redirect_uri" { (k, "http://127.0.0.1:9/other") } else { (k, v) }).collect(),
            request(&id, &[("state", "second")]),
            request(&id, &[]).into_iter().filter(|(k, _)| *k != "client_id").collect(),
        ];
        for params in cases {
            let response = browser.authorize(&params).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{params:?}");
            assert!(response.headers().get("location").is_none(), "{params:?}");
            assert_page_headers(&response);
            assert!(response.text().await.unwrap().contains("role=\"alert\""));
        }
    }

    async fn invalid_authorization_requests_redirect_the_error_with_state_and_iss(app) {
        let id = client_id(&create_web_client(&app, &[]).await);
        let public = crate::clients_cli::tessera(
            &app,
            &["clients", "create", "--name", "Spa", "--type", "public", "--grant-types", "authorization_code", "--redirect-uri", REDIRECT_URI, "--scopes", "openid,profile,email", "--json"],
        )
        .await
        .json();
        let public_id = client_id(&public);
        let browser = Browser::new(&app);
        let without_response_type: Vec<_> = request(&id, &[]).into_iter().filter(|(k, _)| *k != "response_type").collect();
        assert_error_redirect(&app, &browser.authorize(&without_response_type).await, "invalid_request");
        let token: Vec<_> = request(&id, &[]).into_iter().map(|(k, v)| if k == "response_type" { (k, "token") } else { (k, v) }).collect();
        assert_error_redirect(&app, &browser.authorize(&token).await, "unsupported_response_type");
        let scope: Vec<_> = request(&id, &[]).into_iter().map(|(k, v)| if k == "scope" { (k, "openid admin") } else { (k, v) }).collect();
        assert_error_redirect(&app, &browser.authorize(&scope).await, "invalid_scope");
        assert_error_redirect(&app, &browser.authorize(&without_pkce(request(&public_id, &[]))).await, "invalid_request");
        // OAuth 2.1: a confidential client needs PKCE too.
        assert_error_redirect(&app, &browser.authorize(&without_pkce(request(&id, &[]))).await, "invalid_request");
        let plain = request(&id, &[("code_challenge", "abcdefghijabcdefghijabcdefghijabcdefghij123"), ("code_challenge_method", "plain")]);
        assert_error_redirect(&app, &browser.authorize(&plain).await, "invalid_request");
        // Unsupported features are refused, never ignored (OIDC Core §6).
        assert_error_redirect(&app, &browser.authorize(&request(&id, &[("request", "eyJhbGciOiJub25lIn0.e30.")])).await, "request_not_supported");
        assert_error_redirect(&app, &browser.authorize(&request(&id, &[("request_uri", "https://rp.example.com/r/1")])).await, "request_uri_not_supported");
        for mode in ["fragment", "web_message", "FORM_POST"] {
            assert_error_redirect(&app, &browser.authorize(&request(&id, &[("response_mode", mode)])).await, "invalid_request");
        }
    }

    async fn a_legacy_confidential_client_may_be_let_off_pkce_only_with_a_nonce(app) {
        let legacy = client_id(&create_web_client(&app, &["--pkce-optional", "--first-party"]).await);
        let email = user(&app).await;
        let browser = Browser::new(&app);
        // With a nonce (which binds the ID token to the request) it may.
        let response = authorize_signing_in(&browser, &email, &without_pkce(request(&legacy, &[]))).await;
        assert_code_redirect(&app, &response);
        // Without one it may not.
        let no_nonce: Vec<_> = without_pkce(request(&legacy, &[])).into_iter().filter(|(k, _)| *k != "nonce").collect();
        assert_error_redirect(&app, &browser.authorize(&no_nonce).await, "invalid_request");
        // A public client cannot be registered so.
        let refused = crate::clients_cli::tessera(
            &app,
            &["clients", "create", "--name", "Spa", "--type", "public", "--grant-types", "authorization_code", "--redirect-uri", REDIRECT_URI, "--scopes", "openid", "--pkce-optional", "--json"],
        )
        .await;
        assert_ne!(refused.code, Some(0), "a public client let off PKCE: {}", refused.stdout);
        assert!(refused.stderr.contains("pkce_optional"), "{}", refused.stderr);
    }

    async fn loopback_redirect_uris_match_any_port_and_nothing_else(app) {
        // RFC 8252 §7.3: a native app listens on an ephemeral port.
        let native = crate::clients_cli::tessera(
            &app,
            &["clients", "create", "--name", "Cli", "--type", "public", "--grant-types", "authorization_code", "--redirect-uri", "http://127.0.0.1/callback", "--redirect-uri", "http://[::1]/callback", "--scopes", "openid", "--json"],
        )
        .await
        .json();
        let id = client_id(&native);
        let browser = Browser::new(&app);
        let challenge = crate::flow::pkce_challenge("a-verifier-that-is-long-enough-for-rfc-7636-section-4.1-0123456789");
        let with_uri = |uri: &'static str| {
            vec![("response_type", "code"), ("client_id", id.as_str()), ("redirect_uri", uri), ("scope", "openid"), ("state", "st-123"),
                 ("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")]
        };
        for uri in ["http://127.0.0.1:51004/callback", "http://[::1]:8080/callback", "http://127.0.0.1/callback"] {
            let response = browser.authorize(&with_uri(uri)).await;
            assert_eq!(response.status(), StatusCode::FOUND, "{uri}");
            assert!(location(&response).starts_with("/login?"), "{uri}: {}", location(&response));
        }
        for uri in ["http://127.0.0.1:51004/other", "http://localhost:51004/callback", "https://127.0.0.1:51004/callback", "http://127.0.0.1:51004/callback?x=1", "http://127.0.0.2:51004/callback"] {
            let response = browser.authorize(&with_uri(uri)).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{uri}");
            assert!(response.headers().get("location").is_none(), "{uri}");
        }
    }

    async fn prompt_none_without_session_is_login_required(app) {
        let id = client_id(&create_web_client(&app, &[]).await);
        let response = Browser::new(&app).authorize(&request(&id, &[("prompt", "none")])).await;
        assert_error_redirect(&app, &response, "login_required");
    }

    async fn prompt_none_without_consent_is_consent_required(app) {
        let id = client_id(&create_web_client(&app, &[]).await);
        let email = user(&app).await;
        let browser = Browser::new(&app);
        sign_in_plainly(&browser, &email).await;
        let response = browser.authorize(&request(&id, &[("prompt", "none")])).await;
        assert_error_redirect(&app, &response, "consent_required");
    }

    async fn first_party_client_gets_a_code_without_consent(app) {
        let id = client_id(&create_web_client(&app, &["--first-party"]).await);
        let email = user(&app).await;
        let browser = Browser::new(&app);
        let response = authorize_signing_in(&browser, &email, &request(&id, &[])).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_code_redirect(&app, &response);
    }

    async fn consent_page_lists_the_client_and_the_scopes(app) {
        let id = client_id(&create_web_client(&app, &[]).await);
        let email = user(&app).await;
        let browser = Browser::new(&app);
        let response = authorize_signing_in(&browser, &email, &request(&id, &[])).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        let next = location(&response);
        assert!(next.starts_with("/consent?return_to="), "{next}");
        let page = browser.get(&next).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_page_headers(&page);
        let html = page.text().await.unwrap();
        for text in ["Web", "Sign you in", "See your name and username", "See your email address", email.as_str()] {
            assert!(html.contains(text), "{text} in {html}");
        }
        assert!(html.contains("<form method=\"post\" action=\"/consent\">"));
        assert!(html.contains("<button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>"));
        assert!(html.contains("<button type=\"submit\" name=\"decision\" value=\"deny\""));
        assert!(hidden_input(&html, "csrf_token").is_some());
        assert_eq!(hidden_input(&html, "return_to"), Some(return_to_of(&next)));
        // Without a session the consent page sends the browser to sign in.
        let stranger = Browser::new(&app).get(&next).await;
        assert_eq!(stranger.status(), StatusCode::FOUND);
        assert_eq!(location(&stranger), next.replacen("/consent", "/login", 1));
    }

    async fn deny_sends_access_denied_with_state_and_iss(app) {
        let id = client_id(&create_web_client(&app, &[]).await);
        let email = user(&app).await;
        let browser = Browser::new(&app);
        let response = authorize_signing_in(&browser, &email, &request(&id, &[])).await;
        let denied = browser.consent(&return_to_of(&location(&response)), false).await;
        assert_eq!(denied.status(), StatusCode::SEE_OTHER);
        let target = location(&denied);
        assert!(target.starts_with(REDIRECT_URI), "{target}");
        assert_eq!(query_param(&target, "error").as_deref(), Some("access_denied"));
        assert_eq!(query_param(&target, "state").as_deref(), Some("st-123"));
        assert_eq!(query_param(&target, "iss").as_deref(), Some(app.url.as_str()));
    }

    async fn allow_issues_a_code_and_the_approval_is_remembered(app) {
        let id = client_id(&create_web_client(&app, &[]).await);
        let email = user(&app).await;
        let browser = Browser::new(&app);
        let response = authorize_signing_in(&browser, &email, &request(&id, &[])).await;
        let allowed = browser.consent(&return_to_of(&location(&response)), true).await;
        assert_eq!(allowed.status(), StatusCode::SEE_OTHER);
        let first = assert_code_redirect(&app, &allowed);
        let again = browser.authorize(&request(&id, &[])).await;
        let second = assert_code_redirect(&app, &again);
        assert_ne!(first, second);
        // A consent post without the CSRF token does nothing.
        let forged = browser
            .post_form("/consent", &[("return_to", "/oauth2/authorize?client_id=x"), ("decision", "allow")])
            .await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    }

    async fn prompt_consent_shows_the_consent_page_again(app) {
        let id = client_id(&create_web_client(&app, &[]).await);
        let email = user(&app).await;
        let browser = Browser::new(&app);
        let response = authorize_signing_in(&browser, &email, &request(&id, &[])).await;
        browser.consent(&return_to_of(&location(&response)), true).await;
        let asked = browser.authorize(&request(&id, &[("prompt", "consent")])).await;
        assert_eq!(asked.status(), StatusCode::FOUND);
        let next = location(&asked);
        assert!(next.starts_with("/consent?"), "{next}");
        // Allow answers with a code at once (no loop back to consent).
        let allowed = browser.consent(&return_to_of(&next), true).await;
        assert_code_redirect(&app, &allowed);
    }

    async fn prompt_login_shows_login_even_when_signed_in(app) {
        let id = client_id(&create_web_client(&app, &["--first-party"]).await);
        let email = user(&app).await;
        let browser = Browser::new(&app);
        sign_in_plainly(&browser, &email).await;
        let first_session = browser.cookie("tessera_sso");
        let response = authorize_signing_in(&browser, &email, &request(&id, &[("prompt", "login")])).await;
        assert_code_redirect(&app, &response);
        assert_ne!(browser.cookie("tessera_sso"), first_session, "a new session replaces the old one");
    }

    async fn max_age_zero_forces_login(app) {
        let id = client_id(&create_web_client(&app, &["--first-party"]).await);
        let email = user(&app).await;
        let browser = Browser::new(&app);
        sign_in_plainly(&browser, &email).await;
        app.advance(1);
        let response = authorize_signing_in(&browser, &email, &request(&id, &[("max_age", "0")])).await;
        assert_code_redirect(&app, &response);
    }

}
