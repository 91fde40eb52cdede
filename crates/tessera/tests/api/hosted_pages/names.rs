//! Pages a person understands: the login page names the application
//! asking, has an accessible show-password toggle and no link to a page
//! that does not exist; the consent page describes every scope.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{authorize_signing_in, client_id, request, user, CHALLENGE};
use crate::flow::{location, with_return_to, Browser, PASSWORD, REDIRECT_URI};
use crate::helpers::{admin_token, machine_client, TestApp};
use crate::{every_engine, every_engine_admin};

/// Registers a (not first-party) web client named `name` with `scopes`.
async fn named_client(app: &TestApp, name: &str, scopes: &str) -> String {
    let created = crate::clients_cli::tessera(
        app,
        &[
            "clients",
            "create",
            "--name",
            name,
            "--type",
            "confidential",
            "--grant-types",
            "authorization_code",
            "--redirect-uri",
            REDIRECT_URI,
            "--scopes",
            scopes,
            "--json",
        ],
    )
    .await
    .json();
    client_id(&created)
}

/// The `<h1>` of a page.
fn heading(html: &str) -> String {
    html.split("<h1>")
        .nth(1)
        .and_then(|rest| rest.split("</h1>").next())
        .unwrap_or_default()
        .to_string()
}

/// The HTML of the page the browser is sent to by `params`'s
/// authorization request (the login page, for a browser not signed in).
async fn login_page_for(browser: &Browser, params: &[(&str, &str)]) -> String {
    let response = browser.authorize(params).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let next = location(&response);
    assert!(next.starts_with("/login?"), "{next}");
    browser.get(&next).await.text().await.expect("html")
}

/// The `<li>` items of the consent page's scope list, tags and all.
fn scope_items(html: &str) -> Vec<String> {
    let list = html
        .split("<ul class=\"scopes\">")
        .nth(1)
        .and_then(|rest| rest.split("</ul>").next())
        .unwrap_or_default();
    list.split("<li>")
        .skip(1)
        .map(|item| item.split("</li>").next().unwrap_or_default().to_string())
        .collect()
}

every_engine! {
    async fn login_page_names_the_application_asking_and_otherwise_the_product(app) {
        let id = named_client(&app, "Acme <Reports>", "openid,profile,email").await;
        let browser = Browser::new(&app);
        let html = login_page_for(&browser, &request(&id, &[])).await;
        assert_eq!(heading(&html), "Sign in to continue to Acme &lt;Reports&gt;");
        // A failed attempt shows the same heading again.
        let return_to = crate::flow::hidden_input(&html, "return_to").expect("return_to");
        let failed = browser.sign_in("nobody@example.com", PASSWORD, &return_to).await;
        assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(heading(&failed.text().await.unwrap()), "Sign in to continue to Acme &lt;Reports&gt;");
        // Without a request, or with one whose client or redirect URI does
        // not check out, no application is named: the product is.
        let unknown = uuid::Uuid::new_v4().to_string();
        let other_uri = format!("/oauth2/authorize?client_id={id}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&code_challenge={CHALLENGE}");
        for link in ["/login".to_string(), with_return_to("/login", &format!("/oauth2/authorize?client_id={unknown}")), with_return_to("/login", &other_uri)] {
            let html = browser.get(&link).await.text().await.unwrap();
            assert_eq!(heading(&html), "Sign in to Tessera", "{link}");
        }
    }

    async fn login_page_has_an_accessible_password_toggle_and_no_link_to_missing_pages(app) {
        let html = Browser::new(&app).get("/login").await.text().await.unwrap();
        // A real button, tied to the field, off until the script shows it.
        assert!(html.contains(r#"<button type="button" id="password-toggle" class="toggle" aria-controls="password" aria-pressed="false" hidden>Show password</button>"#), "{html}");
        assert!(html.contains("toggle.setAttribute('aria-pressed'"), "{html}");
        assert!(html.contains("'Hide password'"), "{html}");
        // Account recovery is served; the sign-up page does not exist yet.
        assert!(html.contains(r#"<a href="/forgot-password">Forgot password?</a>"#), "{html}");
        assert!(!html.contains("Create account"), "{html}");
    }
}

every_engine_admin! {
    async fn consent_page_describes_oidc_catalogue_and_resource_scopes(app) {
        let root = admin_token(&app).await;
        app.admin_ok(Method::POST, "/api/v1/admin/permissions", &root, Some(json!({"name": "invoice:approve", "description": "Approve invoices <for payment>"})), 201).await;
        machine_client(&app, &root, json!({"name": "Orders API", "resource": "https://orders.example.com/api", "resource_scopes": ["orders:read"]})).await;
        let id = named_client(&app, "Books", "openid,profile,email,offline_access,invoice:approve,misc:thing,orders:read").await;

        let browser = Browser::new(&app);
        let scope = [("scope", "openid profile email offline_access invoice:approve misc:thing")];
        let params: Vec<_> = request(&id, &[]).into_iter().filter(|(k, _)| *k != "scope").chain(scope).collect();
        let email = user(&app).await;
        let response = authorize_signing_in(&browser, &email, &params).await;
        let html = browser.get(&location(&response)).await.text().await.unwrap();
        let items = scope_items(&html);
        let expected = [
            ("Sign you in", "openid"),
            ("See your name and username", "profile"),
            ("See your email address", "email"),
            ("Keep this access after you leave the application, until you withdraw it", "offline_access"),
            ("Approve invoices &lt;for payment&gt;", "invoice:approve"),
        ];
        for ((description, name), item) in expected.iter().zip(&items) {
            assert_eq!(item, &format!(r#"<span class="scope-description">{description}</span> <code class="scope-name">{name}</code>"#));
        }
        assert_eq!(items.get(5).map(String::as_str), Some(r#"<code class="scope-name">misc:thing</code>"#), "no description: the name alone");

        // A resource's own scope is described with the resource's name.
        let scope = [("scope", "openid orders:read"), ("resource", "https://orders.example.com/api")];
        let params: Vec<_> = request(&id, &[]).into_iter().filter(|(k, _)| *k != "scope").chain(scope).collect();
        let response = browser.authorize(&params).await;
        let next = location(&response);
        assert!(next.starts_with("/consent?"), "{next}");
        let html = browser.get(&next).await.text().await.unwrap();
        assert!(scope_items(&html).contains(&r#"<span class="scope-description">Use Orders API with “orders:read” access</span> <code class="scope-name">orders:read</code>"#.to_string()), "{html}");
    }
}
