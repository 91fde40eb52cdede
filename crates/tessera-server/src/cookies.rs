//! Every cookie Tessera sets, and the one place that names them.
//!
//! Cookie mode of the API keeps the tokens in `HttpOnly; SameSite=Lax`
//! cookies, with a CSRF nonce beside them and the CSRF token in a cookie
//! the page's script can read; the hosted pages keep the browser session
//! and the form CSRF nonce. See [`crate::csrf`] for the tokens.
//!
//! Names (RFC 6265bis §4.1.3): when cookies are `Secure` (https issuer), a
//! cookie on path `/` is named `__Host-…` — the browser then accepts it
//! only `Secure`, host-only (no `Domain`) and on `Path=/`, so no sibling
//! subdomain can plant or overwrite it; a cookie on a narrower path (the
//! refresh cookie, every cookie of a tenant under `/t/{slug}`) cannot be
//! `__Host-` and is named `__Secure-…`. Over http the names stay bare:
//! browsers refuse prefixed cookies that are not `Secure`. Writers and
//! readers both go through [`CookieSpec::name`], so they cannot disagree.

use axum::http::{header, HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};
use tessera_core::IssuedTokens;

use crate::state::HttpSettings;

/// One cookie Tessera sets: its base name (before the tenant suffix and
/// the prefix), the path it is scoped to (under the tenant's base path),
/// and whether scripts may read it.
#[derive(Debug, Clone, Copy)]
pub struct CookieSpec {
    base: &'static str,
    path: &'static str,
    http_only: bool,
}

/// Access token cookie (sent on every path).
pub const ACCESS_COOKIE: CookieSpec = CookieSpec {
    base: "tessera_access",
    path: "/",
    http_only: true,
};
/// Refresh token cookie (sent only to the auth endpoints).
pub const REFRESH_COOKIE: CookieSpec = CookieSpec {
    base: "tessera_refresh",
    path: "/api/v1/auth",
    http_only: true,
};
/// The API CSRF token, readable by the page's script (which echoes it in
/// [`CSRF_HEADER`]); the server never trusts it, it checks the header
/// against [`CSRF_NONCE_COOKIE`].
pub const CSRF_COOKIE: CookieSpec = CookieSpec {
    base: "tessera_csrf",
    path: "/",
    http_only: false,
};
/// The nonce the API CSRF token is derived from; out of scripts' reach.
pub const CSRF_NONCE_COOKIE: CookieSpec = CookieSpec {
    base: "tessera_csrf_nonce",
    path: "/",
    http_only: true,
};
/// The browser session of the hosted pages.
pub const SSO_COOKIE: CookieSpec = CookieSpec {
    base: "tessera_sso",
    path: "/",
    http_only: true,
};
/// The nonce the hosted forms' CSRF tokens are derived from (there are no
/// scripts on those pages: the token reaches the form through the server).
pub const FORM_CSRF_COOKIE: CookieSpec = CookieSpec {
    base: "tessera_form_csrf",
    path: "/",
    http_only: true,
};
/// Header that must carry the API CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

impl CookieSpec {
    /// The cookie's name for the tenant `http` serves: the base name, with
    /// the tenant's slug appended for tenants other than the default (a
    /// browser signed in to two tenants keeps two distinct cookies), and
    /// the prefix its security attributes allow (see the module comment).
    pub fn name(&self, http: &HttpSettings) -> String {
        let name = match http.base_path.strip_prefix("/t/") {
            Some(slug) => format!("{}_{slug}", self.base),
            None => self.base.to_string(),
        };
        match (http.secure_cookies, self.path(http) == "/") {
            (false, _) => name,
            // RFC 6265bis §4.1.3.2: Secure, no Domain, Path=/.
            (true, true) => format!("__Host-{name}"),
            // RFC 6265bis §4.1.3.1: Secure.
            (true, false) => format!("__Secure-{name}"),
        }
    }

    /// The cookie's path for the tenant `http` serves.
    pub fn path(&self, http: &HttpSettings) -> String {
        http.path(self.path)
    }

    /// The cookie's value in the request, if it carries it.
    pub fn read(&self, headers: &HeaderMap, http: &HttpSettings) -> Option<String> {
        let name = self.name(http);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| Cookie::parse(pair.trim().to_owned()).ok())
            .find(|c| c.name() == name)
            .map(|c| c.value().to_owned())
    }

    /// The `Set-Cookie` value setting the cookie to `value` for
    /// `max_age_secs` (`SameSite=Lax`, never a `Domain`: host-only).
    /// `None` only if `value` is not a valid header value, which the
    /// base64url values Tessera sets never are.
    pub fn set(&self, value: &str, max_age_secs: u64, http: &HttpSettings) -> Option<HeaderValue> {
        let cookie = Cookie::build((self.name(http), value.to_owned()))
            .path(self.path(http))
            .http_only(self.http_only)
            .secure(http.secure_cookies)
            .same_site(SameSite::Lax)
            .max_age(cookie::time::Duration::seconds(
                i64::try_from(max_age_secs).unwrap_or(i64::MAX),
            ))
            .build();
        HeaderValue::from_str(&cookie.to_string()).ok()
    }

    /// The `Set-Cookie` value deleting the cookie.
    pub fn clear(&self, http: &HttpSettings) -> Option<HeaderValue> {
        self.set("", 0, http)
    }
}

/// The API CSRF pair of a cookie-mode login or refresh: the nonce (kept
/// `HttpOnly`) and the token derived from it (readable, and in the body).
pub struct ApiCsrf<'a> {
    /// Value of [`CSRF_NONCE_COOKIE`].
    pub nonce: &'a str,
    /// Value of [`CSRF_COOKIE`].
    pub token: &'a str,
}

/// `Set-Cookie` headers carrying `tokens` and `csrf` (names and paths of
/// the tenant `http` serves).
pub fn set_token_cookies(
    headers: &mut HeaderMap,
    tokens: &IssuedTokens,
    csrf: &ApiCsrf<'_>,
    refresh_max_age: u64,
    http: &HttpSettings,
) {
    append(
        headers,
        [
            ACCESS_COOKIE.set(&tokens.access_token, tokens.expires_in, http),
            REFRESH_COOKIE.set(&tokens.refresh_token, refresh_max_age, http),
            CSRF_NONCE_COOKIE.set(csrf.nonce, refresh_max_age, http),
            CSRF_COOKIE.set(csrf.token, refresh_max_age, http),
        ],
    );
}

/// `Set-Cookie` headers that delete the cookies of cookie mode.
pub fn clear_token_cookies(headers: &mut HeaderMap, http: &HttpSettings) {
    append(
        headers,
        [ACCESS_COOKIE, REFRESH_COOKIE, CSRF_NONCE_COOKIE, CSRF_COOKIE].map(|spec| spec.clear(http)),
    );
}

fn append(headers: &mut HeaderMap, cookies: [Option<HeaderValue>; 4]) {
    for value in cookies.into_iter().flatten() {
        headers.append(header::SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::csrf::CsrfKey;
    use crate::state::Theme;

    fn settings(base_path: &str, secure_cookies: bool) -> HttpSettings {
        HttpSettings {
            cookie_mode_default: false,
            secure_cookies,
            cors_origins: Vec::new(),
            max_body_bytes: 1024,
            refresh_cookie_max_age_secs: 60,
            theme: Theme::default(),
            base_path: base_path.into(),
            docs: false,
            metrics_token: None,
            csrf_key: CsrfKey::derive(&[1u8; 32]),
        }
    }

    fn attributes(value: &HeaderValue) -> Vec<String> {
        value
            .to_str()
            .unwrap()
            .split(';')
            .map(|a| a.trim().to_ascii_lowercase())
            .collect()
    }

    #[test]
    fn root_path_cookies_are_host_prefixed_when_secure() {
        let http = settings("", true);
        for spec in [
            ACCESS_COOKIE,
            CSRF_COOKIE,
            CSRF_NONCE_COOKIE,
            SSO_COOKIE,
            FORM_CSRF_COOKIE,
        ] {
            let name = spec.name(&http);
            assert_eq!(name, format!("__Host-{}", spec.base));
            let set = spec.set("v", 60, &http).unwrap();
            let attributes = attributes(&set);
            assert_eq!(attributes[0], format!("{}=v", name.to_ascii_lowercase()));
            assert!(attributes.contains(&"secure".into()), "{attributes:?}");
            assert!(attributes.contains(&"path=/".into()), "{attributes:?}");
            assert!(
                !attributes.iter().any(|a| a.starts_with("domain")),
                "{attributes:?}"
            );
        }
        assert_eq!(REFRESH_COOKIE.name(&http), "__Secure-tessera_refresh");
    }

    #[test]
    fn tenant_cookies_are_secure_prefixed_and_scoped_to_the_tenant() {
        let http = settings("/t/acme", true);
        assert_eq!(SSO_COOKIE.name(&http), "__Secure-tessera_sso_acme");
        assert_eq!(REFRESH_COOKIE.name(&http), "__Secure-tessera_refresh_acme");
        let set = FORM_CSRF_COOKIE.set("v", 60, &http).unwrap();
        let attributes = attributes(&set);
        assert_eq!(attributes[0], "__secure-tessera_form_csrf_acme=v");
        assert!(attributes.contains(&"path=/t/acme".into()), "{attributes:?}");
        assert!(attributes.contains(&"secure".into()), "{attributes:?}");
    }

    #[test]
    fn names_are_bare_over_http() {
        assert_eq!(SSO_COOKIE.name(&settings("", false)), "tessera_sso");
        assert_eq!(SSO_COOKIE.name(&settings("/t/acme", false)), "tessera_sso_acme");
        let set = REFRESH_COOKIE.set("v", 60, &settings("", false)).unwrap();
        assert!(!attributes(&set).contains(&"secure".into()));
    }

    #[test]
    fn reading_uses_the_name_writing_used() {
        let http = settings("", true);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("tessera_sso=planted; __Host-tessera_sso=real"),
        );
        assert_eq!(SSO_COOKIE.read(&headers, &http).as_deref(), Some("real"));
        assert_eq!(
            SSO_COOKIE.read(&headers, &settings("", false)).as_deref(),
            Some("planted")
        );
        assert_eq!(FORM_CSRF_COOKIE.read(&headers, &http), None);
    }

    #[test]
    fn clearing_deletes_every_cookie_of_cookie_mode() {
        let http = settings("", true);
        let mut headers = HeaderMap::new();
        clear_token_cookies(&mut headers, &http);
        let lines: Vec<_> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(attributes)
            .collect();
        assert_eq!(lines.len(), 4);
        for line in lines {
            assert!(line[0].ends_with('='), "{line:?}");
            assert!(line.contains(&"max-age=0".into()), "{line:?}");
        }
    }
}
