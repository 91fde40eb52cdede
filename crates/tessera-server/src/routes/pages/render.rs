//! Turning page data into HTML: the embedded templates (auto-escaped
//! minijinja, built once), the security headers every hosted page carries,
//! and the stylesheets.

use std::sync::OnceLock;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::{context, Environment, Value};

use tessera_core::ClientRedirect;

use crate::state::{HttpSettings, Theme};

/// The templates, by name. The `.html` suffix turns on HTML auto-escaping.
const TEMPLATES: [(&str, &str); 8] = [
    ("base.html", include_str!("../../../templates/base.html")),
    ("login.html", include_str!("../../../templates/login.html")),
    ("consent.html", include_str!("../../../templates/consent.html")),
    ("logout.html", include_str!("../../../templates/logout.html")),
    (
        "signed_out.html",
        include_str!("../../../templates/signed_out.html"),
    ),
    (
        "signed_in.html",
        include_str!("../../../templates/signed_in.html"),
    ),
    ("error.html", include_str!("../../../templates/error.html")),
    (
        "form_post.html",
        include_str!("../../../templates/form_post.html"),
    ),
];

/// The one script of the hosted pages: it submits the form post response
/// (OAuth 2.0 Form Post Response Mode §2). Allowed by its hash alone.
const FORM_POST_SCRIPT: &str = "document.forms[0].submit();";

/// The static stylesheet; the theme's colour comes from `/assets/theme.css`.
pub(super) const STYLESHEET: &str = include_str!("../../../assets/tessera.css");

/// Strict policy: no scripts, no inline styles, nothing framed.
///
/// There is deliberately no `form-action` directive: Chromium applies it to
/// every hop of the redirect chain that follows a form post, so the 303 from
/// `POST /login` or `POST /consent` to the client's redirect URI (another
/// origin) would be blocked.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self'; img-src 'self' https:; base-uri 'none'; frame-ancestors 'none'";

/// The environment, built on first use; a broken template is an error
/// (answered with a plain 500), not a panic.
fn environment() -> Result<&'static Environment<'static>, &'static str> {
    static ENVIRONMENT: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();
    ENVIRONMENT
        .get_or_init(|| {
            let mut env = Environment::new();
            for (name, source) in TEMPLATES {
                env.add_template(name, source).map_err(|e| e.to_string())?;
            }
            Ok(env)
        })
        .as_ref()
        .map_err(String::as_str)
}

/// A hosted page to render: a template and its data.
pub(super) struct Page {
    /// The HTTP status.
    pub status: StatusCode,
    /// Template name (one of [`TEMPLATES`]).
    pub template: &'static str,
    /// Page data; the theme is added by [`Page::render`].
    pub data: Value,
}

impl Page {
    /// A page with status 200.
    pub fn ok(template: &'static str, data: Value) -> Page {
        Page {
            status: StatusCode::OK,
            template,
            data,
        }
    }

    /// An error page: a title and a message for the user.
    pub fn error(status: StatusCode, title: &str, message: &str) -> Page {
        Page {
            status,
            template: "error.html",
            data: context! { title, message },
        }
    }

    /// Renders with the theme; a template failure becomes a bare 500.
    pub fn render(self, http: &HttpSettings) -> Response {
        let theme = &http.theme;
        let data = context! {
            product_name => theme.product_name,
            logo_url => theme.logo_url,
            base => http.base_path,
            ..self.data
        };
        match environment().and_then(|env| {
            env.get_template(self.template)
                .and_then(|t| t.render(data))
                .map_err(|err| {
                    tracing::error!(template = self.template, error = %err, "template failed");
                    "template failed"
                })
        }) {
            Ok(body) => html(self.status, body),
            Err(cause) => {
                tracing::error!(cause, "hosted page could not be rendered");
                html(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<!DOCTYPE html><html lang=\"en\"><title>Error</title><p role=\"alert\">Something went wrong.</p></html>"
                        .to_string(),
                )
            }
        }
    }
}

/// The authorization response as an auto-submitting form that POSTs its
/// parameters to the client's redirect URI (OAuth 2.0 Form Post Response
/// Mode); a button does it where scripts are off. The policy allows only
/// the script's own hash.
pub(super) fn form_post(redirect: &ClientRedirect) -> Response {
    let data = context! {
        action => redirect.redirect_uri,
        params => redirect.params,
        script => FORM_POST_SCRIPT,
    };
    let rendered = environment().and_then(|env| {
        env.get_template("form_post.html")
            .and_then(|t| t.render(data))
            .map_err(|_| "template failed")
    });
    match rendered {
        Ok(body) => html_with_policy(StatusCode::OK, body, form_post_policy()),
        Err(cause) => {
            tracing::error!(cause, "form post response could not be rendered");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// [`CONTENT_SECURITY_POLICY`] plus the form post script's hash.
fn form_post_policy() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        use base64::Engine;
        use sha2::Digest;
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(FORM_POST_SCRIPT));
        format!("{CONTENT_SECURITY_POLICY}; script-src 'sha256-{hash}'")
    })
}

/// An HTML response with the headers every hosted page carries.
fn html(status: StatusCode, body: String) -> Response {
    html_with_policy(status, body, CONTENT_SECURITY_POLICY)
}

/// [`html`] with another content security policy.
fn html_with_policy(status: StatusCode, body: String, policy: &str) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// The theme's stylesheet: the primary colour as a custom property, so
/// the pages need no inline style (CSP `style-src 'self'`). The colour was
/// validated at start-up (`#rgb` or `#rrggbb`).
pub(super) fn theme_css(theme: &Theme) -> String {
    format!(":root {{ --tessera-primary: {}; }}\n", theme.primary_color)
}

/// A stylesheet response, cacheable for an hour.
pub(super) fn css(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// What the consent page says a scope lets the client do; other scopes are
/// shown by name only.
pub(super) fn scope_description(scope: &str) -> Option<&'static str> {
    match scope {
        "openid" => Some("Sign you in"),
        "profile" => Some("Your name and username"),
        "email" => Some("Your email address"),
        "roles" => Some("Your roles and permissions"),
        "tessera:account" => Some("Manage your account: profile, password, sessions"),
        "tessera:admin" => Some("Act as you in the administration API, with all of your permissions"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_template_renders_and_escapes() {
        let http = HttpSettings {
            cookie_mode_default: false,
            secure_cookies: false,
            cors_origins: Vec::new(),
            max_body_bytes: 1024,
            refresh_cookie_max_age_secs: 60,
            theme: Theme::default(),
            base_path: "/t/acme".into(),
            docs: true,
            metrics_token: None,
            csrf_key: crate::CsrfKey::derive(&[0u8; 32]),
        };
        for (name, _) in TEMPLATES.iter().filter(|(n, _)| *n != "base.html") {
            let response = Page::ok(name, context! { title => "<b>", message => "x" }).render(&http);
            assert_eq!(response.status(), StatusCode::OK, "{name}");
        }
        let env = environment().unwrap();
        let out = env
            .get_template("error.html")
            .and_then(|t| t.render(context! { title => "<script>", message => "\"'", product_name => "P" }))
            .unwrap();
        assert!(!out.contains("<script>"));
        assert!(out.contains("&lt;script&gt;"));
    }
}
