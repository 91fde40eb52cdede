//! Tunables of the identity logic. The binary's configuration embeds these
//! (so they are set from TOML or `TESSERA_*` variables); defaults follow the
//! issue and OWASP.

use serde::{Deserialize, Serialize};

/// Lifetimes of tokens and sessions, in seconds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// Access-token lifetime (default 15 min).
    pub access_token_ttl_secs: u64,
    /// Refresh-token idle timeout, rolling with each refresh (default 14 days).
    pub refresh_idle_ttl_secs: u64,
    /// Absolute session lifetime, whatever its activity (default 90 days).
    pub session_absolute_ttl_secs: u64,
    /// Clock-skew allowance when checking `exp`/`nbf` (default 30 s).
    pub leeway_secs: u64,
    /// `aud` of first-party access tokens; empty means the issuer URL.
    pub audience: String,
    /// How long a verified session state may be served from memory before
    /// the database is asked again (default 5 s). Local revocations take
    /// effect at once; other nodes see them within this time.
    pub session_cache_ttl_secs: u64,
    /// Lifetime of an authorization code (default and maximum 60 s; RFC
    /// 6749 §4.1.2 recommends at most 10 minutes, the issue 60 s).
    pub authorization_code_ttl_secs: u64,
    /// Absolute lifetime of a browser (single sign-on) session behind the
    /// hosted pages (default 24 h).
    pub browser_session_ttl_secs: u64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        TokenSettings {
            access_token_ttl_secs: 15 * 60,
            refresh_idle_ttl_secs: 14 * 24 * 3600,
            session_absolute_ttl_secs: 90 * 24 * 3600,
            leeway_secs: 30,
            audience: String::new(),
            session_cache_ttl_secs: 5,
            authorization_code_ttl_secs: 60,
            browser_session_ttl_secs: 24 * 3600,
        }
    }
}

impl TokenSettings {
    /// The longest lifetime of any token signed with a key: a key replaced
    /// by a rotation stays published this long (plus leeway) after its
    /// successor activates. ID tokens join this maximum when they come.
    pub fn longest_token_ttl_secs(&self) -> u64 {
        self.access_token_ttl_secs
    }
}

/// Signing-key rotation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KeySettings {
    /// How long after `tessera keys rotate` the new key starts signing
    /// (default 10 min): it is in JWKS at once, so verifiers that cache
    /// JWKS for less than this never see a token with an unknown `kid`.
    pub activation_delay_secs: u64,
    /// How long a node serves a tenant's keys from memory before reading
    /// them again (default 5 s): a key added by another process shows in
    /// this node's JWKS within this time.
    pub cache_ttl_secs: u64,
}

impl Default for KeySettings {
    fn default() -> Self {
        KeySettings {
            activation_delay_secs: 600,
            cache_ttl_secs: 5,
        }
    }
}

/// Rules a new password must meet.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordPolicy {
    /// Minimum length in characters (default 8).
    pub min_length: usize,
    /// Maximum length in characters (default 128).
    pub max_length: usize,
    /// Refuse passwords from the bundled common-password list (default on).
    pub reject_common: bool,
    /// Refuse passwords containing the email's local part (default on).
    pub reject_email_local_part: bool,
    /// How many of the classes lowercase, uppercase, digit, symbol must
    /// appear (default 0 = no rule; 3 or 4 for teams migrating from such
    /// policies).
    pub min_character_classes: u8,
    /// Least zxcvbn strength score, 0 to 4 (default 3: at least 10^8
    /// guesses; 0 = no rule). Refuses trivial passwords of any length —
    /// repeats, sequences, keyboard walks, dictionary words with
    /// substitutions — that length rules let through.
    pub min_strength: u8,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: 8,
            max_length: 128,
            reject_common: true,
            reject_email_local_part: true,
            min_character_classes: 0,
            min_strength: 3,
        }
    }
}

/// argon2id cost and the admission control around it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HashSettings {
    /// Memory in KiB (OWASP: 19456).
    pub memory_kib: u32,
    /// Iterations (OWASP: 2).
    pub iterations: u32,
    /// Parallelism (OWASP: 1).
    pub parallelism: u32,
    /// Hashes running at once; 0 = the number of cores.
    pub max_concurrent: usize,
    /// Hashes allowed to wait for a slot; beyond this, 503 + `Retry-After`.
    /// 0 = four per concurrent slot.
    pub max_queued: usize,
}

impl Default for HashSettings {
    fn default() -> Self {
        HashSettings {
            memory_kib: 19456,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 0,
            max_queued: 0,
        }
    }
}

/// When repeated login failures lock an account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutPolicy {
    /// Consecutive failures that lock the account (default 5; 0 = never).
    pub max_failures: u32,
    /// First lock period (default 60 s); doubles with each further failure.
    pub base_lock_secs: u64,
    /// Longest lock period (default 1 h).
    pub max_lock_secs: u64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            max_failures: 5,
            base_lock_secs: 60,
            max_lock_secs: 3600,
        }
    }
}

impl LockoutPolicy {
    /// The lock period after `failures` consecutive failures, if any:
    /// none below `max_failures`, then base, 2×base, 4×base … capped.
    pub fn lock_period_secs(&self, failures: u32) -> Option<u64> {
        if self.max_failures == 0 || failures < self.max_failures {
            return None;
        }
        let doublings = (failures - self.max_failures).min(32);
        let period = self.base_lock_secs.saturating_mul(1u64 << doublings);
        Some(period.min(self.max_lock_secs))
    }
}

/// What the account flows that go through mail require and how long their
/// links and codes live.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AccountPolicy {
    /// Refuse to sign in a user whose email is not verified (default off):
    /// after a correct password, login answers `email_not_verified`.
    pub require_verified_email: bool,
    /// Registration answers alike for a taken and a free address (default
    /// off): `202 {"status": "verification_sent"}` for both, and the owner
    /// of a taken address is mailed a notice with a reset link instead
    /// (ASVS 5.0 6.3.8). The trade-off: a person who mistypes or forgets
    /// that they have an account learns it only from their mailbox.
    pub conceal_existing_accounts: bool,
    /// Lifetime of an email-verification link and code (default 24 h).
    pub verify_email_ttl_secs: u64,
    /// Lifetime of a password-reset link and code (default 30 min).
    pub reset_password_ttl_secs: u64,
    /// Wrong codes a mailed code accepts before it is void (default 5);
    /// asking for a new code does not reset the count.
    pub max_code_failures: u32,
    /// Least time between two mails of the same kind to one address
    /// (default 60 s); requests within it are answered alike and send
    /// nothing.
    pub mail_cooldown_secs: u64,
}

impl Default for AccountPolicy {
    fn default() -> Self {
        AccountPolicy {
            require_verified_email: false,
            conceal_existing_accounts: false,
            verify_email_ttl_secs: 24 * 3600,
            reset_password_ttl_secs: 30 * 60,
            max_code_failures: 5,
            mail_cooldown_secs: 60,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_period_starts_at_threshold_doubles_and_caps() {
        let policy = LockoutPolicy::default();
        assert_eq!(policy.lock_period_secs(4), None);
        assert_eq!(policy.lock_period_secs(5), Some(60));
        assert_eq!(policy.lock_period_secs(6), Some(120));
        assert_eq!(policy.lock_period_secs(10), Some(1920));
        assert_eq!(policy.lock_period_secs(11), Some(3600));
        assert_eq!(policy.lock_period_secs(500), Some(3600));
    }

    #[test]
    fn zero_max_failures_disables_lockout() {
        let policy = LockoutPolicy {
            max_failures: 0,
            ..LockoutPolicy::default()
        };
        assert_eq!(policy.lock_period_secs(100), None);
    }
}
