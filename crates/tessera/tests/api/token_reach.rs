//! Tokens open only what they were issued for (issue #10, written as the
//! attacks): a client's token the person approved for `openid` is a
//! sign-in, not a key to their account or to the admin API; its claims say
//! only what its scopes allow; and an admin cannot register a client that
//! would hand it a super admin's token.

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::every_engine_admin;
use crate::flow::{Browser, REDIRECT_URI};
use crate::helpers::{
    admin_token, assert_problem, jwt_part, member_with_roles, TestApp, MEMBER_PASSWORD, ROOT_EMAIL,
    ROOT_PASSWORD,
};

const VERIFIER: &str = "a-verifier-that-is-long-enough-for-rfc-7636-section-4.1-0123456789";
const CLIENTS: &str = "/api/v1/admin/clients";

/// A web client's registration body (authorization code) with `extra`.
fn web_client(extra: Value) -> Value {
    let mut body = json!({
        "name": "Lure",
        "client_type": "confidential",
        "grant_types": ["authorization_code"],
        "redirect_uris": [REDIRECT_URI],
        "scopes": ["openid", "profile", "email"],
        "token_endpoint_auth_method": "client_secret_basic",
    });
    for (key, value) in extra.as_object().expect("object") {
        body[key] = value.clone();
    }
    body
}

/// The access token `email` gets for `client` asking for `scope` (a fresh
/// browser, signing in and consenting).
async fn delegated_token(app: &TestApp, client: &Value, scope: &str, email: &str, password: &str) -> Value {
    let id = client["client_id"].as_str().expect("client_id");
    let secret = client["client_secret"].as_str().expect("client_secret");
    let (code, _) = Browser::new(app)
        .obtain_code(id, REDIRECT_URI, scope, Some(VERIFIER), email, password)
        .await;
    let response = app
        .client
        .post(app.at("/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("token json")
}

async fn assert_insufficient_scope(response: Response, scope: &str) {
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_problem(response, 403, "insufficient_scope").await;
    assert!(challenge.contains(&format!("scope=\"{scope}\"")), "{challenge}");
}

every_engine_admin! {
    async fn an_openid_token_opens_neither_the_account_nor_the_admin_api(app) {
        let root = admin_token(&app).await;
        let client = app.admin_ok(Method::POST, CLIENTS, &root, Some(web_client(json!({}))), 201).await;
        let tokens = delegated_token(&app, &client, "openid", ROOT_EMAIL, ROOT_PASSWORD).await;
        let token = tokens["access_token"].as_str().unwrap();

        let claims = jwt_part(token, 1);
        for claim in ["email", "permissions"] {
            assert!(claims.get(claim).is_none(), "{claim} without its scope: {claims}");
        }
        assert_eq!(claims["roles"], json!([]), "{claims}");

        let userinfo = app.client.get(app.at("/oauth2/userinfo")).bearer_auth(token).send().await.unwrap();
        assert_eq!(userinfo.status(), StatusCode::OK, "it still signs the person in");
        assert_insufficient_scope(app.admin_call(Method::GET, "/api/v1/admin/users", token, None).await, "tessera:admin").await;
        let admin = json!({"email": "planted@example.com", "password": MEMBER_PASSWORD, "roles": ["admin"]});
        assert_insufficient_scope(app.admin_call(Method::POST, "/api/v1/admin/users", token, Some(admin)).await, "tessera:admin").await;
        assert_insufficient_scope(app.admin_call(Method::POST, "/api/v1/auth/logout-all", token, None).await, "tessera:account").await;
        assert_insufficient_scope(app.me(token).await, "tessera:account").await;
        let decision = app
            .admin_call(Method::POST, "/api/v1/authz/check", &root, Some(json!({"token": token, "permission": "user:read"})))
            .await;
        let decision: Value = decision.json().await.unwrap();
        assert_eq!(decision["allowed"], false, "{decision}");

        // With the scopes granted (the person consented to exactly that),
        // the same kind of token reaches what they name, and carries the
        // claims they allow.
        let wide = web_client(json!({"scopes": ["openid", "email", "roles", "tessera:account", "tessera:admin"]}));
        let client = app.admin_ok(Method::POST, CLIENTS, &root, Some(wide), 201).await;
        let tokens = delegated_token(&app, &client, "openid email roles tessera:account tessera:admin", ROOT_EMAIL, ROOT_PASSWORD).await;
        let token = tokens["access_token"].as_str().unwrap();
        let claims = jwt_part(token, 1);
        assert_eq!(claims["email"], ROOT_EMAIL);
        assert!(claims["roles"].as_array().unwrap().contains(&json!("super_admin")), "{claims}");
        assert_eq!(app.me(token).await.status(), StatusCode::OK);
        assert_eq!(app.admin_call(Method::GET, "/api/v1/admin/users", token, None).await.status(), StatusCode::OK);
    }

    async fn an_admin_cannot_register_a_client_that_would_make_it_super_admin(app) {
        let root = admin_token(&app).await;
        let admin = member_with_roles(&app, &root, &["admin"]).await;
        let mine = &admin.tokens.access_token;

        // The lure: a first-party client (no consent screen), or one that
        // may ask for tessera:admin. Both refused, on create and on change.
        let first_party = web_client(json!({"first_party": true}));
        assert_problem(app.admin_call(Method::POST, CLIENTS, mine, Some(first_party.clone())).await, 403, "rank_rule").await;
        let admin_scope = web_client(json!({"scopes": ["openid", "tessera:admin"]}));
        assert_problem(app.admin_call(Method::POST, CLIENTS, mine, Some(admin_scope)).await, 403, "rank_rule").await;
        let plain = app.admin_ok(Method::POST, CLIENTS, mine, Some(web_client(json!({}))), 201).await;
        let path = format!("{CLIENTS}/{}", plain["client_id"].as_str().unwrap());
        assert_problem(app.admin_call(Method::PATCH, &path, mine, Some(json!({"first_party": true}))).await, 403, "rank_rule").await;
        assert_problem(app.admin_call(Method::PATCH, &path, mine, Some(json!({"scopes": ["openid", "tessera:admin"]}))).await, 403, "rank_rule").await;

        // The super admin lured to the plain client gets a token that
        // cannot grant anything.
        let tokens = delegated_token(&app, &plain, "openid profile", ROOT_EMAIL, ROOT_PASSWORD).await;
        let stolen = tokens["access_token"].as_str().unwrap();
        let grant = format!("/api/v1/admin/users/{}/roles", admin.id);
        let response = app.admin_call(Method::POST, &grant, stolen, Some(json!({"role": "super_admin"}))).await;
        assert_insufficient_scope(response, "tessera:admin").await;
        let roles = jwt_part(&app.login(&admin.email, MEMBER_PASSWORD).await.access_token, 1)["roles"].clone();
        assert_eq!(roles, json!(["admin"]), "still only admin");

        // Whoever holds every permission may register a first-party client,
        // and even then a token for the admin API needs the person's consent.
        let trusted = web_client(json!({"first_party": true, "scopes": ["openid", "tessera:admin"]}));
        let trusted = app.admin_ok(Method::POST, CLIENTS, &root, Some(trusted), 201).await;
        let browser = Browser::new(&app);
        let challenge = crate::flow::pkce_challenge(VERIFIER);
        let params = [
            ("response_type", "code"),
            ("client_id", trusted["client_id"].as_str().unwrap()),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid tessera:admin"),
            ("state", "s"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        let login = browser.authorize(&params).await;
        let next = crate::flow::location(&login);
        let signed_in = browser.sign_in(ROOT_EMAIL, ROOT_PASSWORD, &crate::flow::return_to_of(&next)).await;
        let after = browser.get(&crate::flow::location(&signed_in)).await;
        let target = crate::flow::location(&after);
        assert!(target.starts_with("/consent?"), "first-party, but tessera:admin asks the person: {target}");
    }
}
