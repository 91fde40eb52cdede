//! Account identifiers and the one canonical form each is stored, looked up
//! and compared in, so that spellings a person cannot tell apart are one
//! account (issue #10):
//!
//! - an **email**'s local part is put into Unicode NFKC and case-folded
//!   (full folding: `ß` → `ss`, `ﬁ` → `fi`, `ＡＢＣ` → `abc`); its domain
//!   goes through IDNA (UTS #46) to ASCII, so `bücher.example`,
//!   `BÜCHER.example` and `xn--bcher-kva.example` are one domain;
//! - a **username** is enforced with the PRECIS `UsernameCaseMapped`
//!   profile (RFC 8265 §3.3): fullwidth and halfwidth forms mapped,
//!   lowercased, NFC, only the characters of the IdentifierClass
//!   (RFC 8264 §4.2) and the bidi rule (RFC 5893).
//!
//! Characters that change nothing visible, or the direction of what
//! follows, are refused outright in both (rule `invisible_character`).
//! Every way in — registration, login, administration, the command line,
//! the bootstrap administrator, the admin search — goes through here, and
//! rows stored before these rules are rewritten at start-up
//! ([`canonical_identifier`]).

use std::borrow::Cow;

use precis_profiles::precis_core::profile::Profile;
use precis_profiles::precis_core::Error as PrecisError;
use precis_profiles::UsernameCaseMapped;
use tessera_store::{IdentifierKind, IdentifierPrefix};
use unicode_normalization::UnicodeNormalization;

use crate::error::FieldViolation;

/// Longest address accepted as typed, before normalisation (a cheap bound
/// on the work; the canonical form is then held to RFC 5321's 254 octets).
const MAX_EMAIL_CHARS: usize = 254;
/// RFC 5321 §4.5.3.1: the longest path is 256 octets including `<>`.
const MAX_EMAIL_OCTETS: usize = 254;
/// RFC 5321 §4.5.3.1.1.
const MAX_LOCAL_PART_OCTETS: usize = 64;
/// Length of a username in characters, after enforcement.
const USERNAME_CHARS: std::ops::RangeInclusive<usize> = 3..=32;
/// Longest username accepted as typed (enforcement can lengthen a string
/// only a little, e.g. `İ` → `i̇`; this bounds the work).
const MAX_USERNAME_INPUT_CHARS: usize = 4 * 32;

/// An email address in canonical form (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Checks the practical syntax (`local@domain.tld`, no spaces, controls
    /// or invisible characters, local part ≤ 64 octets, whole ≤ 254) and
    /// returns the canonical form. The address is split at its last `@`.
    pub fn parse(raw: &str) -> Result<Email, FieldViolation> {
        let raw = raw.trim();
        let invalid = |message: &str| violation("email", "invalid_email", message);
        if raw.is_empty() || raw.chars().count() > MAX_EMAIL_CHARS {
            return Err(invalid("email must be 1 to 254 characters"));
        }
        refuse_invisible("email", raw)?;
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("email must not contain spaces"));
        }
        let Some((local, domain)) = raw.rsplit_once('@') else {
            return Err(invalid("email must contain @"));
        };
        let local = fold(local);
        // Checked after folding: NFKC turns a fullwidth `＠` into `@` and a
        // no-break space into a space.
        let local_ok = !local.is_empty()
            && local.len() <= MAX_LOCAL_PART_OCTETS
            && !local.contains('@')
            && !local.chars().any(|c| c.is_whitespace() || c.is_control())
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        if !local_ok {
            return Err(invalid("email is not a valid address"));
        }
        let domain = ascii_domain(domain).ok_or_else(|| {
            violation(
                "email",
                "invalid_domain",
                "email domain is not a valid domain name (IDNA, RFC 5891)",
            )
        })?;
        let canonical = format!("{local}@{domain}");
        if canonical.len() > MAX_EMAIL_OCTETS {
            return Err(invalid("email must be at most 254 octets once normalised"));
        }
        Ok(Email(canonical))
    }

    /// The canonical address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(local, _)| local).unwrap_or(&self.0)
    }
}

/// A username in canonical form: PRECIS `UsernameCaseMapped` (RFC 8265
/// §3.3), 3–32 characters, and of the ASCII characters only `a-z`, `0-9`,
/// `_`, `.` and `-` (RFC 8265 lets an application narrow the class; this
/// keeps `@` for emails, so a login name is never both, and keeps names
/// safe in URLs and text). Letters and digits of every script are allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Enforces the profile and checks length and alphabet.
    pub fn parse(raw: &str) -> Result<Username, FieldViolation> {
        let raw = raw.trim();
        let invalid_length = || {
            violation(
                "username",
                "invalid_length",
                "username must be 3 to 32 characters",
            )
        };
        if raw.is_empty() || raw.chars().count() > MAX_USERNAME_INPUT_CHARS {
            return Err(invalid_length());
        }
        refuse_invisible("username", raw)?;
        let enforced = UsernameCaseMapped::new().enforce(raw).map_err(|err| {
            let message = match err {
                PrecisError::BadCodepoint(info) => format!(
                    "username may contain only letters, digits, '_', '.' and '-' (found U+{:04X})",
                    info.cp
                ),
                PrecisError::Invalid | PrecisError::Unexpected(_) => {
                    "username is not a valid username (RFC 8265), e.g. it mixes \
                     right-to-left and left-to-right text"
                        .to_string()
                }
            };
            violation("username", "invalid_characters", message)
        })?;
        if let Some(symbol) = enforced.chars().find(|c| c.is_ascii() && !is_username_ascii(*c)) {
            return Err(violation(
                "username",
                "invalid_characters",
                format!("username may contain only letters, digits, '_', '.' and '-' (found {symbol:?})"),
            ));
        }
        if !USERNAME_CHARS.contains(&enforced.chars().count()) {
            return Err(invalid_length());
        }
        Ok(Username(enforced.into_owned()))
    }

    /// The canonical username.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Gives up the inner string.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// The canonical form of what someone typed to sign in: an email when it
/// holds `@` (no username can), else a username. `None` when it is
/// neither, so that no stored account can have it.
pub fn login_identifier(raw: &str) -> Option<String> {
    if raw.contains('@') {
        Email::parse(raw).ok().map(|email| email.0)
    } else {
        Username::parse(raw).ok().map(Username::into_string)
    }
}

/// The canonical form of a stored identifier of `kind`; `None` when it
/// breaks today's rules. Idempotent, which the rewrite of stored rows at
/// start-up relies on.
pub fn canonical_identifier(kind: IdentifierKind, stored: &str) -> Option<String> {
    match kind {
        IdentifierKind::Email => Email::parse(stored).ok().map(|email| email.0),
        IdentifierKind::Username => Username::parse(stored).ok().map(Username::into_string),
    }
}

/// An admin search `q` in the canonical form of each column; `None` for a
/// blank query. A query with `@` searches emails only, its domain part
/// converted label by label (a Unicode domain matches by whole labels:
/// `bücher` finds `xn--bcher-kva.example`, `büch` cannot).
pub fn search_prefix(raw: &str) -> Option<IdentifierPrefix> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let email = match raw.rsplit_once('@') {
        Some((local, domain)) => {
            let domain = idna::domain_to_ascii(domain).unwrap_or_else(|_| fold(domain));
            format!("{}@{domain}", fold(local))
        }
        None => fold(raw),
    };
    let username = if raw.contains('@') {
        None
    } else {
        UsernameCaseMapped::new().enforce(raw).ok().map(Cow::into_owned)
    };
    Some(IdentifierPrefix { email, username })
}

/// NFKC, then full case folding, then NFKC again: folding can leave text
/// that is no longer in NFKC, and the second pass makes the result a fixed
/// point (folding it again changes nothing). `to_lowercase` is not case
/// folding: it keeps `ß` and final `ς`, which folding maps to `ss` and `σ`.
fn fold(text: &str) -> String {
    let compatible: String = text.nfkc().collect();
    caseless::default_case_fold_str(&compatible).nfkc().collect()
}

/// The domain in ASCII by UTS #46 (nontransitional, STD3 rules, hyphen and
/// DNS length checks), with at least two labels (`localhost` is no mail
/// domain).
fn ascii_domain(domain: &str) -> Option<String> {
    let ascii = idna::domain_to_ascii_strict(domain).ok()?;
    (ascii.split('.').count() >= 2).then_some(ascii)
}

/// The ASCII characters a username may hold.
fn is_username_ascii(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-')
}

fn violation(field: &'static str, rule: &'static str, message: impl Into<String>) -> FieldViolation {
    FieldViolation {
        field,
        rule,
        message: message.into(),
    }
}

/// Refuses `raw` naming `field` when it holds an invisible character (see
/// [`is_invisible`]). Checked before normalisation, which would silently
/// drop some of them (IDNA maps a soft hyphen to nothing).
fn refuse_invisible(field: &'static str, raw: &str) -> Result<(), FieldViolation> {
    match raw.chars().find(|c| is_invisible(*c)) {
        None => Ok(()),
        Some(hidden) => Err(violation(
            field,
            "invisible_character",
            format!(
                "{field} must not contain invisible, formatting or direction-changing characters (found U+{:04X})",
                u32::from(hidden)
            ),
        )),
    }
}

/// Characters that change nothing visible, or the direction of what
/// follows: format characters (Unicode category Cf: zero-width spaces and
/// joiners, bidi embeddings, overrides and isolates, the BOM, tags),
/// variation selectors and the Hangul fillers. Two identifiers differing by
/// one of them look identical, so an identifier holding one is refused,
/// and a page that shows a value sent replaces them.
/// (The list follows Unicode 15's Cf set and the Default_Ignorable_Code_Point
/// property; a fixed list keeps the rule stable across crate updates.)
pub fn is_invisible(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x034F
            | 0x061C
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFFB
            | 0x110BD
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

#[cfg(test)]
mod tests;
