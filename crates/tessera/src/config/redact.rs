//! URLs for people to read: the password of a database or SMTP URL
//! replaced, wherever the URL is shown (logs, `Debug`, serialised
//! configuration, error messages).

/// The URL with any password replaced, for logs and messages: the one in
/// `user:password@` and any query parameter that carries one
/// (`password=`, `sslpassword=`, …, as libpq and the MySQL drivers accept).
/// A URL that does not parse is shown as its scheme only.
pub fn redact_url(raw: &str) -> String {
    if raw.is_empty() {
        // The default ("derive it from data_dir") passes through here when
        // the defaults are serialized into the configuration's first layer.
        return String::new();
    }
    let Ok(mut url) = url::Url::parse(raw) else {
        let scheme = raw.split_once(':').map_or("", |(scheme, _)| scheme);
        return format!("{scheme}:(unparsable URL, not shown)");
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("redacted"));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, value)| {
                let secret = name.to_ascii_lowercase().contains("pass");
                let value = if secret {
                    "redacted".to_owned()
                } else {
                    value.into_owned()
                };
                (name.into_owned(), value)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn redacted_urls_hide_passwords_in_the_authority_and_the_query() {
        let shown =
            redact_url("postgres://app:hunter2@db:5432/t?sslmode=require&password=s3cret&sslpassword=k3y");
        for secret in ["hunter2", "s3cret", "k3y"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(
            shown.contains("db:5432/t") && shown.contains("sslmode=require"),
            "{shown}"
        );
        assert_eq!(
            redact_url("sqlite://./tessera-data/tessera.db"),
            "sqlite://./tessera-data/tessera.db"
        );
        assert!(!redact_url("postgres://u:p@[bad").contains(":p@"));
    }

    #[test]
    fn smtp_urls_keep_their_user_host_and_tls_but_not_the_password() {
        let shown = redact_url("smtp://apikey:SG.s3cret@smtp.sendgrid.net:587?tls=required");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert_eq!(shown, "smtp://apikey:redacted@smtp.sendgrid.net:587?tls=required");
    }
}
