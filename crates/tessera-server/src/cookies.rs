//! Cookie mode: tokens in `HttpOnly; SameSite=Lax` cookies plus a readable
//! CSRF cookie for the double-submit check.

use axum::http::{header, HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};
use tessera_core::IssuedTokens;

use crate::state::HttpSettings;

/// Access token cookie (sent on every path).
pub const ACCESS_COOKIE: &str = "tessera_access";
/// Refresh token cookie (sent only to the auth endpoints).
pub const REFRESH_COOKIE: &str = "tessera_refresh";
/// CSRF cookie, readable by the page's script.
pub const CSRF_COOKIE: &str = "tessera_csrf";
/// Header that must echo the CSRF cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";
const REFRESH_PATH: &str = "/api/v1/auth";

/// The value of cookie `name`, if the request carries it.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| Cookie::parse(pair.trim().to_owned()).ok())
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

fn cookie(
    name: String,
    value: String,
    path: String,
    max_age: u64,
    http_only: bool,
    secure: bool,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path(path)
        .http_only(http_only)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(time_duration(max_age))
        .build()
}

fn time_duration(secs: u64) -> cookie::time::Duration {
    cookie::time::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// `Set-Cookie` headers carrying `tokens` and `csrf_token` (names and
/// paths of the tenant `http` serves).
pub fn set_token_cookies(
    headers: &mut HeaderMap,
    tokens: &IssuedTokens,
    csrf_token: &str,
    refresh_max_age: u64,
    http: &HttpSettings,
) {
    let secure = http.secure_cookies;
    let cookies = [
        cookie(
            http.cookie_name(ACCESS_COOKIE),
            tokens.access_token.clone(),
            http.path("/"),
            tokens.expires_in,
            true,
            secure,
        ),
        cookie(
            http.cookie_name(REFRESH_COOKIE),
            tokens.refresh_token.clone(),
            http.path(REFRESH_PATH),
            refresh_max_age,
            true,
            secure,
        ),
        cookie(
            http.cookie_name(CSRF_COOKIE),
            csrf_token.to_owned(),
            http.path("/"),
            refresh_max_age,
            false,
            secure,
        ),
    ];
    append(headers, &cookies);
}

/// `Set-Cookie` headers that delete all three cookies.
pub fn clear_token_cookies(headers: &mut HeaderMap, http: &HttpSettings) {
    let secure = http.secure_cookies;
    let cookies = [
        cookie(
            http.cookie_name(ACCESS_COOKIE),
            String::new(),
            http.path("/"),
            0,
            true,
            secure,
        ),
        cookie(
            http.cookie_name(REFRESH_COOKIE),
            String::new(),
            http.path(REFRESH_PATH),
            0,
            true,
            secure,
        ),
        cookie(
            http.cookie_name(CSRF_COOKIE),
            String::new(),
            http.path("/"),
            0,
            false,
            secure,
        ),
    ];
    append(headers, &cookies);
}

fn append(headers: &mut HeaderMap, cookies: &[Cookie<'static>]) {
    for c in cookies {
        if let Ok(value) = HeaderValue::from_str(&c.to_string()) {
            headers.append(header::SET_COOKIE, value);
        }
    }
}
