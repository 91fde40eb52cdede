//! `/api/v1/admin/clients` and `/api/v1/admin/keys`: registration with a
//! secret shown once, changes, secret rotation, machine-client roles and
//! their tokens, deletion, and signing-key rotation.

use reqwest::Method;
use serde_json::{json, Value};

use crate::every_engine_admin;
use crate::helpers::{
    admin_token, assert_problem, client_credentials_response, client_credentials_token, jwt_part,
    machine_client,
};

const CLIENTS: &str = "/api/v1/admin/clients";

every_engine_admin! {
    async fn a_created_client_shows_its_secret_once_and_can_use_it_at_once(app) {
        let root = admin_token(&app).await;
        let (client, created) = machine_client(&app, &root, json!({"name": "Billing worker", "access_token_ttl_secs": 120})).await;
        assert_eq!((&created["name"], &created["client_type"]), (&json!("Billing worker"), &json!("confidential")));
        assert_eq!(created["grant_types"], json!(["client_credentials"]));
        assert_eq!(created["token_permissions"], true, "permissions in tokens by default: {created}");
        assert_eq!(created["roles"], json!([]), "no roles yet: {created}");
        let token = client_credentials_token(&app, &client.id, &client.secret).await;
        assert_eq!(jwt_part(&token, 1)["exp"].as_i64().unwrap() - jwt_part(&token, 1)["iat"].as_i64().unwrap(), 120);

        let fetched = app.admin_ok(Method::GET, &format!("{CLIENTS}/{}", client.id), &root, None, 200).await;
        for field in ["client_id", "name", "client_type", "redirect_uris", "grant_types", "scopes", "token_endpoint_auth_method", "jwks", "first_party", "access_token_ttl_secs", "refresh_idle_ttl_secs", "post_logout_redirect_uris", "id_token_signed_response_alg", "token_permissions", "roles", "created_at", "updated_at"] {
            assert!(fetched.get(field).is_some(), "client answers {field}: {fetched}");
        }
        assert!(fetched.get("client_secret").is_none() && !fetched.to_string().contains(&client.secret), "GET never shows the secret: {fetched}");
        let listed = app.admin_ok(Method::GET, CLIENTS, &root, None, 200).await;
        let items = listed["items"].as_array().expect("items");
        assert!(items.iter().any(|c| c["client_id"] == client.id.as_str()), "listed: {listed}");
        assert!(!listed.to_string().contains(&client.secret), "the list never shows secrets");

        let invalid = app.admin_call(Method::POST, CLIENTS, &root, Some(json!({"name": "", "client_type": "secretive", "grant_types": ["magic"]}))).await;
        assert_problem(invalid, 422, "validation_failed").await;
        assert_problem(app.admin_call(Method::GET, &format!("{CLIENTS}/{}", uuid::Uuid::now_v7()), &root, None).await, 404, "not_found").await;
        assert_problem(app.admin_call(Method::GET, &format!("{CLIENTS}/not-an-id"), &root, None).await, 404, "not_found").await;
    }

    async fn patch_changes_name_scopes_and_drops_the_permissions_claim(app) {
        let root = admin_token(&app).await;
        let (client, _) = machine_client(&app, &root, json!({})).await;
        let path = format!("{CLIENTS}/{}", client.id);
        app.admin_ok(Method::POST, &format!("{path}/roles"), &root, Some(json!({"role": "moderator"})), 200).await;
        let claims = jwt_part(&client_credentials_token(&app, &client.id, &client.secret).await, 1);
        assert_eq!(claims["roles"], json!(["moderator"]), "{claims}");
        assert!(claims["permissions"].as_array().is_some_and(|p| p.iter().any(|x| x == "user:suspend")), "permissions claim present: {claims}");

        let changed = app.admin_ok(Method::PATCH, &path, &root, Some(json!({"name": "Renamed", "scopes": ["invoices:read", "invoices:write"], "token_permissions": false})), 200).await;
        assert_eq!((&changed["name"], &changed["scopes"], &changed["token_permissions"]), (&json!("Renamed"), &json!(["invoices:read", "invoices:write"]), &json!(false)));
        assert_eq!(changed["client_type"], "confidential", "unchanged fields stay");
        let response = client_credentials_response(&app, &client.id, &client.secret).await;
        assert_eq!(response.status().as_u16(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["scope"], "invoices:read invoices:write", "new scopes apply: {body}");
        let claims = jwt_part(body["access_token"].as_str().unwrap(), 1);
        assert!(claims.get("permissions").is_none(), "token_permissions=false leaves the claim out: {claims}");
        assert_eq!(claims["roles"], json!(["moderator"]), "roles always present: {claims}");
        assert!(claims["tid"].is_string(), "tid always present: {claims}");

        let refused = app.admin_call(Method::PATCH, &path, &root, Some(json!({"grant_types": ["teleport"]}))).await;
        assert_problem(refused, 422, "validation_failed").await;
    }

    async fn rotating_the_secret_shows_the_new_one_once(app) {
        let root = admin_token(&app).await;
        let (client, _) = machine_client(&app, &root, json!({})).await;
        let rotated = app.admin_ok(Method::POST, &format!("{CLIENTS}/{}/secret", client.id), &root, None, 200).await;
        assert_eq!(rotated["client_id"], client.id.as_str());
        let new_secret = rotated["client_secret"].as_str().expect("new client_secret").to_string();
        assert_ne!(new_secret, client.secret, "a new secret");
        client_credentials_token(&app, &client.id, &new_secret).await;
        client_credentials_token(&app, &client.id, &client.secret).await;
        let fetched = app.admin_ok(Method::GET, &format!("{CLIENTS}/{}", client.id), &root, None, 200).await;
        assert!(!fetched.to_string().contains(&new_secret), "never shown again: {fetched}");
    }

    async fn a_machine_client_with_role_admin_can_call_the_admin_api(app) {
        let root = admin_token(&app).await;
        // Its roles count only with the tessera:admin scope in its token:
        // a client registered without it cannot reach the admin API at all.
        let (unscoped, _) = machine_client(&app, &root, json!({})).await;
        app.admin_ok(Method::POST, &format!("{CLIENTS}/{}/roles", unscoped.id), &root, Some(json!({"role": "admin"})), 200).await;
        let unscoped = client_credentials_token(&app, &unscoped.id, &unscoped.secret).await;
        assert_problem(app.admin_call(Method::GET, "/api/v1/admin/users", &unscoped, None).await, 403, "insufficient_scope").await;

        let (client, _) = machine_client(&app, &root, json!({"scopes": ["invoices:read", "tessera:admin"]})).await;
        let roles = format!("{CLIENTS}/{}/roles", client.id);
        let before = client_credentials_token(&app, &client.id, &client.secret).await;
        assert_problem(app.admin_call(Method::GET, "/api/v1/admin/users", &before, None).await, 403, "forbidden").await;

        let assigned = app.admin_ok(Method::POST, &roles, &root, Some(json!({"role": "admin"})), 200).await;
        assert_eq!(assigned["roles"], json!(["admin"]), "{assigned}");
        let token = client_credentials_token(&app, &client.id, &client.secret).await;
        let claims = jwt_part(&token, 1);
        assert_eq!(claims["roles"], json!(["admin"]), "{claims}");
        let permissions: Vec<&str> = claims["permissions"].as_array().expect("permissions").iter().map(|p| p.as_str().unwrap()).collect();
        for held in ["user:*", "role:*", "client:*", "session:*", "audit:*", "permission:read"] {
            assert!(permissions.contains(&held), "admin's effective permissions include {held}: {permissions:?}");
        }
        assert!(!permissions.contains(&"*"), "admin does not hold *");
        let users = app.admin_ok(Method::GET, "/api/v1/admin/users", &token, None, 200).await;
        assert!(users["items"].is_array());
        assert_problem(app.admin_call(Method::POST, "/api/v1/admin/keys/rotate", &token, Some(json!({}))).await, 403, "forbidden").await;
        // The token minted before the assignment works too: callers are
        // judged by their current roles.
        app.admin_ok(Method::GET, "/api/v1/admin/users", &before, None, 200).await;

        let removed = app.admin_ok(Method::DELETE, &format!("{roles}/admin"), &root, None, 200).await;
        assert_eq!(removed["roles"], json!([]));
        assert_problem(app.admin_call(Method::GET, "/api/v1/admin/users", &token, None).await, 403, "forbidden").await;
        assert_problem(app.admin_call(Method::POST, &roles, &root, Some(json!({"role": "no-such-role"}))).await, 404, "not_found").await;
    }

    async fn a_deleted_clients_tokens_no_longer_work(app) {
        let root = admin_token(&app).await;
        let (client, _) = machine_client(&app, &root, json!({"scopes": ["tessera:admin"]})).await;
        let path = format!("{CLIENTS}/{}", client.id);
        app.admin_ok(Method::POST, &format!("{path}/roles"), &root, Some(json!({"role": "admin"})), 200).await;
        let token = client_credentials_token(&app, &client.id, &client.secret).await;
        app.admin_ok(Method::GET, "/api/v1/admin/users", &token, None, 200).await;
        assert_eq!(app.admin_ok(Method::DELETE, &path, &root, None, 204).await, Value::Null);
        assert_problem(app.admin_call(Method::GET, "/api/v1/admin/users", &token, None).await, 401, "invalid_token").await;
        assert_problem(app.admin_call(Method::GET, &path, &root, None).await, 404, "not_found").await;
        assert_eq!(client_credentials_response(&app, &client.id, &client.secret).await.status().as_u16(), 401, "a deleted client cannot authenticate");
    }

    async fn keys_are_listed_and_rotated_into_the_jwks(app) {
        let root = admin_token(&app).await;
        let listed = app.admin_ok(Method::GET, "/api/v1/admin/keys", &root, None, 200).await;
        let items = listed["items"].as_array().expect("items");
        assert!(!items.is_empty(), "the signing key is listed: {listed}");
        for field in ["kid", "alg", "state", "created_at", "activates_at", "not_after"] {
            assert!(items[0].get(field).is_some(), "key answers {field}: {listed}");
        }
        assert!(!listed.to_string().contains("\"d\""), "no private key material: {listed}");

        app.advance(1); // the new key is younger than the first one
        let rotated = app.admin_ok(Method::POST, "/api/v1/admin/keys/rotate", &root, Some(json!({"activation_delay_secs": 0})), 201).await;
        let kid = rotated["kid"].as_str().expect("kid").to_string();
        assert_eq!(rotated["alg"], "ES256", "the configured signing_alg by default");
        assert!(rotated["activates_at"].is_string(), "{rotated}");
        let jwks = app.jwks().await;
        assert!(jwks["keys"].as_array().unwrap().iter().any(|k| k["kid"] == kid.as_str()), "new kid {kid} published: {jwks}");
        let listed = app.admin_ok(Method::GET, "/api/v1/admin/keys", &root, None, 200).await;
        assert!(listed["items"].as_array().unwrap().iter().any(|k| k["kid"] == kid.as_str()), "new kid listed");
        let fresh = app.login(crate::helpers::ROOT_EMAIL, crate::helpers::ROOT_PASSWORD).await;
        assert_eq!(jwt_part(&fresh.access_token, 0)["kid"], kid.as_str(), "with no delay the new key signs at once");
        let eddsa = app.admin_ok(Method::POST, "/api/v1/admin/keys/rotate", &root, Some(json!({"alg": "EdDSA"})), 201).await;
        assert_eq!(eddsa["alg"], "EdDSA");
        let jwks = app.jwks().await;
        assert!(jwks["keys"].as_array().unwrap().iter().any(|k| k["kid"] == eddsa["kid"]), "an EdDSA key is published beside: {jwks}");
        let bad = app.admin_call(Method::POST, "/api/v1/admin/keys/rotate", &root, Some(json!({"alg": "HS256"}))).await;
        assert!(matches!(bad.status().as_u16(), 400 | 422), "an unknown algorithm is refused, got {}", bad.status());
    }
}
