//! OAuth 2.0 Form Post Response Mode: the authorization response (code or
//! error) comes back as a form the browser POSTs to the redirect URI, never
//! in a URL, with only that form's script allowed to run.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::{Response, StatusCode};
use sha2::{Digest, Sha256};

use super::{authorize_signing_in, client_id, request, user};
use crate::every_engine;
use crate::flow::{create_web_client, hidden_input, unescape_html, Browser, REDIRECT_URI};
use crate::helpers::TestApp;

/// RFC 7636 Appendix B's verifier, whose challenge every standard request
/// carries.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// Asserts a form post page to the redirect URI carrying `state` and `iss`,
/// with no Location and a policy that allows exactly its script; returns
/// the page.
async fn assert_form_post(app: &TestApp, response: Response) -> String {
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("location").is_none(), "nothing in a URL");
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    let action = format!("action=\"{REDIRECT_URI}\"");
    assert!(unescape_html(&page).contains(&action), "{page}");
    assert!(page.contains("method=\"post\""), "{page}");
    assert_eq!(hidden_input(&page, "state").as_deref(), Some("st-123"));
    assert_eq!(hidden_input(&page, "iss").as_deref(), Some(app.url.as_str()));
    let script = page
        .split("<script>")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("script");
    let hash = STANDARD.encode(Sha256::digest(script.as_bytes()));
    assert!(
        policy.contains(&format!("script-src 'sha256-{hash}'")),
        "{policy}"
    );
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    page
}

every_engine! {
    async fn form_post_returns_the_code_in_a_posted_form_that_redeems(app) {
        let client = create_web_client(&app, &["--first-party"]).await;
        let id = client_id(&client);
        let email = user(&app).await;
        let browser = Browser::new(&app);
        let params = request(&id, &[("response_mode", "form_post")]);
        let page = assert_form_post(&app, authorize_signing_in(&browser, &email, &params).await).await;
        let code = hidden_input(&page, "code").expect("code in the form");
        let secret = client["client_secret"].as_str().unwrap();
        let redeemed = app.client.post(app.at("/oauth2/token")).basic_auth(&id, Some(secret))
            .form(&[("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", REDIRECT_URI), ("code_verifier", VERIFIER)])
            .send().await.unwrap();
        assert_eq!(redeemed.status(), StatusCode::OK);
        // The next request of the signed-in browser answers the same way.
        let again = browser.authorize(&params).await;
        assert_form_post(&app, again).await;
    }

    async fn form_post_errors_travel_in_the_form_too_and_other_modes_are_refused(app) {
        let id = client_id(&create_web_client(&app, &[]).await);
        let browser = Browser::new(&app);
        let bad_scope: Vec<_> = request(&id, &[("response_mode", "form_post")])
            .into_iter()
            .map(|(k, v)| if k == "scope" { (k, "openid admin") } else { (k, v) })
            .collect();
        let page = assert_form_post(&app, browser.authorize(&bad_scope).await).await;
        assert_eq!(hidden_input(&page, "error").as_deref(), Some("invalid_scope"));
        assert!(hidden_input(&page, "code").is_none());
        let discovery: serde_json::Value = app.client.get(app.at("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
        assert_eq!(discovery["response_modes_supported"], serde_json::json!(["query", "form_post"]));
    }
}
