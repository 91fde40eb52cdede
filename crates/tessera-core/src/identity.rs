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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
