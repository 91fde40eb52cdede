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
const TEMPLATES: [(&str, &str); 15] = [
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
    ("home.html", include_str!("../../../templates/home.html")),
    (
        "form_post.html",
        include_str!("../../../templates/form_post.html"),
    ),
    (
        "verify_email.html",
        include_str!("../../../templates/verify_email.html"),
    ),
    (
        "email_verified.html",
        include_str!("../../../templates/email_verified.html"),
    ),
    (
        "mail_sent.html",
        include_str!("../../../templates/mail_sent.html"),
    ),
    (
        "forgot_password.html",
        include_str!("../../../templates/forgot_password.html"),
    ),
    (
        "reset_password.html",
        include_str!("../../../templates/reset_password.html"),
    ),
    (
        "password_reset.html",
        include_str!("../../../templates/password_reset.html"),
    ),
];

/// The script of the form post response: it submits the form (OAuth 2.0
/// Form Post Response Mode §2). Allowed by its hash alone.
const FORM_POST_SCRIPT: &str = "document.forms[0].submit();";

/// The show-password toggle of the login and new-password forms
/// (progressive enhancement): the button is `hidden` in the HTML and shown
/// by this script, so without scripts there is no control that does
/// nothing. It shows or hides every field its `aria-controls` names (the
/// new password and its confirmation together). The fields go back to
/// `type=password` on submit, so password managers see password fields.
/// Allowed by its hash alone (see [`policy_with_script`]).
pub(super) const PASSWORD_TOGGLE_SCRIPT: &str = r#"(function () {
  var toggle = document.getElementById('password-toggle');
  if (!toggle) return;
  var inputs = (toggle.getAttribute('aria-controls') || '').split(' ')
    .map(function (id) { return document.getElementById(id); })
    .filter(function (input) { return input; });
  if (!inputs.length) return;
  toggle.hidden = false;
  toggle.addEventListener('click', function () {
    var show = inputs[0].type === 'password';
    inputs.forEach(function (input) { input.type = show ? 'text' : 'password'; });
    toggle.setAttribute('aria-pressed', show ? 'true' : 'false');
    toggle.textContent = show ? 'Hide password' : 'Show password';
  });
  if (inputs[0].form) inputs[0].form.addEventListener('submit', function () {
    inputs.forEach(function (input) { input.type = 'password'; });
  });
})();"#;

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
    /// The page's one inline script, if any: given to the template as
    /// `script` and allowed by the policy through its hash alone.
    pub script: Option<&'static str>,
}

impl Page {
    /// A page with status 200.
    pub fn ok(template: &'static str, data: Value) -> Page {
        Page {
            status: StatusCode::OK,
            template,
            data,
            script: None,
        }
    }

    /// An error page: a title and a message for the user.
    pub fn error(status: StatusCode, title: &str, message: &str) -> Page {
        Page {
            status,
            template: "error.html",
            data: context! { title, message },
            script: None,
        }
    }

    /// A 400 page about a request an application sent: a sentence for the
    /// person, and for the application's developer the OAuth error code,
    /// the parameter at fault, the value sent (escaped by the template,
    /// shortened by [`shown_value`]) and what is wrong with it.
    pub fn bad_request(
        title: &str,
        message: &str,
        error: &str,
        parameter: &str,
        sent: Option<&str>,
        description: &str,
    ) -> Page {
        let detail = context! {
            error,
            parameter,
            sent => sent.map(shown_value),
            description,
        };
        Page {
            status: StatusCode::BAD_REQUEST,
            template: "error.html",
            data: context! { title, message, detail },
            script: None,
        }
    }

    /// Renders with the theme; a template failure becomes a bare 500.
    pub fn render(self, http: &HttpSettings) -> Response {
        let theme = &http.theme;
        let data = context! {
            product_name => theme.product_name,
            logo_url => theme.logo_url,
            base => http.base_path,
            script => self.script,
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
            Ok(body) => match self.script {
                Some(script) => html_with_policy(self.status, body, &policy_with_script(script)),
                None => html(self.status, body),
            },
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
        Ok(body) => html_with_policy(StatusCode::OK, body, &policy_with_script(FORM_POST_SCRIPT)),
        Err(cause) => {
            tracing::error!(cause, "form post response could not be rendered");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// [`CONTENT_SECURITY_POLICY`] plus `script-src` allowing `script` by its
/// SHA-256 alone (CSP Level 3 hash source): no `'unsafe-inline'`, no
/// other script.
fn policy_with_script(script: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script));
    format!("{CONTENT_SECURITY_POLICY}; script-src 'sha256-{hash}'")
}

/// Longest value sent that an error page repeats, characters.
const SHOWN_VALUE_MAX_CHARS: usize = 200;

/// A value a request sent, as an error page shows it: at most
/// [`SHOWN_VALUE_MAX_CHARS`] characters (then `…`), control characters
/// replaced by U+FFFD. HTML escaping is the template's.
fn shown_value(sent: &str) -> String {
    let mut shown: String = sent
        .chars()
        .take(SHOWN_VALUE_MAX_CHARS)
        .map(|c| {
            // Control characters, and the invisible and direction-changing
            // ones that could make a value read as another (U+202E).
            if c.is_control() || tessera_core::identity::is_invisible(c) {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    if sent.chars().count() > SHOWN_VALUE_MAX_CHARS {
        shown.push('…');
    }
    shown
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

    #[test]
    fn login_links_appear_only_when_their_features_are_on() {
        let env = environment().unwrap();
        let render = |on: bool| {
            env.get_template("login.html")
                .and_then(|t| {
                    t.render(context! { forgot_password => on, create_account => on, base => "/t/a", product_name => "P" })
                })
                .unwrap()
        };
        let off = render(false);
        assert!(
            !off.contains("Forgot password?") && !off.contains("Create account"),
            "{off}"
        );
        let on = render(true);
        assert!(
            on.contains(r#"<li><a href="/t/a/forgot-password">Forgot password?</a></li>"#),
            "{on}"
        );
        assert!(
            on.contains(r#"<li><a href="/t/a/signup">Create account</a></li>"#),
            "{on}"
        );
    }

    #[test]
    fn a_page_script_is_allowed_by_its_hash_alone() {
        let policy = policy_with_script(PASSWORD_TOGGLE_SCRIPT);
        assert!(policy.starts_with(CONTENT_SECURITY_POLICY));
        assert_eq!(policy.matches("'sha256-").count(), 1);
        assert!(!policy.contains("unsafe"));
        assert_ne!(policy, policy_with_script(FORM_POST_SCRIPT));
    }

    #[test]
    fn a_value_sent_is_shown_shortened_and_without_control_characters() {
        assert_eq!(shown_value("https://a.example/cb"), "https://a.example/cb");
        assert_eq!(shown_value("a\nb\u{0}"), "a\u{fffd}b\u{fffd}");
        // A right-to-left override would make "evil/gpj.exe" read otherwise.
        assert_eq!(shown_value("x\u{202e}y\u{200b}"), "x\u{fffd}y\u{fffd}");
        let long = "é".repeat(SHOWN_VALUE_MAX_CHARS + 1);
        let shown = shown_value(&long);
        assert_eq!(shown.chars().count(), SHOWN_VALUE_MAX_CHARS + 1);
        assert!(shown.ends_with('…'));
        assert_eq!(
            shown_value(&"x".repeat(SHOWN_VALUE_MAX_CHARS)).chars().count(),
            SHOWN_VALUE_MAX_CHARS
        );
    }
}
