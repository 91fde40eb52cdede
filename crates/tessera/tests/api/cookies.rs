//! Cookie mode: HttpOnly token cookies, the CSRF check (the header must be
//! the server's HMAC of the HttpOnly nonce cookie, so a planted cookie and
//! header of equal values fail), refresh and logout through cookies, the
//! `__Host-`/`__Secure-` names over https, and the mode switch.

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, TestApp};
use crate::{every_engine, every_engine_with};

const PASSWORD: &str = "plausible-Passphrase-93";

/// Every `Set-Cookie` header of a response.
pub fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii set-cookie").to_string())
        .collect()
}

/// The `Set-Cookie` line setting cookie `name` (panics when absent).
pub fn set_cookie<'a>(cookies: &'a [String], name: &str) -> &'a str {
    cookies
        .iter()
        .find(|c| {
            c.split(';')
                .next()
                .is_some_and(|pair| pair.trim().starts_with(&format!("{name}=")))
        })
        .unwrap_or_else(|| panic!("no Set-Cookie for {name} in {cookies:?}"))
}

/// The value of a `Set-Cookie` line (`name=value; …`).
pub fn cookie_value(line: &str) -> String {
    let pair = line.split(';').next().expect("cookie pair");
    pair.split_once('=').expect("name=value").1.to_string()
}

/// The attributes of a `Set-Cookie` line, lowercased and trimmed
/// (`httponly`, `samesite=lax`, `path=/` …).
pub fn cookie_attributes(line: &str) -> Vec<String> {
    line.split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

/// What a cookie-mode login or refresh handed out.
struct CookieSession {
    access: String,
    refresh: String,
    nonce: String,
    csrf: String,
    body: Value,
    set_cookies: Vec<String>,
}

impl CookieSession {
    async fn from_response(response: Response) -> CookieSession {
        assert_eq!(response.status(), StatusCode::OK);
        let lines = set_cookies(&response);
        let body: Value = response.json().await.unwrap();
        CookieSession {
            access: cookie_value(set_cookie(&lines, "tessera_access")),
            refresh: cookie_value(set_cookie(&lines, "tessera_refresh")),
            nonce: cookie_value(set_cookie(&lines, "tessera_csrf_nonce")),
            csrf: cookie_value(set_cookie(&lines, "tessera_csrf")),
            body,
            set_cookies: lines,
        }
    }

    /// The `Cookie` header a browser would send to the API.
    fn api_cookies(&self) -> String {
        format!(
            "tessera_access={}; tessera_csrf_nonce={}; tessera_csrf={}",
            self.access, self.nonce, self.csrf
        )
    }

    /// The `Cookie` header a browser would send to `/api/v1/auth/*`.
    fn auth_cookies(&self) -> String {
        format!(
            "tessera_access={}; tessera_refresh={}; tessera_csrf_nonce={}; tessera_csrf={}",
            self.access, self.refresh, self.nonce, self.csrf
        )
    }
}

async fn login_with_mode(app: &TestApp, mode: Option<&str>, email: &str) -> Response {
    let path = match mode {
        Some(mode) => format!("/api/v1/auth/login?mode={mode}"),
        None => "/api/v1/auth/login".into(),
    };
    app.post_json(&path, json!({"identifier": email, "password": PASSWORD}))
        .await
}

async fn cookie_login(app: &TestApp) -> CookieSession {
    let (_, email) = app.fresh_user(PASSWORD).await;
    CookieSession::from_response(login_with_mode(app, Some("cookie"), &email).await).await
}

async fn patch_with_cookies(app: &TestApp, cookies: &str, csrf: Option<&str>) -> Response {
    let mut request = app
        .request(Method::PATCH, "/api/v1/users/me")
        .header("cookie", cookies)
        .json(&json!({"display_name": "Cookie"}));
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    request.send().await.unwrap()
}

async fn me_with_cookies(app: &TestApp, cookies: &str) -> Response {
    app.request(Method::GET, "/api/v1/users/me")
        .header("cookie", cookies)
        .send()
        .await
        .unwrap()
}

every_engine! {
    async fn cookie_login_sets_hardened_cookies_and_no_tokens_in_the_body(app) {
        let session = cookie_login(&app).await;
        let access = cookie_attributes(set_cookie(&session.set_cookies, "tessera_access"));
        for attribute in ["httponly", "samesite=lax", "path=/"] {
            assert!(access.contains(&attribute.to_string()), "{attribute} missing in {access:?}");
        }
        assert!(access.contains(&"max-age=900".to_string()), "{access:?}");
        let refresh = cookie_attributes(set_cookie(&session.set_cookies, "tessera_refresh"));
        assert!(refresh.contains(&format!("max-age={}", 14 * 24 * 3600)), "{refresh:?}");
        assert!(refresh.contains(&"httponly".to_string()), "{refresh:?}");
        assert!(refresh.contains(&"path=/api/v1/auth".to_string()), "{refresh:?}");
        assert!(refresh.contains(&"samesite=lax".to_string()), "{refresh:?}");
        let csrf = cookie_attributes(set_cookie(&session.set_cookies, "tessera_csrf"));
        assert!(!csrf.contains(&"httponly".to_string()), "{csrf:?}");
        let nonce = cookie_attributes(set_cookie(&session.set_cookies, "tessera_csrf_nonce"));
        for attribute in ["httponly", "samesite=lax", "path=/"] {
            assert!(nonce.contains(&attribute.to_string()), "{attribute} missing in {nonce:?}");
        }
        assert_ne!(session.nonce, session.csrf, "the token is derived from the nonce, not a copy of it");
        for line in &session.set_cookies {
            assert!(!cookie_attributes(line).contains(&"secure".to_string()), "Secure over an http issuer: {line}");
        }
        assert_eq!(session.body["csrf_token"], session.csrf.as_str());
        assert_eq!(session.body["expires_in"], 900);
        assert!(session.csrf.len() >= 32, "{}", session.csrf);
        assert!(session.body.get("access_token").is_none() && session.body.get("refresh_token").is_none(), "{}", session.body);
        assert!(!session.body.to_string().contains(&session.access));
        assert!(!session.body.to_string().contains(&session.refresh));
    }

    async fn access_cookie_alone_authenticates_reads(app) {
        let session = cookie_login(&app).await;
        let response = me_with_cookies(&app, &format!("tessera_access={}", session.access)).await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    async fn cookie_writes_need_the_matching_csrf_header(app) {
        let session = cookie_login(&app).await;
        let cookies = session.api_cookies();
        assert_problem(patch_with_cookies(&app, &cookies, None).await, 403, "csrf_failed").await;
        assert_problem(patch_with_cookies(&app, &cookies, Some("not-the-token")).await, 403, "csrf_failed").await;
        let without_nonce = format!("tessera_access={}; tessera_csrf={}", session.access, session.csrf);
        assert_problem(patch_with_cookies(&app, &without_nonce, Some(&session.csrf)).await, 403, "csrf_failed").await;
        let response = patch_with_cookies(&app, &cookies, Some(&session.csrf)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["display_name"], "Cookie");
    }

    async fn refresh_through_cookies_needs_csrf_and_rotates_the_cookies(app) {
        let session = cookie_login(&app).await;
        let without = app.request(Method::POST, "/api/v1/auth/refresh").header("cookie", session.auth_cookies()).send().await.unwrap();
        assert_problem(without, 403, "csrf_failed").await;
        let response = app
            .request(Method::POST, "/api/v1/auth/refresh")
            .header("cookie", session.auth_cookies())
            .header("x-csrf-token", &session.csrf)
            .send()
            .await
            .unwrap();
        let renewed = CookieSession::from_response(response).await;
        assert_ne!(renewed.access, session.access);
        assert_ne!(renewed.refresh, session.refresh);
        assert_eq!(renewed.body["session_id"], session.body["session_id"]);
        assert!(renewed.body.get("refresh_token").is_none());
        assert_eq!(me_with_cookies(&app, &renewed.api_cookies()).await.status(), StatusCode::OK);
        assert_problem(app.refresh_response(&session.refresh).await, 401, "invalid_grant").await;
    }

    async fn cookie_logout_clears_the_cookies_and_ends_the_session(app) {
        let session = cookie_login(&app).await;
        let response = app
            .request(Method::POST, "/api/v1/auth/logout")
            .header("cookie", session.auth_cookies())
            .header("x-csrf-token", &session.csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let cleared = set_cookies(&response);
        for name in ["tessera_access", "tessera_refresh", "tessera_csrf_nonce", "tessera_csrf"] {
            let line = set_cookie(&cleared, name);
            assert_eq!(cookie_value(line), "", "{line}");
            assert!(cookie_attributes(line).contains(&"max-age=0".to_string()), "{line}");
        }
        assert_problem(me_with_cookies(&app, &session.api_cookies()).await, 401, "invalid_token").await;
    }

    async fn a_planted_csrf_cookie_and_header_of_the_attackers_choosing_are_refused(app) {
        // A sibling subdomain can plant cookies (Domain=parent) but cannot
        // compute the HMAC: equal values in every CSRF cookie and the
        // header, or another session's nonce with this one's token, fail.
        let victim = cookie_login(&app).await;
        let planted = "planted-csrf-value-planted-csrf-value-000";
        let cookies = format!("tessera_access={}; tessera_csrf_nonce={planted}; tessera_csrf={planted}", victim.access);
        assert_problem(patch_with_cookies(&app, &cookies, Some(planted)).await, 403, "csrf_failed").await;
        let attacker = cookie_login(&app).await;
        let mixed = format!("tessera_access={}; tessera_csrf_nonce={}; tessera_csrf={}", victim.access, victim.nonce, attacker.csrf);
        assert_problem(patch_with_cookies(&app, &mixed, Some(&attacker.csrf)).await, 403, "csrf_failed").await;
        let refresh = app
            .request(Method::POST, "/api/v1/auth/refresh")
            .header("cookie", format!("tessera_refresh={}; tessera_csrf_nonce={planted}", victim.refresh))
            .header("x-csrf-token", planted)
            .send()
            .await
            .unwrap();
        assert_problem(refresh, 403, "csrf_failed").await;
        // The refused refresh spent nothing, and the victim's own pair works.
        let response = app
            .request(Method::POST, "/api/v1/auth/refresh")
            .header("cookie", victim.auth_cookies())
            .header("x-csrf-token", &victim.csrf)
            .send()
            .await
            .unwrap();
        CookieSession::from_response(response).await;
        assert_eq!(patch_with_cookies(&app, &victim.api_cookies(), Some(&victim.csrf)).await.status(), StatusCode::OK);
    }

    async fn bearer_tokens_work_beside_cookies(app) {
        let (_, tokens, _) = app.signed_in_user().await;
        let stale = "tessera_access=stale.cookie.value; tessera_csrf=abc";
        let response = app
            .request(Method::PATCH, "/api/v1/users/me")
            .bearer_auth(&tokens.access_token)
            .header("cookie", stale)
            .json(&json!({"display_name": "Bearer"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "bearer requests need no CSRF header");
        let session = cookie_login(&app).await;
        assert_eq!(me_with_cookies(&app, &session.api_cookies()).await.status(), StatusCode::OK);
        assert_eq!(app.me(&tokens.access_token).await.status(), StatusCode::OK);
    }

    async fn unknown_login_mode_is_400_invalid_query(app) {
        // docs/api.md: `invalid_query` (400) "e.g. `?mode=bogus`".
        let (_, email) = app.fresh_user(PASSWORD).await;
        for mode in ["bogus", "cookies"] {
            let response = login_with_mode(&app, Some(mode), &email).await;
            assert!(set_cookies(&response).is_empty(), "mode {mode:?}");
            assert_problem(response, 400, "invalid_query").await;
        }
    }
}

every_engine_with! {
    async fn cookies_are_secure_and_prefixed_with_an_https_issuer(app) with |c| {
        c.issuer = "https://id.example.com".into();
    }; {
        let (_, email) = app.fresh_user(PASSWORD).await;
        let response = login_with_mode(&app, Some("cookie"), &email).await;
        assert_eq!(response.status(), StatusCode::OK);
        let lines = set_cookies(&response);
        assert_eq!(lines.len(), 4, "{lines:?}");
        for line in &lines {
            let attributes = cookie_attributes(line);
            assert!(attributes.contains(&"secure".to_string()), "{line}");
            assert!(!attributes.iter().any(|a| a.starts_with("domain")), "host-only: {line}");
        }
        // RFC 6265bis §4.1.3.2: __Host- needs Secure, Path=/ and no Domain.
        for name in ["__Host-tessera_access", "__Host-tessera_csrf_nonce", "__Host-tessera_csrf"] {
            let attributes = cookie_attributes(set_cookie(&lines, name));
            assert!(attributes.contains(&"path=/".to_string()), "{name}: {attributes:?}");
        }
        // The refresh cookie's narrower path allows only __Secure-.
        let refresh = cookie_attributes(set_cookie(&lines, "__Secure-tessera_refresh"));
        assert!(refresh.contains(&"path=/api/v1/auth".to_string()), "{refresh:?}");
        assert!(lines.iter().all(|l| !l.starts_with("tessera_")), "no bare names: {lines:?}");

        // The server reads the prefixed names, and only those.
        let value = |name: &str| cookie_value(set_cookie(&lines, name));
        let (access, nonce, csrf) = (value("__Host-tessera_access"), value("__Host-tessera_csrf_nonce"), value("__Host-tessera_csrf"));
        let prefixed = format!("__Host-tessera_access={access}; __Host-tessera_csrf_nonce={nonce}; __Host-tessera_csrf={csrf}");
        assert_eq!(patch_with_cookies(&app, &prefixed, Some(&csrf)).await.status(), StatusCode::OK);
        let bare = format!("tessera_access={access}; tessera_csrf_nonce={nonce}; tessera_csrf={csrf}");
        assert_problem(patch_with_cookies(&app, &bare, Some(&csrf)).await, 401, "invalid_token").await;
        let planted_nonce = format!("__Host-tessera_access={access}; tessera_csrf_nonce={nonce}");
        assert_problem(patch_with_cookies(&app, &planted_nonce, Some(&csrf)).await, 403, "csrf_failed").await;
    }

    async fn cookie_mode_config_makes_cookies_the_default(app) with |c| {
        c.cookie_mode = true;
    }; {
        let (_, email) = app.fresh_user(PASSWORD).await;
        let session = CookieSession::from_response(login_with_mode(&app, None, &email).await).await;
        assert!(session.body.get("access_token").is_none());
        assert_eq!(me_with_cookies(&app, &session.api_cookies()).await.status(), StatusCode::OK);

        let response = login_with_mode(&app, Some("token"), &email).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(set_cookies(&response).is_empty());
        let body: Value = response.json().await.unwrap();
        assert!(body["access_token"].is_string() && body["refresh_token"].is_string(), "{body}");
    }
}
