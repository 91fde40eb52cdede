//! The values a mail's templates see: checked (a colour that is a colour,
//! links that are http(s), the variables a kind requires), completed (the
//! logo resolved against the issuer, `expires_in` in words) and escaped
//! for HTML.

use std::collections::BTreeMap;

use minijinja::Value;

use super::{MailKind, MailTemplateError, MailTheme, MailVars};

/// The variables a template may use: the common ones, plus the kind's for
/// a kind's template (a layout serves every kind and gets only the common
/// ones).
pub(super) fn known_variables(kind: Option<MailKind>) -> Vec<&'static str> {
    let mut known = vec![
        "product_name",
        "logo_url",
        "primary_color",
        "tenant_name",
        "issuer",
        "email",
        "when",
        "layout",
    ];
    if let Some(kind) = kind {
        let (required, optional) = kind.variables();
        for name in required.iter().chain(optional) {
            known.push(name);
            if *name == "expires_in_minutes" {
                known.push("expires_in");
            }
        }
    }
    known
}

/// Auto-escaping for HTML templates that leaves `/` alone (minijinja's
/// default writes it as `&#x2f;`), so that links read as links in the
/// mail's source and in link scanners; `& < > " '` are escaped, which is
/// all HTML needs in text and in quoted attributes.
pub(super) fn html_formatter(
    out: &mut minijinja::Output<'_>,
    state: &minijinja::State<'_, '_>,
    value: &Value,
) -> Result<(), minijinja::Error> {
    use std::fmt::Write as _;
    if state.auto_escape() == minijinja::AutoEscape::Html && !value.is_safe() {
        if let Some(text) = value.as_str() {
            for c in text.chars() {
                match c {
                    '&' => out.write_str("&amp;"),
                    '<' => out.write_str("&lt;"),
                    '>' => out.write_str("&gt;"),
                    '"' => out.write_str("&quot;"),
                    '\'' => out.write_str("&#x27;"),
                    c => out.write_char(c),
                }?;
            }
            return Ok(());
        }
    }
    minijinja::escape_formatter(out, state, value)
}

pub(super) fn invalid(name: &'static str, reason: &'static str) -> MailTemplateError {
    MailTemplateError::InvalidValue { name, reason }
}

/// The values a kind's templates get, checked: a theme colour that is a
/// colour, an http(s) issuer, links under that issuer, every required
/// variable present.
pub(super) fn context(
    kind: MailKind,
    theme: &MailTheme,
    vars: &MailVars,
) -> Result<BTreeMap<&'static str, Value>, MailTemplateError> {
    let hex = theme.primary_color.strip_prefix('#').unwrap_or("");
    if !matches!(hex.len(), 3 | 6) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid("theme.primary_color", "not a #rgb or #rrggbb colour"));
    }
    let issuer = url::Url::parse(&vars.issuer)
        .ok()
        .filter(is_web)
        .ok_or_else(|| invalid("issuer", "not an absolute http(s) URL"))?;
    let logo_url = match theme.logo_url.trim() {
        "" => String::new(),
        logo => issuer
            .join(logo)
            .ok()
            .filter(is_web)
            .map(String::from)
            .ok_or_else(|| invalid("theme.logo_url", "not an http(s) URL or a path"))?,
    };
    let mut context = BTreeMap::from([
        ("product_name", Value::from(theme.product_name.as_str())),
        ("logo_url", Value::from(logo_url)),
        ("primary_color", Value::from(theme.primary_color.as_str())),
        ("tenant_name", Value::from(vars.tenant_name.as_str())),
        ("issuer", Value::from(vars.issuer.as_str())),
        ("email", Value::from(vars.email.as_str())),
        ("when", Value::from(vars.when.clone())),
    ]);
    let (required, optional) = kind.variables();
    for name in required {
        let value = variable(vars, name)?;
        if value.is_none() {
            return Err(MailTemplateError::MissingVariable { kind, name });
        }
        context.insert(name, value);
    }
    for name in optional {
        context.insert(name, variable(vars, name)?);
    }
    if context.contains_key("expires_in_minutes") {
        let text = vars.expires_in_minutes.map(human_duration);
        context.insert("expires_in", Value::from(text));
    }
    Ok(context)
}

/// The value of the kind-specific variable `name` (none when unset).
fn variable(vars: &MailVars, name: &str) -> Result<Value, MailTemplateError> {
    Ok(match name {
        "link" => match &vars.link {
            Some(link) if under_issuer(link, &vars.issuer) => Value::from(link.as_str()),
            Some(_) => return Err(invalid("link", "not a URL under the tenant's issuer")),
            None => Value::from(()),
        },
        "code" => Value::from(vars.code.clone()),
        "expires_in_minutes" => Value::from(vars.expires_in_minutes),
        "new_email" => Value::from(vars.new_email.clone()),
        "factor" => Value::from(vars.factor.clone()),
        "remaining" => Value::from(vars.remaining),
        _ => Value::from(()),
    })
}

/// Whether `link` is a valid URL that starts with the issuer (then `/`,
/// `?`, `#` or nothing): every mailed link is built from the tenant's
/// issuer, so anything else is a bug that would send people elsewhere.
fn under_issuer(link: &str, issuer: &str) -> bool {
    let base = issuer.trim_end_matches('/');
    let follows = link.strip_prefix(base).map(|rest| {
        rest.is_empty() || rest.starts_with('/') || rest.starts_with('?') || rest.starts_with('#')
    });
    follows == Some(true) && url::Url::parse(link).ok().filter(is_web).is_some()
}

fn is_web(url: &url::Url) -> bool {
    matches!(url.scheme(), "https" | "http")
}

/// Minutes as a person says them: "10 minutes", "1 hour", "24 hours",
/// "7 days".
pub(super) fn human_duration(minutes: u64) -> String {
    let plural = |n: u64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    if minutes >= 2 * 1440 && minutes.is_multiple_of(1440) {
        plural(minutes / 1440, "day")
    } else if minutes >= 60 && minutes.is_multiple_of(60) {
        plural(minutes / 60, "hour")
    } else {
        plural(minutes, "minute")
    }
}

/// Values for the start-up trial render: every variable set.
pub(super) fn sample_vars() -> MailVars {
    MailVars {
        issuer: "https://id.example.com".into(),
        tenant_name: "Example".into(),
        email: "person@example.com".into(),
        link: Some("https://id.example.com/verify-email?token=sample".into()),
        code: Some("123456".into()),
        expires_in_minutes: Some(30),
        new_email: Some("new@example.com".into()),
        factor: Some("authenticator app".into()),
        remaining: Some(9),
        when: Some("1 January 2026, 12:00 UTC".into()),
    }
}
