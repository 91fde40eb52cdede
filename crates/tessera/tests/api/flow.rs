//! A scripted browser for the hosted pages: its own cookie jar, no
//! automatic redirects (tests look at every hop), and the steps of the
//! authorization code flow — sign in, consent — as calls.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Client, Response, StatusCode};
use sha2::Digest;
use url::Url;

use crate::helpers::TestApp;

/// The test password for users of the browser flow.
pub const PASSWORD: &str = "correct horse battery staple 42";
/// The redirect URI of [`create_web_client`].
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
/// The post-logout redirect URI of [`create_web_client`].
pub const POST_LOGOUT_URI: &str = "http://127.0.0.1:9/bye";

/// A browser: cookies persist between calls, redirects are not followed.
pub struct Browser {
    /// The server's base URL.
    pub base: Url,
    client: Client,
    jar: Arc<Jar>,
}

impl Browser {
    /// A fresh browser (empty cookie jar) for `app`.
    pub fn new(app: &TestApp) -> Browser {
        let jar = Arc::new(Jar::default());
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .build()
            .expect("browser client");
        Browser {
            base: Url::parse(&app.url).expect("base url"),
            client,
            jar,
        }
    }

    /// Absolute URL of a path (or a relative `Location`).
    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).expect("url")
    }

    /// `GET path` (relative to the server, or absolute).
    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// `POST path` with a form body.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    /// The value of cookie `name` the browser would send to the server.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let header = self.jar.cookies(&self.base)?;
        let header = header.to_str().ok()?.to_string();
        header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
    }

    /// `GET /oauth2/authorize?<params>`.
    pub async fn authorize(&self, params: &[(&str, &str)]) -> Response {
        let mut url = self.url("/oauth2/authorize");
        url.query_pairs_mut().extend_pairs(params);
        self.client.get(url).send().await.expect("authorize")
    }

    /// Opens the login page for `return_to` and submits the form: the
    /// `POST /login` response.
    pub async fn sign_in(&self, email: &str, password: &str, return_to: &str) -> Response {
        let page = self.get(&with_return_to("/login", return_to)).await;
        assert_eq!(page.status(), StatusCode::OK, "login page");
        let html = page.text().await.expect("login html");
        let csrf = hidden_input(&html, "csrf_token").expect("csrf_token on the login page");
        let return_to = hidden_input(&html, "return_to").unwrap_or_default();
        self.post_form(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("return_to", &return_to),
                ("identifier", email),
                ("password", password),
            ],
        )
        .await
    }

    /// Opens the consent page for `return_to` and presses Allow or Deny:
    /// the `POST /consent` response.
    pub async fn consent(&self, return_to: &str, allow: bool) -> Response {
        let page = self.get(&with_return_to("/consent", return_to)).await;
        assert_eq!(page.status(), StatusCode::OK, "consent page");
        let html = page.text().await.expect("consent html");
        let csrf = hidden_input(&html, "csrf_token").expect("csrf_token on the consent page");
        let return_to = hidden_input(&html, "return_to").expect("return_to on the consent page");
        let decision = if allow { "allow" } else { "deny" };
        self.post_form(
            "/consent",
            &[
                ("csrf_token", &csrf),
                ("return_to", &return_to),
                ("decision", decision),
            ],
        )
        .await
    }
}

/// `page?return_to=<encoded>`.
pub fn with_return_to(page: &str, return_to: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
    format!("{page}?return_to={encoded}")
}

/// The `Location` header ("" when absent).
pub fn location(response: &Response) -> String {
    crate::helpers::header(response, "location")
}

/// The value of query parameter `name` of an absolute or relative URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let url = Url::parse(url)
        .or_else(|_| Url::parse("http://relative.invalid")?.join(url))
        .ok()?;
    url.query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// The `return_to` of a `/login?return_to=…` or `/consent?return_to=…` link.
pub fn return_to_of(link: &str) -> String {
    query_param(link, "return_to").unwrap_or_else(|| panic!("no return_to in {link}"))
}

/// The (HTML-unescaped) value of the `<input … name="name" value="…">`.
pub fn hidden_input(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("name=\"{name}\""))?;
    let tag_end = start + html[start..].find('>')?;
    let tag = &html[start..tag_end];
    let value_start = tag.find("value=\"")? + "value=\"".len();
    let value_end = value_start + tag[value_start..].find('"')?;
    Some(unescape_html(&tag[value_start..value_end]))
}

/// Undoes minijinja's HTML escaping.
pub fn unescape_html(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}

/// The S256 challenge of a PKCE verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// Registers a confidential "Web" client through the CLI (redirect URI
/// [`REDIRECT_URI`], post-logout URI [`POST_LOGOUT_URI`], scopes openid,
/// profile, email) with `extra` arguments; returns the CLI's JSON.
pub async fn create_web_client(app: &TestApp, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "clients",
        "create",
        "--name",
        "Web",
        "--type",
        "confidential",
        "--grant-types",
        "authorization_code,refresh_token",
        "--redirect-uri",
        REDIRECT_URI,
        "--scopes",
        "openid,profile,email",
        "--post-logout-redirect-uri",
        POST_LOGOUT_URI,
        "--json",
    ];
    args.extend_from_slice(extra);
    crate::clients_cli::tessera(app, &args).await.json()
}

/// Runs the whole browser flow in a fresh browser — authorize, sign in,
/// consent if asked — and returns the code and the final redirect URL
/// (state `flow-state`, nonce `flow-nonce`).
pub async fn obtain_code(
    app: &TestApp,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    pkce_verifier: Option<&str>,
    email: &str,
    password: &str,
) -> (String, Url) {
    let browser = Browser::new(app);
    let (code, url) = browser
        .obtain_code(client_id, redirect_uri, scope, pkce_verifier, email, password)
        .await;
    (code, url)
}

impl Browser {
    /// [`obtain_code`] in this browser (so its session can be reused).
    pub async fn obtain_code(
        &self,
        client_id: &str,
        redirect_uri: &str,
        scope: &str,
        pkce_verifier: Option<&str>,
        email: &str,
        password: &str,
    ) -> (String, Url) {
        let challenge = pkce_verifier.map(pkce_challenge);
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", scope),
            ("state", "flow-state"),
            ("nonce", "flow-nonce"),
        ];
        if let Some(challenge) = challenge.as_deref() {
            params.push(("code_challenge", challenge));
            params.push(("code_challenge_method", "S256"));
        }
        let mut response = self.authorize(&params).await;
        for _ in 0..4 {
            let status = response.status();
            let next = location(&response);
            assert!(
                status.is_redirection(),
                "expected a redirect, got {status}: {}",
                response.text().await.unwrap_or_default()
            );
            if next.starts_with(redirect_uri) {
                let url = Url::parse(&next).expect("redirect url");
                let code = url
                    .query_pairs()
                    .find(|(n, _)| n == "code")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_else(|| panic!("no code in {url}"));
                return (code, url);
            }
            response = if next.starts_with("/login?") {
                let signed_in = self.sign_in(email, password, &return_to_of(&next)).await;
                assert_eq!(signed_in.status(), StatusCode::SEE_OTHER, "sign in");
                self.get(&location(&signed_in)).await
            } else if next.starts_with("/consent?") {
                self.consent(&return_to_of(&next), true).await
            } else {
                panic!("unexpected redirect to {next}");
            };
        }
        panic!("the flow did not end with a code");
    }
}
