//! "Not you?" on the consent page: a form post with the CSRF token that
//! ends the browser session and brings the browser back to the login page
//! for the same authorization request.

use reqwest::StatusCode;

use super::{assert_error_redirect, authorize_signing_in, client_id, request, set_cookies, user};
use crate::every_engine;
use crate::flow::{create_web_client, hidden_input, location, return_to_of, Browser, PASSWORD};

/// The HTML of the "Not you?" form of a consent page.
fn not_you_form(html: &str) -> String {
    let start = html.find(r#"action="/switch-account""#).expect("a Not you? form");
    html[start..]
        .split("</form>")
        .next()
        .unwrap_or_default()
        .to_string()
}

every_engine! {
    async fn not_you_requires_csrf_then_ends_the_session_and_returns_to_login_for_the_same_request(app) {
        let id = client_id(&create_web_client(&app, &[]).await);
        let (first, second) = (user(&app).await, user(&app).await);
        let browser = Browser::new(&app);
        let response = authorize_signing_in(&browser, &first, &request(&id, &[])).await;
        let consent = location(&response);
        assert!(consent.starts_with("/consent?"), "{consent}");
        let html = browser.get(&consent).await.text().await.unwrap();
        let form = not_you_form(&html);
        assert!(form.contains(r#"<form method="post""#) || html.contains(r#"<form method="post" action="/switch-account""#), "{form}");
        assert!(form.contains("Not you?"), "{form}");
        let csrf = hidden_input(&form, "csrf_token").expect("csrf_token");
        let return_to = hidden_input(&form, "return_to").expect("return_to");
        assert_eq!(return_to, return_to_of(&consent));
        let session = browser.cookie("tessera_sso").expect("signed in");

        // A link cannot sign anyone out, nor can a post without the token.
        assert_eq!(browser.get("/switch-account").await.status(), StatusCode::METHOD_NOT_ALLOWED);
        for token in ["", "forged-forged-forged-forged-forged-forged-f"] {
            let refused = browser.post_form("/switch-account", &[("csrf_token", token), ("return_to", &return_to)]).await;
            assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        }
        assert_eq!(browser.cookie("tessera_sso").as_deref(), Some(session.as_str()));
        assert_eq!(browser.get(&consent).await.status(), StatusCode::OK, "still signed in");

        let switched = browser.post_form("/switch-account", &[("csrf_token", &csrf), ("return_to", &return_to)]).await;
        assert_eq!(switched.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&switched), consent.replacen("/consent", "/login", 1));
        let cleared = set_cookies(&switched).into_iter().find(|c| c.starts_with("tessera_sso=")).expect("cleared cookie");
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
        // The session is over on the server, not only in this browser.
        let mut replay = browser.url("/oauth2/authorize");
        replay.query_pairs_mut().extend_pairs(request(&id, &[("prompt", "none")]));
        let replayed = app.client.get(replay).header("cookie", format!("tessera_sso={session}")).send().await.unwrap();
        assert_error_redirect(&app, &replayed, "login_required");

        // Signing in as someone else continues the same request.
        let signed_in = browser.sign_in(&second, PASSWORD, &return_to).await;
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
        let again = browser.get(&location(&signed_in)).await;
        assert_eq!(location(&again), consent);
        let html = browser.get(&consent).await.text().await.unwrap();
        assert!(html.contains(&second) && !html.contains(&first), "{html}");
    }
}
