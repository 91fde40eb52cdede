//! Composing mail: a subject, a plain-text body and an HTML body per
//! [`MailKind`], from minijinja templates embedded in the binary and
//! overridable from a directory — for every tenant or for one — and dressed
//! in the tenant's theme (product name, logo, colour).
//!
//! Everything an operator supplies is read, compiled and trial-rendered in
//! [`MailTemplates::new`], so a typo in a file name, a syntax error or an
//! unknown variable stops the start with the file (and line) named, instead
//! of failing the first mail. Rendering is strict: a variable a kind does
//! not have is an error, never an empty string.

mod load;
#[cfg(test)]
mod tests;
mod values;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior, Value};

use crate::ports::MailMessage;

use load::{Part, Source};
use values::{context, html_formatter, invalid, known_variables, sample_vars};

/// What a mail is about; it picks the templates and the variables they get.
///
/// Every kind gets the common variables (see [`MailVars`]); the ones named
/// here in addition must be set (`Some`) unless marked optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// Confirm the address given at registration: `link`, `code`,
    /// `expires_in_minutes`.
    VerifyEmail,
    /// Sent to the *new* address of an email change: `link`, `code`,
    /// `expires_in_minutes`, `new_email`.
    EmailChangeVerify,
    /// Sent to the *old* address of an email change: `new_email`.
    EmailChangeNotice,
    /// Someone tried to register with an address that has an account
    /// (`conceal_existing_accounts`): `link` (to choose a new password),
    /// optional `expires_in_minutes` (when the link carries a token).
    RegistrationAttempt,
    /// Choose a new password: `link`, `code`, `expires_in_minutes`.
    PasswordReset,
    /// Notice that the password was changed or reset: no more.
    PasswordChanged,
    /// Passwordless sign-in link: `link`, `code`, `expires_in_minutes`.
    MagicLink,
    /// Passwordless sign-in code: `code`, `expires_in_minutes`.
    EmailCode,
    /// Notice that a factor or passkey was added: `factor`.
    FactorAdded,
    /// Notice that a factor or passkey was removed: `factor`.
    FactorRemoved,
    /// Notice that a recovery code was used: `remaining`.
    RecoveryCodeUsed,
    /// Notice that a factor was suspended after too many wrong codes:
    /// `factor`.
    FactorSuspended,
    /// Notice that an administrator removed every second factor: no more.
    MfaRemovedByAdmin,
}

impl MailKind {
    /// Every kind, in a stable order (for start-up checks and tests).
    pub const ALL: [MailKind; 13] = [
        MailKind::VerifyEmail,
        MailKind::EmailChangeVerify,
        MailKind::EmailChangeNotice,
        MailKind::RegistrationAttempt,
        MailKind::PasswordReset,
        MailKind::PasswordChanged,
        MailKind::MagicLink,
        MailKind::EmailCode,
        MailKind::FactorAdded,
        MailKind::FactorRemoved,
        MailKind::RecoveryCodeUsed,
        MailKind::FactorSuspended,
        MailKind::MfaRemovedByAdmin,
    ];

    /// The snake_case name: the stem of the kind's template files and the
    /// name an outbox can store.
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::VerifyEmail => "verify_email",
            MailKind::EmailChangeVerify => "email_change_verify",
            MailKind::EmailChangeNotice => "email_change_notice",
            MailKind::RegistrationAttempt => "registration_attempt",
            MailKind::PasswordReset => "password_reset",
            MailKind::PasswordChanged => "password_changed",
            MailKind::MagicLink => "magic_link",
            MailKind::EmailCode => "email_code",
            MailKind::FactorAdded => "factor_added",
            MailKind::FactorRemoved => "factor_removed",
            MailKind::RecoveryCodeUsed => "recovery_code_used",
            MailKind::FactorSuspended => "factor_suspended",
            MailKind::MfaRemovedByAdmin => "mfa_removed_by_admin",
        }
    }

    /// The kind named `name` (as [`MailKind::as_str`] spells it), if any.
    pub fn from_name(name: &str) -> Option<MailKind> {
        MailKind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// The variables this kind's templates get beyond the common ones:
    /// `(required, optional)`. `expires_in` is derived from
    /// `expires_in_minutes` and comes with it.
    fn variables(self) -> (&'static [&'static str], &'static [&'static str]) {
        const LINK_CODE: &[&str] = &["link", "code", "expires_in_minutes"];
        match self {
            MailKind::VerifyEmail | MailKind::PasswordReset | MailKind::MagicLink => (LINK_CODE, &[]),
            MailKind::EmailChangeVerify => (&["link", "code", "expires_in_minutes", "new_email"], &[]),
            MailKind::EmailChangeNotice => (&["new_email"], &[]),
            MailKind::RegistrationAttempt => (&["link"], &["expires_in_minutes"]),
            MailKind::EmailCode => (&["code", "expires_in_minutes"], &[]),
            MailKind::FactorAdded | MailKind::FactorRemoved | MailKind::FactorSuspended => (&["factor"], &[]),
            MailKind::RecoveryCodeUsed => (&["remaining"], &[]),
            MailKind::PasswordChanged | MailKind::MfaRemovedByAdmin => (&[], &[]),
        }
    }
}

impl fmt::Display for MailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The tenant's look in mail, the same settings as the hosted pages'
/// `[theme]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailTheme {
    /// Product name in the header, footer and wording.
    pub product_name: String,
    /// Logo above the message: an absolute `https://` URL, or a path
    /// resolved against the issuer; empty for none. The only image a mail
    /// ever carries.
    pub logo_url: String,
    /// Colour of the product name, buttons and links, `#rgb` or `#rrggbb`.
    pub primary_color: String,
}

impl Default for MailTheme {
    fn default() -> Self {
        MailTheme {
            product_name: "Tessera".into(),
            logo_url: String::new(),
            primary_color: "#2f5bd3".into(),
        }
    }
}

/// What a mail says beyond its kind. The common variables every template
/// gets: `product_name`, `logo_url`, `primary_color` (from the
/// [`MailTheme`]), `tenant_name`, `issuer`, `email` and `when` (may be
/// none). The others go only to the kinds that document them (see
/// [`MailKind`]); a template that uses one its kind does not get fails.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MailVars {
    /// The tenant's issuer URL; every link is built from it by the caller.
    pub issuer: String,
    /// The tenant's display name.
    pub tenant_name: String,
    /// The account's (current) email address.
    pub email: String,
    /// The ready-made link to open (a page that changes nothing until its
    /// button is pressed); it must start with `issuer`. Carries a token:
    /// redacted in `Debug`.
    pub link: Option<String>,
    /// The one-time code (six digits). Redacted in `Debug`.
    pub code: Option<String>,
    /// How long `link` and `code` stay valid; templates also get it as
    /// `expires_in` ("30 minutes", "24 hours").
    pub expires_in_minutes: Option<u64>,
    /// The address an email change goes to.
    pub new_email: Option<String>,
    /// The factor a notice is about, as a person says it
    /// (`authenticator app`, `passkey "MacBook"`).
    pub factor: Option<String>,
    /// Recovery codes left after one was used.
    pub remaining: Option<u32>,
    /// When it happened, already formatted for the reader.
    pub when: Option<String>,
}

impl fmt::Debug for MailVars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("MailVars")
            .field("issuer", &self.issuer)
            .field("tenant_name", &self.tenant_name)
            .field("email", &self.email)
            .field("link", &redacted(&self.link))
            .field("code", &redacted(&self.code))
            .field("expires_in_minutes", &self.expires_in_minutes)
            .field("new_email", &self.new_email)
            .field("factor", &self.factor)
            .field("remaining", &self.remaining)
            .field("when", &self.when)
            .finish()
    }
}

/// Why the templates could not be loaded or a mail not composed. Load
/// errors name the file (and line), so that an operator can fix it.
#[derive(Debug, thiserror::Error)]
pub enum MailTemplateError {
    /// A file or directory could not be read.
    #[error("mail templates: cannot read {}: {source}", .path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file or directory in the override directory that is not a
    /// template (a typo would otherwise be ignored silently).
    #[error("mail template {}: {reason}", .path.display())]
    UnknownFile {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong, with a suggestion when one is close.
        reason: String,
    },
    /// A template does not compile.
    #[error("mail template {}: syntax error: {message}", at(.path, *.line))]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The line, when known.
        line: Option<usize>,
        /// What the compiler said.
        message: String,
    },
    /// A template uses a variable its kind does not get.
    #[error("mail template {}: unknown variable `{name}` (it has: {known})", at(.path, *.line))]
    UnknownVariable {
        /// The file.
        path: PathBuf,
        /// The first line that mentions it, when found.
        line: Option<usize>,
        /// The variable.
        name: String,
        /// The variables the template may use.
        known: String,
    },
    /// A template failed while rendering (an undefined attribute, a bad
    /// filter argument, …).
    #[error("mail template {}: {message}", at(.path, *.line))]
    Render {
        /// The file.
        path: PathBuf,
        /// The line, when known.
        line: Option<usize>,
        /// What went wrong.
        message: String,
    },
    /// The caller did not set a variable the kind requires.
    #[error("a {kind} mail needs `{name}`")]
    MissingVariable {
        /// The kind.
        kind: MailKind,
        /// The variable.
        name: &'static str,
    },
    /// A value that cannot go into a mail (a colour that is not a colour,
    /// a link that is not http(s), a control character in a header).
    #[error("mail {name}: {reason}")]
    InvalidValue {
        /// Which value.
        name: &'static str,
        /// Why.
        reason: &'static str,
    },
}

/// `path:line`, or the path alone.
fn at(path: &Path, line: Option<usize>) -> String {
    match line {
        Some(line) => format!("{}:{line}", path.display()),
        None => path.display().to_string(),
    }
}

/// The compiled templates: the embedded defaults, the overrides for every
/// tenant and those for single tenants. Built once at start, shared by the
/// mail outbox.
pub struct MailTemplates {
    env: Environment<'static>,
    /// Registered template name → the file it came from (for errors).
    paths: HashMap<String, PathBuf>,
    /// Slugs of the tenants with their own directory.
    tenants: Vec<String>,
}

impl fmt::Debug for MailTemplates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailTemplates")
            .field("templates", &self.paths.len())
            .field("tenants", &self.tenants)
            .finish()
    }
}

impl MailTemplates {
    /// Loads the embedded defaults and, from `override_dir`, the overrides:
    /// `{kind}.subject.txt`, `{kind}.txt`, `{kind}.html`, `layout.txt` and
    /// `layout.html` for every tenant, the same inside `{tenant_slug}/` for
    /// one tenant. Each file is optional and replaces only itself. Any
    /// other file, a syntax error or an unknown variable is an error naming
    /// the file; every kind is trial-rendered for every tenant directory.
    pub fn new(override_dir: Option<&Path>) -> Result<MailTemplates, MailTemplateError> {
        let mut sources = load::defaults();
        if let Some(dir) = override_dir {
            sources.extend(load::overrides(dir)?);
        }
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_formatter(html_formatter);
        let mut paths = HashMap::new();
        let mut tenants = Vec::new();
        for source in &sources {
            env.add_template_owned(source.name.clone(), source.text.clone())
                .map_err(|e| MailTemplateError::Syntax {
                    path: source.path.clone(),
                    line: e.line(),
                    message: e.detail().unwrap_or("invalid template").to_string(),
                })?;
            paths.insert(source.name.clone(), source.path.clone());
            if let Some(slug) = &source.tenant {
                if !tenants.contains(slug) {
                    tenants.push(slug.clone());
                }
            }
        }
        let templates = MailTemplates { env, paths, tenants };
        for source in &sources {
            templates.check_variables(source)?;
        }
        templates.trial_render()?;
        Ok(templates)
    }

    /// The tenants that have their own override directory, so that the
    /// caller can warn about one that names no tenant.
    pub fn tenant_slugs(&self) -> impl Iterator<Item = &str> {
        self.tenants.iter().map(String::as_str)
    }

    /// Composes the `kind` mail to `to` for the tenant `tenant_slug`, in
    /// its `theme`: the subject (one line), the text body (always) and the
    /// HTML body (omitted when an override renders it empty).
    pub fn render(
        &self,
        tenant_slug: &str,
        kind: MailKind,
        to: &str,
        theme: &MailTheme,
        vars: &MailVars,
    ) -> Result<MailMessage, MailTemplateError> {
        if to.chars().any(char::is_control) {
            return Err(invalid("recipient", "contains a control character"));
        }
        let mut context = context(kind, theme, vars)?;
        let subject = self.render_part(tenant_slug, kind, Part::Subject, &mut context)?;
        let subject = subject.trim();
        if subject.is_empty() || subject.chars().any(char::is_control) {
            return Err(invalid("subject", "must be one line of printable text"));
        }
        let text = self.render_part(tenant_slug, kind, Part::Text, &mut context)?;
        if text.trim().is_empty() {
            let name = self.resolve(tenant_slug, &Part::Text.file(kind));
            return Err(MailTemplateError::Render {
                path: self.path(&name),
                line: None,
                message: "the plain-text body is empty; every mail needs one".into(),
            });
        }
        let html = self.render_part(tenant_slug, kind, Part::Html, &mut context)?;
        Ok(MailMessage {
            to: to.to_string(),
            subject: subject.to_string(),
            text,
            html: (!html.trim().is_empty()).then_some(html),
        })
    }

    /// Renders one part, with `layout` set to the layout of its format.
    fn render_part(
        &self,
        tenant_slug: &str,
        kind: MailKind,
        part: Part,
        context: &mut BTreeMap<&'static str, Value>,
    ) -> Result<String, MailTemplateError> {
        if let Some(layout) = part.layout_file() {
            let layout = self.resolve(tenant_slug, layout);
            context.insert("layout", Value::from(layout));
        }
        let name = self.resolve(tenant_slug, &part.file(kind));
        self.env
            .get_template(&name)
            .and_then(|template| template.render(Value::from_serialize(&*context)))
            .map_err(|e| self.render_error(&name, &e))
    }

    /// The registered name of `file` for the tenant: its own, else the
    /// global override, else the default.
    fn resolve(&self, tenant_slug: &str, file: &str) -> String {
        [load::tenant_name(tenant_slug, file), load::global_name(file)]
            .into_iter()
            .find(|name| self.paths.contains_key(name))
            .unwrap_or_else(|| load::default_name(file))
    }

    /// The file a registered name came from.
    fn path(&self, name: &str) -> PathBuf {
        self.paths
            .get(name)
            .cloned()
            .unwrap_or_else(|| PathBuf::from(name))
    }

    /// A render error, naming the file where it happened (which may be a
    /// layout or `parts.html`, not the template asked for).
    fn render_error(&self, name: &str, error: &minijinja::Error) -> MailTemplateError {
        let failed = error.name().unwrap_or(name);
        let mut message = error.detail().unwrap_or("").to_string();
        if message.is_empty() {
            message = error.kind().to_string();
        } else {
            message = format!("{}: {message}", error.kind());
        }
        MailTemplateError::Render {
            path: self.path(failed),
            line: error.line(),
            message,
        }
    }

    /// Refuses a template that uses a variable its kind does not get,
    /// whatever branch it sits in.
    fn check_variables(&self, source: &Source) -> Result<(), MailTemplateError> {
        let template = self
            .env
            .get_template(&source.name)
            .map_err(|e| self.render_error(&source.name, &e))?;
        let globals: HashSet<&str> = self.env.globals().map(|(name, _)| name).collect();
        let known = known_variables(source.kind);
        let mut unknown: Vec<String> = template
            .undeclared_variables(false)
            .into_iter()
            .filter(|name| !known.contains(&name.as_str()) && !globals.contains(name.as_str()))
            .collect();
        unknown.sort();
        match unknown.into_iter().next() {
            None => Ok(()),
            Some(name) => Err(MailTemplateError::UnknownVariable {
                path: source.path.clone(),
                line: load::first_line_with(&source.text, &name),
                known: known.join(", "),
                name,
            }),
        }
    }

    /// Renders every kind for the defaults and for each tenant directory
    /// with sample values, so that a template that cannot render stops the
    /// start.
    fn trial_render(&self) -> Result<(), MailTemplateError> {
        let sample = sample_vars();
        let theme = MailTheme::default();
        let slugs = std::iter::once("").chain(self.tenant_slugs());
        for slug in slugs {
            for kind in MailKind::ALL {
                self.render(slug, kind, "person@example.com", &theme, &sample)?;
            }
        }
        Ok(())
    }
}
