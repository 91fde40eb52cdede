#![allow(clippy::unwrap_used)]

use super::*;

fn email(raw: &str) -> String {
    Email::parse(raw).unwrap().as_str().to_string()
}

fn username(raw: &str) -> String {
    Username::parse(raw).unwrap().into_string()
}

fn refused(result: Result<impl std::fmt::Debug, FieldViolation>) -> (&'static str, &'static str) {
    let violation = result.unwrap_err();
    (violation.field, violation.rule)
}

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
        assert_eq!(
            refused(Email::parse(hidden)),
            ("email", "invisible_character"),
            "{hidden:?}"
        );
    }
    for hidden in ["ada\u{200B}", "\u{202E}ada", "a\u{2067}da", "ada\u{FE0F}"] {
        assert_eq!(
            refused(Username::parse(hidden)),
            ("username", "invisible_character"),
            "{hidden:?}"
        );
    }
}

#[test]
fn emails_that_look_alike_have_one_canonical_form() {
    assert_eq!(email(" Alice@Example.COM "), "alice@example.com");
    // U+FB01 LATIN SMALL LIGATURE FI: NFKC makes it "fi".
    assert_eq!(email("\u{FB01}nn@example.com"), "finn@example.com");
    // Fullwidth letters (NFKC), in the local part and in the domain (IDNA
    // maps them, and the fullwidth full stop too).
    assert_eq!(email("ａｌｉｃｅ@example.com"), "alice@example.com");
    assert_eq!(email("alice@ｅｘａｍｐｌｅ．ｃｏｍ"), "alice@example.com");
    // Full case folding (caseless, Unicode 16 CaseFolding.txt, status C+F):
    // "ß" folds to "ss", and so does "ẞ"; `to_lowercase` would keep "ß".
    assert_eq!(email("straße@example.com"), "strasse@example.com");
    assert_eq!(email("STRAẞE@example.com"), "strasse@example.com");
    // Final sigma folds to sigma.
    assert_eq!(email("ΟΔΥΣΣΕΥΣ@example.com"), email("οδυσσευς@example.com"));
    // A Unicode domain and its Punycode are one domain.
    assert_eq!(email("user@bücher.example"), "user@xn--bcher-kva.example");
    assert_eq!(email("user@BÜCHER.example"), "user@xn--bcher-kva.example");
    assert_eq!(email("user@xn--bcher-kva.example"), "user@xn--bcher-kva.example");
    // Composed and decomposed accents are one.
    assert_eq!(email("zoe\u{0308}@example.com"), email("zoë@example.com"));
    assert_eq!(
        Email::parse("first.last+tag@example.co.uk").unwrap().local_part(),
        "first.last+tag"
    );
}

#[test]
fn bad_emails_are_refused_naming_the_rule() {
    for bad in [
        "",
        "alice",
        "@example.com",
        "a b@example.com",
        "a..b@example.com",
        ".a@example.com",
        // A fullwidth at sign becomes a second `@` in the local part.
        "a＠b@example.com",
        // A no-break space becomes a space.
        "a\u{00A0}b@example.com",
    ] {
        assert_eq!(refused(Email::parse(bad)), ("email", "invalid_email"), "{bad:?}");
    }
    for bad in [
        "alice@",
        "alice@localhost",
        "alice@exa_mple.com",
        "alice@-example.com",
        "alice@example..com",
        "alice@xn--zz.example",
        "alice@evil.com＠example.com",
        &format!("alice@{}.com", "a".repeat(64)),
    ] {
        assert_eq!(refused(Email::parse(bad)), ("email", "invalid_domain"), "{bad:?}");
    }
    let long_local = format!("{}@example.com", "a".repeat(65));
    assert_eq!(refused(Email::parse(&long_local)), ("email", "invalid_email"));
    assert!(
        Email::parse("zoë@bücher.example").is_ok(),
        "visible non-ASCII stays allowed"
    );
}

#[test]
fn case_folding_is_a_fixed_point_for_every_character() {
    // The start-up rewrite relies on canonical forms being idempotent.
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        let once = fold(&c.to_string());
        assert_eq!(fold(&once), once, "U+{:04X}", u32::from(c));
    }
}

#[test]
fn usernames_are_enforced_with_precis_username_case_mapped() {
    for same in ["Alice", "ALICE", "alice", "ＡＬＩＣＥ", "ａｌｉｃｅ"] {
        assert_eq!(username(same), "alice", "{same:?}");
    }
    assert_eq!(username("Ada_L.1-x"), "ada_l.1-x");
    // Letters of every script, in NFC.
    assert_eq!(username("Zoë"), "zoë");
    assert_eq!(username("zoe\u{0308}"), "zoë");
    assert_eq!(username("Ελένη"), "ελένη");
    assert_eq!(username("مستخدم"), "مستخدم");
    // RFC 8265 maps case with toLowerCase, not case folding: "ß" stays.
    assert_eq!(username("Straße"), "straße");
    assert_ne!(username("Straße"), username("STRASSE"));
}

#[test]
fn bad_usernames_are_refused_naming_the_rule() {
    for bad in ["", "ab", "ＡＢ", &"a".repeat(33), &"a".repeat(200)] {
        assert_eq!(
            refused(Username::parse(bad)),
            ("username", "invalid_length"),
            "{bad:?}"
        );
    }
    for bad in [
        "al ice",
        "al\u{3000}ice",
        "alice!",
        "al@ice",
        "emoji😀",
        "tab\tname",
        "x\u{0000}y",
        // Compatibility characters are outside the IdentifierClass.
        "\u{FB01}nn",
        // The bidi rule: left-to-right text cannot hold Arabic letters.
        "abcمرحبا",
    ] {
        assert_eq!(
            refused(Username::parse(bad)),
            ("username", "invalid_characters"),
            "{bad:?}"
        );
    }
}

#[test]
fn login_identifier_is_an_email_with_at_else_a_username() {
    assert_eq!(login_identifier("ＡＬＩＣＥ").as_deref(), Some("alice"));
    assert_eq!(
        login_identifier(" Alice@Example.COM").as_deref(),
        Some("alice@example.com")
    );
    assert_eq!(login_identifier("al ice"), None);
    assert_eq!(login_identifier("alice@"), None);
    assert_eq!(login_identifier("a\u{0000}@example.com"), None);
}

#[test]
fn stored_identifiers_are_put_into_canonical_form() {
    let email = |stored| canonical_identifier(IdentifierKind::Email, stored);
    let username = |stored| canonical_identifier(IdentifierKind::Username, stored);
    assert_eq!(
        email("straße@bücher.example").as_deref(),
        Some("strasse@xn--bcher-kva.example")
    );
    assert_eq!(email("ada@example.com").as_deref(), Some("ada@example.com"));
    assert_eq!(email("ada@exa_mple.com"), None);
    assert_eq!(username("ada.l").as_deref(), Some("ada.l"));
    assert_eq!(username("Ａｄａ").as_deref(), Some("ada"));
}

#[test]
fn search_prefixes_come_in_each_columns_form() {
    assert_eq!(search_prefix("  "), None);
    assert_eq!(
        search_prefix("Straße"),
        Some(IdentifierPrefix {
            email: "strasse".into(),
            username: Some("straße".into())
        })
    );
    assert_eq!(
        search_prefix("Bob@Bücher"),
        Some(IdentifierPrefix {
            email: "bob@xn--bcher-kva".into(),
            username: None
        })
    );
    assert_eq!(
        search_prefix("a b"),
        Some(IdentifierPrefix {
            email: "a b".into(),
            username: None
        })
    );
}

proptest::proptest! {
    /// Parsing a canonical form gives it back (the start-up rewrite relies
    /// on it), for strings made of the characters normalisation touches.
    #[test]
    fn canonical_forms_are_fixed_points(
        local in "[a-zA-Z0-9.ßẞſİıΣσςﬁＡａ＠\u{0301}\u{0308}\u{0345}\u{1E9E}\u{212A}\u{2126}\u{1F88}]{1,12}",
        domain in "(bücher|BÜCHER|ｅｘａｍｐｌｅ|xn--bcher-kva|straße|ΣΊΣΥΦΟΣ)\\.(example|ＣＯＭ|de)",
        name in "[a-zA-Z0-9._ßẞİΣςＡａＺｚ\u{0301}\u{0308}éÉ]{1,20}",
    ) {
        if let Ok(email) = Email::parse(&format!("{local}@{domain}")) {
            proptest::prop_assert_eq!(Email::parse(email.as_str()).unwrap(), email);
        }
        if let Ok(username) = Username::parse(&name) {
            proptest::prop_assert_eq!(Username::parse(username.as_str()).unwrap(), username);
        }
    }
}
