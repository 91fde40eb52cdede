//! RP-initiated logout and the theme.

use reqwest::StatusCode;

use super::{
    assert_code_redirect, assert_error_redirect, assert_page_headers, authorize_signing_in, client_id,
    request, set_cookies, sign_in_plainly, user,
};
use crate::flow::{create_web_client, hidden_input, location, Browser, POST_LOGOUT_URI};
use crate::helpers::header;
use crate::{every_engine, every_engine_with};

every_engine! {
    async fn rp_logout_confirms_redirects_with_state_and_ends_the_browser_session(app) {
        let id = client_id(&create_web_client(&app, &["--first-party"]).await);
        let email = user(&app).await;
        let browser = Browser::new(&app);
        let response = authorize_signing_in(&browser, &email, &request(&id, &[])).await;
        assert_code_redirect(&app, &response);
        let old_session = browser.cookie("tessera_sso").expect("signed in");

        let mut logout = browser.url("/oauth2/logout");
        logout
            .query_pairs_mut()
            .append_pair("client_id", &id)
            .append_pair("post_logout_redirect_uri", POST_LOGOUT_URI)
            .append_pair("state", "bye-1");
        let page = browser.get(logout.as_str()).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_page_headers(&page);
        let html = page.text().await.unwrap();
        assert!(html.contains("<form method=\"post\" action=\"/logout\">"));
        assert!(html.contains("<button type=\"submit\" name=\"decision\" value=\"logout\">Sign out</button>"));
        // Showing the page signs nobody out.
        assert!(browser.cookie("tessera_sso").is_some());
        let field = |name| hidden_input(&html, name).unwrap_or_else(|| panic!("hidden {name}"));
        let (csrf, hint, uri, state, client) =
            (field("csrf_token"), field("id_token_hint"), field("post_logout_redirect_uri"), field("state"), field("client_id"));
        assert_eq!((uri.as_str(), state.as_str(), client.as_str()), (POST_LOGOUT_URI, "bye-1", id.as_str()));
        assert_eq!(hint, "", "no hint was sent");

        let done = browser
            .post_form("/logout", &[("csrf_token", &csrf), ("id_token_hint", &hint), ("post_logout_redirect_uri", &uri), ("state", &state), ("client_id", &client), ("decision", "logout")])
            .await;
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&done), format!("{POST_LOGOUT_URI}?state=bye-1"));
        let cleared = set_cookies(&done).into_iter().find(|c| c.starts_with("tessera_sso=")).expect("cleared cookie");
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
        assert!(browser.cookie("tessera_sso").is_none());

        let after = browser.authorize(&request(&id, &[("prompt", "none")])).await;
        assert_error_redirect(&app, &after, "login_required");
        // The old cookie value is dead on the server too.
        let mut replay = browser.url("/oauth2/authorize");
        replay.query_pairs_mut().extend_pairs(request(&id, &[("prompt", "none")]));
        let replayed = app.client.get(replay).header("cookie", format!("tessera_sso={old_session}")).send().await.unwrap();
        assert_error_redirect(&app, &replayed, "login_required");
    }

    async fn logout_without_a_client_shows_the_signed_out_page(app) {
        let email = user(&app).await;
        let browser = Browser::new(&app);
        sign_in_plainly(&browser, &email).await;
        let html = browser.get("/logout").await.text().await.unwrap();
        let csrf = hidden_input(&html, "csrf_token").unwrap();
        let forged = browser.post_form("/logout", &[("decision", "logout")]).await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        assert!(browser.cookie("tessera_sso").is_some(), "a forged post signs nobody out");
        let done = browser.post_form("/logout", &[("csrf_token", &csrf), ("decision", "logout")]).await;
        assert_eq!(done.status(), StatusCode::OK);
        assert_page_headers(&done);
        assert!(browser.cookie("tessera_sso").is_none());
        assert!(done.text().await.unwrap().contains("You are signed out"));
    }

    async fn unregistered_post_logout_redirect_uri_is_a_400_page(app) {
        let id = client_id(&create_web_client(&app, &[]).await);
        let browser = Browser::new(&app);
        let mut logout = browser.url("/oauth2/logout");
        logout
            .query_pairs_mut()
            .append_pair("client_id", &id)
            .append_pair("post_logout_redirect_uri", "https://evil.example/bye");
        let response = browser.get(logout.as_str()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.headers().get("location").is_none());
        assert_page_headers(&response);
        assert!(response.text().await.unwrap().contains("post_logout_redirect_uri is not registered"));
    }
}

every_engine_with! {
    async fn theme_shows_on_the_pages_and_in_theme_css(app) with |config: &mut tessera::Config| {
        config.theme.product_name = "Acme <ID>".into();
        config.theme.primary_color = "#ff6600".into();
        config.theme.logo_url = "https://cdn.example.com/acme.png".into();
    }; {
        let browser = Browser::new(&app);
        let html = browser.get("/login").await.text().await.unwrap();
        assert!(html.contains("<title>Sign in · Acme &lt;ID&gt;</title>"), "{html}");
        assert!(html.contains("Sign in to Acme &lt;ID&gt;"));
        assert!(html.contains("alt=\"Acme &lt;ID&gt; logo\""));
        assert!(html.contains("https:&#x2f;&#x2f;cdn.example.com&#x2f;acme.png") || html.contains("https://cdn.example.com/acme.png"));
        assert!(!html.contains("style="), "no inline styles under the CSP");
        let css = browser.get("/assets/theme.css").await;
        assert_eq!(css.status(), StatusCode::OK);
        assert!(header(&css, "content-type").starts_with("text/css"));
        assert!(css.text().await.unwrap().contains("#ff6600"));
    }
}
