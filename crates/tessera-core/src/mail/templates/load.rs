//! Where the template sources come from: the defaults embedded in the
//! binary, and an operator's override directory, read strictly (a file
//! that is not a template name is an error, not ignored).

use std::path::{Path, PathBuf};

use super::{MailKind, MailTemplateError};
use crate::admin::is_tenant_slug;

/// One part of a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    /// `{kind}.subject.txt`
    Subject,
    /// `{kind}.txt`, extending `layout.txt`
    Text,
    /// `{kind}.html`, extending `layout.html`
    Html,
}

impl Part {
    /// The file name of this part of `kind`.
    pub(super) fn file(self, kind: MailKind) -> String {
        match self {
            Part::Subject => format!("{kind}.subject.txt"),
            Part::Text => format!("{kind}.txt"),
            Part::Html => format!("{kind}.html"),
        }
    }

    /// The layout the part's templates extend (as `{% extends layout %}`).
    pub(super) fn layout_file(self) -> Option<&'static str> {
        match self {
            Part::Subject => None,
            Part::Text => Some("layout.txt"),
            Part::Html => Some("layout.html"),
        }
    }
}

/// A template to compile.
#[derive(Debug)]
pub(super) struct Source {
    /// The name it is registered under (its suffix picks auto-escaping).
    pub name: String,
    /// Where it came from, for errors.
    pub path: PathBuf,
    /// The template text.
    pub text: String,
    /// The kind it belongs to; `None` for layouts and `parts.html`.
    pub kind: Option<MailKind>,
    /// The tenant it is for; `None` for defaults and global overrides.
    pub tenant: Option<String>,
}

/// The registered name of a default template.
pub(super) fn default_name(file: &str) -> String {
    format!("default/{file}")
}

/// The registered name of an override for every tenant.
pub(super) fn global_name(file: &str) -> String {
    format!("global/{file}")
}

/// The registered name of an override for one tenant.
pub(super) fn tenant_name(slug: &str, file: &str) -> String {
    format!("tenant/{slug}/{file}")
}

/// `[(file, text)]` for the files under `templates/mail/`, embedded.
macro_rules! embedded {
    ($($file:literal),* $(,)?) => {
        [$(($file, include_str!(concat!("../../../templates/mail/", $file)))),*]
    };
}

/// The default templates, embedded in the binary.
const DEFAULTS: [(&str, &str); 42] = embedded!(
    "parts.html",
    "layout.txt",
    "layout.html",
    "verify_email.subject.txt",
    "verify_email.txt",
    "verify_email.html",
    "email_change_verify.subject.txt",
    "email_change_verify.txt",
    "email_change_verify.html",
    "email_change_notice.subject.txt",
    "email_change_notice.txt",
    "email_change_notice.html",
    "registration_attempt.subject.txt",
    "registration_attempt.txt",
    "registration_attempt.html",
    "password_reset.subject.txt",
    "password_reset.txt",
    "password_reset.html",
    "password_changed.subject.txt",
    "password_changed.txt",
    "password_changed.html",
    "magic_link.subject.txt",
    "magic_link.txt",
    "magic_link.html",
    "email_code.subject.txt",
    "email_code.txt",
    "email_code.html",
    "factor_added.subject.txt",
    "factor_added.txt",
    "factor_added.html",
    "factor_removed.subject.txt",
    "factor_removed.txt",
    "factor_removed.html",
    "recovery_code_used.subject.txt",
    "recovery_code_used.txt",
    "recovery_code_used.html",
    "factor_suspended.subject.txt",
    "factor_suspended.txt",
    "factor_suspended.html",
    "mfa_removed_by_admin.subject.txt",
    "mfa_removed_by_admin.txt",
    "mfa_removed_by_admin.html",
);

/// The name of the macros every HTML template may import; not overridable.
const PARTS: &str = "parts.html";

/// The embedded defaults, `parts.html` under its plain name.
pub(super) fn defaults() -> Vec<Source> {
    DEFAULTS
        .iter()
        .map(|(file, text)| Source {
            name: if *file == PARTS {
                PARTS.to_string()
            } else {
                default_name(file)
            },
            path: Path::new("(built in) templates/mail").join(file),
            text: (*text).to_string(),
            kind: template_kind(file).flatten(),
            tenant: None,
        })
        .collect()
}

/// The overrides in `dir`: template files for every tenant, and one
/// directory per tenant slug holding that tenant's. Dot files (editor and
/// VCS leftovers) are skipped; anything else unknown is an error.
pub(super) fn overrides(dir: &Path) -> Result<Vec<Source>, MailTemplateError> {
    let mut sources = Vec::new();
    for (path, file, is_dir) in entries(dir)? {
        if !is_dir {
            sources.push(read(path, &file, None)?);
            continue;
        }
        if !is_tenant_slug(&file) {
            return Err(MailTemplateError::UnknownFile {
                path,
                reason: "a directory here must be named after a tenant slug \
                         (lowercase letters, digits and inner hyphens)"
                    .into(),
            });
        }
        for (inner, name, inner_is_dir) in entries(&path)? {
            if inner_is_dir {
                return Err(MailTemplateError::UnknownFile {
                    path: inner,
                    reason: "a tenant's directory holds template files only".into(),
                });
            }
            sources.push(read(inner, &name, Some(&file))?);
        }
    }
    Ok(sources)
}

/// The entries of `dir` that are not dot files, sorted by name (so that
/// the first error reported is always the same): `(path, name, is_dir)`.
fn entries(dir: &Path) -> Result<Vec<(PathBuf, String, bool)>, MailTemplateError> {
    let read_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| MailTemplateError::Read { path, source }
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error(dir))? {
        let entry = entry.map_err(read_error(dir))?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            return Err(MailTemplateError::UnknownFile {
                path,
                reason: "the name is not UTF-8".into(),
            });
        };
        if name.starts_with('.') {
            continue;
        }
        // Follows symbolic links: a linked file or directory counts as one.
        let is_dir = std::fs::metadata(&path).map_err(read_error(&path))?.is_dir();
        found.push((path, name, is_dir));
    }
    found.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(found)
}

/// Reads one override file, refusing a name that is not a template's.
fn read(path: PathBuf, file: &str, tenant: Option<&str>) -> Result<Source, MailTemplateError> {
    let Some(kind) = template_kind(file).filter(|_| file != PARTS) else {
        return Err(MailTemplateError::UnknownFile {
            reason: unknown_reason(file),
            path,
        });
    };
    let text = std::fs::read_to_string(&path).map_err(|source| MailTemplateError::Read {
        path: path.clone(),
        source,
    })?;
    let name = match tenant {
        Some(slug) => tenant_name(slug, file),
        None => global_name(file),
    };
    Ok(Source {
        name,
        path,
        text,
        kind,
        tenant: tenant.map(str::to_string),
    })
}

/// `Some(Some(kind))` for a kind's file, `Some(None)` for a layout or
/// `parts.html`, `None` for a name that is no template's.
fn template_kind(file: &str) -> Option<Option<MailKind>> {
    if matches!(file, "layout.txt" | "layout.html" | PARTS) {
        return Some(None);
    }
    let stem = file
        .strip_suffix(".subject.txt")
        .or_else(|| file.strip_suffix(".txt"))
        .or_else(|| file.strip_suffix(".html"))?;
    MailKind::from_name(stem).map(Some)
}

/// Why `file` is refused, with the closest valid name when one is near.
fn unknown_reason(file: &str) -> String {
    if file == PARTS {
        return "parts.html is built in and cannot be replaced; \
                override a layout or a kind's template instead"
            .into();
    }
    let mut valid = vec!["layout.txt".to_string(), "layout.html".to_string()];
    for kind in MailKind::ALL {
        valid.push(format!("{kind}.subject.txt"));
        valid.push(format!("{kind}.txt"));
        valid.push(format!("{kind}.html"));
    }
    let closest = valid
        .iter()
        .map(|name| (edit_distance(file, name), name))
        .min_by_key(|(distance, _)| *distance)
        .filter(|(distance, _)| *distance <= 3);
    let hint = match closest {
        Some((_, name)) => format!("; did you mean {name}?"),
        None => String::new(),
    };
    format!(
        "not a mail template name (expected {{kind}}.subject.txt, {{kind}}.txt, \
         {{kind}}.html, layout.txt or layout.html, or a tenant slug directory){hint}"
    )
}

/// Levenshtein distance, for the "did you mean" hint.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            let substitution = previous + usize::from(ca != *cb);
            row[j + 1] = substitution.min(row[j] + 1).min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// The first line (1-based) that mentions `name` as a whole word.
pub(super) fn first_line_with(text: &str, name: &str) -> Option<usize> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    text.lines()
        .position(|line| {
            line.match_indices(name).any(|(at, _)| {
                let before = line[..at].chars().next_back();
                let after = line[at + name.len()..].chars().next();
                !before.is_some_and(is_word) && !after.is_some_and(is_word)
            })
        })
        .map(|index| index + 1)
}
