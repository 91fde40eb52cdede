#![allow(clippy::panic)]

use std::path::Path;

use super::values::human_duration;
use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Only the variables `kind` documents are set; everything else is unset.
fn vars_for(kind: MailKind) -> MailVars {
    let mut vars = MailVars {
        issuer: "https://id.example.com/t/acme".into(),
        tenant_name: "Acme Shop".into(),
        email: "ada@example.com".into(),
        ..MailVars::default()
    };
    let (required, _) = kind.variables();
    for name in required {
        match *name {
            "link" => vars.link = Some("https://id.example.com/t/acme/page?token=tok123".into()),
            "code" => vars.code = Some("482913".into()),
            "expires_in_minutes" => vars.expires_in_minutes = Some(30),
            "new_email" => vars.new_email = Some("ada.new@example.com".into()),
            "factor" => vars.factor = Some("authenticator app".into()),
            "remaining" => vars.remaining = Some(7),
            _ => {}
        }
    }
    vars
}

fn render(templates: &MailTemplates, slug: &str, kind: MailKind) -> MailMessage {
    match templates.render(
        slug,
        kind,
        "ada@example.com",
        &MailTheme::default(),
        &vars_for(kind),
    ) {
        Ok(message) => message,
        Err(e) => panic!("{kind} for {slug}: {e}"),
    }
}

fn write(dir: &Path, file: &str, text: &str) -> TestResult {
    if let Some(parent) = dir.join(file).parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(dir.join(file), text)?;
    Ok(())
}

#[test]
fn every_kind_renders_subject_text_and_html_with_its_documented_variables() -> TestResult {
    let templates = MailTemplates::new(None)?;
    for kind in MailKind::ALL {
        let message = render(&templates, "acme", kind);
        assert_eq!(message.to, "ada@example.com");
        assert!(!message.subject.is_empty(), "{kind}");
        assert!(!message.subject.contains('\n'), "{kind}");
        assert!(!message.text.contains("none"), "{kind}: an unset value printed");
        assert!(
            message.subject.contains("Acme Shop"),
            "{kind}: {}",
            message.subject
        );
        let html = message.html.as_deref().unwrap_or_default();
        for body in [message.text.as_str(), html] {
            assert!(body.contains("Acme Shop"), "{kind} names the tenant");
            assert!(body.contains("Tessera"), "{kind} names the product");
            assert!(body.contains("ada@example.com"), "{kind} names the account");
            assert!(body.contains("not you") || body.contains("did not"), "{kind}");
            assert!(!body.contains(">none<"), "{kind}: an unset value printed");
        }
        assert!(html.starts_with("<!DOCTYPE html>"), "{kind}");
        assert!(html.contains("max-width:560px"), "{kind}");
        assert!(html.contains("#2f5bd3"), "{kind} wears the theme colour");
        let (required, _) = kind.variables();
        if required.contains(&"link") {
            let link = "https://id.example.com/t/acme/page?token=tok123";
            assert!(message.text.contains(link), "{kind}");
            assert!(html.contains("href=\"https://id.example.com/t/acme/page?token=tok123\""));
            for body in [message.text.as_str(), html] {
                assert!(body.contains("nothing happens until you press it"), "{kind}");
            }
        }
        if required.contains(&"code") {
            assert!(
                message.text.contains("\n    482913\n"),
                "{kind}: code on its own line"
            );
            assert!(html.contains("font-size:32px"), "{kind}: code shown large");
            assert!(html.contains(">482913</p>"), "{kind}");
        }
        if required.contains(&"expires_in_minutes") {
            for body in [message.text.as_str(), html] {
                assert!(body.contains("expire in 30 minutes") || body.contains("expires in 30 minutes"));
            }
        }
        for name in ["new_email", "factor"] {
            if required.contains(&name) {
                let value = if name == "factor" {
                    "authenticator app"
                } else {
                    "ada.new@example.com"
                };
                assert!(message.text.contains(value) && html.contains(value), "{kind}");
            }
        }
    }
    Ok(())
}

#[test]
fn a_kind_refuses_to_render_without_a_variable_it_requires() -> TestResult {
    let templates = MailTemplates::new(None)?;
    for kind in MailKind::ALL {
        let (required, _) = kind.variables();
        for name in required {
            let mut vars = vars_for(kind);
            match *name {
                "link" => vars.link = None,
                "code" => vars.code = None,
                "expires_in_minutes" => vars.expires_in_minutes = None,
                "new_email" => vars.new_email = None,
                "factor" => vars.factor = None,
                "remaining" => vars.remaining = None,
                other => panic!("untested variable {other}"),
            }
            let result = templates.render("acme", kind, "a@example.com", &MailTheme::default(), &vars);
            assert!(
                matches!(result, Err(MailTemplateError::MissingVariable { kind: k, name: n }) if k == kind && n == *name),
                "{kind} without {name}"
            );
        }
    }
    Ok(())
}

#[test]
fn optional_variables_show_only_when_set() -> TestResult {
    let templates = MailTemplates::new(None)?;
    let theme = MailTheme::default();
    let kind = MailKind::RegistrationAttempt;
    let mut vars = vars_for(kind);
    let without = templates.render("acme", kind, "a@example.com", &theme, &vars)?;
    assert!(!without.text.contains("expires"));
    vars.expires_in_minutes = Some(1440);
    vars.when = Some("3 March 2026, 09:15 UTC".into());
    let with = templates.render("acme", kind, "a@example.com", &theme, &vars)?;
    assert!(with.text.contains("This link expires in 24 hours."));
    assert!(with.text.contains("on 3 March 2026, 09:15 UTC"));
    Ok(())
}

#[test]
fn recovery_code_notice_says_how_many_remain() -> TestResult {
    let templates = MailTemplates::new(None)?;
    let kind = MailKind::RecoveryCodeUsed;
    for (remaining, says) in [
        (0, "no recovery codes left"),
        (1, "1 recovery code left"),
        (3, "3 recovery codes left: create new ones"),
        (8, "8 recovery codes left."),
    ] {
        let vars = MailVars {
            remaining: Some(remaining),
            ..vars_for(kind)
        };
        let message = templates.render("acme", kind, "a@example.com", &MailTheme::default(), &vars)?;
        assert!(message.text.contains(says), "{remaining}: {}", message.text);
        let left = format!("{remaining} recovery code");
        let html = message.html.unwrap_or_default();
        assert!(html.contains(if remaining == 0 {
            "no recovery codes left"
        } else {
            &left
        }));
    }
    Ok(())
}

#[test]
fn html_escapes_what_a_tenant_or_person_chose_and_text_keeps_it() -> TestResult {
    let templates = MailTemplates::new(None)?;
    let mut vars = vars_for(MailKind::FactorAdded);
    vars.tenant_name = "<script>alert(1)</script>".into();
    vars.email = "\"><img src=x>@example.com".into();
    vars.factor = Some("passkey \"<b>MacBook</b>\"".into());
    let theme = MailTheme {
        product_name: "Acme & <i>Co</i>".into(),
        ..MailTheme::default()
    };
    let message = templates.render("acme", MailKind::FactorAdded, "a@example.com", &theme, &vars)?;
    let html = message.html.unwrap_or_default();
    assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));
    assert!(!html.contains("<img src=x>") && !html.contains("<b>MacBook"));
    assert!(!html.contains("<i>Co</i>") && html.contains("Acme &amp; &lt;i&gt;Co"));
    assert!(
        message.text.contains("<script>alert(1)</script>"),
        "text is not HTML"
    );
    assert!(message.text.contains("passkey \"<b>MacBook</b>\""));
    Ok(())
}

#[test]
fn a_header_injection_through_the_subject_or_recipient_is_refused() -> TestResult {
    let templates = MailTemplates::new(None)?;
    let theme = MailTheme::default();
    let kind = MailKind::PasswordChanged;
    for tenant_name in ["Acme\r\nBcc: victim@example.com", "Acme\nX", "Acme\u{0}"] {
        let vars = MailVars {
            tenant_name: tenant_name.into(),
            ..vars_for(kind)
        };
        let result = templates.render("acme", kind, "a@example.com", &theme, &vars);
        assert!(
            matches!(
                result,
                Err(MailTemplateError::InvalidValue { name: "subject", .. })
            ),
            "{tenant_name:?}: {result:?}"
        );
    }
    let result = templates.render("acme", kind, "a@example.com\r\nBcc: b@x", &theme, &vars_for(kind));
    assert!(matches!(
        result,
        Err(MailTemplateError::InvalidValue {
            name: "recipient",
            ..
        })
    ));
    Ok(())
}

#[test]
fn theme_colour_links_and_logo_must_be_what_they_claim() -> TestResult {
    let templates = MailTemplates::new(None)?;
    let kind = MailKind::MagicLink;
    let bad_colour = MailTheme {
        primary_color: "red;background:url(https://evil.example/x)".into(),
        ..MailTheme::default()
    };
    let result = templates.render("acme", kind, "a@example.com", &bad_colour, &vars_for(kind));
    assert!(matches!(
        result,
        Err(MailTemplateError::InvalidValue {
            name: "theme.primary_color",
            ..
        })
    ));
    for link in [
        "javascript:alert(1)",
        "https://evil.example/t/acme/page?token=x",
        "https://id.example.com/t/acme-evil/page",
        "https://id.example.com.evil.example/t/acme/page",
    ] {
        let vars = MailVars {
            link: Some(link.into()),
            ..vars_for(kind)
        };
        let result = templates.render("acme", kind, "a@example.com", &MailTheme::default(), &vars);
        assert!(
            matches!(result, Err(MailTemplateError::InvalidValue { name: "link", .. })),
            "{link}"
        );
    }
    let vars = MailVars {
        issuer: "https://id.example.com/t/acme/".into(),
        ..vars_for(kind)
    };
    assert!(templates
        .render("acme", kind, "a@example.com", &MailTheme::default(), &vars)
        .is_ok());
    let bad_logo = MailTheme {
        logo_url: "data:image/png;base64,AAAA".into(),
        ..MailTheme::default()
    };
    let result = templates.render("acme", kind, "a@example.com", &bad_logo, &vars_for(kind));
    assert!(matches!(
        result,
        Err(MailTemplateError::InvalidValue {
            name: "theme.logo_url",
            ..
        })
    ));
    Ok(())
}

#[test]
fn the_logo_is_the_only_image_and_a_path_is_resolved_against_the_issuer() -> TestResult {
    let templates = MailTemplates::new(None)?;
    let kind = MailKind::VerifyEmail;
    let plain = render(&templates, "acme", kind).html.unwrap_or_default();
    assert!(
        !plain.contains("<img") && !plain.contains("src="),
        "no image without a logo"
    );
    assert!(
        !plain.contains("<link") && !plain.contains("<script"),
        "no external CSS or JS"
    );
    let theme = MailTheme {
        logo_url: "/static/logo.png".into(),
        ..MailTheme::default()
    };
    let message = templates.render("acme", kind, "a@example.com", &theme, &vars_for(kind))?;
    let html = message.html.unwrap_or_default();
    assert_eq!(html.matches("<img").count(), 1);
    assert!(html.contains("src=\"https://id.example.com/static/logo.png\""));
    Ok(())
}

#[test]
fn overrides_apply_globally_and_per_tenant_falling_back_file_by_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    write(
        dir.path(),
        "password_reset.subject.txt",
        "Global subject for {{ tenant_name }}",
    )?;
    write(
        dir.path(),
        "acme/password_reset.txt",
        "Acme text {{ code }} {{ link }}",
    )?;
    write(
        dir.path(),
        "acme/layout.html",
        "<div style=\"color:{{ primary_color }}\">ACME LAYOUT {% block body %}{% endblock %}</div>",
    )?;
    let templates = MailTemplates::new(Some(dir.path()))?;
    assert_eq!(templates.tenant_slugs().collect::<Vec<_>>(), ["acme"]);
    let kind = MailKind::PasswordReset;

    let acme = render(&templates, "acme", kind);
    assert_eq!(acme.subject, "Global subject for Acme Shop");
    assert_eq!(
        acme.text,
        "Acme text 482913 https://id.example.com/t/acme/page?token=tok123"
    );
    let acme_html = acme.html.unwrap_or_default();
    assert!(acme_html.starts_with("<div style=\"color:#2f5bd3\">ACME LAYOUT"));
    assert!(
        acme_html.contains("Reset your password"),
        "the default body, in acme's layout"
    );

    let other = render(&templates, "other", kind);
    assert_eq!(other.subject, "Global subject for Acme Shop");
    assert!(other.text.contains("Someone, hopefully you, asked to reset"));
    assert!(other.html.unwrap_or_default().starts_with("<!DOCTYPE html>"));

    let untouched = render(&templates, "acme", MailKind::MagicLink);
    assert_eq!(untouched.subject, "Your Acme Shop sign-in link");
    Ok(())
}

#[test]
fn an_html_override_that_renders_empty_sends_text_only() -> TestResult {
    let dir = tempfile::tempdir()?;
    write(dir.path(), "email_code.html", "{# text only #}\n")?;
    let templates = MailTemplates::new(Some(dir.path()))?;
    let message = render(&templates, "acme", MailKind::EmailCode);
    assert_eq!(message.html, None);
    assert!(message.text.contains("482913"));
    Ok(())
}

/// The error `new` gives for an override directory holding `files`.
fn load_error(files: &[(&str, &str)]) -> Result<MailTemplateError, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    for (file, text) in files {
        write(dir.path(), file, text)?;
    }
    match MailTemplates::new(Some(dir.path())) {
        Ok(_) => Err(format!("{files:?} was accepted").into()),
        Err(e) => Ok(e),
    }
}

#[test]
fn a_syntax_error_is_refused_at_start_naming_file_and_line() -> TestResult {
    let error = load_error(&[("acme/magic_link.txt", "Hello\n\n{% if code %}\n{{ code }")])?;
    let MailTemplateError::Syntax { path, line, .. } = &error else {
        return Err(format!("{error:?}").into());
    };
    assert!(path.ends_with("acme/magic_link.txt"));
    assert_eq!(*line, Some(4));
    assert!(error.to_string().contains("acme/magic_link.txt:4"), "{error}");
    Ok(())
}

#[test]
fn an_unknown_file_name_is_refused_at_start_with_a_suggestion() -> TestResult {
    let error = load_error(&[("verify_emial.txt", "x")])?;
    assert!(
        matches!(&error, MailTemplateError::UnknownFile { path, .. } if path.ends_with("verify_emial.txt"))
    );
    assert!(
        error.to_string().contains("did you mean verify_email.txt?"),
        "{error}"
    );

    let error = load_error(&[("acme/password_reset.htm", "x")])?;
    assert!(
        error.to_string().contains("did you mean password_reset.html?"),
        "{error}"
    );

    for files in [
        [("README.md", "notes")],
        [("Acme/verify_email.txt", "x")],
        [("acme/nested/verify_email.txt", "x")],
        [("parts.html", "x")],
    ] {
        let error = load_error(&files)?;
        assert!(
            matches!(error, MailTemplateError::UnknownFile { .. }),
            "{files:?}: {error:?}"
        );
    }
    Ok(())
}

#[test]
fn dot_files_in_the_override_directory_are_skipped() -> TestResult {
    let dir = tempfile::tempdir()?;
    write(dir.path(), ".gitkeep", "")?;
    write(dir.path(), "acme/.verify_email.txt.swp", "{{ broken")?;
    let templates = MailTemplates::new(Some(dir.path()))?;
    assert!(render(&templates, "acme", MailKind::VerifyEmail)
        .text
        .contains("Please confirm"));
    Ok(())
}

#[test]
fn a_variable_the_kind_does_not_get_is_refused_at_start_even_in_an_untaken_branch() -> TestResult {
    let text = "Code: {{ code }}\n{% if false %}\n{{ link }}\n{% endif %}";
    let error = load_error(&[("email_code.txt", text)])?;
    let MailTemplateError::UnknownVariable { path, line, name, .. } = &error else {
        return Err(format!("{error:?}").into());
    };
    assert!(path.ends_with("email_code.txt"));
    assert_eq!((name.as_str(), *line), ("link", Some(3)));

    let error = load_error(&[("layout.txt", "{% block body %}{% endblock %} {{ code }}")])?;
    assert!(matches!(error, MailTemplateError::UnknownVariable { name, .. } if name == "code"));
    Ok(())
}

#[test]
fn an_undefined_value_fails_at_render_rather_than_printing_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let text = "{% if code == \"000000\" %}{{ link.path }}{% endif %}Code {{ code }}";
    write(dir.path(), "magic_link.txt", text)?;
    let templates = MailTemplates::new(Some(dir.path()))?;
    let kind = MailKind::MagicLink;
    assert_eq!(render(&templates, "acme", kind).text, "Code 482913");
    let vars = MailVars {
        code: Some("000000".into()),
        ..vars_for(kind)
    };
    let result = templates.render("acme", kind, "a@example.com", &MailTheme::default(), &vars);
    let Err(MailTemplateError::Render { path, line, .. }) = result else {
        return Err(format!("rendered: {result:?}").into());
    };
    assert!(path.ends_with("magic_link.txt"));
    assert_eq!(line, Some(1));
    Ok(())
}

#[test]
fn an_override_without_plain_text_is_refused_at_start() -> TestResult {
    let error = load_error(&[("acme/factor_added.txt", "{# nothing #}")])?;
    assert!(
        matches!(&error, MailTemplateError::Render { path, .. } if path.ends_with("acme/factor_added.txt"))
    );
    Ok(())
}

#[test]
fn a_missing_override_directory_is_an_error() {
    let result = MailTemplates::new(Some(Path::new("/nonexistent/tessera/mail")));
    assert!(matches!(result, Err(MailTemplateError::Read { .. })));
}

#[test]
fn kinds_round_trip_through_their_names() {
    for kind in MailKind::ALL {
        assert_eq!(MailKind::from_name(kind.as_str()), Some(kind));
    }
    assert_eq!(MailKind::from_name("verify"), None);
}

#[test]
fn durations_read_as_a_person_says_them() {
    for (minutes, text) in [
        (1, "1 minute"),
        (10, "10 minutes"),
        (60, "1 hour"),
        (90, "90 minutes"),
        (1440, "24 hours"),
        (2880, "2 days"),
    ] {
        assert_eq!(human_duration(minutes), text);
    }
}

#[test]
fn debug_hides_the_link_and_the_code() {
    let shown = format!("{:?}", vars_for(MailKind::MagicLink));
    assert!(!shown.contains("tok123") && !shown.contains("482913"), "{shown}");
    assert!(shown.contains("<redacted>"));
}
