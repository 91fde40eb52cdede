//! The OAuth endpoints: `/oauth2/token` (client credentials), introspection
//! (RFC 7662) and revocation (RFC 7009), with clients registered through
//! the real `tessera clients create` binary while the server runs.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Response;
use serde_json::{json, Value};

use crate::clients_cli::tessera;
use crate::every_engine;
use crate::helpers::{assert_problem, header, jwt_part, TestApp};

/// A registered client and its secret.
struct TestClient {
    id: String,
    secret: String,
}

/// Registers a client with `tessera clients create … --json`.
async fn create_client(app: &TestApp, extra: &[&str]) -> TestClient {
    let mut args = vec!["clients", "create", "--name", "Worker", "--json"];
    args.extend_from_slice(extra);
    let out = tessera(app, &args).await.json();
    TestClient {
        id: out["client_id"].as_str().expect("client_id").to_owned(),
        secret: out["client_secret"].as_str().unwrap_or_default().to_owned(),
    }
}

/// A confidential client for client_credentials with two scopes.
async fn service_client(app: &TestApp, method: &str) -> TestClient {
    create_client(
        app,
        &[
            "--type",
            "confidential",
            "--grant-types",
            "client_credentials",
            "--scopes",
            "invoices:read,invoices:write",
            "--auth-method",
            method,
            "--access-token-ttl-secs",
            "120",
        ],
    )
    .await
}

/// POSTs a form to `path` with HTTP Basic client authentication.
async fn post_basic(app: &TestApp, path: &str, client: &TestClient, form: &[(&str, &str)]) -> Response {
    app.client
        .post(app.at(path))
        .basic_auth(&client.id, Some(&client.secret))
        .form(form)
        .send()
        .await
        .expect("request")
}

/// POSTs a form to `path` without an Authorization header.
async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Response {
    app.client
        .post(app.at(path))
        .form(form)
        .send()
        .await
        .expect("request")
}

/// Asserts an RFC 6749 §5.2 error response; returns the body.
async fn assert_oauth_error(response: Response, status: u16, error: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    assert_eq!(header(&response, "content-type"), "application/json");
    assert_eq!(header(&response, "cache-control"), "no-store");
    assert_eq!(header(&response, "pragma"), "no-cache");
    let body: Value = response.json().await.expect("oauth error json");
    assert_eq!(body["error"], error, "{body}");
    assert!(body.get("code").is_none(), "not problem+json: {body}");
    body
}

/// A client_credentials token for a `client_secret_basic` client.
async fn client_token(app: &TestApp, client: &TestClient) -> String {
    let response = post_basic(
        app,
        "/oauth2/token",
        client,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("token json");
    body["access_token"].as_str().expect("access_token").to_owned()
}

async fn introspect(app: &TestApp, caller: &TestClient, token: &str) -> Value {
    let response = post_basic(app, "/oauth2/introspect", caller, &[("token", token)]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "cache-control"), "no-store");
    response.json().await.expect("introspection json")
}

async fn revoke(app: &TestApp, caller: &TestClient, token: &str, hint: &str) {
    let response = post_basic(
        app,
        "/oauth2/revoke",
        caller,
        &[("token", token), ("token_type_hint", hint)],
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.expect("body").is_empty());
}

every_engine! {
    async fn client_credentials_with_basic_issues_a_verifiable_client_token(app) {
        let client = service_client(&app, "client_secret_basic").await;
        let response = post_basic(&app, "/oauth2/token", &client, &[("grant_type", "client_credentials")]).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "cache-control"), "no-store");
        assert_eq!(header(&response, "pragma"), "no-cache");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 120);
        assert_eq!(body["scope"], "invoices:read invoices:write");
        assert!(body.get("refresh_token").is_none(), "{body}");
        let token = body["access_token"].as_str().unwrap();

        let head = jwt_part(token, 0);
        assert_eq!(head["typ"], "at+jwt");
        let jwks = app.jwks().await;
        let key = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == head["kid"])
            .expect("signing key published");
        let decoding = DecodingKey::from_ec_components(key["x"].as_str().unwrap(), key["y"].as_str().unwrap()).unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[app.url.as_str()]);
        validation.set_audience(&[app.url.as_str()]);
        let claims = jsonwebtoken::decode::<Value>(token, &decoding, &validation).unwrap().claims;
        assert_eq!(claims["iss"], app.url.as_str());
        assert_eq!(claims["sub"], client.id.as_str());
        assert_eq!(claims["client_id"], client.id.as_str());
        assert_eq!(claims["aud"], app.url.as_str());
        assert_eq!(claims["scope"], "invoices:read invoices:write");
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 120);
        assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
        assert!(claims.get("sid").is_none() && claims.get("email").is_none(), "{claims}");

        let metrics = app.client.get(app.at("/metrics")).bearer_auth(crate::helpers::METRICS_TOKEN).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("tessera_tokens_issued_total"), "{metrics}");
    }

    async fn client_secret_post_grants_a_requested_subset_of_scopes(app) {
        let client = service_client(&app, "client_secret_post").await;
        let form = |scope: &'static str| {
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", client.id.as_str()),
                ("client_secret", client.secret.as_str()),
                ("scope", scope),
            ]
        };
        let response = post_form(&app, "/oauth2/token", &form("invoices:read")).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["scope"], "invoices:read");
        assert_eq!(jwt_part(body["access_token"].as_str().unwrap(), 1)["scope"], "invoices:read");

        let response = post_form(&app, "/oauth2/token", &form("invoices:read admin")).await;
        let body = assert_oauth_error(response, 400, "invalid_scope").await;
        assert!(body["error_description"].as_str().unwrap().contains("admin"));
    }

    async fn bad_client_authentication_is_invalid_client(app) {
        let basic = service_client(&app, "client_secret_basic").await;
        let post = service_client(&app, "client_secret_post").await;
        let grant = ("grant_type", "client_credentials");

        let wrong = TestClient { id: basic.id.clone(), secret: "wrong".into() };
        let response = post_basic(&app, "/oauth2/token", &wrong, &[grant]).await;
        assert_eq!(header(&response, "www-authenticate"), r#"Basic realm="tessera""#);
        assert_oauth_error(response, 401, "invalid_client").await;

        let unknown = TestClient { id: uuid::Uuid::now_v7().to_string(), secret: basic.secret.clone() };
        let response = post_basic(&app, "/oauth2/token", &unknown, &[grant]).await;
        assert_eq!(header(&response, "www-authenticate"), r#"Basic realm="tessera""#);
        assert_oauth_error(response, 401, "invalid_client").await;

        // The registered method is client_secret_post: Basic is refused.
        let response = post_basic(&app, "/oauth2/token", &post, &[grant]).await;
        assert_oauth_error(response, 401, "invalid_client").await;

        // The registered method is client_secret_basic: form fields are refused.
        let form = [grant, ("client_id", basic.id.as_str()), ("client_secret", basic.secret.as_str())];
        let response = post_form(&app, "/oauth2/token", &form).await;
        assert!(response.headers().get("www-authenticate").is_none());
        assert_oauth_error(response, 401, "invalid_client").await;

        // Two methods at once.
        let form = [grant, ("client_id", basic.id.as_str()), ("client_secret", basic.secret.as_str())];
        let response = post_basic(&app, "/oauth2/token", &basic, &form).await;
        assert_oauth_error(response, 401, "invalid_client").await;

        // No credentials at all.
        let response = post_form(&app, "/oauth2/token", &[grant]).await;
        assert_oauth_error(response, 401, "invalid_client").await;

        // The right credentials still work.
        client_token(&app, &basic).await;
    }

    async fn public_and_non_client_credentials_clients_cannot_get_client_tokens(app) {
        let public = create_client(&app, &[
            "--type", "public", "--grant-types", "authorization_code",
            "--redirect-uri", "http://127.0.0.1:8080/cb",
        ]).await;
        assert!(public.secret.is_empty());
        let response = post_form(&app, "/oauth2/token", &[
            ("grant_type", "client_credentials"), ("client_id", public.id.as_str()),
        ]).await;
        assert_oauth_error(response, 401, "invalid_client").await;

        let web = create_client(&app, &[
            "--type", "confidential", "--grant-types", "authorization_code",
            "--redirect-uri", "https://app.example.com/cb",
        ]).await;
        let response = post_basic(&app, "/oauth2/token", &web, &[("grant_type", "client_credentials")]).await;
        assert_oauth_error(response, 400, "unauthorized_client").await;
    }

    async fn unsupported_grants_and_non_form_bodies_are_refused(app) {
        let client = service_client(&app, "client_secret_basic").await;
        for grant in ["password", "implicit", "urn:ietf:params:oauth:grant-type:device_code"] {
            let response = post_basic(&app, "/oauth2/token", &client, &[("grant_type", grant)]).await;
            assert_oauth_error(response, 400, "unsupported_grant_type").await;
        }
        // Supported grants this client is not registered for.
        for grant in ["refresh_token", "authorization_code"] {
            let response = post_basic(&app, "/oauth2/token", &client, &[("grant_type", grant)]).await;
            assert_oauth_error(response, 400, "unauthorized_client").await;
        }
        let response = post_basic(&app, "/oauth2/token", &client, &[("scope", "invoices:read")]).await;
        assert_oauth_error(response, 400, "invalid_request").await;

        let response = app.client.post(app.at("/oauth2/token"))
            .basic_auth(&client.id, Some(&client.secret))
            .json(&json!({"grant_type": "client_credentials"}))
            .send().await.unwrap();
        assert_oauth_error(response, 400, "invalid_request").await;

        let response = app.client.post(app.at("/oauth2/token"))
            .basic_auth(&client.id, Some(&client.secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&grant_type=client_credentials")
            .send().await.unwrap();
        assert_oauth_error(response, 400, "invalid_request").await;
    }

    async fn client_token_is_not_a_user_session(app) {
        let client = service_client(&app, "client_secret_basic").await;
        let token = client_token(&app, &client).await;
        assert_problem(app.me(&token).await, 401, "invalid_token").await;
        let response = app.get_with("/api/v1/sessions", &token).await;
        assert_eq!(response.status(), 401);
    }

    async fn introspection_describes_live_tokens_only(app) {
        let caller = service_client(&app, "client_secret_basic").await;
        let (_, tokens, _) = app.signed_in_user().await;

        // RFC 7662 §4: tokens issued to someone else (here the first-party
        // API login's) are not described to this client.
        for token in [&tokens.access_token, &tokens.refresh_token] {
            let other = introspect(&app, &caller, token).await;
            assert_eq!(other, json!({"active": false}), "{other}");
        }

        let client_access = client_token(&app, &caller).await;
        let described = introspect(&app, &caller, &client_access).await;
        assert_eq!(described["active"], true, "{described}");
        assert_eq!(described["client_id"], caller.id.as_str());
        assert_eq!(described["sub"], caller.id.as_str());
        assert_eq!(described["scope"], "invoices:read invoices:write");
        assert!(described.get("sid").is_none());

        assert_eq!(described["token_type"], "Bearer");
        assert_eq!(described["iss"], app.url.as_str());
        assert_eq!(described["aud"], app.url.as_str());
        assert!(described["exp"].is_i64() && described["iat"].is_i64() && described["jti"].is_string());

        for garbage in ["garbage", "a.b.c", "", "eyJhbGciOiJub25lIn0.e30."] {
            let response = post_basic(&app, "/oauth2/introspect", &caller, &[("token", garbage)]).await;
            if garbage.is_empty() {
                assert_oauth_error(response, 400, "invalid_request").await;
                continue;
            }
            assert_eq!(response.json::<Value>().await.unwrap(), json!({"active": false}), "{garbage}");
        }

        let response = post_form(&app, "/oauth2/introspect", &[("token", tokens.access_token.as_str())]).await;
        assert_oauth_error(response, 401, "invalid_client").await;
        let wrong = TestClient { id: caller.id.clone(), secret: "nope".into() };
        let response = post_basic(&app, "/oauth2/introspect", &wrong, &[("token", tokens.access_token.as_str())]).await;
        assert_oauth_error(response, 401, "invalid_client").await;
    }

    async fn revoking_anothers_tokens_is_refused_and_changes_nothing(app) {
        // RFC 7009 §2.1: a client may revoke only tokens issued to it. The
        // first-party API's tokens belong to no OAuth client.
        let caller = service_client(&app, "client_secret_basic").await;
        let (_, tokens, _) = app.signed_in_user().await;
        for token in [&tokens.refresh_token, &tokens.access_token] {
            let response = post_basic(&app, "/oauth2/revoke", &caller, &[("token", token.as_str())]).await;
            assert_oauth_error(response, 400, "unauthorized_client").await;
        }
        assert_eq!(app.me(&tokens.access_token).await.status(), 200);
        assert_eq!(app.refresh_response(&tokens.refresh_token).await.status(), 200);
    }

    async fn revoking_an_access_token_denies_it_until_it_expires(app) {
        let caller = service_client(&app, "client_secret_basic").await;
        let client_access = client_token(&app, &caller).await;
        assert_eq!(introspect(&app, &caller, &client_access).await["active"], true);
        revoke(&app, &caller, &client_access, "access_token").await;
        assert_eq!(introspect(&app, &caller, &client_access).await, json!({"active": false}));
        let rows = app.db().await.texts("select jti from revoked_access_token").await;
        assert_eq!(rows.len(), 1);
        // Revoking it again is still a success and keeps one row.
        revoke(&app, &caller, &client_access, "access_token").await;
        assert_eq!(app.db().await.texts("select jti from revoked_access_token").await.len(), 1);
    }

    async fn revoking_garbage_succeeds_but_needs_client_authentication(app) {
        let caller = service_client(&app, "client_secret_post").await;
        let form = [
            ("token", "not-a-token"),
            ("client_id", caller.id.as_str()),
            ("client_secret", caller.secret.as_str()),
        ];
        let response = post_form(&app, "/oauth2/revoke", &form).await;
        assert_eq!(response.status(), 200);
        assert!(response.bytes().await.unwrap().is_empty());

        let response = post_form(&app, "/oauth2/revoke", &[("token", "not-a-token")]).await;
        assert_oauth_error(response, 401, "invalid_client").await;
    }
}
