//! Resource indicators (RFC 8707, issue #10), written as the attacks: a
//! token for a resource server opens that resource only — not Tessera's API,
//! not another resource — carries only that resource's scopes, and is
//! described by introspection only to the client it was issued to and to the
//! resource it is for.

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::every_engine_admin;
use crate::flow::{location, pkce_challenge, query_param, return_to_of, Browser, REDIRECT_URI};
use crate::helpers::{
    admin_token, assert_problem, jwt_part, machine_client, MachineClient, TestApp, ROOT_EMAIL, ROOT_PASSWORD,
};

const CLIENTS: &str = "/api/v1/admin/clients";
const ORDERS: &str = "https://orders.example.com/api";
const BILLING: &str = "https://billing.example.com/api";
const VERIFIER: &str = "a-verifier-that-is-long-enough-for-rfc-7636-section-4.1-0123456789";

/// Registers the resource server for `identifier` (a confidential client
/// that may introspect) with `scopes`.
async fn resource_server(app: &TestApp, root: &str, identifier: &str, scopes: &[&str]) -> MachineClient {
    let extra = json!({"name": "Orders API", "resource": identifier, "resource_scopes": scopes});
    machine_client(app, root, extra).await.0
}

/// `POST /oauth2/token` for `client` with `form`.
async fn token_request(app: &TestApp, client: &MachineClient, form: &[(&str, &str)]) -> Response {
    app.client
        .post(app.at("/oauth2/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(form)
        .send()
        .await
        .expect("token request")
}

/// Whether `caller` is told that `token` is active.
async fn introspected_active(app: &TestApp, caller: &MachineClient, token: &str) -> bool {
    let response = app
        .client
        .post(app.at("/oauth2/introspect"))
        .basic_auth(&caller.id, Some(&caller.secret))
        .form(&[("token", token)])
        .send()
        .await
        .expect("introspection");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    body["active"].as_bool().expect("active")
}

/// Runs authorize → sign in → consent (if asked) with `params` in a fresh
/// browser; returns where the browser was finally sent, and whether a
/// consent page named the resource.
async fn authorize(app: &TestApp, params: &[(&str, &str)]) -> (String, Option<String>) {
    let browser = Browser::new(app);
    let mut response = browser.authorize(params).await;
    let mut consent_page = None;
    for _ in 0..4 {
        let next = location(&response);
        if next.starts_with(REDIRECT_URI) {
            return (next, consent_page);
        }
        response = if next.starts_with("/login?") {
            let signed_in = browser
                .sign_in(ROOT_EMAIL, ROOT_PASSWORD, &return_to_of(&next))
                .await;
            browser.get(&location(&signed_in)).await
        } else if next.starts_with("/consent?") {
            consent_page = Some(browser.get(&next).await.text().await.expect("consent page"));
            browser.consent(&return_to_of(&next), true).await
        } else {
            panic!("unexpected redirect to {next}");
        };
    }
    panic!("the flow did not reach the redirect URI");
}

every_engine_admin! {
    async fn a_client_token_for_a_resource_opens_that_resource_only(app) {
        let root = admin_token(&app).await;
        let orders = resource_server(&app, &root, ORDERS, &["orders:read", "orders:write"]).await;
        let scopes = json!({"scopes": ["orders:read", "invoices:read", "tessera:admin"]});
        let (machine, _) = machine_client(&app, &root, scopes).await;
        let (bystander, _) = machine_client(&app, &root, json!({})).await;

        let response = token_request(&app, &machine, &[("grant_type", "client_credentials"), ("resource", ORDERS)]).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        let token = body["access_token"].as_str().unwrap().to_string();
        let claims = jwt_part(&token, 1);
        assert_eq!(claims["aud"], ORDERS);
        assert_eq!(claims["scope"], "orders:read", "only the resource's own scopes: {claims}");
        assert_eq!(body["scope"], "orders:read");

        // Not a key to Tessera's API, whatever the client could get there.
        let admin = app.admin_call(Method::GET, "/api/v1/admin/users", &token, None).await;
        assert_problem(admin, 401, "invalid_token").await;
        let userinfo = app.client.get(app.at("/oauth2/userinfo")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(userinfo.status(), StatusCode::UNAUTHORIZED);

        // Described to the client it was issued to and to the resource it is
        // for; to any other client it is inactive (RFC 7662 §4).
        assert!(introspected_active(&app, &machine, &token).await);
        assert!(introspected_active(&app, &orders, &token).await);
        assert!(!introspected_active(&app, &bystander, &token).await);
        // The resource server cannot read the client's tokens for Tessera's API.
        let api_token = token_request(&app, &machine, &[("grant_type", "client_credentials"), ("scope", "invoices:read")]).await;
        let api_token: Value = api_token.json().await.unwrap();
        let api_token = api_token["access_token"].as_str().unwrap();
        assert!(!introspected_active(&app, &orders, api_token).await);
        assert!(introspected_active(&app, &machine, api_token).await);

        // Scopes of other resources, or of Tessera's API, are refused with it.
        for scope in ["invoices:read", "tessera:admin", "orders:read tessera:admin"] {
            let refused = token_request(&app, &machine, &[("grant_type", "client_credentials"), ("resource", ORDERS), ("scope", scope)]).await;
            let problem: Value = refused.json().await.unwrap();
            assert_eq!(problem["error"], "invalid_scope", "{scope}: {problem}");
        }
        // The client's own scope list still limits what it gets.
        let refused = token_request(&app, &machine, &[("grant_type", "client_credentials"), ("resource", ORDERS), ("scope", "orders:write")]).await;
        assert_eq!(refused.json::<Value>().await.unwrap()["error"], "invalid_scope");
        for resource in [BILLING, "orders", "https://orders.example.com/api#frag", "https://orders.example.com/API"] {
            let refused = token_request(&app, &machine, &[("grant_type", "client_credentials"), ("resource", resource)]).await;
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
            let problem: Value = refused.json().await.unwrap();
            assert_eq!(problem["error"], "invalid_target", "{resource}: {problem}");
        }
    }

    async fn resource_registrations_are_checked(app) {
        let root = admin_token(&app).await;
        let register = |extra: Value| {
            let mut body = json!({
                "name": "Api", "client_type": "confidential", "grant_types": ["client_credentials"],
                "scopes": [], "token_endpoint_auth_method": "client_secret_basic",
            });
            for (key, value) in extra.as_object().unwrap() {
                body[key] = value.clone();
            }
            body
        };
        let issuer = app.config.issuer.clone();
        for (extra, rule) in [
            (json!({"resource": issuer}), "reserved"),
            (json!({"resource": "/relative"}), "invalid"),
            (json!({"resource": "https://x.example/#f"}), "invalid"),
            (json!({"resource": ORDERS, "resource_scopes": ["openid"]}), "reserved"),
            (json!({"resource": ORDERS, "resource_scopes": ["tessera:admin"]}), "reserved"),
            (json!({"resource_scopes": ["orders:read"]}), "requires_resource"),
        ] {
            let response = app.admin_call(Method::POST, CLIENTS, &root, Some(register(extra.clone()))).await;
            let problem = assert_problem(response, 422, "validation_failed").await;
            assert!(problem.to_string().contains(rule), "{extra}: {problem}");
        }
        let first = app.admin_ok(Method::POST, CLIENTS, &root, Some(register(json!({"resource": ORDERS}))), 201).await;
        assert_eq!(first["resource"], ORDERS);
        let twin = app.admin_call(Method::POST, CLIENTS, &root, Some(register(json!({"resource": ORDERS})))).await;
        assert_problem(twin, 409, "conflict").await;
        let other = app.admin_ok(Method::POST, CLIENTS, &root, Some(register(json!({}))), 201).await;
        let path = format!("{CLIENTS}/{}", other["client_id"].as_str().unwrap());
        let taking_over = app.admin_call(Method::PATCH, &path, &root, Some(json!({"resource": ORDERS}))).await;
        assert_problem(taking_over, 409, "conflict").await;
    }

    async fn the_code_flow_carries_the_resource_into_every_token_of_the_grant(app) {
        let root = admin_token(&app).await;
        let orders = resource_server(&app, &root, ORDERS, &["orders:read"]).await;
        let web = json!({
            "name": "Shop", "client_type": "confidential", "grant_types": ["authorization_code", "refresh_token"],
            "redirect_uris": [REDIRECT_URI], "scopes": ["openid", "orders:read", "tessera:account"],
            "token_endpoint_auth_method": "client_secret_basic",
        });
        let web = app.admin_ok(Method::POST, CLIENTS, &root, Some(web), 201).await;
        let shop = MachineClient {
            id: web["client_id"].as_str().unwrap().to_string(),
            secret: web["client_secret"].as_str().unwrap().to_string(),
        };
        let challenge = pkce_challenge(VERIFIER);
        let params = |scope: &'static str, resources: &[&'static str]| {
            let mut params = vec![
                ("response_type", "code"), ("client_id", shop.id.as_str()), ("redirect_uri", REDIRECT_URI),
                ("scope", scope), ("state", "s"), ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ];
            params.extend(resources.iter().map(|r| ("resource", *r)));
            params
        };

        // Refused before anything is asked of the person.
        for (scope, resources, error) in [
            ("openid tessera:account", &[ORDERS][..], "invalid_scope"),
            ("openid orders:read", &[BILLING][..], "invalid_target"),
            ("openid orders:read", &[ORDERS, BILLING][..], "invalid_target"),
        ] {
            let refused = Browser::new(&app).authorize(&params(scope, resources)).await;
            let target = location(&refused);
            assert_eq!(query_param(&target, "error").as_deref(), Some(error), "{scope} {resources:?}: {target}");
        }

        // The consent page names the resource; the code is redeemed for a
        // token whose audience is the resource.
        let (target, consent) = authorize(&app, &params("openid orders:read", &[ORDERS])).await;
        let consent = consent.expect("a third-party client asks for consent");
        let consent = crate::flow::unescape_html(&consent);
        assert!(consent.contains("Orders API") && consent.contains(ORDERS), "{consent}");
        let code = query_param(&target, "code").expect("code");
        let exchange = |code: String, resource: Option<&'static str>| {
            let mut form = vec![
                ("grant_type", "authorization_code".to_string()), ("code", code),
                ("redirect_uri", REDIRECT_URI.to_string()), ("code_verifier", VERIFIER.to_string()),
            ];
            form.extend(resource.map(|r| ("resource", r.to_string())));
            form
        };
        let wrong: Vec<(&str, String)> = exchange(code.clone(), Some(BILLING));
        let refused = app.client.post(app.at("/oauth2/token")).basic_auth(&shop.id, Some(&shop.secret)).form(&wrong).send().await.unwrap();
        assert_eq!(refused.json::<Value>().await.unwrap()["error"], "invalid_target");
        let right = exchange(code, Some(ORDERS));
        let issued = app.client.post(app.at("/oauth2/token")).basic_auth(&shop.id, Some(&shop.secret)).form(&right).send().await.unwrap();
        assert_eq!(issued.status(), StatusCode::OK, "the refused attempt did not spend the code");
        let issued: Value = issued.json().await.unwrap();
        let access = issued["access_token"].as_str().unwrap();
        assert_eq!(jwt_part(access, 1)["aud"], ORDERS);
        assert!(issued["id_token"].is_string(), "openid still signs the person in");
        assert_problem(app.me(access).await, 401, "invalid_token").await;

        // Refreshing keeps the audience; asking for another resource is
        // refused without spending the refresh token. The refresh token is
        // described to the client that holds it, not to the resource.
        let refresh = issued["refresh_token"].as_str().unwrap();
        assert!(introspected_active(&app, &shop, refresh).await);
        assert!(introspected_active(&app, &orders, access).await);
        assert!(!introspected_active(&app, &orders, refresh).await);
        let other = [("grant_type", "refresh_token"), ("refresh_token", refresh), ("resource", BILLING)];
        let refused = token_request(&app, &shop, &other).await;
        assert_eq!(refused.json::<Value>().await.unwrap()["error"], "invalid_target");
        let again = token_request(&app, &shop, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
        assert_eq!(again.status(), StatusCode::OK);
        let again: Value = again.json().await.unwrap();
        assert_eq!(jwt_part(again["access_token"].as_str().unwrap(), 1)["aud"], ORDERS);

        // Without a resource the grant is for Tessera's API, as before.
        let (target, _) = authorize(&app, &params("openid tessera:account", &[])).await;
        let plain = exchange(query_param(&target, "code").unwrap(), None);
        let issued = app.client.post(app.at("/oauth2/token")).basic_auth(&shop.id, Some(&shop.secret)).form(&plain).send().await.unwrap();
        let issued: Value = issued.json().await.unwrap();
        let access = issued["access_token"].as_str().unwrap();
        assert_eq!(jwt_part(access, 1)["aud"], app.config.issuer.as_str());
        assert_eq!(app.me(access).await.status(), StatusCode::OK);
    }
}
