//! The 400 page of an authorization request that cannot be answered at the
//! client: a sentence for the person and, for the application's developer,
//! the error code, the parameter at fault and the value sent (escaped and
//! shortened) — never the redirect URIs the client registered.

use reqwest::StatusCode;

use super::{assert_page_headers, client_id, request};
use crate::every_engine;
use crate::flow::{create_web_client, unescape_html, Browser, REDIRECT_URI};

/// A second redirect URI of the client with two.
const SECOND_URI: &str = "http://127.0.0.1:9/second";

/// A bad request and what its page must say: the parameters, the error
/// code, the parameter at fault, the value sent, part of the problem.
type Case<'a> = (
    Vec<(&'a str, &'a str)>,
    &'a str,
    &'a str,
    Option<&'a str>,
    &'a str,
);

/// The page for `params`: asserts a 400 page without `Location`.
async fn error_page(browser: &Browser, params: &[(&str, &str)]) -> String {
    let response = browser.authorize(params).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{params:?}");
    assert!(response.headers().get("location").is_none(), "{params:?}");
    assert_page_headers(&response);
    response.text().await.expect("html")
}

/// The text of the developer detail `term` (`Error`, `Parameter`, `Value
/// sent`, `Problem`), unescaped, tags removed.
fn detail(html: &str, term: &str) -> Option<String> {
    let after = html.split(&format!("<dt>{term}</dt><dd>")).nth(1)?;
    let value = after.split("</dd>").next()?;
    let text: String = value
        .split('<')
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part
            } else {
                part.split_once('>').map_or("", |(_, t)| t)
            }
        })
        .collect();
    Some(unescape_html(&text))
}

/// `params` with `name` set to `value` (or removed when `None`).
fn with<'a>(
    params: Vec<(&'a str, &'a str)>,
    name: &'a str,
    value: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<_> = params.into_iter().filter(|(n, _)| *n != name).collect();
    if let Some(value) = value {
        out.push((name, value));
    }
    out
}

every_engine! {
    async fn each_authorization_error_page_names_the_parameter_and_the_value_sent(app) {
        let id = client_id(&create_web_client(&app, &[]).await);
        let two = crate::clients_cli::tessera(
            &app,
            &["clients", "create", "--name", "Two", "--type", "confidential", "--grant-types", "authorization_code", "--redirect-uri", REDIRECT_URI, "--redirect-uri", SECOND_URI, "--scopes", "openid", "--json"],
        )
        .await
        .json();
        let two = client_id(&two);
        let unknown = uuid::Uuid::new_v4().to_string();
        let evil = "https://evil.example/cb?x=<i>1</i>&y=\"2\"";
        let cases: Vec<Case> = vec![
            (with(request(&id, &[]), "client_id", None), "invalid_request", "client_id", None, "client_id is missing"),
            (with(request(&id, &[]), "client_id", Some("<b>web</b>")), "invalid_request", "client_id", Some("<b>web</b>"), "client_id is not a client identifier"),
            (request(&unknown, &[]), "invalid_client", "client_id", Some(unknown.as_str()), "client_id names no application registered"),
            (with(request(&id, &[]), "redirect_uri", Some(evil)), "invalid_request", "redirect_uri", Some(evil), "redirect_uri is not registered for this client"),
            (with(request(&id, &[]), "redirect_uri", Some("not a url")), "invalid_request", "redirect_uri", Some("not a url"), "redirect_uri is not an absolute URL"),
            (with(request(&two, &[]), "redirect_uri", None), "invalid_request", "redirect_uri", None, "redirect_uri is missing"),
            (request(&id, &[("state", "again")]), "invalid_request", "state", None, "state was sent more than once"),
        ];
        let browser = Browser::new(&app);
        for (params, error, parameter, sent, problem) in cases {
            let html = error_page(&browser, &params).await;
            assert!(html.contains("<p class=\"error\" role=\"alert\">The application that sent you here"), "{html}");
            assert_eq!(detail(&html, "Error").as_deref(), Some(error), "{params:?}");
            assert_eq!(detail(&html, "Parameter").as_deref(), Some(parameter), "{params:?}");
            assert_eq!(detail(&html, "Value sent").as_deref(), sent, "{params:?}");
            let described = detail(&html, "Problem").unwrap_or_default();
            assert!(described.contains(problem), "{problem} in {described}");
            // Escaped, and nothing registered is revealed.
            assert!(!html.contains("<b>") && !html.contains("<i>"), "{html}");
            let text = unescape_html(&html);
            assert!(!text.contains(REDIRECT_URI) && !text.contains(SECOND_URI), "a registered URI is shown: {html}");
        }
    }

    async fn a_long_value_sent_is_shortened_on_the_error_page(app) {
        let id = client_id(&create_web_client(&app, &[]).await);
        let long = format!("https://evil.example/{}", "a".repeat(5000));
        let html = error_page(&Browser::new(&app), &with(request(&id, &[]), "redirect_uri", Some(long.as_str()))).await;
        let shown = detail(&html, "Value sent").expect("value sent");
        assert_eq!(shown.chars().count(), 201, "{shown}");
        assert!(shown.starts_with("https://evil.example/aaaa") && shown.ends_with('…'), "{shown}");
        assert!(html.len() < 8000, "the page repeats the whole value: {} bytes", html.len());
    }
}
