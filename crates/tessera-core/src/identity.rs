//! Validated account identifiers. `parse` normalises to lowercase, which is
//! what makes uniqueness case-insensitive in the store.

use crate::error::FieldViolation;

/// A syntactically valid, lowercase email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Checks the practical syntax (`local@domain.tld`, no spaces or
    /// controls, ≤ 254 characters, local part ≤ 64) and lowercases.
    pub fn parse(raw: &str) -> Result<Email, FieldViolation> {
        let candidate = raw.trim().to_lowercase();
        let violation = |message: &str| FieldViolation {
            field: "email",
            rule: "invalid_email",
            message: message.to_string(),
        };
        if candidate.is_empty() || candidate.chars().count() > 254 {
            return Err(violation("email must be 1 to 254 characters"));
        }
        if let Some(hidden) = candidate.chars().find(|c| is_invisible(*c)) {
            return Err(FieldViolation {
                field: "email",
                rule: "invisible_character",
                message: format!(
                    "email must not contain invisible, formatting or direction-changing characters (found U+{:04X})",
                    u32::from(hidden)
                ),
            });
        }
        if candidate.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(violation("email must not contain spaces"));
        }
        let Some((local, domain)) = candidate.rsplit_once('@') else {
            return Err(violation("email must contain @"));
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !local_ok || !domain_ok {
            return Err(violation("email is not a valid address"));
        }
        Ok(Email(candidate))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(local, _)| local).unwrap_or(&self.0)
    }
}

/// A username: 3–32 of `[a-z0-9_.-]` (input is lowercased first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Lowercases and checks length and alphabet.
    pub fn parse(raw: &str) -> Result<Username, FieldViolation> {
        let candidate = raw.trim().to_lowercase();
        let length = candidate.chars().count();
        if !(3..=32).contains(&length) {
            return Err(FieldViolation {
                field: "username",
                rule: "invalid_length",
                message: "username must be 3 to 32 characters".into(),
            });
        }
        if !candidate
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'))
        {
            return Err(FieldViolation {
                field: "username",
                rule: "invalid_characters",
                message: "username may contain only a-z, 0-9, '_', '.' and '-'".into(),
            });
        }
        Ok(Username(candidate))
    }

    /// The normalised username.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Gives up the inner string.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Characters that change nothing visible, or the direction of what
/// follows: format characters (Unicode category Cf: zero-width spaces and
/// joiners, bidi embeddings, overrides and isolates, the BOM, tags),
/// variation selectors and the Hangul fillers. Two addresses differing by
/// one of them look identical, so an identifier holding one is refused.
/// (No crate in the tree exposes the general category; the list follows
/// Unicode 15's Cf set and the Default_Ignorable_Code_Point property.)
fn is_invisible(c: char) -> bool {
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
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn invisible_and_direction_changing_characters_are_refused() {
        for hidden in [
            "ada\u{200B}@example.com",
            "ada@exa\u{200D}mple.com",
            "\u{202E}ada@example.com",
            "ada@example.com\u{FEFF}",
            "ad\u{00AD}a@example.com",
            "ada@\u{2066}example.com",
        ] {
            let refused = Email::parse(hidden).unwrap_err();
            assert_eq!(
                (refused.field, refused.rule),
                ("email", "invisible_character"),
                "{hidden:?}"
            );
        }
        assert!(
            Email::parse("zoë@bücher.example").is_ok(),
            "visible non-ASCII stays allowed"
        );
    }

    #[test]
    fn email_is_lowercased_and_checked() {
        assert_eq!(
            Email::parse(" Alice@Example.COM ").unwrap().as_str(),
            "alice@example.com"
        );
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "a b@example.com",
            "alice@localhost",
            "alice@exa_mple.com",
            "a..b@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            Email::parse("first.last+tag@example.co.uk").unwrap().local_part(),
            "first.last+tag"
        );
    }

    #[test]
    fn username_alphabet_and_length() {
        assert_eq!(Username::parse("Alice_1").unwrap().as_str(), "alice_1");
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse(&"a".repeat(33)).is_err());
        assert!(Username::parse("alice!").is_err());
        assert!(Username::parse("al ice").is_err());
        assert!(Username::parse("a.b-c_d").is_ok());
    }
}
