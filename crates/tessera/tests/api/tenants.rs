//! Tenants: created by the default tenant's super_admin, served under
//! `/t/{slug}` with their own issuer, keys, users, clients and roles, and
//! isolated completely — a token of one tenant is 401 in another, and an id
//! of another tenant is 404 on every admin route, exactly like a missing one.

use reqwest::Method;
use serde_json::{json, Value};

use crate::every_engine_admin;
use crate::helpers::*;

/// Creates tenant `slug` with a first super_admin; returns its admin token.
async fn tenant_with_admin(app: &TestApp, root: &str, slug: &str) -> String {
    let email = format!("admin@{slug}.example");
    let created = app
        .admin_ok(
            Method::POST,
            "/api/v1/admin/tenants",
            root,
            Some(json!({"slug": slug, "name": format!("Tenant {slug}"),
                        "admin": {"email": email, "password": MEMBER_PASSWORD}})),
            201,
        )
        .await;
    assert_eq!(created["slug"], slug);
    assert_eq!(created["issuer"], format!("{}/t/{slug}", app.url));
    let response = app
        .post_json(
            &format!("/t/{slug}/api/v1/auth/login"),
            json!({"identifier": email, "password": MEMBER_PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), 200, "tenant admin logs in under /t/{slug}");
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

every_engine_admin! {
    async fn a_tenant_has_its_own_issuer_discovery_jwks_and_tokens(app) {
        let root = admin_token(&app).await;
        let acme = tenant_with_admin(&app, &root, "acme").await;
        let issuer = format!("{}/t/acme", app.url);
        let claims = jwt_part(&acme, 1);
        assert_eq!(claims["iss"], issuer, "tenant tokens carry the tenant issuer");
        assert_eq!(claims["roles"], json!(["super_admin"]));
        assert_ne!(claims["tid"], jwt_part(&root, 1)["tid"], "another tenant id");

        let discovery: Value = app
            .client
            .get(app.at("/t/acme/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(discovery["issuer"], issuer);
        assert_eq!(discovery["token_endpoint"], format!("{issuer}/oauth2/token"));
        assert_eq!(discovery["jwks_uri"], format!("{issuer}/.well-known/jwks.json"));
        let tenant_jwks: Value = app
            .client
            .get(app.at("/t/acme/.well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let root_jwks = app.jwks().await;
        let kids = |jwks: &Value| -> Vec<String> {
            jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect()
        };
        assert!(
            kids(&tenant_jwks).iter().all(|kid| !kids(&root_jwks).contains(kid)),
            "each tenant signs with its own keys"
        );
        let me = app.get_with("/t/acme/api/v1/users/me", &acme).await;
        assert_eq!(me.status(), 200);

        // The single-tenant paths stay as they were.
        let root_discovery: Value = app
            .client
            .get(app.at("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(root_discovery["issuer"], app.url);
    }

    async fn a_token_presented_to_another_tenant_is_401(app) {
        let root = admin_token(&app).await;
        let acme = tenant_with_admin(&app, &root, "acme").await;
        let globex = tenant_with_admin(&app, &root, "globex").await;
        for (path, token, who) in [
            ("/api/v1/users/me", &acme, "acme token at the root"),
            ("/t/acme/api/v1/users/me", &root, "root token at acme"),
            ("/t/globex/api/v1/users/me", &acme, "acme token at globex"),
            ("/t/acme/api/v1/admin/users", &globex, "globex token at acme's admin API"),
            ("/api/v1/admin/users", &acme, "acme token at the root admin API"),
        ] {
            let response = app.get_with(path, token).await;
            assert_eq!(response.status(), 401, "{who}");
            assert_problem(response, 401, "invalid_token").await;
        }
        // Introspection by another tenant's client: inactive.
        let (client, _) = machine_client(&app, &root, json!({})).await;
        let response = app
            .client
            .post(app.at("/oauth2/introspect"))
            .basic_auth(&client.id, Some(&client.secret))
            .form(&[("token", acme.as_str())])
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["active"], false, "another tenant's token is not active here");
    }

    async fn every_admin_route_naming_another_tenants_ids_is_404(app) {
        let root = admin_token(&app).await;
        // Things that exist only in the default tenant.
        let member = member_with_roles(&app, &root, &["user"]).await;
        let (client, _) = machine_client(&app, &root, json!({})).await;
        app.admin_ok(Method::POST, "/api/v1/admin/roles", &root,
            Some(json!({"name": "root-only"})), 201).await;
        app.admin_ok(Method::POST, "/api/v1/admin/permissions", &root,
            Some(json!({"name": "rootonly:do"})), 201).await;
        let acme = tenant_with_admin(&app, &root, "acme").await;
        let user = &member.id;
        let cid = &client.id;
        let routes: Vec<(Method, String, Option<Value>)> = vec![
            (Method::GET, format!("/api/v1/admin/users/{user}"), None),
            (Method::PATCH, format!("/api/v1/admin/users/{user}"), Some(json!({"display_name": "x"}))),
            (Method::DELETE, format!("/api/v1/admin/users/{user}"), None),
            (Method::DELETE, format!("/api/v1/admin/users/{user}?erase=true"), None),
            (Method::POST, format!("/api/v1/admin/users/{user}/suspend"), None),
            (Method::POST, format!("/api/v1/admin/users/{user}/disable"), None),
            (Method::POST, format!("/api/v1/admin/users/{user}/reactivate"), None),
            (Method::POST, format!("/api/v1/admin/users/{user}/logout"), None),
            (Method::POST, format!("/api/v1/admin/users/{user}/password"), Some(json!({}))),
            (Method::POST, format!("/api/v1/admin/users/{user}/roles"), Some(json!({"role": "user"}))),
            (Method::DELETE, format!("/api/v1/admin/users/{user}/roles/user"), None),
            (Method::GET, "/api/v1/admin/roles/root-only".into(), None),
            (Method::PATCH, "/api/v1/admin/roles/root-only".into(), Some(json!({"description": "x"}))),
            (Method::DELETE, "/api/v1/admin/roles/root-only".into(), None),
            (Method::PUT, "/api/v1/admin/roles/root-only/permissions/user:read".into(), None),
            (Method::DELETE, "/api/v1/admin/roles/root-only/permissions/user:read".into(), None),
            (Method::PUT, "/api/v1/admin/roles/moderator/permissions/rootonly:do".into(), None),
            (Method::DELETE, "/api/v1/admin/permissions/rootonly:do".into(), None),
            (Method::GET, format!("/api/v1/admin/clients/{cid}"), None),
            (Method::PATCH, format!("/api/v1/admin/clients/{cid}"), Some(json!({"name": "x"}))),
            (Method::DELETE, format!("/api/v1/admin/clients/{cid}"), None),
            (Method::POST, format!("/api/v1/admin/clients/{cid}/secret"), None),
            (Method::POST, format!("/api/v1/admin/clients/{cid}/roles"), Some(json!({"role": "user"}))),
            (Method::DELETE, format!("/api/v1/admin/clients/{cid}/roles/user"), None),
            (Method::POST, "/api/v1/authz/check".into(), Some(json!({"user_id": user, "permission": "user:read"}))),
            (Method::GET, "/api/v1/admin/tenants".into(), None),
            (Method::POST, "/api/v1/admin/tenants".into(), Some(json!({"slug": "nested", "name": "Nested"}))),
            (Method::PATCH, "/api/v1/admin/tenants/default".into(), Some(json!({"name": "x"}))),
        ];
        let mut wrong = Vec::new();
        for (method, path, body) in routes {
            let response = app.admin_call(method.clone(), &format!("/t/acme{path}"), &acme, body).await;
            let status = response.status().as_u16();
            if status != 404 {
                wrong.push(format!("{method} /t/acme{path}: {status} {}", response.text().await.unwrap_or_default()));
            }
        }
        assert!(wrong.is_empty(), "foreign ids must answer 404:\n{}", wrong.join("\n"));
        // Nothing changed in the default tenant.
        let still = app.admin_ok(Method::GET, &format!("/api/v1/admin/users/{user}"), &root, None, 200).await;
        assert_eq!(still["status"], "active");
        assert_eq!(still["display_name"], Value::Null);
        // And the tenant's own lists do not show the default tenant's rows.
        let users = app.admin_ok(Method::GET, "/t/acme/api/v1/admin/users", &acme, None, 200).await;
        assert_eq!(users["items"].as_array().unwrap().len(), 1, "only acme's admin: {users}");
        let clients = app.admin_ok(Method::GET, "/t/acme/api/v1/admin/clients", &acme, None, 200).await;
        assert_eq!(clients["items"], json!([]));
    }

    async fn tenants_are_listed_renamed_disabled_and_enabled_by_the_default_super_admin(app) {
        let root = admin_token(&app).await;
        let acme = tenant_with_admin(&app, &root, "acme").await;
        let list = app.admin_ok(Method::GET, "/api/v1/admin/tenants", &root, None, 200).await;
        let slugs: Vec<&str> = list["items"].as_array().unwrap().iter().map(|t| t["slug"].as_str().unwrap()).collect();
        assert_eq!(slugs, ["default", "acme"]);
        let renamed = app.admin_ok(Method::PATCH, "/api/v1/admin/tenants/acme", &root,
            Some(json!({"name": "Acme Corp"})), 200).await;
        assert_eq!(renamed["name"], "Acme Corp");

        app.admin_ok(Method::PATCH, "/api/v1/admin/tenants/acme", &root, Some(json!({"disabled": true})), 200).await;
        let response = app.get_with("/t/acme/api/v1/users/me", &acme).await;
        assert_problem(response, 404, "not_found").await;
        let response = app.client.get(app.at("/t/acme/.well-known/openid-configuration")).send().await.unwrap();
        assert_eq!(response.status(), 404, "a disabled tenant is not served");
        app.admin_ok(Method::PATCH, "/api/v1/admin/tenants/acme", &root, Some(json!({"disabled": false})), 200).await;
        assert_eq!(app.get_with("/t/acme/api/v1/users/me", &acme).await.status(), 200);

        // Validation and conflicts.
        let response = app.admin_call(Method::POST, "/api/v1/admin/tenants", &root,
            Some(json!({"slug": "acme", "name": "Again"}))).await;
        assert_problem(response, 409, "conflict").await;
        let response = app.admin_call(Method::POST, "/api/v1/admin/tenants", &root,
            Some(json!({"slug": "Not A Slug", "name": "x"}))).await;
        assert_problem(response, 422, "validation_failed").await;
        let response = app.admin_call(Method::POST, "/api/v1/admin/tenants", &root,
            Some(json!({"slug": "weak", "name": "Weak", "admin": {"email": "a@weak.example", "password": "short"}}))).await;
        assert_problem(response, 422, "validation_failed").await;
        let list = app.admin_ok(Method::GET, "/api/v1/admin/tenants", &root, None, 200).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 2, "a refused admin creates no tenant");
        let response = app.admin_call(Method::PATCH, "/api/v1/admin/tenants/default", &root,
            Some(json!({"disabled": true}))).await;
        assert_problem(response, 422, "validation_failed").await;
        let response = app.admin_call(Method::PATCH, "/api/v1/admin/tenants/nope", &root,
            Some(json!({"name": "x"}))).await;
        assert_problem(response, 404, "not_found").await;
        let response = app.get_with("/t/nope/api/v1/users/me", &root).await;
        assert_problem(response, 404, "not_found").await;

        // An admin of the default tenant lacks tenant:* permissions.
        let (_, admin) = user_with_role(&app, &root, "admin").await;
        let response = app.admin_call(Method::GET, "/api/v1/admin/tenants", &admin, None).await;
        assert_problem(response, 403, "forbidden").await;
    }

    async fn a_tenant_has_its_own_seeded_roles_users_and_hosted_pages(app) {
        let root = admin_token(&app).await;
        let acme = tenant_with_admin(&app, &root, "acme").await;
        let roles = app.admin_ok(Method::GET, "/t/acme/api/v1/admin/roles", &acme, None, 200).await;
        let names: Vec<&str> = roles["items"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
        for seeded in ["admin", "guest", "moderator", "super_admin", "user"] {
            assert!(names.contains(&seeded), "{seeded} seeded in the new tenant: {names:?}");
        }
        // The same email registers separately in each tenant.
        let email = unique_email("both");
        for prefix in ["", "/t/acme"] {
            let response = app
                .post_json(&format!("{prefix}/api/v1/auth/register"),
                    json!({"email": email, "password": MEMBER_PASSWORD}))
                .await;
            assert_eq!(response.status(), 201, "register at {prefix:?}");
        }
        let response = app.post_json("/t/acme/api/v1/auth/login",
            json!({"identifier": email, "password": MEMBER_PASSWORD})).await;
        let body: Value = response.json().await.unwrap();
        assert_eq!(jwt_part(body["access_token"].as_str().unwrap(), 1)["roles"], json!(["user"]));

        // Hosted pages link within the tenant and keep their own cookies.
        let response = app.client.get(app.at("/t/acme/login")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        assert!(
            cookies.iter().any(|c| c.starts_with("tessera_form_csrf_acme=") && c.contains("Path=/t/acme")),
            "tenant CSRF cookie scoped to the tenant: {cookies:?}"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains(r#"action="/t/acme/login""#), "form posts within the tenant");
        assert!(html.contains(r#"href="/t/acme/assets/tessera.css""#));
    }
}
