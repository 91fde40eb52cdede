//! `GET /` in a browser: a small page with the product's name and links to
//! sign in (or out), the API reference when it is served, and discovery;
//! the same under `/t/{slug}/`. And the stylesheet's dark scheme.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{assert_page_headers, client_id, sign_in_plainly, user};
use crate::flow::{create_web_client, Browser, POST_LOGOUT_URI};
use crate::helpers::{admin_token, header, MEMBER_PASSWORD};
use crate::{every_engine, every_engine_admin, every_engine_with};

/// The `href` of the link with text `text`.
fn link(html: &str, text: &str) -> Option<String> {
    let end = html.find(&format!(">{text}</a>"))?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    let value_end = start + html[start..].find('"')?;
    Some(crate::flow::unescape_html(&html[start..value_end]))
}

every_engine! {
    async fn home_page_is_html_with_sign_in_docs_and_discovery_links(app) {
        let browser = Browser::new(&app);
        let response = browser.get("/").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_page_headers(&response);
        let html = response.text().await.unwrap();
        assert!(html.contains("<html lang=\"en\">") && html.contains("<h1>Welcome to Tessera</h1>"), "{html}");
        assert_eq!(link(&html, "Sign in").as_deref(), Some("/login"));
        assert_eq!(link(&html, "API reference").as_deref(), Some("/docs"));
        assert_eq!(link(&html, "OpenID Connect discovery").as_deref(), Some("/.well-known/openid-configuration"));
        assert!(link(&html, "Sign out").is_none());

        let email = user(&app).await;
        sign_in_plainly(&browser, &email).await;
        let html = browser.get("/").await.text().await.unwrap();
        assert!(html.contains(&format!("You are signed in as <strong>{email}</strong>")), "{html}");
        assert_eq!(link(&html, "Sign out").as_deref(), Some("/logout"));
        assert!(link(&html, "Sign in").is_none());
        // JSON 404s stay for everything else.
        let missing = browser.get("/no-such-page").await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(header(&missing, "content-type"), "application/problem+json");
    }

    async fn stylesheet_follows_the_dark_scheme_and_keeps_the_theme_colour(app) {
        let css = Browser::new(&app).get("/assets/tessera.css").await.text().await.unwrap();
        let dark = css.split("@media (prefers-color-scheme: dark)").nth(1).expect("a dark scheme");
        assert!(dark.contains("--page:") && dark.contains("--text:"), "{dark}");
        assert!(dark.contains("var(--tessera-primary)"), "the theme colour, lightened: {dark}");
        assert!(css.contains("background: var(--tessera-primary)"), "buttons in the theme colour");
        let theme = Browser::new(&app).get("/assets/theme.css").await.text().await.unwrap();
        assert!(theme.contains("--tessera-primary: #"), "{theme}");
    }

    async fn logout_cancel_goes_back_to_the_registered_post_logout_uri_or_home(app) {
        let id = client_id(&create_web_client(&app, &["--first-party"]).await);
        let email = user(&app).await;
        let browser = Browser::new(&app);
        sign_in_plainly(&browser, &email).await;
        let mut logout = browser.url("/oauth2/logout");
        logout
            .query_pairs_mut()
            .append_pair("client_id", &id)
            .append_pair("post_logout_redirect_uri", POST_LOGOUT_URI)
            .append_pair("state", "bye-1");
        let html = browser.get(logout.as_str()).await.text().await.unwrap();
        // Back to the client, without the state: nothing was signed out.
        assert_eq!(link(&html, "Cancel").as_deref(), Some(POST_LOGOUT_URI));
        let html = browser.get("/logout").await.text().await.unwrap();
        assert_eq!(link(&html, "Cancel").as_deref(), Some("/"));
        // A client without a post-logout URI: home as well.
        let html = browser.get(&format!("/logout?client_id={id}")).await.text().await.unwrap();
        assert_eq!(link(&html, "Cancel").as_deref(), Some("/"));
        // An unregistered URI is refused outright, never offered.
        let refused = browser.get(&format!("/logout?client_id={id}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F")).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert!(!refused.text().await.unwrap().contains("evil.example\">"));
        // Cancel signs nobody out.
        assert!(browser.cookie("tessera_sso").is_some());
    }
}

every_engine_with! {
    async fn home_page_does_not_link_docs_that_are_not_served(app) with |config| config.docs = false; {
        let html = Browser::new(&app).get("/").await.text().await.unwrap();
        assert!(link(&html, "API reference").is_none(), "{html}");
        assert_eq!(link(&html, "Sign in").as_deref(), Some("/login"));
    }
}

every_engine_admin! {
    async fn a_tenant_home_page_and_its_logout_cancel_stay_in_the_tenant(app) {
        let root = admin_token(&app).await;
        app.admin_ok(Method::POST, "/api/v1/admin/tenants", &root,
            Some(json!({"slug": "acme", "name": "Acme", "admin": {"email": "admin@acme.example", "password": MEMBER_PASSWORD}})), 201).await;
        let browser = Browser::new(&app);
        for path in ["/t/acme/", "/t/acme"] {
            let response = browser.get(path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_page_headers(&response);
            let html = response.text().await.unwrap();
            assert_eq!(link(&html, "Sign in").as_deref(), Some("/t/acme/login"), "{path}");
            assert_eq!(link(&html, "OpenID Connect discovery").as_deref(), Some("/t/acme/.well-known/openid-configuration"));
            assert_eq!(link(&html, "API reference").as_deref(), Some("/docs"), "the reference is the server's");
        }
        let html = browser.get("/t/acme/logout").await.text().await.unwrap();
        assert_eq!(link(&html, "Cancel").as_deref(), Some("/t/acme"));
    }
}
