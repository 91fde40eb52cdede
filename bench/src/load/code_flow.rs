//! The `authorization-code` scenario: a browser signed in through the
//! hosted login form, then per operation the authorization request (PKCE
//! S256, first-party client, no consent) and the code's exchange.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use hyper::header::HeaderValue;

use super::stats::Stats;
use super::{contains, Account, Window, TOKEN};
use crate::http::{Client, Response};
use crate::server::WEB_REDIRECT_URI;

const AUTHORIZE: &str = "/oauth2/authorize";
const HOSTED_LOGIN: &str = "/login";
/// Browser session cookie of Tessera's hosted pages.
const SSO_COOKIE: &str = "tessera_sso";
/// CSRF cookie of Tessera's hosted forms (echoed in the `csrf_token` field).
const FORM_CSRF_COOKIE: &str = "tessera_form_csrf";
/// A fixed PKCE verifier and its S256 challenge (RFC 7636 §4.2:
/// base64url(SHA-256(verifier)), no padding), computed once outside the
/// bench: `printf %s "$verifier" | openssl dgst -sha256 -binary | base64 |
/// tr '+/' '-_' | tr -d '='`. The bench needs no hashing dependency.
const PKCE_VERIFIER: &str = "dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk";
const PKCE_CHALLENGE: &str = "ngF5GsXcbwljx6u133FFr3Xht9xooA_DuaX_3QwODtc";

/// The authorization request every iteration sends (RFC 6749 §4.1.1 with
/// PKCE, RFC 7636 §4.3); fixed `state`, no `nonce`.
pub(super) fn authorize_path(client_id: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", WEB_REDIRECT_URI)
        .append_pair("scope", "openid")
        .append_pair("state", "s")
        .append_pair("code_challenge", PKCE_CHALLENGE)
        .append_pair("code_challenge_method", "S256")
        .finish();
    format!("{AUTHORIZE}?{query}")
}

/// Signs a browser in through the hosted login form (not measured):
/// `GET /login` for the CSRF cookie and field, then `POST /login`.
/// Returns the `Cookie` value carrying the browser session.
pub(super) async fn sign_in_browser(
    client: &mut Client,
    account: &Account,
    return_to: &str,
) -> Result<HeaderValue> {
    let page_path = format!(
        "{HOSTED_LOGIN}?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("return_to", return_to)
            .finish()
    );
    let page = client.get(&page_path, None).await?;
    if page.status != 200 {
        bail!("GET {HOSTED_LOGIN}: {} {}", page.status, page.body_text());
    }
    let csrf_cookie = page
        .cookie(FORM_CSRF_COOKIE)
        .with_context(|| format!("GET {HOSTED_LOGIN} set no {FORM_CSRF_COOKIE} cookie"))?;
    let cookie = HeaderValue::from_str(&format!("{FORM_CSRF_COOKIE}={csrf_cookie}"))?;
    let csrf_token = hidden_input(&String::from_utf8_lossy(&page.body), "csrf_token")
        .with_context(|| format!("GET {HOSTED_LOGIN}: no hidden csrf_token input"))?;
    let body = Bytes::from(
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("csrf_token", &csrf_token)
            .append_pair("return_to", return_to)
            .append_pair("identifier", &account.email)
            .append_pair("password", &account.password)
            .finish(),
    );
    // The form hashes the password: retry while the server is busy.
    for _ in 0..100 {
        let response = client
            .post_form_with(HOSTED_LOGIN, body.clone(), None, Some(&cookie))
            .await?;
        if response.status == 503 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        if !(300..400).contains(&response.status) {
            bail!(
                "POST {HOSTED_LOGIN} as {}: {} {}",
                account.email,
                response.status,
                response.body_text()
            );
        }
        let session = response
            .cookie(SSO_COOKIE)
            .with_context(|| format!("POST {HOSTED_LOGIN} set no {SSO_COOKIE} cookie"))?;
        return Ok(HeaderValue::from_str(&format!("{SSO_COOKIE}={session}"))?);
    }
    bail!("POST {HOSTED_LOGIN} still answered 503 after 100 attempts")
}

/// The `value` of the `<input>` named `name` in an HTML page, unescaped.
fn hidden_input(html: &str, name: &str) -> Option<String> {
    let wanted = format!("name=\"{name}\"");
    html.split("<input").skip(1).find_map(|tag| {
        let tag = &tag[..tag.find('>')?];
        if !tag.contains(&wanted) {
            return None;
        }
        let start = tag.find("value=\"")? + "value=\"".len();
        let end = start + tag[start..].find('"')?;
        Some(unescape_html(&tag[start..end]))
    })
}

/// Undoes the HTML escaping a server applies to attribute values.
fn unescape_html(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// What an `authorization-code` worker sends.
pub(super) struct CodeFlow {
    /// `/oauth2/authorize?…`, the same every time.
    pub(super) authorize_path: String,
    /// `Cookie: tessera_sso=…` of the worker's own browser session.
    pub(super) session: HeaderValue,
    /// The web client's `Authorization: Basic`.
    pub(super) authorization: HeaderValue,
}

/// How one authorization-code exchange ended.
enum Exchange {
    /// The token request was answered (check its status and body).
    Answered {
        response: Response,
        token_latency: Duration,
    },
    /// The authorization request gave no code.
    NoCode { status: u16, detail: String },
}

impl CodeFlow {
    /// Authorization request, then the code's exchange (RFC 6749 §4.1.3
    /// with the PKCE verifier, RFC 7636 §4.5).
    async fn exchange(&self, client: &mut Client) -> Result<Exchange> {
        let authorize = client
            .get_with_cookie(&self.authorize_path, None, Some(&self.session))
            .await?;
        let code = match (authorize.status, authorize.location.as_deref()) {
            (302 | 303, Some(location)) => code_of(location),
            _ => None,
        };
        let Some(code) = code else {
            let detail = format!(
                "authorize: {} Location {:?} {}",
                authorize.status,
                authorize.location,
                authorize.body_text()
            );
            return Ok(Exchange::NoCode {
                status: authorize.status,
                detail,
            });
        };
        let body = Bytes::from(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "authorization_code")
                .append_pair("code", &code)
                .append_pair("redirect_uri", WEB_REDIRECT_URI)
                .append_pair("code_verifier", PKCE_VERIFIER)
                .finish(),
        );
        let sent = Instant::now();
        let response = client.post_form(TOKEN, body, &self.authorization).await?;
        Ok(Exchange::Answered {
            response,
            token_latency: sent.elapsed(),
        })
    }
}

/// The `code` of a redirect to the client (absolute or relative Location).
fn code_of(location: &str) -> Option<String> {
    let base = url::Url::parse("http://relative.invalid/").ok()?;
    let url = base.join(location).ok()?;
    let redirect = WEB_REDIRECT_URI.trim_end_matches('/');
    if !url.as_str().starts_with(redirect) {
        return None;
    }
    url.query_pairs()
        .find(|(key, _)| key == "code")
        .map(|(_, value)| value.into_owned())
}

/// One closed-loop authorization-code worker until the window ends: each
/// operation is the authorization request plus the code's exchange, and
/// its latency is the pair's.
pub(super) async fn code_worker(mut client: Client, flow: CodeFlow, window: Window) -> Result<Stats> {
    let mut stats = Stats::new()?;
    loop {
        let sent = Instant::now();
        if sent >= window.end {
            break;
        }
        let result = flow.exchange(&mut client).await;
        let answered = Instant::now();
        if !(sent >= window.start && answered <= window.end) {
            continue;
        }
        let latency = answered - sent;
        match result {
            Ok(Exchange::Answered {
                response,
                token_latency,
            }) => {
                if response.status == 200
                    && !(contains(&response.body, b"\"access_token\"")
                        && contains(&response.body, b"\"id_token\""))
                {
                    stats.record_rejected(&response, latency);
                } else {
                    stats.record(&response, latency);
                    if response.status == 200 {
                        let micros = u64::try_from(token_latency.as_micros()).unwrap_or(u64::MAX);
                        stats.token.saturating_record(micros);
                    }
                }
            }
            Ok(Exchange::NoCode { status, detail }) => stats.record_failed(status, latency, detail),
            Err(err) => {
                stats.transport_errors += 1;
                stats.sample(format!("transport: {err:#}"));
            }
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_input_finds_the_named_field_in_any_attribute_order_and_unescapes_it() {
        let html = r#"<form method="post" action="/login">
            <input type="hidden" name="return_to" value="/oauth2/authorize?a=1&amp;b=2">
            <input value="tok&amp;en" type="hidden" name="csrf_token"/>
            <input id="identifier" name="identifier"></form>"#;

        assert_eq!(hidden_input(html, "csrf_token").as_deref(), Some("tok&en"));
        assert_eq!(
            hidden_input(html, "return_to").as_deref(),
            Some("/oauth2/authorize?a=1&b=2")
        );
        assert_eq!(hidden_input(html, "missing"), None);
    }

    #[test]
    fn code_of_reads_the_code_of_a_redirect_to_the_client_only() {
        assert_eq!(
            code_of("http://127.0.0.1:9/cb?code=abc%2Bd&state=s&iss=http%3A%2F%2F127.0.0.1%3A1").as_deref(),
            Some("abc+d")
        );
        assert_eq!(code_of("http://127.0.0.1:9/cb?error=access_denied&state=s"), None);
        assert_eq!(code_of("/login?return_to=%2Foauth2%2Fauthorize%3Fcode%3Dx"), None);
    }

    #[test]
    fn authorize_path_carries_pkce_s256_and_the_registered_redirect_uri() {
        let path = authorize_path("client 1");

        assert!(path.starts_with("/oauth2/authorize?response_type=code&client_id=client+1&"));
        assert!(path.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb"));
        assert!(path.contains(&format!(
            "code_challenge={PKCE_CHALLENGE}&code_challenge_method=S256"
        )));
    }
}
