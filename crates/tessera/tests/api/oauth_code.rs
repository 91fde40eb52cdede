//! The authorization code grant at `/oauth2/token` (RFC 6749 §4.1.3, RFC
//! 7636), the refresh grant for OAuth clients, ID tokens, UserInfo,
//! discovery and consent withdrawal — the positive paths the Node suite
//! also drives, and the negative cases only a white-box suite can set up
//! (expired codes, foreign clients, forged tokens).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Response;
use serde_json::{json, Value};

use crate::clients_cli::tessera;
use crate::every_engine;
use crate::flow::{create_web_client, obtain_code, pkce_challenge, Browser, REDIRECT_URI};
use crate::helpers::{header, jwt_part, unique_email, TestApp};

const PASSWORD: &str = "correct horse battery staple 42";
const VERIFIER: &str = "a-verifier-that-is-long-enough-for-rfc-7636-section-4.1-0123456789";

/// A registered client: id and secret (empty for public clients).
struct Registered {
    id: String,
    secret: String,
}

async fn web_client(app: &TestApp, extra: &[&str]) -> Registered {
    let out = create_web_client(app, extra).await;
    Registered {
        id: out["client_id"].as_str().expect("client_id").to_owned(),
        secret: out["client_secret"].as_str().unwrap_or_default().to_owned(),
    }
}

async fn public_client(app: &TestApp) -> Registered {
    let out = tessera(
        app,
        &[
            "clients",
            "create",
            "--name",
            "Mobile",
            "--type",
            "public",
            "--grant-types",
            "authorization_code,refresh_token",
            "--redirect-uri",
            REDIRECT_URI,
            "--scopes",
            "openid,email",
            "--first-party",
            "--json",
        ],
    )
    .await
    .json();
    Registered {
        id: out["client_id"].as_str().expect("client_id").to_owned(),
        secret: String::new(),
    }
}

async fn user(app: &TestApp) -> String {
    let email = unique_email("code");
    app.register(&email, PASSWORD).await;
    email
}

/// POSTs a token request, with HTTP Basic for confidential clients and
/// `client_id` in the form for public ones.
async fn token(app: &TestApp, client: &Registered, form: &[(&str, &str)]) -> Response {
    let request = app.client.post(app.at("/oauth2/token"));
    let request = if client.secret.is_empty() {
        let mut form = form.to_vec();
        form.push(("client_id", &client.id));
        request.form(&form)
    } else {
        request.basic_auth(&client.id, Some(&client.secret)).form(form)
    };
    request.send().await.expect("token request")
}

async fn exchange(app: &TestApp, client: &Registered, code: &str, verifier: Option<&str>) -> Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
    ];
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    token(app, client, &form).await
}

async fn assert_oauth_error(response: Response, status: u16, error: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    assert_eq!(header(&response, "cache-control"), "no-store");
    let body: Value = response.json().await.expect("json error");
    assert_eq!(body["error"], error, "{body}");
    body
}

/// A signed-in user's code for `client`, with PKCE.
async fn code_for(app: &TestApp, client: &Registered, email: &str) -> String {
    obtain_code(
        app,
        &client.id,
        REDIRECT_URI,
        "openid profile email",
        Some(VERIFIER),
        email,
        PASSWORD,
    )
    .await
    .0
}

every_engine! {
    async fn code_exchange_issues_verifiable_access_id_and_refresh_tokens(app) {
        let client = web_client(&app, &[]).await;
        let email = user(&app).await;
        let code = code_for(&app, &client, &email).await;
        let response = exchange(&app, &client, &code, Some(VERIFIER)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "cache-control"), "no-store");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], "openid profile email");
        assert!(body["refresh_token"].as_str().is_some_and(|t| t.len() == 43));

        let access = body["access_token"].as_str().unwrap();
        assert_eq!(jwt_part(access, 0)["typ"], "at+jwt");
        let claims = jwt_part(access, 1);
        assert_eq!(claims["client_id"], client.id.as_str());
        assert_eq!(claims["scope"], "openid profile email");

        let id_token = body["id_token"].as_str().unwrap();
        let id_header = jwt_part(id_token, 0);
        assert_eq!(id_header["alg"], "RS256", "RS256 by default (OIDC Core)");
        let id = jwt_part(id_token, 1);
        assert_eq!(id["iss"], app.url.as_str());
        assert_eq!(id["aud"], client.id.as_str());
        assert_eq!(id["azp"], client.id.as_str());
        assert_eq!(id["sub"], claims["sub"]);
        assert_eq!(id["nonce"], "flow-nonce");
        assert_eq!(id["amr"], json!(["pwd"]));
        assert_eq!(id["email"], email.as_str());
        assert!(id["auth_time"].as_i64().is_some_and(|t| t <= id["iat"].as_i64().unwrap()));
        assert!(id["sid"].as_str().is_some());
        let digest = <sha2::Sha256 as sha2::Digest>::digest(access.as_bytes());
        assert_eq!(id["at_hash"], URL_SAFE_NO_PAD.encode(&digest[..16]).as_str());
        // The RS256 key is published.
        let jwks = app.jwks().await;
        assert!(jwks["keys"].as_array().unwrap().iter().any(|k| k["kid"] == id_header["kid"] && k["alg"] == "RS256"));
    }

    async fn a_client_may_register_eddsa_id_tokens(app) {
        let client = web_client(&app, &["--id-token-alg", "EdDSA"]).await;
        let email = user(&app).await;
        let code = code_for(&app, &client, &email).await;
        let body: Value = exchange(&app, &client, &code, Some(VERIFIER)).await.json().await.unwrap();
        let id_token = body["id_token"].as_str().unwrap();
        assert_eq!(jwt_part(id_token, 0)["alg"], "EdDSA");
        let digest = <sha2::Sha512 as sha2::Digest>::digest(body["access_token"].as_str().unwrap().as_bytes());
        assert_eq!(jwt_part(id_token, 1)["at_hash"], URL_SAFE_NO_PAD.encode(&digest[..32]).as_str());
    }

    async fn a_code_is_single_use_and_reuse_revokes_what_it_issued(app) {
        let client = web_client(&app, &[]).await;
        let email = user(&app).await;
        let code = code_for(&app, &client, &email).await;
        let first: Value = exchange(&app, &client, &code, Some(VERIFIER)).await.json().await.unwrap();
        let access = first["access_token"].as_str().unwrap();
        assert_eq!(app.get_with("/oauth2/userinfo", access).await.status(), 200);

        assert_oauth_error(exchange(&app, &client, &code, Some(VERIFIER)).await, 400, "invalid_grant").await;
        let userinfo = app.get_with("/oauth2/userinfo", access).await;
        assert_eq!(userinfo.status(), 401, "the first exchange's access token is revoked");
        let refresh = token(&app, &client, &[("grant_type", "refresh_token"), ("refresh_token", first["refresh_token"].as_str().unwrap())]).await;
        assert_oauth_error(refresh, 400, "invalid_grant").await;
    }

    async fn wrong_pkce_verifier_is_invalid_grant(app) {
        let client = web_client(&app, &[]).await;
        let email = user(&app).await;
        let code = code_for(&app, &client, &email).await;
        let wrong = "another-verifier-that-is-long-enough-for-rfc-7636-section-4-1-xyz";
        assert_oauth_error(exchange(&app, &client, &code, Some(wrong)).await, 400, "invalid_grant").await;
        let missing = obtain_code(&app, &client.id, REDIRECT_URI, "openid", Some(VERIFIER), &email, PASSWORD).await.0;
        assert_oauth_error(exchange(&app, &client, &missing, None).await, 400, "invalid_grant").await;
    }

    async fn redirect_uri_must_match_the_authorization_request(app) {
        let client = web_client(&app, &["--redirect-uri", "http://127.0.0.1:9/other"]).await;
        let email = user(&app).await;
        let code = code_for(&app, &client, &email).await;
        let form = [
            ("grant_type", "authorization_code"), ("code", code.as_str()),
            ("redirect_uri", "http://127.0.0.1:9/other"), ("code_verifier", VERIFIER),
        ];
        assert_oauth_error(token(&app, &client, &form).await, 400, "invalid_grant").await;
    }

    async fn the_token_request_repeats_the_redirect_uri_the_authorization_request_sent(app) {
        // RFC 6749 §4.1.3: required when the authorization request had it,
        // even though the client has only one registered.
        let client = web_client(&app, &[]).await;
        let email = user(&app).await;
        let code = code_for(&app, &client, &email).await;
        let without = token(&app, &client, &[("grant_type", "authorization_code"), ("code", code.as_str()), ("code_verifier", VERIFIER)]).await;
        assert_oauth_error(without, 400, "invalid_grant").await;
        assert_eq!(exchange(&app, &client, &code, Some(VERIFIER)).await.status(), 200, "the refusal did not spend the code");
    }

    async fn an_expired_code_is_refused(app) {
        let client = web_client(&app, &[]).await;
        let email = user(&app).await;
        let code = code_for(&app, &client, &email).await;
        app.db().await.execute("update authorization_code set expires_at = created_at").await;
        assert_oauth_error(exchange(&app, &client, &code, Some(VERIFIER)).await, 400, "invalid_grant").await;
    }

    async fn another_clients_code_or_wrong_secret_is_refused(app) {
        let client = web_client(&app, &[]).await;
        let other = web_client(&app, &[]).await;
        let email = user(&app).await;
        let code = code_for(&app, &client, &email).await;
        assert_oauth_error(exchange(&app, &other, &code, Some(VERIFIER)).await, 400, "invalid_grant").await;
        let wrong = Registered { id: client.id.clone(), secret: "not-the-secret".into() };
        assert_oauth_error(exchange(&app, &wrong, &code, Some(VERIFIER)).await, 401, "invalid_client").await;
        // Neither attempt spent the code.
        assert_eq!(exchange(&app, &client, &code, Some(VERIFIER)).await.status(), 200);
    }

    async fn public_client_uses_pkce_and_no_secret(app) {
        let client = public_client(&app).await;
        let email = user(&app).await;
        let browser = Browser::new(&app);
        // Without PKCE the authorization request itself is refused.
        let refused = browser.authorize(&[
            ("response_type", "code"), ("client_id", &client.id), ("redirect_uri", REDIRECT_URI),
            ("scope", "openid"), ("state", "s1"),
        ]).await;
        let location = crate::flow::location(&refused);
        assert!(location.starts_with(REDIRECT_URI), "{location}");
        assert_eq!(crate::flow::query_param(&location, "error").as_deref(), Some("invalid_request"));
        assert_eq!(crate::flow::query_param(&location, "state").as_deref(), Some("s1"));
        assert_eq!(crate::flow::query_param(&location, "iss").as_deref(), Some(app.url.as_str()));

        let (code, _) = browser.obtain_code(&client.id, REDIRECT_URI, "openid email", Some(VERIFIER), &email, PASSWORD).await;
        let body: Value = exchange(&app, &client, &code, Some(VERIFIER)).await.json().await.unwrap();
        assert!(body["id_token"].is_string(), "{body}");
        // A public client cannot use a secret it does not have, nor introspect.
        let introspect = app.client.post(app.at("/oauth2/introspect"))
            .form(&[("token", body["access_token"].as_str().unwrap()), ("client_id", client.id.as_str())])
            .send().await.unwrap();
        assert_oauth_error(introspect, 401, "invalid_client").await;
        // It may revoke its own refresh token (RFC 7009 §2.1).
        let revoke = app.client.post(app.at("/oauth2/revoke"))
            .form(&[("token", body["refresh_token"].as_str().unwrap()), ("client_id", client.id.as_str())])
            .send().await.unwrap();
        assert_eq!(revoke.status(), 200);
    }

    async fn refresh_grant_rotates_binds_to_the_client_and_detects_reuse(app) {
        let client = web_client(&app, &[]).await;
        let other = web_client(&app, &[]).await;
        let email = user(&app).await;
        let code = code_for(&app, &client, &email).await;
        let first: Value = exchange(&app, &client, &code, Some(VERIFIER)).await.json().await.unwrap();
        let old = first["refresh_token"].as_str().unwrap();

        let foreign = token(&app, &other, &[("grant_type", "refresh_token"), ("refresh_token", old)]).await;
        assert_oauth_error(foreign, 400, "invalid_grant").await;

        let narrowed = token(&app, &client, &[("grant_type", "refresh_token"), ("refresh_token", old), ("scope", "openid email")]).await;
        assert_eq!(narrowed.status(), 200);
        let second: Value = narrowed.json().await.unwrap();
        assert_eq!(second["scope"], "openid email");
        assert_ne!(second["refresh_token"], first["refresh_token"]);
        let id = jwt_part(second["id_token"].as_str().unwrap(), 1);
        assert_eq!(id["auth_time"], jwt_part(first["id_token"].as_str().unwrap(), 1)["auth_time"]);
        assert!(id.get("nonce").is_none(), "no nonce on refresh");

        let wider = token(&app, &client, &[("grant_type", "refresh_token"), ("refresh_token", second["refresh_token"].as_str().unwrap()), ("scope", "openid offline_access")]).await;
        assert_oauth_error(wider, 400, "invalid_scope").await;

        let replay = token(&app, &client, &[("grant_type", "refresh_token"), ("refresh_token", old)]).await;
        assert_oauth_error(replay, 400, "invalid_grant").await;
        let after = token(&app, &client, &[("grant_type", "refresh_token"), ("refresh_token", second["refresh_token"].as_str().unwrap())]).await;
        assert_oauth_error(after, 400, "invalid_grant").await;
    }

    async fn unsupported_grant_and_missing_parameters_are_clear_errors(app) {
        let client = web_client(&app, &[]).await;
        let password = token(&app, &client, &[("grant_type", "password"), ("username", "a"), ("password", "b")]).await;
        assert_oauth_error(password, 400, "unsupported_grant_type").await;
        assert_oauth_error(token(&app, &client, &[("grant_type", "authorization_code")]).await, 400, "invalid_request").await;
        assert_oauth_error(token(&app, &client, &[("grant_type", "refresh_token")]).await, 400, "invalid_request").await;
        let cc = token(&app, &client, &[("grant_type", "client_credentials")]).await;
        assert_oauth_error(cc, 400, "unauthorized_client").await;
    }

    async fn userinfo_answers_by_scope_and_needs_openid(app) {
        let client = web_client(&app, &[]).await;
        let email = user(&app).await;
        let code = obtain_code(&app, &client.id, REDIRECT_URI, "openid email", Some(VERIFIER), &email, PASSWORD).await.0;
        let body: Value = exchange(&app, &client, &code, Some(VERIFIER)).await.json().await.unwrap();
        let access = body["access_token"].as_str().unwrap();
        let info: Value = app.get_with("/oauth2/userinfo", access).await.json().await.unwrap();
        assert_eq!(info["email"], email.as_str());
        assert_eq!(info["email_verified"], false);
        assert!(info.get("updated_at").is_none(), "no profile scope: {info}");
        let posted = app.client.post(app.at("/oauth2/userinfo")).form(&[("access_token", access)]).send().await.unwrap();
        assert_eq!(posted.status(), 200);

        let (_, tokens, _) = app.signed_in_user().await;
        let first_party = app.get_with("/oauth2/userinfo", &tokens.access_token).await;
        assert_eq!(first_party.status(), 403);
        assert!(header(&first_party, "www-authenticate").contains("insufficient_scope"));
        let anonymous = app.client.get(app.at("/oauth2/userinfo")).send().await.unwrap();
        assert_eq!(anonymous.status(), 401);
        assert_eq!(header(&anonymous, "www-authenticate"), "Bearer");
    }

    async fn discovery_documents_advertise_every_endpoint(app) {
        for path in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] {
            let doc: Value = app.client.get(app.at(path)).send().await.unwrap().json().await.unwrap();
            assert_eq!(doc["issuer"], app.url.as_str());
            for (field, suffix) in [
                ("authorization_endpoint", "/oauth2/authorize"), ("token_endpoint", "/oauth2/token"),
                ("userinfo_endpoint", "/oauth2/userinfo"), ("jwks_uri", "/.well-known/jwks.json"),
                ("introspection_endpoint", "/oauth2/introspect"), ("revocation_endpoint", "/oauth2/revoke"),
                ("end_session_endpoint", "/oauth2/logout"),
            ] {
                assert_eq!(doc[field], format!("{}{suffix}", app.url), "{path} {field}");
            }
            assert_eq!(doc["response_types_supported"], json!(["code"]));
            assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
            assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        }
    }

    async fn withdrawing_consent_ends_the_clients_sessions_and_asks_again(app) {
        let client = web_client(&app, &[]).await;
        let email = user(&app).await;
        let browser = Browser::new(&app);
        let (code, _) = browser.obtain_code(&client.id, REDIRECT_URI, "openid", Some(VERIFIER), &email, PASSWORD).await;
        let issued: Value = exchange(&app, &client, &code, Some(VERIFIER)).await.json().await.unwrap();

        let api = app.login(&email, PASSWORD).await;
        let consents: Value = app.get_with("/api/v1/users/me/consents", &api.access_token).await.json().await.unwrap();
        assert_eq!(consents[0]["client_id"], client.id.as_str());
        assert_eq!(consents[0]["client_name"], "Web");
        assert_eq!(consents[0]["scopes"], json!(["openid"]));

        let path = format!("/api/v1/users/me/consents/{}", client.id);
        let deleted = app.request(reqwest::Method::DELETE, &path).bearer_auth(&api.access_token).send().await.unwrap();
        assert_eq!(deleted.status(), 204);
        let again = app.request(reqwest::Method::DELETE, &path).bearer_auth(&api.access_token).send().await.unwrap();
        assert_eq!(again.status(), 404);
        let refresh = token(&app, &client, &[("grant_type", "refresh_token"), ("refresh_token", issued["refresh_token"].as_str().unwrap())]).await;
        assert_oauth_error(refresh, 400, "invalid_grant").await;
        // The API session of the same user is untouched.
        assert_eq!(app.me(&api.access_token).await.status(), 200);

        let challenge = pkce_challenge(VERIFIER);
        let next = browser.authorize(&[
            ("response_type", "code"), ("client_id", &client.id), ("redirect_uri", REDIRECT_URI),
            ("scope", "openid"), ("code_challenge", &challenge), ("code_challenge_method", "S256"),
        ]).await;
        assert!(crate::flow::location(&next).starts_with("/consent?"), "asks again");
    }

    async fn revocation_is_refused_for_another_clients_tokens(app) {
        let client = web_client(&app, &[]).await;
        let other = web_client(&app, &[]).await;
        let email = user(&app).await;
        let code = code_for(&app, &client, &email).await;
        let body: Value = exchange(&app, &client, &code, Some(VERIFIER)).await.json().await.unwrap();
        for name in ["access_token", "refresh_token"] {
            let response = app.client.post(app.at("/oauth2/revoke"))
                .basic_auth(&other.id, Some(&other.secret))
                .form(&[("token", body[name].as_str().unwrap())])
                .send().await.unwrap();
            assert_oauth_error(response, 400, "unauthorized_client").await;
        }
        assert_eq!(app.get_with("/oauth2/userinfo", body["access_token"].as_str().unwrap()).await.status(), 200);
    }

    async fn a_disabled_client_can_neither_redeem_its_code_nor_refresh(app) {
        let web = web_client(&app, &[]).await;
        let mobile = public_client(&app).await;
        let email = user(&app).await;
        let web_code = code_for(&app, &web, &email).await;
        let mobile_code = obtain_code(&app, &mobile.id, REDIRECT_URI, "openid email", Some(VERIFIER), &email, PASSWORD)
            .await
            .0;
        // Disabled from another process: the server's client cache lets
        // the change in within its TTL.
        for id in [&web.id, &mobile.id] {
            tessera(&app, &["clients", "disable", id]).await.ok();
        }
        app.advance(tessera_core::clients::CLIENT_CACHE_TTL_SECS as i64 + 1);
        for (client, code) in [(&web, &web_code), (&mobile, &mobile_code)] {
            let body = assert_oauth_error(exchange(&app, client, code, Some(VERIFIER)).await, 401, "invalid_client").await;
            assert!(body["error_description"].as_str().unwrap().contains("disabled"), "{body}");
        }

        // Enabled again, the unspent code still redeems; disabled once more,
        // its refresh token is refused.
        tessera(&app, &["clients", "enable", &web.id]).await.ok();
        app.advance(tessera_core::clients::CLIENT_CACHE_TTL_SECS as i64 + 1);
        let response = exchange(&app, &web, &web_code, Some(VERIFIER)).await;
        assert_eq!(response.status().as_u16(), 200);
        let tokens: Value = response.json().await.unwrap();
        let refresh = tokens["refresh_token"].as_str().expect("refresh_token").to_owned();
        tessera(&app, &["clients", "disable", &web.id]).await.ok();
        app.advance(tessera_core::clients::CLIENT_CACHE_TTL_SECS as i64 + 1);
        let response = token(&app, &web, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
        let body = assert_oauth_error(response, 401, "invalid_client").await;
        assert!(body["error_description"].as_str().unwrap().contains("disabled"), "{body}");
    }
}
