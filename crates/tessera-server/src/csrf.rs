//! CSRF tokens bound to the browser.
//!
//! A plain double-submit cookie only proves that the cookie and the field
//! are equal, so whoever can plant a cookie (a sibling subdomain setting
//! `Domain=example.com`, a man in the middle on an http page of the same
//! site) plants `x` and posts `x`. Here the browser holds a random *nonce*
//! in an `HttpOnly` cookie and the token it must send back is
//! `HMAC-SHA256(server key, purpose, nonce, session)`: a value an attacker
//! chooses never verifies, because nobody without the server key can
//! compute the token of a nonce (OWASP's "signed double-submit cookie").
//!
//! The hosted forms also bind the token to the browser session — the value
//! of the SSO cookie when the browser has one — so a nonce/token pair the
//! attacker obtained legitimately from their own browser does not verify in
//! a victim's signed-in browser either: the victim's SSO cookie is secret
//! and is part of the MAC. Before sign-in there is no session to bind to
//! (the login form), which is as much as a login CSRF defence can hold when
//! cookies can be planted; `__Host-` cookie names (see [`crate::cookies`])
//! stop the planting itself at the root path.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// What derives the CSRF key from the master key; a new label would be a
/// new key (every issued token stops verifying).
const KEY_LABEL: &[u8] = b"tessera csrf key v1";

/// The secret CSRF tokens are MACed with. Derived from the master key, so
/// every node of a deployment computes the same tokens and a restart keeps
/// open forms valid; the label keeps it apart from the key that seals
/// signing keys. Never printed.
#[derive(Clone)]
pub struct CsrfKey([u8; 32]);

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey(***)")
    }
}

/// What a token protects: each purpose has its own label in the MAC, so a
/// token issued for one is never valid for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfPurpose {
    /// The hosted HTML forms (`csrf_token` field).
    Form,
    /// Cookie-mode writes to the JSON API (`X-CSRF-Token` header).
    Api,
}

impl CsrfPurpose {
    fn label(self) -> &'static [u8] {
        match self {
            CsrfPurpose::Form => b"tessera form csrf v1",
            CsrfPurpose::Api => b"tessera api csrf v1",
        }
    }
}

impl CsrfKey {
    /// The CSRF key of a deployment: `HMAC-SHA256(master_key, label)`.
    /// HMAC keyed with a uniformly random key is a PRF, so this is a
    /// one-block HKDF-Expand: independent of the master key's other uses
    /// and revealing nothing about it.
    pub fn derive(master_key: &[u8; 32]) -> CsrfKey {
        let mut mac = hmac_sha256(master_key);
        mac.update(KEY_LABEL);
        CsrfKey(mac.finalize().into_bytes().into())
    }

    /// The token a browser holding cookie `nonce` must send back, bound to
    /// `session` (the browser session cookie's value; empty when there is
    /// none): 43 base64url characters.
    pub fn token(&self, purpose: CsrfPurpose, nonce: &str, session: &str) -> String {
        let mut mac = hmac_sha256(&self.0);
        // Each part is length-prefixed, so no two (nonce, session) pairs
        // feed the MAC the same bytes.
        for part in [purpose.label(), nonce.as_bytes(), session.as_bytes()] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Whether `presented` is the token of `nonce` and `session`, compared
    /// in constant time.
    pub fn verify(&self, purpose: CsrfPurpose, nonce: &str, session: &str, presented: &str) -> bool {
        let expected = self.token(purpose, nonce, session);
        bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
    }
}

/// A fresh nonce for a CSRF cookie (32 random bytes, base64url).
pub fn new_nonce() -> String {
    tessera_core::new_opaque_token()
}

/// Whether a cookie value looks like a nonce [`new_nonce`] makes (a
/// base64url string of a sane length); anything else is treated as absent.
pub fn plausible_nonce(value: &str) -> bool {
    (32..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// HMAC-SHA256 keyed with a 32-byte key. RFC 2104 §2 pads a key shorter
/// than the 64-byte block with zeros; padding it here gives the same MAC
/// through the infallible constructor (`new_from_slice` returns a
/// `Result` that cannot fail for HMAC).
fn hmac_sha256(key: &[u8; 32]) -> HmacSha256 {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    <HmacSha256 as KeyInit>::new(&block.into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key() -> CsrfKey {
        CsrfKey::derive(&[7u8; 32])
    }

    #[test]
    fn the_key_is_hmac_of_the_label_under_the_master_key() {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&[7u8; 32]).unwrap();
        mac.update(KEY_LABEL);
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(key().0, expected);
        assert_ne!(key().0, CsrfKey::derive(&[8u8; 32]).0);
        assert_eq!(format!("{:?}", key()), "CsrfKey(***)");
    }

    #[test]
    fn a_planted_pair_of_equal_values_does_not_verify() {
        let nonce = new_nonce();
        assert!(!key().verify(CsrfPurpose::Form, &nonce, "", &nonce));
        assert!(!key().verify(CsrfPurpose::Api, &nonce, "", &nonce));
        assert!(!key().verify(CsrfPurpose::Form, &nonce, "", ""));
    }

    #[test]
    fn the_issued_token_verifies_for_its_nonce_session_and_purpose_only() {
        let nonce = new_nonce();
        let token = key().token(CsrfPurpose::Form, &nonce, "sso-a");
        assert_eq!(token.len(), 43);
        assert!(key().verify(CsrfPurpose::Form, &nonce, "sso-a", &token));
        assert!(
            !key().verify(CsrfPurpose::Form, &nonce, "sso-b", &token),
            "another session"
        );
        assert!(!key().verify(CsrfPurpose::Form, &nonce, "", &token), "no session");
        assert!(
            !key().verify(CsrfPurpose::Form, &new_nonce(), "sso-a", &token),
            "another nonce"
        );
        assert!(
            !key().verify(CsrfPurpose::Api, &nonce, "sso-a", &token),
            "another purpose"
        );
        let other_server = CsrfKey::derive(&[9u8; 32]);
        assert!(
            !other_server.verify(CsrfPurpose::Form, &nonce, "sso-a", &token),
            "another key"
        );
    }

    #[test]
    fn parts_cannot_be_shifted_between_nonce_and_session() {
        assert_ne!(
            key().token(CsrfPurpose::Form, "ab", "c"),
            key().token(CsrfPurpose::Form, "a", "bc")
        );
    }

    #[test]
    fn only_base64url_nonces_of_a_sane_length_are_plausible() {
        assert!(plausible_nonce(&new_nonce()));
        for bad in [
            "",
            "short",
            &"a".repeat(129),
            &format!("{}=", "a".repeat(40)),
            &"é".repeat(20),
        ] {
            assert!(!plausible_nonce(bad), "{bad}");
        }
    }
}
